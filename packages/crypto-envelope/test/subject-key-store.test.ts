import { copyFile, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type CryptoEnvelopeError,
  createFieldSealer,
  FileSubjectKeyStore,
  generateMasterKey,
  JournalSubjectKeyStore,
  Keyring,
  MemorySubjectKeyStore,
  parseWrappedKeyHeader,
  type SubjectKeyStore,
} from '../src/index';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sealog-sks-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

const stores: [string, () => Promise<SubjectKeyStore>][] = [
  ['memory', async () => new MemorySubjectKeyStore()],
  [
    'file',
    async () =>
      FileSubjectKeyStore.open(join(await tempDir(), 'keys'), new Keyring([generateMasterKey('k1')])),
  ],
  [
    'journal',
    async () =>
      JournalSubjectKeyStore.open(join(await tempDir(), 'keys'), new Keyring([generateMasterKey('k1')])),
  ],
];

describe('subject-key-store', () => {
  for (const [kind, make] of stores) {
    it(`${kind}: creates a key once and returns the same key afterwards`, async () => {
      const store = await make();
      expect(await store.has('acme/u1')).toBe(false);
      expect(await store.get('acme/u1')).toBeUndefined();
      const key = await store.getOrCreate('acme/u1');
      const blob = createFieldSealer(key).seal(utf8('alice'), utf8('aad'));
      const again = await store.getOrCreate('acme/u1');
      expect(Buffer.from(createFieldSealer(again).open(blob, utf8('aad'))).toString()).toBe('alice');
      expect(await store.has('acme/u1')).toBe(true);
      expect(await store.has('acme/u2')).toBe(false);
    });

    it(`${kind}: shred makes the key unavailable and old fields unopenable even after re-creation`, async () => {
      const store = await make();
      const blob = createFieldSealer(await store.getOrCreate('acme/u1')).seal(utf8('alice'), utf8(''));
      expect(await store.shred('acme/u1')).toBe(true);
      expect(await store.shred('acme/u1')).toBe(false);
      expect(await store.get('acme/u1')).toBeUndefined();
      const recreated = await store.getOrCreate('acme/u1');
      expect(() => createFieldSealer(recreated).open(blob, utf8(''))).toThrow(
        expect.objectContaining({ code: 'KEY_MISMATCH' }),
      );
    });

    it(`${kind}: rejects empty subject ids`, async () => {
      const store = await make();
      await expect(store.getOrCreate('')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });

    it(`${kind}: getOrCreateMany returns one key per distinct id, the same getOrCreate returns`, async () => {
      const store = await make();
      const existing = await store.getOrCreate('acme/u0');
      const keys = await store.getOrCreateMany(['acme/u0', 'acme/u1', 'acme/u2', 'acme/u1']);
      expect([...keys.keys()]).toEqual(['acme/u0', 'acme/u1', 'acme/u2']);
      expect(keys.get('acme/u0')!.keyTag).toEqual(existing.keyTag);
      const blob = createFieldSealer(keys.get('acme/u2')!).seal(utf8('bob'), utf8(''));
      const again = await store.getOrCreate('acme/u2');
      expect(Buffer.from(createFieldSealer(again).open(blob, utf8(''))).toString()).toBe('bob');
      expect((await store.getOrCreateMany([])).size).toBe(0);
    });

    it(`${kind}: getOrCreateMany with one bad id creates nothing`, async () => {
      const store = await make();
      await expect(store.getOrCreateMany(['acme/ok', ''])).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      expect(await store.has('acme/ok')).toBe(false);
    });
  }

  it('file: persists keys across reopen, with 0600 files named by keyed hash, not by subject id', async () => {
    const dir = join(await tempDir(), 'keys');
    const keyring = new Keyring([generateMasterKey('k1')]);
    const store = await FileSubjectKeyStore.open(dir, keyring);
    const blob = createFieldSealer(await store.getOrCreate('acme/alice@example.com')).seal(
      utf8('x'),
      utf8(''),
    );
    const reopened = await FileSubjectKeyStore.open(dir, keyring);
    const key = await reopened.get('acme/alice@example.com');
    expect(key).toBeDefined();
    expect(Buffer.from(createFieldSealer(key!).open(blob, utf8(''))).toString()).toBe('x');
    const entries = (await readdir(dir)).sort();
    expect(entries).toHaveLength(2);
    expect(entries).toContain('names.key');
    expect(entries.join()).not.toContain('alice');
    for (const entry of entries) expect((await stat(join(dir, entry))).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
  });

  it('file: shred removes the key file and leaves no temp files behind', async () => {
    const dir = join(await tempDir(), 'keys');
    const store = await FileSubjectKeyStore.open(dir, new Keyring([generateMasterKey('k1')]));
    const key = await store.getOrCreate('acme/u1');
    await store.getOrCreate('acme/u2');
    const material = Buffer.from(key.exportBytes());
    expect(await readdir(dir)).toHaveLength(3);
    await store.shred('acme/u1');
    const entries = await readdir(dir);
    expect(entries).toHaveLength(2);
    for (const entry of entries) {
      expect((await readFile(join(dir, entry))).includes(material)).toBe(false);
    }
    const reopened = await FileSubjectKeyStore.open(dir, new Keyring([generateMasterKey('k1')])).catch(
      (err: unknown) => err,
    );
    // A different master key with the same id cannot open names.key: proof the files are wrapped.
    expect((reopened as CryptoEnvelopeError).code).toBe('AUTH_FAILED');
  });

  it('file: a key file copied onto another subject name fails to load', async () => {
    const dir = join(await tempDir(), 'keys');
    const store = await FileSubjectKeyStore.open(dir, new Keyring([generateMasterKey('k1')]), {
      cacheEntries: 0,
    });
    await store.getOrCreate('acme/u1');
    const [u1File] = (await readdir(dir)).filter((e) => e !== 'names.key');
    await store.getOrCreate('acme/u2');
    const u2File = (await readdir(dir)).find((e) => e !== 'names.key' && e !== u1File)!;
    await copyFile(join(dir, u1File!), join(dir, u2File));
    await expect(store.get('acme/u2')).rejects.toMatchObject({ code: 'MALFORMED_WRAPPED_KEY' });
  });

  it('file: concurrent getOrCreate calls for one subject agree on one key', async () => {
    const dir = join(await tempDir(), 'keys');
    const store = await FileSubjectKeyStore.open(dir, new Keyring([generateMasterKey('k1')]));
    const keys = await Promise.all(Array.from({ length: 8 }, () => store.getOrCreate('acme/u1')));
    const tags = new Set(keys.map((k) => Buffer.from(k.keyTag).toString('hex')));
    expect(tags.size).toBe(1);
    expect(await readdir(dir)).toHaveLength(2);
  });

  it('file: rewrapAll moves every file to the current master key so the old one can be retired', async () => {
    const dir = join(await tempDir(), 'keys');
    const old = generateMasterKey('k1');
    const store = await FileSubjectKeyStore.open(dir, new Keyring([old]));
    const blob = createFieldSealer(await store.getOrCreate('acme/u1')).seal(utf8('v'), utf8(''));
    const next = generateMasterKey('k2');
    const rotating = await FileSubjectKeyStore.open(dir, new Keyring([old, next]));
    expect(await rotating.rewrapAll()).toBe(2);
    expect(await rotating.rewrapAll()).toBe(0);
    for (const entry of await readdir(dir)) {
      expect(parseWrappedKeyHeader(await readFile(join(dir, entry))).kekId).toBe('k2');
    }
    const retired = await FileSubjectKeyStore.open(dir, new Keyring([next]));
    const key = await retired.get('acme/u1');
    expect(Buffer.from(createFieldSealer(key!).open(blob, utf8(''))).toString()).toBe('v');
  });

  it('file: refuses to start a fresh name key when subject files exist without names.key', async () => {
    const dir = join(await tempDir(), 'keys');
    const keyring = new Keyring([generateMasterKey('k1')]);
    const store = await FileSubjectKeyStore.open(dir, keyring);
    await store.getOrCreate('acme/u1');
    await rm(join(dir, 'names.key'));
    await expect(FileSubjectKeyStore.open(dir, keyring)).rejects.toMatchObject({ code: 'IO_ERROR' });
  });
});
