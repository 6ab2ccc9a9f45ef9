/**
 * Compression of batch bodies with snappy's raw (one-shot) format, via the `snappy` package (the
 * maintained napi-rs binding; `@napi-rs/snappy` is an abandoned early name of it).
 *
 * `compressSync(…, { copyOutputData: true })`: without it the binding hands back an external
 * buffer whose fresh pages cost most of the call on our VMs (measured: see README, Benchmarks).
 * Decompression first reads the length snappy records in its preamble and refuses anything but
 * the header's plain length, so a corrupt or hostile body cannot make us allocate more.
 *
 * Not here: encryption (the caller's, over the compressed bytes). Buffers: both functions return
 * fresh buffers owned by the caller.
 */
import { compressSync, uncompressSync } from 'snappy';
import { MAX_BATCH_BODY_BYTES } from './batch-body';
import { CodecError } from './errors';

const COMPRESS_OPTIONS = { copyOutputData: true } as const;
const UNCOMPRESS_OPTIONS = { asBuffer: true, copyOutputData: true } as const;
/** A snappy preamble is a little-endian base-128 varint of at most 5 bytes (32-bit length). */
const MAX_VARINT_BYTES = 5;

/**
 * Compresses a batch body.
 *
 * @param plain - the batch body, ≤ {@link MAX_BATCH_BODY_BYTES} bytes.
 * @returns snappy raw-format bytes (a fresh buffer).
 * @throws {CodecError} `LIMIT_EXCEEDED` above the limit; `COMPRESSION` if snappy fails.
 * @example
 * ```ts
 * const compressed = compressBody(encodeBatchBody(leaves, scratch));
 * ```
 */
export function compressBody(plain: Uint8Array): Uint8Array {
  if (plain.length > MAX_BATCH_BODY_BYTES) {
    throw new CodecError(
      'LIMIT_EXCEEDED',
      `compressBody: expected at most ${MAX_BATCH_BODY_BYTES} bytes, got ${plain.length}`,
    );
  }
  try {
    return compressSync(plain, COMPRESS_OPTIONS);
  } catch (e) {
    throw new CodecError('COMPRESSION', 'compressBody: snappy failed', { cause: e });
  }
}

/** Bytes per snappy block: the raw format's compressor works on independent 64 KiB blocks. */
const SNAPPY_BLOCK_BYTES = 65536;
/** Bodies from this size on are compressed block by block (below, one call is as fast). */
const BLOCKWISE_FROM_BYTES = 1 << 20;

/**
 * Compresses batch bodies into one output buffer it reuses: the same bytes as
 * {@link compressBody}, without its two fresh allocations per large body.
 *
 * Why: for a body of megabytes, `compressSync` allocates a zeroed output of the worst-case size
 * and then a copy of it for JavaScript, and the allocator maps both afresh each time; on our VMs
 * a fresh page costs ~2.5 µs at first touch, so a 4.8 MB body took 3.5–12.6 ms in one call against
 * 1.3–1.4 ms block by block (`bench/compress.bench.ts`). Snappy's raw format is a length preamble
 * and then each 64 KiB block of the input compressed on its own, so compressing the blocks one at
 * a time (each output small enough for the allocator to reuse) and writing one preamble gives the
 * identical bytes (checked by the tests against `compressSync` of the whole body).
 *
 * One instance per thread; not for concurrent use (there is none within one thread's
 * synchronous call).
 */
export class BodyCompressor {
  private out: Uint8Array = new Uint8Array(0);

  /**
   * Compresses a batch body (the same bytes as {@link compressBody}).
   *
   * @returns a view of this compressor's buffer, valid until its next call (copy to keep it);
   *   a fresh buffer for bodies under 1 MiB.
   * @throws {CodecError} as {@link compressBody}.
   * @example
   * ```ts
   * const compressor = new BodyCompressor();
   * const sealed = seal(compressor.compress(body)); // used before the next compress()
   * ```
   */
  compress(plain: Uint8Array): Uint8Array {
    // Small bodies in one call; oversized ones get compressBody's LIMIT_EXCEEDED.
    if (plain.length < BLOCKWISE_FROM_BYTES || plain.length > MAX_BATCH_BODY_BYTES)
      return compressBody(plain);
    // snappy's bound on its output: 32 + n + n/6, plus the preamble.
    const bound = MAX_VARINT_BYTES + 32 + plain.length + Math.ceil(plain.length / 6);
    if (this.out.length < bound) this.out = new Uint8Array(bound + (bound >> 3));
    const out = this.out;
    let at = writeVarint(out, plain.length);
    try {
      for (let from = 0; from < plain.length; from += SNAPPY_BLOCK_BYTES) {
        const block = compressSync(
          plain.subarray(from, Math.min(plain.length, from + SNAPPY_BLOCK_BYTES)),
          COMPRESS_OPTIONS,
        );
        const skip = varintBytes(block);
        out.set(block.subarray(skip), at);
        at += block.length - skip;
      }
    } catch (e) {
      throw new CodecError('COMPRESSION', 'compressBody: snappy failed', { cause: e });
    }
    return out.subarray(0, at);
  }
}

/** Writes `n` as a little-endian base-128 varint at the start of `out`; returns its length. */
function writeVarint(out: Uint8Array, n: number): number {
  let i = 0;
  while (n > 0x7f) {
    out[i++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[i++] = n;
  return i;
}

/** Bytes of the varint preamble at the start of a snappy raw block. */
function varintBytes(b: Uint8Array): number {
  let i = 0;
  while (i < MAX_VARINT_BYTES && b[i]! & 0x80) i++;
  return i + 1;
}

/**
 * Reads the uncompressed length from a snappy raw-format preamble.
 *
 * @returns the length, or -1 when the preamble is malformed.
 */
export function snappyUncompressedLength(compressed: Uint8Array): number {
  let n = 0;
  let scale = 1;
  for (let i = 0; i < MAX_VARINT_BYTES && i < compressed.length; i++) {
    const b = compressed[i]!;
    n += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return n;
    scale *= 128;
  }
  return -1;
}

/**
 * Decompresses a batch body, insisting on the length the frame header promised.
 *
 * @param compressed - snappy raw-format bytes.
 * @param plainLength - the frame header's `plainBodyLength`, ≤ {@link MAX_BATCH_BODY_BYTES}.
 * @returns the plain batch body (a fresh buffer of exactly `plainLength` bytes).
 * @throws {CodecError} `COMPRESSION` when the preamble disagrees with `plainLength` or snappy
 *   rejects the data; `LIMIT_EXCEEDED` when `plainLength` is over the limit.
 * @example
 * ```ts
 * const plain = decompressBody(compressed, header.plainBodyLength);
 * ```
 */
export function decompressBody(compressed: Uint8Array, plainLength: number): Uint8Array {
  if (plainLength > MAX_BATCH_BODY_BYTES) {
    throw new CodecError(
      'LIMIT_EXCEEDED',
      `decompressBody: expected at most ${MAX_BATCH_BODY_BYTES} bytes, got ${plainLength}`,
    );
  }
  const declared = snappyUncompressedLength(compressed);
  if (declared !== plainLength) {
    throw new CodecError(
      'COMPRESSION',
      `decompressBody: expected a snappy preamble of ${plainLength} bytes (frame header), got ${declared < 0 ? 'a malformed preamble' : declared}`,
      { offset: 0 },
    );
  }
  let out: Buffer;
  try {
    out = uncompressSync(compressed, UNCOMPRESS_OPTIONS) as Buffer;
  } catch (e) {
    throw new CodecError('COMPRESSION', 'decompressBody: snappy rejected the data', { cause: e });
  }
  if (out.length !== plainLength) {
    throw new CodecError('COMPRESSION', `decompressBody: expected ${plainLength} bytes, got ${out.length}`);
  }
  return out;
}
