import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CryptoEnvelopeError,
  createFrameSealer,
  DataKey,
  generateMasterKey,
  Keyring,
  MasterKey,
  openFrame,
  parseWrappedKeyHeader,
  unwrapKey,
  wrapKey,
} from '../src/index';

const seq = (start: number, length: number): Uint8Array => Uint8Array.from({ length }, (_, i) => start + i);
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof CryptoEnvelopeError) return err.code;
    throw err;
  }
  return undefined;
}

// Golden fixture: wrapped-key layout v1 built by an independent encoder (plain createCipheriv)
// with master key 00..1f id "kek-1", purpose 1 (data key), key id a0..af, nonce b0..bb and key
// material c0..df. If this stops unwrapping, the on-disk format changed: bump the version.
const GOLDEN_WRAPPED =
  '534c574b' + // magic "SLWK"
  '01' + // version
  '01' + // purpose: data key
  '05' + // master key id length
  '0010' + // key id length (16)
  '6b656b2d31' + // "kek-1"
  'a0a1a2a3a4a5a6a7a8a9aaabacadaeaf' + // key id
  'b0b1b2b3b4b5b6b7b8b9babb' + // nonce
  '5994986828087d988f315d690190460d54ed9b01c1fb59e28617582a805f2cc9' + // encrypted key
  '0fe85473c4d708c17276fd7e59eae604'; // tag

describe('keyring', () => {
  const goldenKek = new MasterKey('kek-1', seq(0, 32));

  it('unwraps the golden wrapped-key fixture to its key material', () => {
    const bytes = new Uint8Array(Buffer.from(GOLDEN_WRAPPED, 'hex'));
    const header = parseWrappedKeyHeader(bytes);
    expect(header).toMatchObject({ version: 1, purpose: 'data-key', kekId: 'kek-1' });
    expect(toHex(header.keyId)).toBe(toHex(seq(0xa0, 16)));
    expect(toHex(unwrapKey(goldenKek, bytes, 'data-key').material)).toBe(toHex(seq(0xc0, 32)));
    const key = new Keyring([goldenKek]).unwrapDataKey(bytes);
    expect(key.keyIdHex).toBe(toHex(seq(0xa0, 16)));
    expect(key.sealable).toBe(false);
  });

  it('writes the documented layout: header, nonce, 32-byte ciphertext, 16-byte tag', () => {
    const wrapped = wrapKey(goldenKek, 'subject-key', seq(1, 3), seq(0xc0, 32));
    expect(wrapped.byteLength).toBe(69 + 5 + 3);
    expect(toHex(wrapped.subarray(0, 9 + 5 + 3))).toBe(
      `534c574b0102050003${toHex(Buffer.from('kek-1'))}010203`,
    );
  });

  it('fails to unwrap when any header byte (purpose, ids) or any later byte is changed', () => {
    const wrapped = wrapKey(goldenKek, 'data-key', seq(0xa0, 16), seq(0xc0, 32));
    fc.assert(
      fc.property(
        fc.nat({ max: wrapped.byteLength - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (index, delta) => {
          const copy = Uint8Array.from(wrapped);
          copy[index] = (copy[index]! + delta) & 0xff;
          const code = codeOf(() => unwrapKey(goldenKek, copy, 'data-key'));
          expect(['AUTH_FAILED', 'MALFORMED_WRAPPED_KEY', 'UNKNOWN_KEK']).toContain(code);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('refuses to unwrap a key as a different purpose', () => {
    const wrapped = wrapKey(goldenKek, 'subject-key', seq(0, 36), seq(0xc0, 32));
    expect(codeOf(() => unwrapKey(goldenKek, wrapped, 'data-key'))).toBe('MALFORMED_WRAPPED_KEY');
  });

  it('wraps signing-key seeds under their own purpose (code 5)', () => {
    const wrapped = wrapKey(goldenKek, 'signing-key', seq(0, 16), seq(0x40, 32));
    expect(wrapped[5]).toBe(5);
    expect(parseWrappedKeyHeader(wrapped).purpose).toBe('signing-key');
    expect(toHex(unwrapKey(goldenKek, wrapped, 'signing-key').material)).toBe(toHex(seq(0x40, 32)));
    expect(codeOf(() => unwrapKey(goldenKek, wrapped, 'blind-index-root'))).toBe('MALFORMED_WRAPPED_KEY');
  });

  it('wraps new keys under the current master key and unwraps old ones after rotation', () => {
    const old = generateMasterKey('kek-2025');
    const next = generateMasterKey('kek-2026');
    const before = new Keyring([old]);
    const dataKey = DataKey.generate();
    const sealer = createFrameSealer(dataKey);
    const nonce = sealer.nextNonce();
    const body = sealer.seal(nonce, new Uint8Array(0), new Uint8Array([42]));
    const wrappedOld = before.wrapDataKey(dataKey);

    const after = new Keyring([old, next], 'kek-2026');
    expect(after.current.id).toBe('kek-2026');
    const reopened = after.unwrapDataKey(wrappedOld);
    expect(toHex(openFrame(reopened, nonce, new Uint8Array(0), body))).toBe('2a');
    expect(parseWrappedKeyHeader(after.wrapDataKey(reopened)).kekId).toBe('kek-2026');

    const rewrapped = after.rewrap(wrappedOld);
    expect(parseWrappedKeyHeader(rewrapped).kekId).toBe('kek-2026');
    const retired = new Keyring([next]);
    expect(toHex(openFrame(retired.unwrapDataKey(rewrapped), nonce, new Uint8Array(0), body))).toBe('2a');
    expect(codeOf(() => retired.unwrapDataKey(wrappedOld))).toBe('UNKNOWN_KEK');
  });

  it('returns open-only data keys unless the caller marks them fresh', () => {
    const keyring = new Keyring([generateMasterKey('k')]);
    const wrapped = keyring.wrapDataKey(DataKey.generate());
    expect(codeOf(() => createFrameSealer(keyring.unwrapDataKey(wrapped)))).toBe('KEY_OPEN_ONLY');
    expect(keyring.unwrapDataKey(wrapped, { fresh: true }).sealable).toBe(true);
  });

  it('reports AUTH_FAILED when a different master key carries the same id', () => {
    const wrapped = new Keyring([generateMasterKey('same')]).wrapDataKey(DataKey.generate());
    expect(codeOf(() => new Keyring([generateMasterKey('same')]).unwrapDataKey(wrapped))).toBe('AUTH_FAILED');
  });

  it('rejects duplicate ids, an unknown current id and an empty ring', () => {
    const a = generateMasterKey('a');
    expect(codeOf(() => new Keyring([a, generateMasterKey('a')]))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => new Keyring([a], 'b'))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => new Keyring([]))).toBe('INVALID_ARGUMENT');
  });

  it('rejects truncated or mis-versioned wrapped keys with MALFORMED_WRAPPED_KEY', () => {
    const bytes = new Uint8Array(Buffer.from(GOLDEN_WRAPPED, 'hex'));
    expect(codeOf(() => parseWrappedKeyHeader(bytes.subarray(0, bytes.byteLength - 1)))).toBe(
      'MALFORMED_WRAPPED_KEY',
    );
    const v2 = Uint8Array.from(bytes);
    v2[4] = 2;
    expect(codeOf(() => parseWrappedKeyHeader(v2))).toBe('MALFORMED_WRAPPED_KEY');
    expect(codeOf(() => parseWrappedKeyHeader(new Uint8Array(3)))).toBe('MALFORMED_WRAPPED_KEY');
  });
});
