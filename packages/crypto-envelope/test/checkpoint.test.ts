import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CryptoEnvelopeError,
  formatCheckpoint,
  generateNoteKey,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
} from '../src/index';

/** True when no UTF-16 unit is an ASCII control character (below U+0020). */
function hasNoControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 0x20) return false;
  return true;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof CryptoEnvelopeError) return err.code;
    throw err;
  }
  return undefined;
}

// The example of C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint), note text only.
const SPEC_TEXT = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';

describe('checkpoint', () => {
  it('parses the C2SP tlog-checkpoint example and formats it back byte for byte', () => {
    const cp = parseCheckpoint(SPEC_TEXT);
    expect(cp.origin).toBe('example.com/behind-the-sofa');
    expect(cp.size).toBe(20852163);
    expect(Buffer.from(cp.rootHash).toString('base64')).toBe('CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=');
    expect(cp.extensions).toEqual([]);
    expect(formatCheckpoint(cp)).toBe(SPEC_TEXT);
  });

  it('round-trips any origin, size, root hash and extension lines', () => {
    const line = fc.string({ minLength: 1, maxLength: 40 }).filter(hasNoControlCharacter);
    fc.assert(
      fc.property(
        line,
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.array(line, { maxLength: 3 }),
        (origin, size, rootHash, extensions) => {
          const parsed = parseCheckpoint(formatCheckpoint({ origin, size, rootHash, extensions }));
          expect(parsed.origin).toBe(origin);
          expect(parsed.size).toBe(size);
          expect(Buffer.from(parsed.rootHash).equals(rootHash)).toBe(true);
          expect(parsed.extensions).toEqual(extensions);
        },
      ),
    );
  });

  it('rejects every non-canonical or incomplete checkpoint with MALFORMED_CHECKPOINT', () => {
    const hash = 'CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=';
    const bad = [
      'o\n1\n', // two lines
      `o\n1\n${hash}`, // no final newline
      `o\n01\n${hash}\n`, // leading zero
      `o\n-1\n${hash}\n`,
      `o\n1.0\n${hash}\n`,
      `o\n 1\n${hash}\n`,
      `o\n9007199254740992\n${hash}\n`, // 2^53
      `\n1\n${hash}\n`, // empty origin
      `o\n1\n${hash}\n\n`, // empty extension line
      `o\n1\n${hash.slice(0, -1)}\n`, // not base64
      'o\n1\nAAAA\n', // 3 bytes, not 32
      `o\n1\n${hash.slice(0, -2)}J=\n`, // non-zero padding bits
      `o\t\n1\n${hash}\n`, // control character
    ];
    for (const text of bad)
      expect(
        codeOf(() => parseCheckpoint(text)),
        JSON.stringify(text),
      ).toBe('MALFORMED_CHECKPOINT');
    expect(parseCheckpoint(`o\n0\n${hash}\n`).size).toBe(0);
  });

  it('refuses to format invalid fields', () => {
    const rootHash = new Uint8Array(32);
    for (const input of [
      { origin: '', size: 1, rootHash },
      { origin: 'a\nb', size: 1, rootHash },
      { origin: 'o', size: -1, rootHash },
      { origin: 'o', size: 1.5, rootHash },
      { origin: 'o', size: 2 ** 53, rootHash },
      { origin: 'o', size: 1, rootHash: new Uint8Array(31) },
      { origin: 'o', size: 1, rootHash, extensions: [''] },
    ]) {
      expect(codeOf(() => formatCheckpoint(input))).toBe('INVALID_ARGUMENT');
    }
  });

  it('signs and opens a checkpoint note; a tampered size fails verification', () => {
    const { signerKey, verifierKey } = generateNoteKey('sealog.example/log/default');
    const note = signCheckpoint(
      { origin: 'sealog.example/log/default', size: 42, rootHash: new Uint8Array(32).fill(1) },
      signerKey,
    );
    const opened = openCheckpoint(note, [verifierKey]);
    expect(opened.checkpoint.size).toBe(42);
    expect(opened.signatures[0]?.verified).toBe(true);
    expect(codeOf(() => openCheckpoint(note.replace('\n42\n', '\n43\n'), [verifierKey]))).toBe(
      'NOTE_INVALID_SIGNATURE',
    );
  });
});
