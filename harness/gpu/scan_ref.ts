// CPU reference of wgsl/scan.wgsl: exclusive prefix sum, wrapping modulo 2^32.

export function refScan(input: Uint32Array): { scan: Uint32Array; total: number } {
  const scan = new Uint32Array(input.length);
  let running = 0;
  for (let i = 0; i < input.length; i++) {
    scan[i] = running;
    running = (running + input[i]!) >>> 0;
  }
  return { scan, total: running };
}
