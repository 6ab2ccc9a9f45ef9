/**
 * Single-core rates of the primitives verification is made of, on this machine, and the ceiling
 * they put on throughput (README, "Benchmarks"): what one record costs at least, keyless and keyed,
 * whatever the code around the primitives does.
 *
 *   node --conditions=@sealog/source --import tsx packages/verifier/bench/primitives.ts [DIR]
 *
 * With DIR (a data directory from make-bench-log.ts) the per-record figures use that log's frames
 * (stored bytes per record, leaf size, plain body size); without, those of the README's bench log.
 */
import { createCipheriv, createDecipheriv, hash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { compressBody, decodeFrameHeader, decompressBody, FRAME_HEADER_BYTES } from '@sealog/codec';
import { openFrame } from '@sealog/crypto-envelope';
import { HASH_WORDS, hashNodeWords, SimdHasher } from '@sealog/merkle';
import { DATA_KEYS_FILE, readDataKeys } from '../src/data-key-file';
import { FindingCollector } from '../src/finding';

const MiB = 1048576;

/** Median of `runs` timings of `fn`, in ms. */
function time(fn: () => void, runs = 7): number {
  fn();
  const ts: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    fn();
    ts.push(performance.now() - t);
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(runs / 2)]!;
}

/** A log's shape per record (first segment), and its first compressed frame bodies when keyed. */
function logShape(dir: string | undefined): {
  stored: number;
  leaf: number;
  plain: number;
  records: number;
  bodies: { compressed: Uint8Array; plain: number }[];
} {
  if (dir === undefined) return { stored: 243.8, leaf: 339, plain: 343, records: 0, bodies: [] };
  const logDir = join(dir, 'logs', 'default');
  const seg = readdirSync(logDir)
    .filter((n) => n.endsWith('.seg'))
    .sort()[0]!;
  const keys = readDataKeys(
    join(logDir, DATA_KEYS_FILE),
    readFileSync(join(dir, 'keys', 'master.key'), 'utf8'),
    new FindingCollector(),
  );
  const b = readFileSync(join(logDir, seg));
  let p = b.readUInt16BE(6);
  let stored = 0;
  let plain = 0;
  let records = 0;
  const bodies: { compressed: Uint8Array; plain: number }[] = [];
  while (p + 12 <= b.length && b.readUInt32BE(p) < 0x534c4654) {
    const length = b.readUInt32BE(p);
    const frame = b.subarray(p + 12, p + 12 + length);
    const h = decodeFrameHeader(frame);
    stored += length + 16;
    plain += h.plainBodyLength;
    records += h.recordCount;
    const key = keys?.get(Buffer.from(h.keyId).toString('hex'));
    if (key !== undefined && bodies.length < 16) {
      const body = openFrame(
        key,
        h.nonce,
        frame.subarray(0, FRAME_HEADER_BYTES),
        frame.subarray(FRAME_HEADER_BYTES),
      );
      bodies.push({ compressed: new Uint8Array(body), plain: h.plainBodyLength });
    }
    p += length + 16;
  }
  // A leaf is the plain body minus its 4-byte length entry (and the 4-byte count, per frame).
  return { stored: stored / records, leaf: plain / records - 4, plain: plain / records, records, bodies };
}

const shape = logShape(process.argv[2]);
const big = randomBytes(64 * MiB);
const sha = (64 / time(() => hash('sha256', big, 'buffer'))) * 1000;
const crc = (64 / time(() => crc32(big))) * 1000;
const key = randomBytes(32);
const iv = randomBytes(12);
const frame = big.subarray(0, 512 * 1024);
const c = createCipheriv('aes-256-gcm', key, iv);
const ct = Buffer.concat([c.update(frame), c.final()]);
const tag = c.getAuthTag();
const gcm =
  (0.5 /
    time(() => {
      for (let i = 0; i < 16; i++) {
        const d = createDecipheriv('aes-256-gcm', key, iv);
        d.update(ct);
        d.setAuthTag(tag);
        d.final();
      }
    })) *
  16 *
  1000;
// Snappy over the log's own frames when it could decrypt them, else over JSON-ish text.
const text = Buffer.from(
  Array.from({ length: 2048 }, (_, i) => `{"tenant":"t-${i % 7}","doc":"doc-${i % 13}","i":${i}}`).join(''),
);
const bodies =
  shape.bodies.length > 0 ? shape.bodies : [{ compressed: compressBody(text), plain: text.length }];
const plainBytes = bodies.reduce((n, x) => n + x.plain, 0);
const snappy =
  ((plainBytes / MiB) * 1000) /
  time(() => {
    for (const x of bodies) decompressBody(x.compressed, x.plain);
  });
const calls = 200_000;
const node65 = Buffer.alloc(65, 7);
const perNodeCall =
  (time(() => {
    for (let i = 0; i < calls; i++) hash('sha256', node65, 'buffer');
  }) *
    1000) /
  calls;
const leaf = Buffer.alloc(Math.round(shape.leaf) + 1, 7);
const perLeafCall =
  (time(() => {
    for (let i = 0; i < calls; i++) hash('sha256', leaf, 'buffer');
  }) *
    1000) /
  calls;
const words = new Int32Array(2048 * HASH_WORDS).map((_, i) => i * 2654435761);
const out = new Int32Array(1024 * HASH_WORDS);
const perNodeJs =
  (time(() => {
    for (let r = 0; r < 100; r++) {
      for (let i = 0; i < 1024; i++) hashNodeWords(words, 2 * i * HASH_WORDS, out, i * HASH_WORDS);
    }
  }) *
    1000) /
  102_400;
const simd = SimdHasher.create()!;
simd.ensure(2048 * HASH_WORDS * 2 + SimdHasher.leafScratchWords(leaf.length));
const perNodeSimd =
  (time(() => {
    for (let r = 0; r < 100; r++) simd.hash(0, 2048 * HASH_WORDS, 1024);
  }) *
    1000) /
  102_400;
const leaves = Array.from({ length: 1024 }, () => leaf.subarray(1));
const perLeafSimd =
  (time(() => {
    for (let r = 0; r < 20; r++) simd.hashLeaves(leaves, 0, 2048 * HASH_WORDS * 2);
  }) *
    1000) /
  20_480;

const us = (mibPerS: number, bytes: number): number => (bytes / MiB / mibPerS) * 1e6;
const perRecord = {
  crc: us(crc, shape.stored),
  frameSha: us(sha, shape.stored),
  gcm: us(gcm, shape.stored),
  snappy: us(snappy, shape.plain),
};
// Keyless: every stored byte is CRC'd and hashed once (chain), and one interior node per leaf.
const keylessFloor = perRecord.crc + perRecord.frameSha + perNodeSimd;
// Keyed adds AES-GCM, snappy and one leaf hash per record.
const keyedFloor = keylessFloor + perRecord.gcm + perRecord.snappy + perLeafSimd;
const rate = (usPerRecord: number, cores: number): string =>
  `${((shape.stored / MiB / (usPerRecord / 1e6)) * cores).toFixed(0)} MiB/s`;

console.log(
  `log: ${shape.stored.toFixed(1)} stored bytes, ${shape.leaf.toFixed(0)}-byte leaves per record${shape.records > 0 ? ` (${shape.records} records sampled)` : ''}`,
);
console.log(
  `node:crypto SHA-256 bulk ${sha.toFixed(0)} MiB/s; zlib.crc32 ${crc.toFixed(0)} MiB/s; AES-256-GCM open (512 KiB frames) ${gcm.toFixed(0)} MiB/s; snappy decompress ${snappy.toFixed(0)} MiB/s (of plain bytes${shape.bodies.length > 0 ? `, the log's frames` : ', JSON-ish text'})`,
);
console.log(
  `SHA-256 per hash: node:crypto call ${perNodeCall.toFixed(2)} µs (65-byte node), ${perLeafCall.toFixed(2)} µs (${leaf.length}-byte leaf); JS node ${perNodeJs.toFixed(2)} µs; WebAssembly 4 lanes ${perNodeSimd.toFixed(2)} µs (node), ${perLeafSimd.toFixed(2)} µs (leaf)`,
);
console.log(
  `per record: CRC ${perRecord.crc.toFixed(3)} µs, frame SHA-256 ${perRecord.frameSha.toFixed(3)} µs, GCM ${perRecord.gcm.toFixed(3)} µs, snappy ${perRecord.snappy.toFixed(3)} µs`,
);
console.log(
  `keyless floor (CRC + chain SHA + 1 node hash per leaf, nothing else): ${keylessFloor.toFixed(2)} µs/record = ${rate(keylessFloor, 1)} on 1 core, ${rate(keylessFloor, 2)} on 2`,
);
console.log(
  `keyed floor (+ GCM + snappy + 1 leaf hash per record; no reading, decoding or links): ${keyedFloor.toFixed(2)} µs/record = ${rate(keyedFloor, 1)} on 1 core, ${rate(keyedFloor, 2)} on 2`,
);
