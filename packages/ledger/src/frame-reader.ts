/**
 * Opening a stored frame: header decode, data key lookup, AES-GCM open with the header as AAD,
 * snappy decompress, batch body split into leaf views. Used by the read path and by restart replay.
 * Returned leaves are views into one fresh buffer owned by the caller.
 */
import {
  decodeBatchBody,
  decodeFrameHeader,
  decompressBody,
  FRAME_HEADER_BYTES,
  type FrameHeader,
} from '@sealog/codec';
import { openFrame } from '@sealog/crypto-envelope';
import type { DataKeys } from './data-keys';
import { LedgerError } from './errors';

/** A decoded frame. */
export interface OpenedFrame {
  readonly header: FrameHeader;
  /** The records (leaf bytes), in leaf order. */
  readonly leaves: Uint8Array[];
}

/**
 * Decrypts and decodes a frame. With `scratch` (a buffer of at least the stored body's size, see
 * {@link scratchFor}) a compressed frame is decrypted there instead of into fresh memory; the
 * returned leaves never point into `scratch`, so it may be reused for the next frame.
 * @throws {LedgerError} `CORRUPT` when the header, tag or body does not check; `KEY_MISSING`.
 */
export function openStoredFrame(frame: Uint8Array, keys: DataKeys, scratch?: Uint8Array): OpenedFrame {
  let header: FrameHeader;
  try {
    header = decodeFrameHeader(frame);
  } catch (error) {
    throw new LedgerError('CORRUPT', `frame header: ${(error as Error).message}`, { cause: error });
  }
  const stored = frame.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + header.storedBodyLength);
  if (stored.length !== header.storedBodyLength) {
    throw new LedgerError(
      'CORRUPT',
      `frame ${header.batchIndex}: stored body is ${stored.length} bytes, header says ${header.storedBodyLength}`,
    );
  }
  try {
    let body: Uint8Array = stored;
    if (header.encrypted) {
      const key = keys.get(Buffer.from(header.keyId).toString('hex'));
      const out =
        header.compressed && scratch !== undefined && scratch.byteLength >= stored.byteLength
          ? scratch
          : undefined;
      body = openFrame(key, header.nonce, frame.subarray(0, FRAME_HEADER_BYTES), stored, out);
    }
    const plain = header.compressed ? decompressBody(body, header.plainBodyLength) : body;
    return { header, leaves: decodeBatchBody(plain, header.recordCount) };
  } catch (error) {
    if (error instanceof LedgerError) throw error;
    throw new LedgerError('CORRUPT', `frame ${header.batchIndex}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** A scratch buffer for {@link openStoredFrame} that fits `frame`'s stored body (grown as needed). */
export function scratchFor(frame: Uint8Array, scratch: Uint8Array | undefined): Uint8Array {
  const need = frame.byteLength;
  return scratch !== undefined && scratch.byteLength >= need ? scratch : Buffer.allocUnsafe(need);
}
