/**
 * A pool of CSPRNG bytes for small, frequent needs (96-bit nonces for sealed fields).
 *
 * Why: `crypto.randomBytes(12)` costs a native call per nonce. Sealing a 200-byte field with
 * `createCipheriv` + `randomBytes(12)` per call measured 7.9–9.5 µs; `FieldSealer.seal` with
 * nonces from this pool (one `randomFillSync` per 341 nonces) 5.9 µs (bench/field-seal.bench.ts,
 * 2-core VM, Node 20.20).
 *
 * Deliberately not for key material: keys come straight from `randomBytes` so no key ever shares
 * memory with public nonces. Each worker thread loads its own copy of this module, so pools are
 * never shared across threads. Bytes are copied into the caller's buffer; the pool is never exposed.
 */
import { randomFillSync } from 'node:crypto';

/** Pool size in bytes; 4 KiB amortizes the native call over 341 nonces. */
const POOL_BYTES = 4096;

const pool: Buffer = Buffer.allocUnsafeSlow(POOL_BYTES);
let poolOffset: number = POOL_BYTES;

/**
 * Writes `length` (1 ≤ length ≤ 4096) fresh random bytes into `out` at `offset`. Every pool byte is
 * handed out once only.
 */
export function fillRandom(out: Uint8Array, offset: number, length: number): void {
  if (poolOffset + length > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  out.set(pool.subarray(poolOffset, poolOffset + length), offset);
  poolOffset += length;
}
