/** A deterministic payload for key `k` of `size` bytes, so readers can check content. */
export function payloadFor(k: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (k * 31 + i * 7) & 0xff;
  if (size >= 4) b.writeUInt32BE(k >>> 0, 0);
  return b;
}
