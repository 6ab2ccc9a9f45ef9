/**
 * The library pipeline demo (`pnpm demo` at the repo root): opens a ledger in ./sealog-demo-data
 * (its own data dir, never the server's), appends realistic audit events durably, signs a checkpoint, reads one record back
 * and verifies its inclusion proof against the signed checkpoint — the way an auditor would.
 */
import { join, resolve } from 'node:path';
import { openCheckpoint } from '@sealog/crypto-envelope';
import { verifyInclusion } from '@sealog/merkle';
import { createLedger } from '../src/index';

const root = process.env.INIT_CWD ?? process.cwd();
const dir = resolve(root, process.env.SEALOG_DATA_DIR ?? 'sealog-demo-data');
const events = Number(process.env.SEALOG_DEMO_EVENTS ?? 20_000);

function event(i: number): Record<string, unknown> {
  // 1,000 data subjects (20 tenants × 50 actors), 500 documents: a subject key is created on first use.
  const actor = `user-${i % 1000}`;
  return {
    tenant_id: `tenant-${i % 20}`,
    occurred_at: new Date(Date.now() - (events - i) * 10).toISOString(),
    actor: { id: actor, type: 'user', email: `${actor}@example.com` },
    action: ['document.read', 'document.update', 'user.login', 'role.upgrade'][i % 4],
    category: ['read', 'update', 'auth', 'admin'][i % 4],
    resource: { type: 'document', id: `doc-${i % 500}` },
    context: { ip: `203.0.113.${i % 254}`, user_agent: 'sealog-demo/1.0', request_id: `req-${i}` },
    changes: i % 4 === 1 ? [{ field: 'title', old: `v${i - 1}`, new: `v${i}` }] : undefined,
    metadata: { demo: true, seq: i },
  };
}

const ledger = await createLedger({ dir, onNotice: (m) => console.log(`! ${m}`) });
const log = ledger.log('default');
const before = log.treeSize;
console.log(`sealog demo — data dir ${dir} (log "default" holds ${before} records)`);

const t0 = performance.now();
const inflight: Promise<unknown>[] = [];
let last: Awaited<ReturnType<typeof ledger.append>> = [];
for (let i = 0; i < events; i += 1000) {
  const batch = Array.from({ length: Math.min(1000, events - i) }, (_, k) => event(i + k));
  inflight.push(ledger.append(batch).then((r) => (last = r)));
  if (inflight.length >= 8) await inflight.shift();
}
await Promise.all(inflight);
const seconds = (performance.now() - t0) / 1000;
console.log(
  `appended ${events} events durably (validated, personal fields sealed, compressed, encrypted, fsync'd) in ${seconds.toFixed(2)} s = ${Math.round(events / seconds).toLocaleString('en')} events/s`,
);

await ledger.checkpoint();
const note = log.latestCheckpoint()!;
console.log(`\nsigned checkpoint (C2SP signed note, Ed25519):\n${note}`);

const sample = last[Math.floor(last.length / 2)]!;
const record = await ledger.read('default', sample.leaf_index!);
const checkpoint = openCheckpoint(note, [log.verifierKey]).checkpoint;
const proof = await log.inclusionProof(sample.leaf_index!, checkpoint.size);
const ok = verifyInclusion(record.leafHash, sample.leaf_index!, checkpoint.size, proof, checkpoint.rootHash);
console.log(`record ${sample.event_id} at leaf ${sample.leaf_index}:`);
console.log(
  `  tenant ${record.record.tenant_id}, action ${record.record.action}, resource ${record.record.resource.type}/${record.record.resource.id}, previous record of this resource: ${record.record.prev?.leafIndex ?? 'none'}`,
);
console.log(`  integrity ${sample.integrity}`);
console.log(
  `  inclusion proof (${proof.length} hashes) against the checkpoint root: ${ok ? 'verified' : 'FAILED'}`,
);
console.log(`\nsegments, tiles and checkpoints: ${join(dir, 'logs', 'default')}`);
await ledger.close();
if (!ok) process.exit(1);
