/**
 * `bench:floors` — what the mandatory work of one record costs on one core of this machine, and
 * the ceiling that puts on throughput with both cores busy and zero overhead (no queue, no
 * threads talking, no GC helpers, no fsync, no kernel time). It answers "is this target reachable
 * here at all?" for the write-path targets (benchmarks README, "Floors").
 *
 * Audit events (~500 B, CONTRACT.md §1 shapes): validation, event id, personal fields split and
 * encoded, AES-256-GCM seal of the personal blob under the subject key (fresh nonce), record body
 * encoding, leaf hash, and the record's share of its frame (snappy, AES-256-GCM, chain SHA-256).
 * For HTTP ingest add JSON.parse of the request body.
 *
 * Thesis entries (4 KiB): the hand-written baseline's stages (pack, snappy, AES-GCM) plus what a
 * tamper-evident log must add: the leaf SHA-256 over every entry and the chain SHA-256 over the
 * frame's ciphertext. The baseline's stages are counted as the baseline itself runs them, in the
 * same run (its write(2) included): the cheapest way we know.
 *
 * Usage: node --conditions=@sealog/source --import tsx benchmarks/src/floors.ts [--json FILE]
 */
import { createCipheriv, createSecretKey, hash, type KeyObject, randomBytes, randomUUID } from 'node:crypto';
import {
  encodePersonal,
  encodeRecordBody,
  makeRecordBody,
  type NormalizedEvent,
  splitPersonal,
  validateBatch,
} from '@sealog/codec';
import { Packr } from 'msgpackr';
import { compressSync } from 'snappy';
import { makeAuditEvents } from './audit-events';
import { parseArgs, printTable, stringArg, writeJsonResult } from './measure';
import { runThesisBaseline } from './thesis';
import { createEntryPool } from './thesis-entries';

const BATCH = 2048;
const CORES = 2;

/** Median of 7 timings of `fn` (after one warm-up), in ms. */
function median(fn: () => void): number {
  fn();
  const ts: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t = performance.now();
    fn();
    ts.push(performance.now() - t);
  }
  ts.sort((a, b) => a - b);
  return ts[3]!;
}

// Nonces drawn in bulk and a pre-imported key, as the real sealers do: the floor is the cipher.
const NONCES = randomBytes(12 * 4096);
let nonceAt = 0;

/** AES-256-GCM of `data` with a fresh 12-byte nonce (what sealing a blob or a frame costs). */
function gcm(key: KeyObject, data: Uint8Array, aad?: Uint8Array): Buffer {
  nonceAt = (nonceAt + 12) % NONCES.length;
  const c = createCipheriv('aes-256-gcm', key, NONCES.subarray(nonceAt, nonceAt + 12));
  if (aad !== undefined) c.setAAD(aad);
  const out = c.update(data);
  c.final();
  c.getAuthTag();
  return out;
}

/** Frame work per record: snappy + AES-GCM of the batch body + SHA-256 chain over the result. */
function frameCost(key: KeyObject, body: Buffer): number {
  return (
    median(() => {
      const packed = compressSync(body, { copyOutputData: true });
      const sealed = gcm(key, packed);
      hash('sha256', sealed, 'buffer');
    }) / BATCH
  );
}

interface Stage {
  readonly stage: string;
  readonly us: number;
}

function auditFloor(): { stages: Stage[]; body: number } {
  const raw = makeAuditEvents(BATCH, 7);
  const texts = raw.map((e) => JSON.stringify(e));
  const requestBody = `{"events":[${texts.join(',')}]}`;
  const key = createSecretKey(randomBytes(32));
  const ms = (fn: () => void): number => (median(fn) * 1000) / BATCH;
  const parse = ms(() => JSON.parse(requestBody));
  const v = validateBatch(raw);
  if (!v.ok) throw new Error('bench:floors: generated events do not validate');
  const events: NormalizedEvent[] = v.events;
  const validate = ms(() => validateBatch(raw));
  const ids = ms(() => {
    for (let i = 0; i < BATCH; i++) randomUUID();
  });
  const personal = events.map((e) => encodePersonal(splitPersonal(e).personal));
  const split = ms(() => {
    for (const e of events) encodePersonal(splitPersonal(e).personal);
  });
  const aad = Buffer.from('sealog/personal/v1\u0000tenant\u0000event');
  const seal = ms(() => {
    for (const p of personal) gcm(key, p, aad);
  });
  const sealed = personal.map((p) => gcm(key, p, aad));
  const token = randomBytes(16);
  const bodies = events.map((e, i) =>
    encodeRecordBody(
      makeRecordBody(splitPersonal(e).publicPart, {
        event_id: randomUUID(),
        received_at: Date.now(),
        subject_token: token,
        subject_key_id: 'a1b2c3d4',
        sealed_personal: sealed[i]!,
      }),
    ),
  );
  const publicParts = events.map((e) => splitPersonal(e).publicPart);
  const encode = ms(() => {
    for (let i = 0; i < BATCH; i++) {
      encodeRecordBody(
        makeRecordBody(publicParts[i]!, {
          event_id: 'e',
          received_at: 0,
          subject_token: token,
          subject_key_id: 'a1b2c3d4',
          sealed_personal: sealed[i]!,
        }),
      );
    }
  });
  const leaves = bodies.map((b) => Buffer.concat([Buffer.of(0), b]));
  const leaf = ms(() => {
    for (const l of leaves) hash('sha256', l, 'buffer');
  });
  const batch = Buffer.concat(bodies);
  const frame = frameCost(key, batch) * 1000;
  return {
    body: batch.length / BATCH,
    stages: [
      { stage: 'JSON.parse of the request body (HTTP only)', us: parse },
      { stage: 'validation (validateBatch)', us: validate },
      { stage: 'event id (random UUID)', us: ids },
      { stage: 'personal fields split + encoded', us: split },
      { stage: 'AES-256-GCM seal of the personal blob', us: seal },
      { stage: 'record body encoding (msgpack)', us: encode },
      { stage: 'leaf hash (SHA-256)', us: leaf },
      { stage: 'share of the frame: snappy + AES-256-GCM + chain SHA-256', us: frame },
    ],
  };
}

function thesisFloor(): { stages: Stage[]; baselinePerSec: number } {
  const pool = createEntryPool('mixed');
  const key = createSecretKey(randomBytes(32));
  const packr = new Packr();
  const entries = pool.payloads.slice(0, BATCH).map((e) => packr.pack(e));
  const body = Buffer.concat(entries);
  const sealed = gcm(key, compressSync(body, { copyOutputData: true }));
  const leaves = entries.map((e) => Buffer.concat([Buffer.of(0), e]));
  const ms = (fn: () => void): number => (median(fn) * 1000) / BATCH;
  const leaf = ms(() => {
    for (const l of leaves) hash('sha256', l, 'buffer');
  });
  const chain = ms(() => hash('sha256', sealed, 'buffer'));
  // The baseline's own stages as it runs them (reused pack buffer, one write per batch): the
  // cheapest way we know to do them, so the floor is as low as it can honestly be.
  const baseline = runThesisBaseline(pool, 200_000);
  return {
    baselinePerSec: baseline.entries_per_sec,
    stages: [
      {
        stage: 'hand-written baseline: pack + snappy + AES-256-GCM + write(2)',
        us: 1e6 / baseline.entries_per_sec,
      },
      { stage: 'leaf hash SHA-256 of each 4 KiB entry (added)', us: leaf },
      { stage: 'chain SHA-256 over the frame ciphertext (added)', us: chain },
    ],
  };
}

const args = parseArgs(process.argv.slice(2), { json: 'value' });
const audit = auditFloor();
const thesis = thesisFloor();
const sum = (stages: readonly Stage[], skip?: string): number =>
  stages.reduce((a, s) => (s.stage === skip ? a : a + s.us), 0);
const httpOnly = audit.stages[0]!.stage;
const auditUs = sum(audit.stages, httpOnly);
// What no encoding or validation trick removes: the seal, the leaf hash, the frame.
const cryptoUs = audit.stages.filter((x) => /AES|SHA/.test(x.stage)).reduce((a, x) => a + x.us, 0);
const httpUs = sum(audit.stages);
const thesisUs = sum(thesis.stages);
const rows = (stages: readonly Stage[]): [string, string][] =>
  stages.map((s) => [s.stage, `${s.us.toFixed(2)} µs`]);
printTable(`audit event floor (one core; ${Math.round(audit.body)} B record body, batch ${BATCH})`, [
  ...rows(audit.stages),
  [
    'crypto alone (seal + leaf hash + frame)',
    `${cryptoUs.toFixed(2)} µs → ≤ ${fmt((CORES * 1e6) / cryptoUs)} events/s on ${CORES} cores`,
  ],
  [
    'sum, ledger.append path',
    `${auditUs.toFixed(2)} µs → ≤ ${fmt((CORES * 1e6) / auditUs)} events/s on ${CORES} cores`,
  ],
  [
    'sum, HTTP ingest path',
    `${httpUs.toFixed(2)} µs → ≤ ${fmt((CORES * 1e6) / httpUs)} events/s on ${CORES} cores`,
  ],
]);
printTable(`thesis entry floor (one core; 4 KiB entries, batch ${BATCH})`, [
  ...rows(thesis.stages),
  ['sum', `${thesisUs.toFixed(2)} µs → ≤ ${fmt((CORES * 1e6) / thesisUs)} entries/s on ${CORES} cores`],
  [
    'ceiling / baseline',
    `${((CORES * 1e6) / thesisUs / thesis.baselinePerSec).toFixed(2)}× (baseline ${fmt(thesis.baselinePerSec)} entries/s, one thread)`,
  ],
]);

const json = stringArg(args, 'json');
if (json !== undefined) {
  writeJsonResult(json, {
    cores: CORES,
    audit: {
      stages: audit.stages,
      record_body_bytes: Math.round(audit.body),
      crypto_us_per_event: cryptoUs,
      crypto_ceiling_events_per_sec: (CORES * 1e6) / cryptoUs,
      ledger_us_per_event: auditUs,
      ledger_ceiling_events_per_sec: (CORES * 1e6) / auditUs,
      http_us_per_event: httpUs,
      http_ceiling_events_per_sec: (CORES * 1e6) / httpUs,
    },
    thesis: {
      stages: thesis.stages,
      us_per_entry: thesisUs,
      ceiling_entries_per_sec: (CORES * 1e6) / thesisUs,
      baseline_entries_per_sec: thesis.baselinePerSec,
    },
  });
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
