/**
 * Derived writer state that must survive restarts without rescanning the log: the head of every
 * entity chain (leaf index + leaf hash of the newest record per `(tenant, resource.type,
 * resource.id)`) and the idempotency window (client event ids → their original results).
 *
 * Written atomically (temp + fsync + rename + fsync(dir)) as `state.snapshot` in the log directory,
 * covering the first `size` leaves; on restart the frames after `size` are replayed, so restart
 * cost is bounded by the snapshot interval, not the log size.
 *
 * Memory: both maps are in memory (entity heads: one entry per entity; idempotency: a bounded
 * window, oldest dropped first). A later issue moves them into an embedded store.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@sealog/crypto-envelope';
import { pack, unpack } from 'msgpackr';

/** File name of the snapshot. */
export const SNAPSHOT_FILE = 'state.snapshot';
const SNAPSHOT_VERSION = 1;

/** Head of one entity chain. */
export interface EntityHead {
  leafIndex: number;
  leafHash: Uint8Array;
}

/** A remembered result for an idempotency key. */
export interface IdempotentResult {
  readonly leafIndex: number;
  readonly leafHash: Uint8Array;
}

/** What a snapshot holds. */
export interface StateSnapshot {
  readonly size: number;
  readonly heads: Map<string, EntityHead>;
  readonly idempotency: Map<string, IdempotentResult>;
}

/** Reads the snapshot of the log at `dir`, or `undefined` when there is none. */
export function readSnapshot(dir: string): StateSnapshot | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(dir, SNAPSHOT_FILE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const [version, size, heads, idem] = unpack(bytes) as [
    number,
    number,
    [string, number, Uint8Array][],
    [string, number, Uint8Array][],
  ];
  if (version !== SNAPSHOT_VERSION) throw new Error(`state snapshot: unsupported version ${version}`);
  const headMap = new Map<string, EntityHead>();
  for (const [k, leafIndex, leafHash] of heads)
    headMap.set(k, { leafIndex, leafHash: new Uint8Array(leafHash) });
  const idemMap = new Map<string, IdempotentResult>();
  for (const [k, leafIndex, leafHash] of idem)
    idemMap.set(k, { leafIndex, leafHash: new Uint8Array(leafHash) });
  return { size, heads: headMap, idempotency: idemMap };
}

/** Encodes a snapshot (synchronous, O(entries): the part that holds the calling thread). */
export function encodeSnapshot(snapshot: StateSnapshot): Uint8Array {
  const heads: [string, number, Uint8Array][] = [];
  for (const [k, v] of snapshot.heads) heads.push([k, v.leafIndex, v.leafHash]);
  const idem: [string, number, Uint8Array][] = [];
  for (const [k, v] of snapshot.idempotency) idem.push([k, v.leafIndex, v.leafHash]);
  return pack([SNAPSHOT_VERSION, snapshot.size, heads, idem]);
}

/** Writes an encoded snapshot atomically (temp + fsync + rename + fsync(dir)). */
export async function writeSnapshotBytes(dir: string, bytes: Uint8Array): Promise<void> {
  await writeFileAtomic(join(dir, SNAPSHOT_FILE), bytes);
}

/** Writes a snapshot atomically. */
export async function writeSnapshot(dir: string, snapshot: StateSnapshot): Promise<void> {
  await writeSnapshotBytes(dir, encodeSnapshot(snapshot));
}
