// CPU reference of the GPU radix sort (wgsl/sort_*.wgsl): a stable sort of
// (key, value) pairs by the low `keyBits` bits of the key. Keys keep all their
// bits in the output; the bits above keyBits only ride along.

export function refSort(keys: Uint32Array, values: Uint32Array, keyBits = 32): { keys: Uint32Array; values: Uint32Array } {
  if (keys.length !== values.length) throw new Error(`refSort: ${keys.length} keys but ${values.length} values`);
  if (!Number.isInteger(keyBits) || keyBits < 0 || keyBits > 32) throw new Error(`refSort: keyBits ${keyBits} is not an integer in [0, 32]`);
  const mask = keyBits === 32 ? 0xffffffff : (1 << keyBits) - 1;
  const order = new Uint32Array(keys.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  // The index breaks ties, so the order does not rest on the sort being stable.
  order.sort((a, b) => ((keys[a]! & mask) >>> 0) - ((keys[b]! & mask) >>> 0) || a - b);
  const outKeys = new Uint32Array(keys.length);
  const outValues = new Uint32Array(keys.length);
  for (let to = 0; to < order.length; to++) {
    const from = order[to]!;
    outKeys[to] = keys[from]!;
    outValues[to] = values[from]!;
  }
  return { keys: outKeys, values: outValues };
}
