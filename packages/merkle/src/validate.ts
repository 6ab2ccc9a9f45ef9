/**
 * Argument checks shared by the public functions (internal, not re-exported). Each check throws a
 * `MerkleError` naming the field and got-vs-expected; none of them copies or retains its input.
 */
import { MerkleError } from './errors';

/** Bytes in a SHA-256 output, i.e. in every tree hash. */
export const HASH_BYTES = 32;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'Array';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}

/** Throws `INVALID_TYPE` unless `value` is a `Uint8Array` (a `Buffer` is one). */
export function assertBytes(value: unknown, field: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new MerkleError('INVALID_TYPE', `${field}: expected Uint8Array, got ${describe(value)}`);
  }
}

/** Throws unless `value` is a 32-byte `Uint8Array`. */
export function assertHash(value: unknown, field: string): asserts value is Uint8Array {
  assertBytes(value, field);
  if (value.length !== HASH_BYTES) {
    throw new MerkleError(
      'INVALID_HASH_LENGTH',
      `${field}: expected ${HASH_BYTES} bytes, got ${value.length}`,
    );
  }
}

/** Throws `INVALID_INTEGER` unless `value` is an integer in [0, 2^53 − 1]. */
export function assertCount(value: unknown, field: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new MerkleError(
      'INVALID_INTEGER',
      `${field}: expected an integer 0 ≤ ${field} ≤ 2^53-1, got ${typeof value === 'number' ? value : describe(value)}`,
    );
  }
}

/** Throws `INVALID_TYPE` unless `value` is an array. */
export function assertArray(value: unknown, field: string): asserts value is readonly unknown[] {
  if (!Array.isArray(value)) {
    throw new MerkleError('INVALID_TYPE', `${field}: expected an array, got ${describe(value)}`);
  }
}

/** Throws unless every element of `hashes` is a 32-byte `Uint8Array`. */
export function assertHashArray(value: unknown, field: string): asserts value is readonly Uint8Array[] {
  assertArray(value, field);
  for (let i = 0; i < value.length; i++) assertHash(value[i], `${field}[${i}]`);
}

/**
 * A fresh copy of `src[start … end)` as a plain `Uint8Array`. (`Buffer#slice` returns a view, so
 * `.slice()` cannot be trusted to copy a caller's buffer.)
 */
export function copyOf(src: Uint8Array, start = 0, end: number = src.length): Uint8Array {
  const out = new Uint8Array(end - start);
  out.set(src.subarray(start, end));
  return out;
}
