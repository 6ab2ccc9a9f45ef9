/**
 * AES-256-GCM sealing and opening of frame bodies, with the frame header as AAD, and the one place
 * that enforces the nonce rule: under one data key, no nonce is ever used twice.
 *
 * The frame header contains the nonce, so the nonce must exist before the AAD does: a
 * `FrameSealer` first hands out a nonce (`nextNonce`), the caller builds the header around it, then
 * `seal` accepts only a nonce this sealer issued and has not used yet. Nonces are
 * `prefix (4 random bytes) ‖ counter (8 bytes, big-endian)`; the counter starts at 0 and the key is
 * refused after `maxFrames` nonces (default 2^32) so the caller must rotate to a new data key.
 *
 * Deliberately not here: building headers (another package owns the frame format), persisting the
 * counter (a restarted writer starts a new data key instead, see README "Nonce rule"), and
 * chunked/streaming sealing of a frame. Returned buffers are fresh and owned by the caller unless
 * the caller passed `out`, in which case a view of `out` is returned.
 */
import { type Cipher, createCipheriv, createDecipheriv, type Decipher, randomBytes } from 'node:crypto';
import { encodeHex, readUint32BE, writeUint32BE } from './bytes';
import type { DataKey } from './data-key';
import { CryptoEnvelopeError } from './errors';

/** AES-GCM nonce length in bytes (the 96-bit IV of NIST SP 800-38D §8.2.1). */
export const FRAME_NONCE_BYTES = 12;
/** AES-GCM tag length in bytes; shorter tags are never produced or accepted. */
export const FRAME_TAG_BYTES = 16;
/** Random per-sealer nonce prefix length in bytes. */
export const NONCE_PREFIX_BYTES = 4;
/**
 * Default and maximum number of nonces one data key hands out (2^32 frames). Counter nonces could
 * go to 2^64, but a segment key that sealed 2^32 frames has outlived any segment; a hard stop
 * keeps the counter and its bookkeeping exact in a JS number.
 */
export const MAX_FRAMES_PER_KEY: number = 2 ** 32;
/**
 * Issued-but-unsealed nonces one sealer tracks at most (frames in flight). A writer that pipelines
 * more than this is leaking nonces (issuing without sealing or discarding).
 */
export const MAX_OUTSTANDING_NONCES = 1024;
/** Largest plaintext one GCM invocation may encrypt, in bytes: 2^39 − 256 bits (NIST SP 800-38D §5.2.1.1). */
export const MAX_GCM_PLAINTEXT_BYTES: number = 2 ** 36 - 32;

const CIPHER = 'aes-256-gcm';
/** Chunk size for sealing/opening into a caller or result buffer, in bytes (see `updateInto`). */
const UPDATE_CHUNK_BYTES = 32 * 1024;
const TWO_POW_32 = 2 ** 32;
// Without authTagLength, node:crypto accepts truncated tags (down to 4 bytes) on decryption.
const GCM_OPTIONS = { authTagLength: FRAME_TAG_BYTES } as const;

/** Data keys already bound to a sealer: a key object is bound at most once, ever. */
const boundKeys: WeakSet<DataKey> = new WeakSet();

/** Options of {@link createFrameSealer}. */
export interface FrameSealerOptions {
  /** Nonces this key may hand out, 1 ≤ n ≤ 2^32 (default 2^32). Lower it to rotate keys sooner. */
  readonly maxFrames?: number;
}

/**
 * Seals frame bodies under one data key and owns that key's nonce sequence. Create it with
 * {@link createFrameSealer}. Not re-entrant across threads: one sealer lives in one thread.
 */
export class FrameSealer {
  /** The bound data key's 16-byte id (for the frame header); do not mutate. */
  readonly keyId: Uint8Array;
  /** Nonces this key hands out at most. */
  readonly maxFrames: number;
  readonly #key: DataKey;
  readonly #prefix: Uint8Array;
  readonly #prefixWord: number;
  readonly #outstanding: Set<number>;
  #nextCounter: number;
  #sealed: number;

  /**
   * Binds `key` to this sealer; same rules and errors as {@link createFrameSealer} (prefer that).
   *
   * @throws {CryptoEnvelopeError} `KEY_OPEN_ONLY`, `KEY_ALREADY_BOUND`, `INVALID_ARGUMENT`.
   */
  constructor(key: DataKey, options: FrameSealerOptions = {}) {
    const maxFrames = options.maxFrames ?? MAX_FRAMES_PER_KEY;
    if (!Number.isInteger(maxFrames) || maxFrames < 1 || maxFrames > MAX_FRAMES_PER_KEY) {
      throw new CryptoEnvelopeError(
        'INVALID_ARGUMENT',
        `frame sealer: maxFrames must be an integer in [1, 2^32], got ${maxFrames}`,
      );
    }
    if (!key.sealable) {
      throw new CryptoEnvelopeError(
        'KEY_OPEN_ONLY',
        `frame sealer: key ${key.keyIdHex} was restored from bytes and may only open frames; seal under a new DataKey.generate()`,
      );
    }
    if (boundKeys.has(key)) {
      throw new CryptoEnvelopeError(
        'KEY_ALREADY_BOUND',
        `frame sealer: key ${key.keyIdHex} is already bound to a sealer; a key has one nonce sequence`,
      );
    }
    // The check lives here, not in the factory, so `new FrameSealer` cannot bypass it.
    boundKeys.add(key);
    // A random prefix costs nothing and turns an accidental double binding (e.g. the same key
    // bytes marked fresh in two processes) from a certain nonce collision into a 2^-32 one.
    const prefix = new Uint8Array(randomBytes(NONCE_PREFIX_BYTES));
    this.keyId = key.keyId;
    this.maxFrames = maxFrames;
    this.#key = key;
    this.#prefix = prefix;
    this.#prefixWord = readUint32BE(prefix, 0);
    this.#outstanding = new Set();
    this.#nextCounter = 0;
    this.#sealed = 0;
  }

  /** Nonces handed out so far (sealed, discarded or in flight). */
  get framesIssued(): number {
    return this.#nextCounter;
  }

  /** Frames sealed so far. */
  get framesSealed(): number {
    return this.#sealed;
  }

  /** Nonces this key can still hand out before it must be rotated. */
  get framesRemaining(): number {
    return this.maxFrames - this.#nextCounter;
  }

  /**
   * Issues the next nonce (12 bytes). Write it into the frame header, then pass the same bytes to
   * {@link FrameSealer.seal}. If `out` is given the nonce is written to `out[offset..offset+12)` and
   * that view is returned (e.g. straight into a header buffer).
   *
   * @throws {CryptoEnvelopeError} `KEY_EXHAUSTED` after `maxFrames` nonces: start a new data key.
   * @throws {CryptoEnvelopeError} `INVALID_ARGUMENT` when more than {@link MAX_OUTSTANDING_NONCES}
   *   nonces are in flight, or `out` is too small.
   * @example
   * ```ts
   * const nonce = sealer.nextNonce(header, NONCE_OFFSET);
   * const body = sealer.seal(nonce, header, plaintext);
   * ```
   */
  nextNonce(out?: Uint8Array, offset = 0): Uint8Array {
    const counter = this.#nextCounter;
    if (counter >= this.maxFrames) {
      throw new CryptoEnvelopeError(
        'KEY_EXHAUSTED',
        `frame sealer: key ${encodeHex(this.keyId)} issued its limit of ${this.maxFrames} nonces; rotate to a new data key`,
      );
    }
    if (this.#outstanding.size >= MAX_OUTSTANDING_NONCES) {
      throw new CryptoEnvelopeError(
        'INVALID_ARGUMENT',
        `frame sealer: ${this.#outstanding.size} nonces issued but not sealed (limit ${MAX_OUTSTANDING_NONCES}); seal or discardNonce them`,
      );
    }
    let nonce: Uint8Array;
    if (out === undefined) {
      nonce = new Uint8Array(FRAME_NONCE_BYTES);
    } else {
      if (!Number.isInteger(offset) || offset < 0 || offset + FRAME_NONCE_BYTES > out.byteLength) {
        throw new CryptoEnvelopeError(
          'INVALID_ARGUMENT',
          `frame sealer: out needs ${FRAME_NONCE_BYTES} bytes at offset ${offset}, got length ${out.byteLength}`,
        );
      }
      nonce = out.subarray(offset, offset + FRAME_NONCE_BYTES);
    }
    nonce.set(this.#prefix, 0);
    // 64-bit big-endian counter; counters stay below 2^32, so the high word is always 0.
    writeUint32BE(nonce, 4, Math.floor(counter / TWO_POW_32));
    writeUint32BE(nonce, 8, counter >>> 0);
    this.#nextCounter = counter + 1;
    this.#outstanding.add(counter);
    return nonce;
  }

  /**
   * Burns an issued nonce without sealing (e.g. building the header failed). The nonce is never
   * issued again and can no longer be sealed with.
   *
   * @throws {CryptoEnvelopeError} `NONCE_FOREIGN` / `NONCE_REUSE` like {@link FrameSealer.seal}.
   */
  discardNonce(nonce: Uint8Array): void {
    this.#consume(nonce);
  }

  /**
   * Seals `plaintext` with `nonce` and `aad` (the frame header); returns `ciphertext ‖ tag`
   * (`plaintext.length + 16` bytes). With `out` (≥ `plaintext.length + 16` bytes, not overlapping
   * `plaintext`) the result is written to `out[0..)` and a view of `out` is returned; without it
   * a fresh buffer is returned.
   *
   * The nonce is consumed before encrypting: if anything fails afterwards it stays burned.
   *
   * @throws {CryptoEnvelopeError} `NONCE_FOREIGN` if this sealer did not issue `nonce`;
   *   `NONCE_REUSE` if it was already sealed with or discarded; `INVALID_ARGUMENT` on a bad
   *   length of `nonce`, `plaintext` or `out`.
   * @example
   * ```ts
   * const sealer = createFrameSealer(DataKey.generate());
   * const nonce = sealer.nextNonce();
   * const header = buildHeader(sealer.keyId, nonce); // caller's frame format
   * const body = sealer.seal(nonce, header, plaintext);
   * ```
   */
  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out?: Uint8Array): Uint8Array {
    const length = plaintext.byteLength;
    checkPlaintextLength(length);
    if (out !== undefined && out.byteLength < length + FRAME_TAG_BYTES) {
      throw new CryptoEnvelopeError(
        'INVALID_ARGUMENT',
        `frame sealer: out must hold ${length + FRAME_TAG_BYTES} bytes, got ${out.byteLength}`,
      );
    }
    this.#consume(nonce);
    const cipher = createCipheriv(CIPHER, this.#key.keyObject, nonce, GCM_OPTIONS);
    if (aad.byteLength > 0) cipher.setAAD(aad);
    const result = out === undefined ? Buffer.allocUnsafe(length + FRAME_TAG_BYTES) : out;
    updateInto(cipher, plaintext, result);
    cipher.final();
    result.set(cipher.getAuthTag(), length);
    this.#sealed++;
    return out === undefined ? result : out.subarray(0, length + FRAME_TAG_BYTES);
  }

  /**
   * Like {@link FrameSealer.seal} but returns the ciphertext alone and writes the 16-byte tag into
   * `tagOut`: zero copies, for writers that append `header, ciphertext, tag` with one `writev`.
   * The returned buffer is fresh and owned by the caller.
   *
   * @throws {CryptoEnvelopeError} as {@link FrameSealer.seal}; `INVALID_ARGUMENT` if `tagOut` is
   *   not 16 bytes.
   */
  sealDetached(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, tagOut: Uint8Array): Uint8Array {
    checkPlaintextLength(plaintext.byteLength);
    if (tagOut.byteLength !== FRAME_TAG_BYTES) {
      throw new CryptoEnvelopeError(
        'INVALID_ARGUMENT',
        `frame sealer: tagOut must be ${FRAME_TAG_BYTES} bytes, got ${tagOut.byteLength}`,
      );
    }
    this.#consume(nonce);
    const cipher = createCipheriv(CIPHER, this.#key.keyObject, nonce, GCM_OPTIONS);
    if (aad.byteLength > 0) cipher.setAAD(aad);
    const ciphertext = cipher.update(plaintext);
    cipher.final();
    tagOut.set(cipher.getAuthTag(), 0);
    this.#sealed++;
    return ciphertext;
  }

  /** Validates that `nonce` was issued here and is unused, then marks it used. */
  #consume(nonce: Uint8Array): void {
    if (nonce.byteLength !== FRAME_NONCE_BYTES) {
      throw new CryptoEnvelopeError(
        'INVALID_ARGUMENT',
        `frame sealer: expected a ${FRAME_NONCE_BYTES}-byte nonce, got ${nonce.byteLength} bytes`,
      );
    }
    const high = readUint32BE(nonce, 4);
    const counter = high * TWO_POW_32 + readUint32BE(nonce, 8);
    if (readUint32BE(nonce, 0) !== this.#prefixWord || counter >= this.#nextCounter) {
      throw new CryptoEnvelopeError(
        'NONCE_FOREIGN',
        `frame sealer: nonce ${encodeHex(nonce)} was not issued by this sealer (key ${encodeHex(this.keyId)}, prefix ${encodeHex(this.#prefix)}, next counter ${this.#nextCounter})`,
      );
    }
    if (!this.#outstanding.delete(counter)) {
      throw new CryptoEnvelopeError(
        'NONCE_REUSE',
        `frame sealer: nonce ${encodeHex(nonce)} (counter ${counter}) was already used or discarded under key ${encodeHex(this.keyId)}`,
      );
    }
  }
}

/**
 * Binds a data key to its one and only `FrameSealer`.
 *
 * @param key - a key from `DataKey.generate()` (or `DataKey.fromBytes(..., { fresh: true })`).
 * @param options - `maxFrames`: nonce budget, 1 ≤ n ≤ 2^32 (default 2^32).
 * @throws {CryptoEnvelopeError} `KEY_OPEN_ONLY` for keys restored from storage; `KEY_ALREADY_BOUND`
 *   if this key object was bound before; `INVALID_ARGUMENT` for a bad `maxFrames`.
 * @example
 * ```ts
 * const key = DataKey.generate();
 * const sealer = createFrameSealer(key, { maxFrames: 1_000_000 });
 * createFrameSealer(key); // throws KEY_ALREADY_BOUND
 * ```
 */
export function createFrameSealer(key: DataKey, options: FrameSealerOptions = {}): FrameSealer {
  return new FrameSealer(key, options);
}

/**
 * Opens a frame body sealed by {@link FrameSealer.seal}: verifies the tag over `aad` and the
 * ciphertext, and returns the plaintext. Works with open-only keys. With `out` (≥ plaintext
 * length) the plaintext is copied there and a view of `out` is returned; without it the buffer
 * produced by node:crypto is returned as is (no copy, owned by the caller).
 *
 * No plaintext is returned unless the tag verified (OpenSSL compares the tag in constant time).
 * With `out`, plaintext is decrypted into `out` first and zero-filled again if the tag fails, all
 * within this synchronous call (do not pass memory another thread reads concurrently).
 *
 * @throws {CryptoEnvelopeError} `AUTH_FAILED` when the tag does not verify; `INVALID_ARGUMENT`
 *   when the nonce is not 12 bytes, the body is shorter than the 16-byte tag, or `out` is too small.
 * @example
 * ```ts
 * const plaintext = openFrame(key, nonceFromHeader, headerBytes, body);
 * ```
 */
export function openFrame(
  key: DataKey,
  nonce: Uint8Array,
  aad: Uint8Array,
  ciphertextAndTag: Uint8Array,
  out?: Uint8Array,
): Uint8Array {
  if (nonce.byteLength !== FRAME_NONCE_BYTES) {
    throw new CryptoEnvelopeError(
      'INVALID_ARGUMENT',
      `open frame: expected a ${FRAME_NONCE_BYTES}-byte nonce, got ${nonce.byteLength} bytes`,
    );
  }
  const length = ciphertextAndTag.byteLength - FRAME_TAG_BYTES;
  if (length < 0) {
    throw new CryptoEnvelopeError(
      'INVALID_ARGUMENT',
      `open frame: body must hold at least the ${FRAME_TAG_BYTES}-byte tag, got ${ciphertextAndTag.byteLength} bytes`,
    );
  }
  if (out !== undefined && out.byteLength < length) {
    throw new CryptoEnvelopeError(
      'INVALID_ARGUMENT',
      `open frame: out must hold ${length} bytes, got ${out.byteLength}`,
    );
  }
  const decipher = createDecipheriv(CIPHER, key.keyObject, nonce, GCM_OPTIONS);
  if (aad.byteLength > 0) decipher.setAAD(aad);
  decipher.setAuthTag(ciphertextAndTag.subarray(length));
  const ciphertext = ciphertextAndTag.subarray(0, length);
  // Without `out`, node:crypto's own buffer is returned (no copy). With `out`, plaintext is
  // written there before the tag is checked; it is wiped again if the check fails.
  const plaintext = out === undefined ? decipher.update(ciphertext) : undefined;
  if (out !== undefined) updateInto(decipher, ciphertext, out);
  try {
    decipher.final();
  } catch (cause) {
    if (out !== undefined) out.fill(0, 0, length);
    throw new CryptoEnvelopeError(
      'AUTH_FAILED',
      `open frame: tag mismatch under key ${key.keyIdHex} (wrong key, nonce or AAD, or tampered body of ${ciphertextAndTag.byteLength} bytes)`,
      { cause },
    );
  }
  return plaintext ?? out!.subarray(0, length);
}

/**
 * Runs `cipher.update` over `input` and writes the output to `output[0..)`. Inputs above
 * {@link UPDATE_CHUNK_BYTES} go through in chunks: each chunk's output is copied while it is still
 * in cache, and no fresh input-sized buffer is page-faulted in. Measured (median of 7 runs,
 * interleaved, 2-core VM, Node 20.20): 1 MiB seal 711–775 µs unchunked (bare createCipheriv)
 * vs 492–580 µs in 32 KiB chunks; 64 KiB 33.8 µs bare vs 35.6–36.0 µs chunked + copied.
 * GCM is a stream mode: `update` returns exactly as many bytes as it is given.
 */
function updateInto(cipher: Cipher | Decipher, input: Uint8Array, output: Uint8Array): void {
  const length = input.byteLength;
  if (length <= UPDATE_CHUNK_BYTES) {
    output.set(cipher.update(input), 0);
    return;
  }
  for (let offset = 0; offset < length; offset += UPDATE_CHUNK_BYTES) {
    const end = Math.min(length, offset + UPDATE_CHUNK_BYTES);
    output.set(cipher.update(input.subarray(offset, end)), offset);
  }
}

function checkPlaintextLength(length: number): void {
  if (length > MAX_GCM_PLAINTEXT_BYTES) {
    throw new CryptoEnvelopeError(
      'INVALID_ARGUMENT',
      `frame sealer: plaintext of ${length} bytes exceeds the GCM limit of ${MAX_GCM_PLAINTEXT_BYTES} bytes`,
    );
  }
}
