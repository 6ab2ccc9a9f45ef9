import type { Worker } from 'node:worker_threads';
import {
  assembleRecord,
  decodePersonal,
  decodeRecord,
  type NormalizedEvent,
  validateBatch,
} from '@sealog/codec';
import { createFieldSealer } from '@sealog/crypto-envelope';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createLedger,
  type Ledger,
  LedgerError,
  LedgerKeys,
  personalAad,
  RecordPreparer,
  subjectIdOf,
} from '../src/index';
import { KeyFingerprinter, newSalt } from '../src/key-fingerprint';
import { type PreparedBodies, WorkerPreparer } from '../src/worker-preparer';
import { auditEvent, tempDir } from './helpers';

const FAST = { batchMaxWaitMs: 1, checkpointIntervalMs: 60_000 };

function normalize(events: unknown[]): NormalizedEvent[] {
  const v = validateBatch(events);
  if (!v.ok) throw new Error(`test events invalid: ${JSON.stringify(v.errors)}`);
  return v.events;
}

/** The ledger's prepare worker thread (internal state, reached for crash and close tests). */
function workerOf(ledger: Ledger): Worker {
  const preparer = (ledger as unknown as { worker: WorkerPreparer | undefined }).worker;
  if (preparer === undefined) throw new Error('ledger has no prepare worker');
  return (preparer as unknown as { worker: Worker }).worker;
}

/** The ledger's frame worker with `prepareWorkers: 2` (internal state). */
function frameWorkerOf(ledger: Ledger): Worker {
  const preparer = (ledger as unknown as { frameWorker: WorkerPreparer | undefined }).frameWorker;
  if (preparer === undefined) throw new Error('ledger has no frame worker');
  return (preparer as unknown as { worker: Worker }).worker;
}

/** Runs `body` with a started prepare worker over fresh keys, then closes both. */
async function withWorker(body: (worker: WorkerPreparer) => Promise<void>): Promise<void> {
  const keys = await LedgerKeys.open(tempDir(), { generate: true }, () => {});
  const worker = await WorkerPreparer.start(keys);
  try {
    await body(worker);
  } finally {
    await worker.close();
    await keys.close();
  }
}

/** An answer's bodies as views (one per event), and its fingerprints. */
function unpack(answer: PreparedBodies): { bodies: Uint8Array[]; fingerprints: Uint32Array | undefined } {
  const bodies: Uint8Array[] = [];
  for (let i = 0; i + 1 < answer.offsets.length; i++) {
    bodies.push(answer.bytes.subarray(answer.offsets[i]!, answer.offsets[i + 1]!));
  }
  return { bodies, fingerprints: answer.fingerprints };
}

describe('prepare worker', () => {
  it('produces the same record bodies as the in-thread path (sealed blobs equal once opened)', async () => {
    const keys = await LedgerKeys.open(tempDir(), { generate: true }, () => {});
    const events = normalize(Array.from({ length: 300 }, (_, i) => auditEvent(i)));
    const eventIds = events.map((_, i) => `01900000-0000-7000-8000-${String(i).padStart(12, '0')}`);
    const receivedAt = 1_795_428_123_456;
    const local = new RecordPreparer(keys);
    await local.loadSubjects(events);
    const worker = await WorkerPreparer.start(keys);
    try {
      // Two requests: the second reuses the keys the worker received with the first.
      const first = await worker.prepare(events.slice(0, 150), eventIds.slice(0, 150), receivedAt);
      const second = await worker.prepare(events.slice(150), eventIds.slice(150), receivedAt);
      // No salts sent: no fingerprints (the writer computes them).
      expect(first.fingerprints).toBeUndefined();
      const remote = [...unpack(first).bodies, ...unpack(second).bodies];
      expect(remote).toHaveLength(events.length);
      for (let i = 0; i < events.length; i++) {
        const event = events[i]!;
        const a = local.prepare(event, eventIds[i]!, receivedAt).body;
        const b = remote[i]!;
        const ra = decodeRecord(assembleRecord(null, a));
        const rb = decodeRecord(assembleRecord(null, b));
        // The sealed blob is the last field and has a fixed length for equal plaintext: every
        // byte before it must match; the blobs differ only by their random nonces.
        const sealedBytes = ra.sealed_personal.length;
        expect(rb.sealed_personal.length).toBe(sealedBytes);
        expect(b.length).toBe(a.length);
        expect(Buffer.from(b.subarray(0, b.length - sealedBytes))).toEqual(
          Buffer.from(a.subarray(0, a.length - sealedBytes)),
        );
        const key = await keys.subjects.get(keys.subjectStoreId(event.tenant_id, event.actor.id));
        const sealer = createFieldSealer(key!);
        const aad = personalAad(event.tenant_id, eventIds[i]!);
        expect(decodePersonal(sealer.open(rb.sealed_personal, aad))).toEqual(
          decodePersonal(sealer.open(ra.sealed_personal, aad)),
        );
      }
    } finally {
      await worker.close();
      await keys.close();
    }
  });

  it('encodes any valid values exactly as the in-thread path (property)', async () => {
    const keys = await LedgerKeys.open(tempDir(), { generate: true }, () => {});
    const local = new RecordPreparer(keys);
    const worker = await WorkerPreparer.start(keys);
    const scalar = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
      fc.constant(-0),
      fc.string({ unit: 'binary', maxLength: 20 }),
      fc.boolean(),
    );
    const eventArb = fc.record({
      metadata: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), scalar, { maxKeys: 5 }),
      changes: fc.array(
        fc.record({
          field: fc.string({ minLength: 1, maxLength: 8 }),
          old: fc.jsonValue({ maxDepth: 2 }),
          new: fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }),
        }),
        { maxLength: 3 },
      ),
      name: fc.option(fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }), { nil: undefined }),
    });
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(eventArb, { minLength: 1, maxLength: 8 }), async (parts) => {
          const raw = parts.map((p, i) =>
            auditEvent(i, {
              metadata: p.metadata,
              changes: p.changes.length === 0 ? undefined : p.changes,
              actor: { id: `user-${i % 3}`, type: 'user', name: p.name },
            }),
          );
          const v = validateBatch(raw);
          fc.pre(v.ok);
          if (!v.ok) return;
          const events = v.events;
          const ids = events.map((_, i) => `01900000-0000-7000-8000-${String(i).padStart(12, '0')}`);
          await local.loadSubjects(events);
          const remote = unpack(await worker.prepare(events, ids, 1_795_428_123_456)).bodies;
          for (let i = 0; i < events.length; i++) {
            const a = local.prepare(events[i]!, ids[i]!, 1_795_428_123_456).body;
            const b = remote[i]!;
            const sealed = decodeRecord(assembleRecord(null, a)).sealed_personal.length;
            expect(b.length).toBe(a.length);
            expect(Buffer.from(b.subarray(0, b.length - sealed))).toEqual(
              Buffer.from(a.subarray(0, a.length - sealed)),
            );
          }
        }),
        { numRuns: 150 },
      );
    } finally {
      await worker.close();
      await keys.close();
    }
  });

  it('answers many requests in flight at once, each with its own bodies and key fingerprints', async () => {
    await withWorker(async (worker) => {
      const salt = newSalt();
      worker.useSalts([['default', salt]]);
      const mainSide = new KeyFingerprinter(salt);
      const events = normalize(Array.from({ length: 120 }, (_, i) => auditEvent(i)));
      const calls = Array.from({ length: 40 }, (_, c) =>
        worker.prepare(
          events.slice(c * 3, c * 3 + 3),
          [0, 1, 2].map((k) => `call-${c}-${k}`),
          1_795_428_000_000 + c,
        ),
      );
      const answers = await Promise.all(calls);
      const want = new Uint32Array(4);
      for (const [c, answer] of answers.entries()) {
        const { bodies, fingerprints } = unpack(answer);
        expect(bodies.map((b) => decodeRecord(assembleRecord(null, b)).event_id)).toEqual(
          [0, 1, 2].map((k) => `call-${c}-${k}`),
        );
        expect(decodeRecord(assembleRecord(null, bodies[0]!)).received_at).toBe(1_795_428_000_000 + c);
        // The worker's fingerprints are the ones the writer's window computes for the same keys.
        for (let k = 0; k < 3; k++) {
          mainSide.fingerprint(`${events[c * 3 + k]!.tenant_id}\u0000call-${c}-${k}`, want, 0);
          expect([...fingerprints!.subarray(k * 4, k * 4 + 4)]).toEqual([...want]);
        }
      }
    });
  });

  it('sends back no personal plaintext: the answer buffer past the bodies holds zeros and the AADs only', async () => {
    await withWorker(async (worker) => {
      const events = normalize(
        Array.from({ length: 20 }, (_, i) =>
          auditEvent(i, { actor: { id: `user-${i}@example.com`, type: 'user', name: `Name ${i}` } }),
        ),
      );
      const ids = events.map((_, i) => `01900000-0000-7000-8000-${String(i).padStart(12, '0')}`);
      const { bodies } = unpack(await worker.prepare(events, ids, 1_795_428_000_000));
      const last = bodies[bodies.length - 1]!;
      const buffer = Buffer.from(last.buffer);
      const tail = buffer.subarray(last.byteOffset + last.byteLength);
      const aads = Buffer.concat(events.map((e, i) => personalAad(e.tenant_id, ids[i]!)));
      // Plaintexts (wiped), then the AADs (tenant and event ids: not personal).
      expect(tail.length).toBeGreaterThan(aads.length);
      expect(tail.subarray(0, tail.length - aads.length).every((b) => b === 0)).toBe(true);
      expect(Buffer.compare(tail.subarray(tail.length - aads.length), aads)).toBe(0);
      expect(buffer.includes('example.com')).toBe(false);
      expect(buffer.includes('Name 1')).toBe(false);
    });
  });

  it("seals every record under its own subject's key while a small key cache evicts and reuses slots (property)", async () => {
    const keys = await LedgerKeys.open(tempDir(), { generate: true }, () => {});
    // 4 subjects held at most, 10 in play: most requests evict, slots are reused all the time.
    const worker = await WorkerPreparer.start(keys, 'prepare-and-frames', { cacheEntries: 4 });
    let next = 0;
    const opArb = fc.oneof(
      { weight: 4, arbitrary: fc.array(fc.nat(9), { minLength: 1, maxLength: 7 }) },
      { weight: 1, arbitrary: fc.nat(9).map((actor) => ({ forget: actor })) },
    );
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 12 }), async (ops) => {
          const checks: Promise<void>[] = [];
          // Requests are not awaited one by one: several are in flight when others evict.
          for (const op of ops) {
            if (!Array.isArray(op)) {
              worker.forget(subjectIdOf('acme', `user-${op.forget}`));
              continue;
            }
            const events = normalize(
              op.map((actor) =>
                auditEvent(next++, { tenant_id: 'acme', actor: { id: `user-${actor}`, type: 'user' } }),
              ),
            );
            const ids = events.map(() => `id-${next++}`);
            checks.push(
              worker.prepare(events, ids, 1_795_428_000_000).then(async (answer) => {
                const { bodies } = unpack(answer);
                for (const [i, body] of bodies.entries()) {
                  const record = decodeRecord(assembleRecord(null, body));
                  const actorId = events[i]!.actor.id;
                  const key = await keys.subjects.get(keys.subjectStoreId('acme', actorId));
                  const opened = createFieldSealer(key!).open(
                    record.sealed_personal,
                    personalAad('acme', ids[i]!),
                  );
                  expect(decodePersonal(opened).actor_id).toBe(actorId);
                  expect(record.subject_key_id).toBe(Buffer.from(key!.keyTag).toString('hex'));
                }
              }),
            );
          }
          await Promise.all(checks);
        }),
        { numRuns: 60 },
      );
    } finally {
      await worker.close();
      await keys.close();
    }
  });

  it('sends a forgotten subject key again on its next event', async () => {
    await withWorker(async (worker) => {
      const events = normalize([auditEvent(1)]);
      await worker.prepare(events, ['e1'], 1_795_428_000_000);
      worker.forget(subjectIdOf(events[0]!.tenant_id, events[0]!.actor.id));
      const [body] = unpack(await worker.prepare(events, ['e2'], 1_795_428_000_000)).bodies;
      expect(decodeRecord(assembleRecord(null, body!)).event_id).toBe('e2');
    });
  });

  it("rejects a request it cannot encode, leaves nothing pending, and sends its subjects' keys again", async () => {
    await withWorker(async (worker) => {
      const events = normalize([auditEvent(1), auditEvent(2)]);
      // A time no validated event has: encoding throws before anything is posted.
      const unencodable = [{ ...events[0]!, occurred_at: -1 } as NormalizedEvent];
      await expect(worker.prepare(unencodable, ['e0'], 1_795_428_000_000)).rejects.toMatchObject({
        code: 'BAD_ARGUMENT',
        message: expect.stringMatching(/^prepare worker: request not sent: .*occurred_at/),
      });
      // Nothing is left pending.
      await Promise.race([
        worker.idle(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('idle() hangs')), 2000)),
      ]);
      // The subject's key is sent with its next event (else: "prepare worker has no key").
      const { bodies } = unpack(await worker.prepare(events, ['e2', 'e3'], 1_795_428_000_000));
      expect(bodies.map((b) => decodeRecord(assembleRecord(null, b)).event_id)).toEqual(['e2', 'e3']);
    });
  });

  it('makes the worker forget the keys of a request it failed, so that erasure still reaches them', async () => {
    await withWorker(async (worker) => {
      // The worker fails a request after importing its keys: no salt for the event's retention class.
      const [bad, good] = normalize([auditEvent(1, { retention_class: 'other' }), auditEvent(1)]);
      worker.useSalts([['default', newSalt()]]);
      const posted: string[] = [];
      const thread = (worker as unknown as { worker: Worker }).worker;
      const post = thread.postMessage.bind(thread);
      thread.postMessage = (message: { type: string }, transfer?: readonly unknown[]) => {
        posted.push(message.type);
        post(message, transfer as never);
      };
      await expect(worker.prepare([bad!], ['e1'], 1_795_428_000_000)).rejects.toMatchObject({
        code: 'FAILED',
      });
      // The key the worker imported is dropped there, and sent again with the subject's next event.
      expect(posted).toEqual(['prepare', 'forget']);
      posted.length = 0;
      const { bodies } = unpack(await worker.prepare([good!], ['e2'], 1_795_428_000_000));
      expect(decodeRecord(assembleRecord(null, bodies[0]!)).event_id).toBe('e2');
      expect(posted).toEqual(['prepare']);
      // …so that forgetting the subject (erasure) reaches the worker.
      worker.forget(subjectIdOf(good!.tenant_id, good!.actor.id));
      expect(posted).toEqual(['prepare', 'forget']);
    });
  });

  it('fails pending and later appends with FAILED when the worker dies, instead of hanging', async () => {
    const ledger = await createLedger({ dir: tempDir(), ...FAST, prepareWorkers: 1, onNotice: () => {} });
    await ledger.append([auditEvent(0)]);
    const pending = ledger.append(Array.from({ length: 2000 }, (_, i) => auditEvent(i + 1)));
    // Stands in for a crash (an abort or fatal error in the worker): the thread is gone.
    void workerOf(ledger).terminate();
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LedgerError);
    expect((error as LedgerError).code).toBe('FAILED');
    await expect(ledger.append([auditEvent(5000)])).rejects.toMatchObject({ code: 'FAILED' });
    await ledger.close();
  });

  it('stops the worker when the ledger closes', async () => {
    const ledger = await createLedger({ dir: tempDir(), ...FAST, prepareWorkers: 1, onNotice: () => {} });
    const results = await ledger.append(Array.from({ length: 20 }, (_, i) => auditEvent(i)));
    expect(results.map((r) => r.status)).toEqual(new Array(20).fill('stored'));
    const exited = new Promise<number>((resolve) => workerOf(ledger).once('exit', resolve));
    await ledger.close();
    await exited;
    expect(workerOf(ledger).threadId).toBe(-1);
  });

  it('starts its workers with the configured young generation (6 MiB by default, 0 for V8s own)', async () => {
    const small = await createLedger({ dir: tempDir(), ...FAST, prepareWorkers: 2, onNotice: () => {} });
    const custom = await createLedger({
      dir: tempDir(),
      ...FAST,
      workerYoungGenerationMb: 12,
      onNotice: () => {},
    });
    const v8s = await createLedger({
      dir: tempDir(),
      ...FAST,
      workerYoungGenerationMb: 0,
      onNotice: () => {},
    });
    try {
      // Node reports the limits each worker's heap was created with.
      expect(workerOf(small).resourceLimits?.maxYoungGenerationSizeMb).toBe(6);
      expect(frameWorkerOf(small).resourceLimits?.maxYoungGenerationSizeMb).toBe(6);
      expect(workerOf(custom).resourceLimits?.maxYoungGenerationSizeMb).toBe(12);
      // V8's default on a 64-bit machine with this much memory: 16-MiB semi-spaces or more.
      expect(workerOf(v8s).resourceLimits?.maxYoungGenerationSizeMb).toBeGreaterThan(12);
      for (const ledger of [small, custom, v8s]) {
        const stored = await ledger.append(Array.from({ length: 50 }, (_, i) => auditEvent(i)));
        expect(stored.map((r) => r.status)).toEqual(new Array(50).fill('stored'));
      }
    } finally {
      await Promise.all([small.close(), custom.close(), v8s.close()]);
    }
  });

  it('rejects a young generation that is not an integer, 0 or 3…1024 with BAD_ARGUMENT', async () => {
    for (const bad of [-1, 1, 2, 1025, 4.5, Number.NaN]) {
      const attempt = createLedger({ dir: tempDir(), workerYoungGenerationMb: bad, onNotice: () => {} });
      await expect(attempt).rejects.toBeInstanceOf(LedgerError);
      await expect(attempt).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    }
  });

  it('with prepareWorkers 2 finishes frames in a second worker, and stops both at close', async () => {
    const dir = tempDir();
    const ledger = await createLedger({ dir, ...FAST, prepareWorkers: 2, onNotice: () => {} });
    const prepare = workerOf(ledger);
    const frames = frameWorkerOf(ledger);
    expect(frames.threadId).not.toBe(prepare.threadId);
    const events = Array.from({ length: 300 }, (_, i) =>
      auditEvent(i, { resource: { type: 'doc', id: `d${i % 7}` } }),
    );
    const results = (
      await Promise.all([ledger.append(events.slice(0, 150)), ledger.append(events.slice(150))])
    ).flat();
    expect(results.map((r) => r.status)).toEqual(new Array(300).fill('stored'));
    const exits = [prepare, frames].map((w) => new Promise<number>((resolve) => w.once('exit', resolve)));
    await ledger.close();
    await Promise.all(exits);
    // Reopened (the tree must match the signed checkpoint), every record reads back, linked.
    const again = await createLedger({ dir, ...FAST, prepareWorkers: 0, onNotice: () => {} });
    for (const r of results) {
      const { record } = await again.read(r.log_id, r.leaf_index!);
      expect(record.event_id).toBe(r.event_id);
    }
    const last = await again.read(results[299]!.log_id, results[299]!.leaf_index!);
    expect(last.record.prev?.leafIndex).toBe(results[292]!.leaf_index);
    await again.close();
  });

  it('gives a frames-only worker no sealing keys: it refuses to prepare records', async () => {
    const keys = await LedgerKeys.open(tempDir(), { generate: true }, () => {});
    const events = normalize([auditEvent(0)]);
    const both = await WorkerPreparer.start(keys);
    const frames = await WorkerPreparer.start(keys, 'frames');
    try {
      await expect(frames.prepare(events, ['01900000-0000-7000-8000-000000000002'], 1)).rejects.toMatchObject(
        {
          code: 'FAILED',
          message: expect.stringMatching(/only finishes frames/),
        },
      );
      // Past the main-thread guard, the same request (with the subject's key) reaches each worker:
      // prepared by the full worker, refused by the frames-only one.
      const ids = ['01900000-0000-7000-8000-000000000001'];
      expect(unpack(await both.prepare(events, ids, 1)).bodies).toHaveLength(1);
      (frames as unknown as { role: string }).role = 'prepare-and-frames';
      await expect(frames.prepare(events, ids, 1)).rejects.toMatchObject({
        code: 'FAILED',
        message: expect.stringMatching(/^ledger worker: this worker only finishes frames/),
      });
    } finally {
      await both.close();
      await frames.close();
      await keys.close();
    }
  });

  it('fails later appends with FAILED when the frame worker dies', async () => {
    const ledger = await createLedger({ dir: tempDir(), ...FAST, prepareWorkers: 2, onNotice: () => {} });
    await ledger.append([auditEvent(0)]);
    await frameWorkerOf(ledger).terminate();
    await expect(ledger.append([auditEvent(1)])).rejects.toMatchObject({ code: 'FAILED' });
    await ledger.close().catch(() => {});
  });
});
