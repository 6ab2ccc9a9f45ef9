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
