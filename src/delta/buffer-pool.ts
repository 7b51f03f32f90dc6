// Reusable read buffers (first touch of fresh memory is slow on these VMs): taken per pass, given back after.
const freeBuffers: Buffer[] = [];

/** A buffer of exactly `size` bytes, reused when one was given back. */
export function takeBuffer(size: number): Buffer {
  const i = freeBuffers.findIndex((b) => b.length === size);
  const [reused] = i >= 0 ? freeBuffers.splice(i, 1) : [];
  return reused ?? Buffer.allocUnsafeSlow(size);
}

/** Returns a buffer to the pool (at most 4 are kept). */
export function giveBack(buffer: Buffer): void {
  if (freeBuffers.length < 4) freeBuffers.push(buffer);
}
