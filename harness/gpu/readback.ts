// GPU -> CPU copies. Each call maps a staging buffer and waits for the queue, so
// keep these out of hot loops; they exist for results, tests and debugging.

export async function readBuffer(device: GPUDevice, src: GPUBuffer, byteOffset = 0, byteLength = src.size - byteOffset): Promise<ArrayBuffer> {
  const size = Math.ceil(byteLength / 4) * 4;
  if (size === 0) return new ArrayBuffer(0);
  const staging = device.createBuffer({ label: 'readback', size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    const enc = device.createCommandEncoder({ label: 'readback' });
    enc.copyBufferToBuffer(src, byteOffset, staging, 0, size);
    device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    return staging.getMappedRange().slice(0, byteLength);
  } finally {
    staging.destroy();
  }
}

export async function readU32(device: GPUDevice, src: GPUBuffer, count: number, elementOffset = 0): Promise<Uint32Array> {
  return new Uint32Array(await readBuffer(device, src, elementOffset * 4, count * 4));
}

export async function readF32(device: GPUDevice, src: GPUBuffer, count: number, elementOffset = 0): Promise<Float32Array> {
  return new Float32Array(await readBuffer(device, src, elementOffset * 4, count * 4));
}

/** A storage buffer initialised from a typed array (size rounded up to 4 bytes, at least 4). */
export function uploadBuffer(device: GPUDevice, data: ArrayBufferView, usage: number, label?: string): GPUBuffer {
  const size = Math.max(4, Math.ceil(data.byteLength / 4) * 4);
  const buf = device.createBuffer({ label, size, usage: usage | GPUBufferUsage.COPY_DST, mappedAtCreation: true });
  new Uint8Array(buf.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  buf.unmap();
  return buf;
}
