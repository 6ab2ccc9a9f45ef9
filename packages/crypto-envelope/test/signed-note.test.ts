import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CryptoEnvelopeError,
  generateNoteKey,
  NoteSigner,
  NoteVerifier,
  noteKeyHash,
  openNote,
  signNote,
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

// Test vectors from golang.org/x/mod/sumdb/note/note_test.go (TestNewVerifier, TestNewSigner,
// TestSign, TestOpen; https://github.com/golang/mod/blob/master/sumdb/note/note_test.go).
const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const TEXT =
  "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG =
  '\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG =
  '\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';

// RFC 8032 §7.1, TEST 1 and TEST 2 (Ed25519).
const RFC8032 = [
  {
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
];

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

describe('signed-note', () => {
  it('signs the Go package example exactly as Go does (TestSign)', () => {
    expect(signNote(TEXT, PETER_SKEY)).toBe(`${TEXT}\n${PETER_SIG}`);
  });

  it('derives the Go verifier key and key hash from the Go signer key', () => {
    const signer = NoteSigner.parse(PETER_SKEY);
    expect(signer.verifierKey).toBe(PETER_VKEY);
    expect(signer.keyHash).toBe(0xc74f20a3);
    const verifier = NoteVerifier.parse(PETER_VKEY);
    expect(verifier.name).toBe('PeterNeumann');
    expect(verifier.keyHash).toBe(0xc74f20a3);
  });

  it('signs and verifies RFC 8032 test vectors 1 and 2', () => {
    for (const v of RFC8032) {
      const signer = NoteSigner.fromSeed('rfc8032', hex(v.seed));
      expect(Buffer.from(signer.signBytes(hex(v.message))).toString('hex')).toBe(v.signature);
      expect(signer.keyHash).toBe(noteKeyHash('rfc8032', hex(v.publicKey)));
      const verifier = NoteVerifier.parse(signer.verifierKey);
      expect(verifier.verifyBytes(hex(v.message), hex(v.signature))).toBe(true);
      expect(verifier.verifyBytes(new Uint8Array([1]), hex(v.signature))).toBe(false);
    }
  });

  it('opens the Go TestOpen note: one verified, one unknown kept as unverified', () => {
    const opened = openNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, [PETER_VKEY]);
    expect(opened.text).toBe(TEXT);
    expect(opened.signatures).toEqual([
      { name: 'PeterNeumann', keyHash: 0xc74f20a3, base64: PETER_SIG.slice(15, -1), verified: true },
      { name: 'EnochRoot', keyHash: 0xaf0cfe78, base64: ENOCH_SIG.slice(12, -1), verified: false },
    ]);
    const both = openNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, [PETER_VKEY, ENOCH_VKEY]);
    expect(both.signatures.map((s) => s.verified)).toEqual([true, true]);
  });

  it('throws NOTE_UNVERIFIED when no signature is from a known key', () => {
    expect(codeOf(() => openNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, []))).toBe('NOTE_UNVERIFIED');
  });

  it('throws NOTE_INVALID_SIGNATURE when a known key signature does not verify (Go: invalid signature)', () => {
    const bad = `${PETER_SIG.slice(0, 60)}ABCD${PETER_SIG.slice(60)}`;
    expect(codeOf(() => openNote(`${TEXT}\n${bad}`, [PETER_VKEY]))).toBe('NOTE_INVALID_SIGNATURE');
  });

  it('drops repeated signatures and repeated unknown lines as Go does', () => {
    const enochBad = `${ENOCH_SIG.slice(0, 60)}ABCD${ENOCH_SIG.slice(60)}`;
    const opened = openNote(`${TEXT}\n${PETER_SIG}${PETER_SIG}${ENOCH_SIG}${ENOCH_SIG}${enochBad}`, [
      PETER_VKEY,
    ]);
    expect(opened.signatures.map((s) => [s.name, s.verified])).toEqual([
      ['PeterNeumann', true],
      ['EnochRoot', false],
      ['EnochRoot', false],
    ]);
  });

  it('throws AMBIGUOUS_KEY only when a signature names a duplicated verifier', () => {
    expect(codeOf(() => openNote(`${TEXT}\n${ENOCH_SIG}`, [ENOCH_VKEY, PETER_VKEY, ENOCH_VKEY]))).toBe(
      'AMBIGUOUS_KEY',
    );
    expect(openNote(`${TEXT}\n${PETER_SIG}`, [ENOCH_VKEY, PETER_VKEY, ENOCH_VKEY]).signatures).toHaveLength(
      1,
    );
  });

  it('rejects the malformed messages of Go TestOpen and more than 100 signatures', () => {
    const bad = [
      TEXT,
      `${TEXT}\n`,
      `${TEXT}\n${PETER_SIG.slice(0, -1)}`,
      `\u0001${TEXT}\n${PETER_SIG}`,
      `${TEXT}\n\u2014 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=`,
      `${TEXT}\n${PETER_SIG}Unexpected line.\n`,
      `${TEXT}\n${PETER_SIG.repeat(101)}`,
    ];
    for (const note of bad) expect(codeOf(() => openNote(note, [PETER_VKEY]))).toBe('MALFORMED_NOTE');
    // "\xff" + text: invalid UTF-8 only exists as bytes.
    const bytes = Buffer.concat([Buffer.from([0xff]), Buffer.from(`${TEXT}\n${PETER_SIG}`)]);
    expect(codeOf(() => openNote(bytes, [PETER_VKEY]))).toBe('MALFORMED_NOTE');
    expect(openNote(Buffer.from(`${TEXT}\n${PETER_SIG}`), [PETER_VKEY]).text).toBe(TEXT);
  });

  it('rejects every truncation and every single-character change of the Go keys (TestNewVerifier/Signer)', () => {
    for (const [key, parse] of [
      [PETER_VKEY, (k: string) => NoteVerifier.parse(k)],
      [PETER_SKEY, (k: string) => NoteSigner.parse(k)],
    ] as const) {
      for (let i = 0; i <= key.length; i++) {
        for (let j = i + 1; j <= key.length; j++) {
          if (i === 0 && j === key.length) continue;
          expect(codeOf(() => parse(key.slice(i, j)))).toBe('INVALID_KEY');
        }
      }
      for (let i = 0; i < key.length; i++) {
        const mangled = key.slice(0, i) + String.fromCharCode(key.charCodeAt(i) + 1) + key.slice(i + 1);
        expect(codeOf(() => parse(mangled))).toBe('INVALID_KEY');
      }
    }
    // Go: wrong-length key and unknown algorithm, each with an adjusted key hash.
    expect(
      codeOf(() =>
        NoteVerifier.parse('PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=='),
      ),
    ).toBe('INVALID_KEY');
    expect(
      codeOf(() => NoteVerifier.parse('PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW')),
    ).toBe('INVALID_KEY');
  });

  it('generates key pairs in the Go formats that sign and verify each other', () => {
    const { signerKey, verifierKey } = generateNoteKey('sealog.example/log/default');
    expect(signerKey).toMatch(
      /^PRIVATE\+KEY\+sealog\.example\/log\/default\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/,
    );
    expect(verifierKey).toMatch(/^sealog\.example\/log\/default\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/);
    expect(NoteSigner.parse(signerKey).verifierKey).toBe(verifierKey);
    // 33 bytes = 0x01 ‖ 32-byte key; base64 may itself contain '+', so split only twice.
    const encoded = Buffer.from(
      verifierKey.slice(verifierKey.indexOf('+', verifierKey.indexOf('+') + 1) + 1),
      'base64',
    );
    expect(encoded.byteLength).toBe(33);
    expect(encoded[0]).toBe(1);
  });

  it('rejects key names with spaces or plus, and texts without a final newline or with control characters', () => {
    for (const name of ['', 'a b', 'a+b', 'a\u00a0b', 'a\u3000b']) {
      expect(codeOf(() => generateNoteKey(name))).toBe('INVALID_ARGUMENT');
    }
    for (const text of ['', 'no newline', 'tab\there\n', 'bell\u0007\n']) {
      expect(codeOf(() => signNote(text, PETER_SKEY))).toBe('MALFORMED_NOTE');
    }
  });

  it('round-trips random texts and fails on any tampered text or signature', () => {
    const { signerKey, verifierKey } = generateNoteKey('example.com/log');
    const signer = NoteSigner.parse(signerKey);
    const verifier = NoteVerifier.parse(verifierKey);
    const line = fc.string({ unit: 'grapheme', maxLength: 40 }).filter(hasNoControlCharacter);
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 5 }), fc.nat(), (lines, seed) => {
        const text = `${lines.join('\n')}\n`;
        const note = signNote(text, signer);
        const opened = openNote(note, [verifier]);
        expect(opened.text).toBe(text);
        expect(opened.signatures).toHaveLength(1);
        // Tamper the text: append a character to the first line.
        expect(() => openNote(`X${note}`, [verifier])).toThrow(CryptoEnvelopeError);
        // Tamper the signature: change one base64 character after the 4-byte key hash.
        const sigStart = note.lastIndexOf(' ') + 1 + 8;
        const i = sigStart + (seed % (note.length - 2 - sigStart));
        const swapped = note[i] === 'A' ? 'B' : 'A';
        const tampered = note.slice(0, i) + swapped + note.slice(i + 1);
        const code = codeOf(() => openNote(tampered, [verifier]));
        expect(['NOTE_INVALID_SIGNATURE', 'MALFORMED_NOTE']).toContain(code);
      }),
      { numRuns: 100 },
    );
  });

  it('signs with several keys in order and each verifier accepts its own line', () => {
    const a = generateNoteKey('a.example');
    const b = generateNoteKey('b.example');
    const note = signNote('multi\n', [a.signerKey, b.signerKey]);
    expect(openNote(note, [b.verifierKey]).signatures.map((s) => [s.name, s.verified])).toEqual([
      ['a.example', false],
      ['b.example', true],
    ]);
  });
});
