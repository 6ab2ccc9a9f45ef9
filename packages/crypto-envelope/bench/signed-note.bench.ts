/**
 * Ed25519 signed notes and checkpoints next to the raw node:crypto sign/verify they wrap.
 */
import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { bench, describe } from 'vitest';
import {
  formatCheckpoint,
  generateNoteKey,
  NoteSigner,
  NoteVerifier,
  openCheckpoint,
  openNote,
  signNote,
} from '../src/index';
import { BENCH_OPTIONS, check } from './bench-options';

const origin = 'sealog.example/log/default';
const { signerKey, verifierKey } = generateNoteKey(origin);
const signer = NoteSigner.parse(signerKey);
const verifier = NoteVerifier.parse(verifierKey);
const text = formatCheckpoint({ origin, size: 123_456_789, rootHash: randomBytes(32) });
const textBytes = Buffer.from(text);
const note = signNote(text, signer);
check(openNote(note, [verifier]).text === text, 'note round trip');
check(openCheckpoint(note, [verifier]).checkpoint.size === 123_456_789, 'checkpoint round trip');
// A separate raw Ed25519 key pair for the baseline rows (same algorithm, no note framing).
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const rawSig = sign(null, textBytes, privateKey);
check(verify(null, textBytes, publicKey, rawSig), 'raw Ed25519 round trip');

describe('Ed25519 sign (checkpoint text)', () => {
  bench(
    'bare crypto.sign',
    () => {
      sign(null, textBytes, privateKey);
    },
    BENCH_OPTIONS,
  );
  bench(
    'signNote with parsed NoteSigner',
    () => {
      signNote(text, signer);
    },
    BENCH_OPTIONS,
  );
  bench(
    'signNote with key string (parses the key each call)',
    () => {
      signNote(text, signerKey);
    },
    BENCH_OPTIONS,
  );
});

describe('Ed25519 verify (checkpoint note)', () => {
  bench(
    'bare crypto.verify',
    () => {
      verify(null, textBytes, publicKey, rawSig);
    },
    BENCH_OPTIONS,
  );
  bench(
    'openNote with parsed NoteVerifier',
    () => {
      openNote(note, [verifier]);
    },
    BENCH_OPTIONS,
  );
});

describe('checkpoint sign + open', () => {
  bench(
    'formatCheckpoint + signNote + openCheckpoint',
    () => {
      const signed = signNote(
        formatCheckpoint({ origin, size: 42, rootHash: textBytes.subarray(0, 32) }),
        signer,
      );
      openCheckpoint(signed, [verifier]);
    },
    BENCH_OPTIONS,
  );
});
