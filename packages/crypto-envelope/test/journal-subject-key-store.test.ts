import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createFieldSealer,
  FileSubjectKeyStore,
  generateMasterKey,
  JournalSubjectKeyStore,
  Keyring,
  type MasterKey,
  parseWrappedKeyHeader,
  type SubjectKey,
} from '../src/index';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sealog-jsks-'));
  dirs.push(dir);
  return join(dir, 'keys');
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const ids = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}/${i}`);

async function segments(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((e) => e.startsWith('journal-')).sort();
}

/** Independent decoder of the segment format: header, then crc32 (4) ‖ length (2) ‖ wrapped. */
function entriesOf(bytes: Buffer): { offset: number; wrapped: Buffer }[] {
  expect(bytes.subarray(0, 8).toString('hex')).toBe('534c534a01000000');
  const out: { offset: number; wrapped: Buffer }[] = [];
  let offset = 8;
  while (offset < bytes.length) {
    const length = bytes.readUInt16BE(offset + 4);
    out.push({ offset, wrapped: bytes.subarray(offset + 6, offset + 6 + length) });
    offset += 6 + length;
  }
  expect(offset).toBe(bytes.length);
  return out;
}

/** The wrapped entry (bytes on disk) of `key`, found by its key tag at the end of the key id. */
async function wrappedEntryOf(dir: string, key: SubjectKey): Promise<Buffer> {
  for (const file of await segments(dir)) {
    for (const { wrapped } of entriesOf(await readFile(join(dir, file)))) {
      const { keyId } = parseWrappedKeyHeader(wrapped);
      if (hex(keyId.subarray(32)) === hex(key.keyTag)) return Buffer.from(wrapped);
    }
  }
  throw new Error('entry not found');
}

async function allFileBytes(dir: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const entry of await readdir(dir)) parts.push(await readFile(join(dir, entry)));
  return Buffer.concat(parts);
}

function sameKey(a: SubjectKey, b: SubjectKey): boolean {
  return hex(a.keyTag) === hex(b.keyTag) && hex(a.exportBytes()) === hex(b.exportBytes());
}

describe('journal-subject-key-store', () => {
  it('creates a batch with one segment file and finds every key after reopening', async () => {
    const dir = await tempDir();
    const keyring = new Keyring([generateMasterKey('k1')]);
    const store = await JournalSubjectKeyStore.open(dir, keyring);
    const created = await store.getOrCreateMany(ids('acme', 500));
    expect(created.size).toBe(500);
    await store.close();
    expect((await readdir(dir)).sort()).toEqual(['journal-000001.log', 'names.key']);
    for (const entry of await readdir(dir)) expect((await stat(join(dir, entry))).mode & 0o777).toBe(0o600);
    const reopened = await JournalSubjectKeyStore.open(dir, keyring);
    expect(reopened.size).toBe(500);
    expect(reopened.recovery).toEqual([]);
    for (const [id, key] of created) expect(sameKey((await reopened.get(id))!, key)).toBe(true);
    const again = await reopened.getOrCreateMany(ids('acme', 500));
    for (const [id, key] of created) expect(sameKey(again.get(id)!, key)).toBe(true);
    expect(reopened.size).toBe(500);
  });

  it('concurrent overlapping batches agree on one key per subject and write each key once', async () => {
    const dir = await tempDir();
    const keyring = new Keyring([generateMasterKey('k1')]);
    const store = await JournalSubjectKeyStore.open(dir, keyring, { cacheEntries: 0, segmentBytes: 4096 });
    const all = ids('acme', 300);
    const calls = Array.from({ length: 8 }, (_, c) => all.slice(c * 30, c * 30 + 90));
    const [results, singles] = await Promise.all([
      Promise.all(calls.map((batch) => store.getOrCreateMany(batch))),
      Promise.all(all.slice(0, 50).map((id) => store.getOrCreate(id))),
    ]);
    const byId = new Map<string, string>();
    const check = (id: string, key: SubjectKey): void => {
      const seen = byId.get(id);
      if (seen === undefined) byId.set(id, hex(key.keyTag));
      else expect(hex(key.keyTag)).toBe(seen);
    };
    for (const result of results) for (const [id, key] of result) check(id, key);
    for (let i = 0; i < singles.length; i++) check(all[i]!, singles[i]!);
    expect(byId.size).toBe(300);
    expect(store.size).toBe(300);
    let entries = 0;
    for (const file of await segments(dir)) entries += entriesOf(await readFile(join(dir, file))).length;
    expect(entries).toBe(300);
    expect((await segments(dir)).length).toBeGreaterThan(1);
    await store.close();
    const reopened = await JournalSubjectKeyStore.open(dir, keyring);
    for (const [id, tag] of byId) expect(hex((await reopened.get(id))!.keyTag)).toBe(tag);
  });

  it('cuts a torn last commit at every byte offset and keeps every acknowledged key', async () => {
    const dir = await tempDir();
    const keyring = new Keyring([generateMasterKey('k1')]);
    const store = await JournalSubjectKeyStore.open(dir, keyring);
    const durable = await store.getOrCreateMany(ids('acme/a', 3));
    const path = join(dir, 'journal-000001.log');
    const durableSize = (await stat(path)).size;
    await store.getOrCreateMany(ids('acme/b', 2));
    await store.close();
    const full = await readFile(path);
    for (let cut = durableSize; cut < full.length; cut++) {
      await writeFile(path, full.subarray(0, cut));
      const reopened = await JournalSubjectKeyStore.open(dir, keyring);
      const entries = entriesOf(full);
      const complete = entries.filter((e) => e.offset + 6 + e.wrapped.length <= cut).length;
      expect(reopened.size).toBe(complete);
      const atBoundary = entries.some((e) => e.offset === cut);
      expect(reopened.recovery.map((f) => `${f.file}@${f.offset}`)).toEqual(
        atBoundary ? [] : [`journal-000001.log@${entries[complete]!.offset}`],
      );
      for (const [id, key] of durable) expect(sameKey((await reopened.get(id))!, key)).toBe(true);
      expect(await reopened.has('acme/b/1')).toBe(false);
      await reopened.close();
      expect((await stat(path)).size).toBeLessThanOrEqual(cut);
    }
  });

  it('cuts a last entry with a bad checksum, appends after the cut, and reopens cleanly', async () => {
    const dir = await tempDir();
    const keyring = new Keyring([generateMasterKey('k1')]);
    const store = await JournalSubjectKeyStore.open(dir, keyring);
    const first = await store.getOrCreate('acme/first');
    await store.getOrCreate('acme/torn');
    await store.close();
    const path = join(dir, 'journal-000001.log');
    const bytes = await readFile(path);
    bytes[bytes.length - 3]! ^= 0x01;
    await writeFile(path, bytes);
    const reopened = await JournalSubjectKeyStore.open(dir, keyring);
    expect(reopened.recovery[0]!.reason).toMatch(/entry crc32: expected 0x[0-9a-f]{8}, got 0x[0-9a-f]{8}/);
    expect(await reopened.has('acme/torn')).toBe(false);
    const replacement = await reopened.getOrCreate('acme/torn');
    await reopened.close();
    const third = await JournalSubjectKeyStore.open(dir, keyring);
    expect(third.recovery).toEqual([]);
    expect(sameKey((await third.get('acme/first'))!, first)).toBe(true);
    expect(sameKey((await third.get('acme/torn'))!, replacement)).toBe(true);
  });

  it('refuses to open when a segment other than the last is damaged', async () => {
    const dir = await tempDir();
    const keyring = new Keyring([generateMasterKey('k1')]);
    const store = await JournalSubjectKeyStore.open(dir, keyring, { segmentBytes: 4096 });
    await store.getOrCreateMany(ids('acme', 40));
    await store.getOrCreateMany(ids('acme/more', 40));
    await store.close();
    const [firstSegment] = await segments(dir);
    const path = join(dir, firstSegment!);
    const bytes = await readFile(path);
    bytes[20]! ^= 0xff;
    await writeFile(path, bytes);
    await expect(JournalSubjectKeyStore.open(dir, keyring)).rejects.toMatchObject({
      code: 'IO_ERROR',
      message: expect.stringContaining('not the last segment'),
    });
  });

  it('shred removes the key bytes from every file, survives reopen, and a new key replaces it', async () => {
    const dir = await tempDir();
    const keyring = new Keyring([generateMasterKey('k1')]);
    const store = await JournalSubjectKeyStore.open(dir, keyring, { segmentBytes: 4096 });
    await store.getOrCreateMany(ids('acme/before', 20));
    const victim = await store.getOrCreate('acme/victim');
    await store.getOrCreateMany(ids('acme/after', 40)); // victim's segment is no longer the active one
    expect((await segments(dir)).length).toBeGreaterThan(1);
    const blob = createFieldSealer(victim).seal(utf8('alice@example.com'), utf8('e1/actor.email'));
    const wrapped = await wrappedEntryOf(dir, victim);
    const nameHash = wrapped.subarray(11, 43); // after 9-byte header and "k1"
    expect((await allFileBytes(dir)).includes(wrapped)).toBe(true);
    expect(await store.shred('acme/victim')).toBe(true);
    expect(await store.shred('acme/victim')).toBe(false);
    const after = await allFileBytes(dir);
    expect(after.includes(wrapped.subarray(-48))).toBe(false); // encrypted key ‖ tag
    expect(after.includes(nameHash)).toBe(false); // the subject's file entry is gone
    expect((await readdir(dir)).filter((e) => e.endsWith('.tmp'))).toEqual([]);
    expect(await store.get('acme/victim')).toBeUndefined();
    await store.close();
    const reopened = await JournalSubjectKeyStore.open(dir, keyring);
    expect(reopened.size).toBe(60);
    expect(await reopened.has('acme/victim')).toBe(false);
    for (const id of ids('acme/before', 20)) expect(await reopened.has(id)).toBe(true);
    const recreated = await reopened.getOrCreate('acme/victim');
    expect(hex(recreated.keyTag)).not.toBe(hex(victim.keyTag));
    expect(() => createFieldSealer(recreated).open(blob, utf8('e1/actor.email'))).toThrow(
      expect.objectContaining({ code: 'KEY_MISMATCH' }),
    );
  });

  it('shreds from the active segment and keeps appending to it', async () => {
    const dir = await tempDir();
    const keyring = new Keyring([generateMasterKey('k1')]);
    const store = await JournalSubjectKeyStore.open(dir, keyring);
    const keys = await store.getOrCreateMany(ids('acme', 5));
    const wrapped = await wrappedEntryOf(dir, keys.get('acme/2')!);
    await store.shred('acme/2');
    const later = await store.getOrCreate('acme/later');
    await store.close();
    expect((await allFileBytes(dir)).includes(wrapped.subarray(-48))).toBe(false);
    const reopened = await JournalSubjectKeyStore.open(dir, keyring);
    expect(reopened.recovery).toEqual([]);
    expect(reopened.size).toBe(5);
    expect(sameKey((await reopened.get('acme/later'))!, later)).toBe(true);
    expect(sameKey((await reopened.get('acme/4'))!, keys.get('acme/4')!)).toBe(true);
  });

  it('deletes a segment file whose last key is shredded', async () => {
    const dir = await tempDir();
    const keyring = new Keyring([generateMasterKey('k1')]);
    const store = await JournalSubjectKeyStore.open(dir, keyring, { segmentBytes: 4096 });
    await store.getOrCreate('acme/alone');
    await store.getOrCreateMany(ids('acme/big', 36)); // 36 × 113 bytes do not fit: segment 2
    expect(await segments(dir)).toEqual(['journal-000001.log', 'journal-000002.log']);
    await store.shred('acme/alone');
    expect(await segments(dir)).toEqual(['journal-000002.log']);
    await store.close();
    expect((await JournalSubjectKeyStore.open(dir, keyring)).size).toBe(36);
  });

  it('calls for a subject made while it is being shredded see no key, then a new one', async () => {
    const dir = await tempDir();
    const store = await JournalSubjectKeyStore.open(dir, new Keyring([generateMasterKey('k1')]));
    const old = await store.getOrCreate('acme/u1');
    const shredding = store.shred('acme/u1');
    const [has, recreated] = await Promise.all([store.has('acme/u1'), store.getOrCreate('acme/u1')]);
    expect(await shredding).toBe(true);
    expect(has).toBe(false);
    expect(hex(recreated.keyTag)).not.toBe(hex(old.keyTag));
  });

  it('never writes a subject id to any file or file name', async () => {
    const dir = await tempDir();
    const keyring = new Keyring([generateMasterKey('k1')]);
    const store = await JournalSubjectKeyStore.open(dir, keyring, { segmentBytes: 4096 });
    const subjects = ids('tenant-zebra/alice@example.com', 100);
    await store.getOrCreateMany(subjects);
    await store.shred(subjects[3]!);
    await store.rewrapAll();
    await store.close();
    const bytes = await allFileBytes(dir);
    const names = (await readdir(dir)).join('\n');
    for (const needle of ['tenant-zebra', 'alice@example.com', 'alice']) {
      expect(bytes.includes(Buffer.from(needle))).toBe(false);
      expect(bytes.includes(Buffer.from(needle, 'utf16le'))).toBe(false);
      expect(names).not.toContain(needle);
    }
  });

  it('moves a one-file-per-subject directory into the journal on open', async () => {
    const dir = await tempDir();
    const keyring = new Keyring([generateMasterKey('k1')]);
    const legacy = await FileSubjectKeyStore.open(dir, keyring);
    const old = await legacy.getOrCreateMany(ids('acme', 10));
    const blob = createFieldSealer(old.get('acme/7')!).seal(utf8('v'), utf8(''));
    const store = await JournalSubjectKeyStore.open(dir, keyring);
    expect(store.size).toBe(10);
    expect((await readdir(dir)).sort()).toEqual(['journal-000001.log', 'names.key']);
    expect(store.recovery.map((f) => f.reason)).toEqual(['migrated 10 legacy key files']);
    for (const [id, key] of old) expect(sameKey((await store.get(id))!, key)).toBe(true);
    expect(Buffer.from(createFieldSealer((await store.get('acme/7'))!).open(blob, utf8(''))).toString()).toBe(
      'v',
    );
  });

  it('shreds leftover temp files on open', async () => {
    const dir = await tempDir();
    const keyring = new Keyring([generateMasterKey('k1')]);
    await (await JournalSubjectKeyStore.open(dir, keyring)).getOrCreate('acme/u1');
    await writeFile(join(dir, '.journal-000001.log.abcdef.tmp'), 'stale copy');
    const store = await JournalSubjectKeyStore.open(dir, keyring);
    expect(store.recovery.map((f) => f.reason)).toEqual(['leftover temp file shredded']);
    expect((await readdir(dir)).sort()).toEqual(['journal-000001.log', 'names.key']);
  });

  it('rewrapAll moves every entry to the current master key so the old one can be retired', async () => {
    const dir = await tempDir();
    const old = generateMasterKey('k1');
    const store = await JournalSubjectKeyStore.open(dir, new Keyring([old]), { segmentBytes: 4096 });
    const keys = await store.getOrCreateMany(ids('acme', 50));
    await store.close();
    const next = generateMasterKey('k2');
    const rotating = await JournalSubjectKeyStore.open(dir, new Keyring([old, next]));
    expect(await rotating.rewrapAll()).toBe(51);
    expect(await rotating.rewrapAll()).toBe(0);
    await rotating.getOrCreate('acme/new');
    await rotating.close();
    for (const file of await segments(dir)) {
      for (const { wrapped } of entriesOf(await readFile(join(dir, file)))) {
        expect(parseWrappedKeyHeader(wrapped).kekId).toBe('k2');
      }
    }
    const retired = await JournalSubjectKeyStore.open(dir, new Keyring([next]));
    for (const [id, key] of keys) expect(sameKey((await retired.get(id))!, key)).toBe(true);
  });

  it('rejects calls after close and bad options at open', async () => {
    const dir = await tempDir();
    const keyring = new Keyring([generateMasterKey('k1')]);
    await expect(JournalSubjectKeyStore.open(dir, keyring, { segmentBytes: 100 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    const store = await JournalSubjectKeyStore.open(dir, keyring);
    const pending = store.getOrCreate('acme/u1');
    await store.close();
    expect(await pending).toBeDefined();
    await expect(store.getOrCreate('acme/u2')).rejects.toMatchObject({ code: 'IO_ERROR' });
  });

  it('keeps every key whose call resolved when the writing process is killed (SIGKILL)', async () => {
    const dir = await tempDir();
    const master: MasterKey = generateMasterKey('k1');
    const keyHex = hex(master.keyObject.export());
    const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
    const child = join(packageDir, 'test/helpers/journal-crash-child.ts');
    const created = new Map<string, string>();
    const shredded = new Set<string>();
    for (let round = 0; round < 3; round++) {
      const output = await new Promise<string>((resolve, reject) => {
        const proc = spawn(
          process.execPath,
          ['--conditions=@sealog/source', '--import', 'tsx', child, dir, keyHex, String(round)],
          { cwd: packageDir, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let out = '';
        let err = '';
        let lines = 0;
        const killAfter = 150 + round * 250;
        proc.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          lines += chunk.toString().split('\n').length - 1;
          // Kill mid-stream, at a different point each round.
          if (lines >= killAfter && !proc.killed) proc.kill('SIGKILL');
        });
        proc.stderr.on('data', (chunk: Buffer) => {
          err += chunk.toString();
        });
        proc.on('error', reject);
        proc.on('exit', (_code, signal) => {
          if (signal === 'SIGKILL') resolve(out);
          else reject(new Error(`child exited without being killed: ${err}`));
        });
      });
      // A line cut by the kill is incomplete: only whole lines report resolved calls.
      const whole = output.slice(0, output.lastIndexOf('\n') + 1);
      for (const line of whole.split('\n')) {
        const [what, id, keyBytes, tag] = line.split(' ');
        if (what === 'created') {
          const value = `${keyBytes} ${tag}`;
          expect(created.get(id!) ?? value, `${id} changed between calls`).toBe(value);
          created.set(id!, value);
        }
        if (what === 'shredded') {
          shredded.add(id!);
          created.delete(id!);
        }
      }
    }
    expect(created.size).toBeGreaterThan(300);
    expect(shredded.size).toBeGreaterThan(0);
    // Simulate a torn tail on top of the last kill, too.
    const last = (await segments(dir)).at(-1)!;
    await appendFile(join(dir, last), Buffer.from([0x12, 0x34, 0x00]));
    const store = await JournalSubjectKeyStore.open(dir, new Keyring([master]), { cacheEntries: 0 });
    for (const [id, expected] of created) {
      const key = await store.get(id);
      expect(key, id).toBeDefined();
      expect(`${hex(key!.exportBytes())} ${hex(key!.keyTag)}`).toBe(expected);
    }
    for (const id of shredded) expect(await store.has(id)).toBe(false);
    expect(store.recovery.some((f) => f.file === last)).toBe(true);
    await store.close();
  }, 60_000);
});
