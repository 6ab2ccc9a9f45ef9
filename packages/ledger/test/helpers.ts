import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { FingerprintColumns } from '../src/state-snapshot';

const dirs: string[] = [];

/** A fresh temp directory removed after the test. */
export function tempDir(prefix = 'sealog-ledger-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Every file under `dir`, recursively (for scans of what reached the disk). */
export function allFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...allFiles(p));
    else out.push(p);
  }
  return out;
}

/** The window's columns as one comparable string (salt, fingerprints, leaf indexes, hashes). */
export const flatWindow = (c: FingerprintColumns): string =>
  [
    c.salt,
    c.fingerprints,
    new Uint8Array(c.leafIndexes.buffer, c.leafIndexes.byteOffset, c.leafIndexes.byteLength),
    c.hashes,
  ]
    .map((b) => Buffer.from(b).toString('hex'))
    .join('/');

export { auditEvent } from './events';
