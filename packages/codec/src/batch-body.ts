/**
 * Batch body: the plaintext of a frame before compression — a table of record lengths, then the
 * records (leaves) concatenated, so leaf boundaries are known without decoding any msgpack.
 *
 *     body = count:u32 ‖ len[0]:u32 ‖ … ‖ len[count−1]:u32 ‖ leaf[0] ‖ … ‖ leaf[count−1]   (big-endian)
 *
 * Not here: compression, encryption, hashing. Buffers: `encodeBatchBody` writes into the caller's
 * `out` (returns a view of it) or a fresh buffer; `decodeBatchBody` returns views into its input,
 * valid while that input is neither reused nor modified.
 */
import { CodecError } from './errors';

/** Most records in one batch (one frame): 65,536. */
export const MAX_BATCH_RECORDS: number = 65_536;
/** Largest batch body (plaintext, before compression): 64 MiB. */
export const MAX_BATCH_BODY_BYTES: number = 64 * 1024 * 1024;
/** Bytes of the record count and of each entry of the length table. */
const U32_BYTES = 4;

/**
 * Size in bytes of the body {@link encodeBatchBody} writes for `leaves`.
 *
 * @param leaves - the records (leaf bytes), in leaf order.
 */
export function batchBodyLength(leaves: readonly Uint8Array[]): number {
  let n = U32_BYTES * (1 + leaves.length);
  for (let i = 0; i < leaves.length; i++) n += leaves[i]!.length;
  return n;
}

/**
 * Encodes a batch body.
 *
 * @param leaves - 1…{@link MAX_BATCH_RECORDS} leaves, each non-empty, in leaf order.
 * @param out - optional reusable destination of at least `batchBodyLength(leaves)` bytes.
 * @returns the body: a view of `out` starting at 0, or a fresh buffer when `out` is omitted.
 * @throws {CodecError} `LIMIT_EXCEEDED` for too many records or bytes; `INVALID_ARGUMENT` for an
 *   empty batch or leaf; `BUFFER_TOO_SMALL` when `out` is too short.
 * @example
 * ```ts
 * const scratch = new Uint8Array(8 * 1024 * 1024);          // reused for every batch
 * const body = encodeBatchBody(leaves, scratch);             // view of scratch
 * ```
 */
export function encodeBatchBody(leaves: readonly Uint8Array[], out?: Uint8Array): Uint8Array {
  const count = leaves.length;
  if (count === 0) throw new CodecError('INVALID_ARGUMENT', 'batch body: expected at least 1 record, got 0');
  if (count > MAX_BATCH_RECORDS) {
    throw new CodecError(
      'LIMIT_EXCEEDED',
      `batch body: expected at most ${MAX_BATCH_RECORDS} records, got ${count}`,
    );
  }
  const len = batchBodyLength(leaves);
  if (len > MAX_BATCH_BODY_BYTES) {
    throw new CodecError(
      'LIMIT_EXCEEDED',
      `batch body: expected at most ${MAX_BATCH_BODY_BYTES} bytes, got ${len}`,
    );
  }
  let dst: Uint8Array;
  if (out === undefined) {
    dst = Buffer.allocUnsafe(len);
  } else if (out.length < len) {
    throw new CodecError(
      'BUFFER_TOO_SMALL',
      `batch body: expected an output buffer of ${len} bytes, got ${out.length}`,
    );
  } else {
    dst = out;
  }
  const view = new DataView(dst.buffer, dst.byteOffset, len);
  view.setUint32(0, count);
  let table = U32_BYTES;
  let p = U32_BYTES * (1 + count);
  for (let i = 0; i < count; i++) {
    const leaf = leaves[i]!;
    if (leaf.length === 0)
      throw new CodecError('INVALID_ARGUMENT', `batch body: expected leaf ${i} to be non-empty`);
    view.setUint32(table, leaf.length);
    table += U32_BYTES;
    dst.set(leaf, p);
    p += leaf.length;
  }
  return out === undefined ? dst : dst.subarray(0, len);
}

/**
 * Builds a batch body in place, leaf by leaf, so leaves are written once, straight into the body
 * (e.g. by `assembleRecord(prev, body, builder.bytes, builder.nextOffset)`), and the leaves stay
 * available as views of it. Same format as {@link encodeBatchBody}.
 *
 * @example
 * ```ts
 * const b = new BatchBodyBuilder(bodies.length, bound);      // bound ≥ total leaf bytes
 * for (const body of bodies) b.commit(assembleRecord(null, body, b.bytes, b.nextOffset).length);
 * const plain = b.finish();                                    // view of b.bytes
 * ```
 */
export class BatchBodyBuilder {
  /**
   * The buffer the body is written to, from its start (a view at offset 0 of an ArrayBuffer
   * of its own, or of the caller's reused buffer); the body is its prefix.
   */
  readonly bytes: Uint8Array;
  /** Records the body will hold. */
  readonly count: number;
  /** Start offsets of the leaves in {@link BatchBodyBuilder.bytes}, then the end (count + 1). */
  readonly offsets: Uint32Array;
  #index = 0;

  /**
   * @param count - 1…{@link MAX_BATCH_RECORDS} records.
   * @param leafBytes - room for the leaves: at least the sum of their lengths.
   * @param reuse - a buffer to write into instead of a fresh one, used from its start when it is
   *   large enough (reusing warm memory saves the page faults of a fresh multi-MiB buffer);
   *   ignored otherwise. Its old contents are overwritten up to the body's end.
   * @throws {CodecError} `INVALID_ARGUMENT` / `LIMIT_EXCEEDED` for a bad count or size.
   */
  constructor(count: number, leafBytes: number, reuse?: Uint8Array) {
    if (!Number.isInteger(count) || count < 1 || count > MAX_BATCH_RECORDS) {
      throw new CodecError(
        count > MAX_BATCH_RECORDS ? 'LIMIT_EXCEEDED' : 'INVALID_ARGUMENT',
        `batch body: expected 1…${MAX_BATCH_RECORDS} records, got ${count}`,
      );
    }
    const table = U32_BYTES * (1 + count);
    const size = Math.min(table + Math.max(0, leafBytes), MAX_BATCH_BODY_BYTES);
    this.bytes = reuse !== undefined && reuse.length >= size ? reuse.subarray(0, size) : new Uint8Array(size);
    this.count = count;
    this.offsets = new Uint32Array(count + 1);
    this.offsets[0] = table;
    writeU32(this.bytes, 0, count);
  }

  /** Where the next leaf must be written. */
  get nextOffset(): number {
    return this.offsets[this.#index]!;
  }

  /**
   * Takes the `length` bytes written at {@link BatchBodyBuilder.nextOffset} as the next leaf.
   * @returns the leaf, a view of {@link BatchBodyBuilder.bytes}.
   * @throws {CodecError} `INVALID_ARGUMENT` for an empty leaf or one too many;
   *   `LIMIT_EXCEEDED` when the body would pass {@link MAX_BATCH_BODY_BYTES} or the buffer.
   */
  commit(length: number): Uint8Array {
    const i = this.#index;
    if (i >= this.count)
      throw new CodecError('INVALID_ARGUMENT', `batch body: more than ${this.count} leaves`);
    if (!Number.isInteger(length) || length < 1) {
      throw new CodecError('INVALID_ARGUMENT', `batch body: expected leaf ${i} to be non-empty`);
    }
    const start = this.offsets[i]!;
    const end = start + length;
    if (end > this.bytes.length) {
      // The buffer is capped at MAX_BATCH_BODY_BYTES, so this also enforces the limit.
      throw new CodecError(
        'LIMIT_EXCEEDED',
        `batch body: leaf ${i} ends at ${end}, past ${this.bytes.length} bytes (limit ${MAX_BATCH_BODY_BYTES})`,
      );
    }
    writeU32(this.bytes, U32_BYTES * (1 + i), length);
    this.offsets[i + 1] = end;
    this.#index = i + 1;
    return this.bytes.subarray(start, end);
  }

  /**
   * The finished body (a view of {@link BatchBodyBuilder.bytes} from 0).
   * @throws {CodecError} `INVALID_ARGUMENT` unless exactly `count` leaves were committed.
   */
  finish(): Uint8Array {
    if (this.#index !== this.count) {
      throw new CodecError('INVALID_ARGUMENT', `batch body: ${this.#index} of ${this.count} leaves written`);
    }
    return this.bytes.subarray(0, this.offsets[this.count]!);
  }
}

function writeU32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}

function bad(message: string, offset: number): CodecError {
  return new CodecError('BAD_BATCH_BODY', `batch body: ${message}`, { offset });
}

/**
 * Splits a batch body into its leaves without copying.
 *
 * @param bytes - exactly one body (decompressed plaintext).
 * @param expectedCount - when given (the frame header's record count), the body must agree.
 * @returns one view per leaf, into `bytes`; valid while `bytes` is neither reused nor modified.
 * @throws {CodecError} `BAD_BATCH_BODY` (with `offset`) when the table and bytes disagree: a count
 *   of 0 or over {@link MAX_BATCH_RECORDS}, a zero length, lengths that overrun the body or leave
 *   trailing bytes.
 * @example
 * ```ts
 * for (const leaf of decodeBatchBody(plain, header.recordCount)) hashLeaf(leaf);
 * ```
 */
export function decodeBatchBody(bytes: Uint8Array, expectedCount?: number): Uint8Array[] {
  if (bytes.length < U32_BYTES) throw bad(`expected at least ${U32_BYTES} bytes, got ${bytes.length}`, 0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const count = view.getUint32(0);
  if (count === 0 || count > MAX_BATCH_RECORDS) {
    throw bad(`expected a record count of 1…${MAX_BATCH_RECORDS}, got ${count}`, 0);
  }
  if (expectedCount !== undefined && count !== expectedCount) {
    throw bad(`expected record count ${expectedCount} (frame header), got ${count}`, 0);
  }
  let p = U32_BYTES * (1 + count);
  if (p > bytes.length)
    throw bad(`expected a length table of ${count} entries, got ${bytes.length} bytes in all`, 0);
  const leaves: Uint8Array[] = new Array(count);
  let table = U32_BYTES;
  for (let i = 0; i < count; i++) {
    const len = view.getUint32(table);
    if (len === 0) throw bad(`expected leaf ${i} to have a length ≥ 1, got 0`, table);
    if (len > bytes.length - p) {
      throw bad(
        `expected leaf ${i} (${len} bytes at offset ${p}) within the ${bytes.length}-byte body`,
        table,
      );
    }
    leaves[i] = bytes.subarray(p, p + len);
    p += len;
    table += U32_BYTES;
  }
  if (p !== bytes.length)
    throw bad(`expected the body to end at offset ${p}, got ${bytes.length - p} trailing bytes`, p);
  return leaves;
}
