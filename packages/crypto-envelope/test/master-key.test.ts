import { chmod, mkdtemp as makeTempDir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CryptoEnvelopeError,
  generateMasterKey,
  loadMasterKey,
  loadMasterKeyFile,
  saveMasterKeyFile,
  unwrapKey,
  wrapKey,
} from '../src/index';

const dirs: string[] = [];
async function mkdtemp(prefix: string): Promise<string> {
  const dir = await makeTempDir(prefix);
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const HEX = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const BASE64 = Buffer.from(HEX, 'hex').toString('base64');

async function codeOfAsync(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof CryptoEnvelopeError) return err.code;
    throw err;
  }
  return undefined;
}

/** Two master keys are the same key when one unwraps what the other wrapped. */
function sameKey(a: ReturnType<typeof loadMasterKey>, b: ReturnType<typeof loadMasterKey>): boolean {
  const wrapped = wrapKey(a, 'data-key', new Uint8Array(16), new Uint8Array(32).fill(9));
  try {
    return unwrapKey(b, wrapped, 'data-key').material.every((x) => x === 9);
  } catch {
    return false;
  }
}

describe('master-key', () => {
  it('loads the same key from hex (either case, with whitespace) and from base64', () => {
    const fromHex = loadMasterKey('k', HEX);
    expect(sameKey(fromHex, loadMasterKey('k', ` ${HEX.toUpperCase()}\n`))).toBe(true);
    expect(sameKey(fromHex, loadMasterKey('k', BASE64))).toBe(true);
    expect(sameKey(fromHex, generateMasterKey('k'))).toBe(false);
  });

  it('rejects text that is not 32 bytes of hex or canonical base64', () => {
    for (const bad of [
      '',
      HEX.slice(2),
      `${HEX}00`,
      `${HEX.slice(0, 63)}g`,
      BASE64.replace('=', ''),
      'not a key',
    ]) {
      expect(() => loadMasterKey('k', bad)).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }));
    }
  });

  it('rejects ids outside [A-Za-z0-9._-]{1,64}', () => {
    for (const id of ['', 'a b', 'x'.repeat(65), 'kék']) {
      expect(() => generateMasterKey(id)).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }));
    }
  });

  it('loads a 0600 key file holding hex, base64 or 32 raw bytes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sealog-mk-'));
    const reference = loadMasterKey('k', HEX);
    for (const [name, content] of [
      ['hex', `${HEX}\n`],
      ['b64', BASE64],
      ['raw', Buffer.from(HEX, 'hex')],
    ] as const) {
      const path = join(dir, name);
      await writeFile(path, content, { mode: 0o600 });
      expect(sameKey(reference, await loadMasterKeyFile('k', path))).toBe(true);
    }
  });

  it('refuses key files with group or other permissions, like ssh', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sealog-mk-'));
    const path = join(dir, 'master.key');
    await writeFile(path, HEX, { mode: 0o600 });
    for (const mode of [0o640, 0o604, 0o660, 0o644]) {
      await chmod(path, mode);
      const error = await loadMasterKeyFile('k', path).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(CryptoEnvelopeError);
      expect((error as CryptoEnvelopeError).code).toBe('INSECURE_KEY_FILE');
      expect((error as CryptoEnvelopeError).message).toContain(`0${mode.toString(8)}`);
      expect((error as CryptoEnvelopeError).message).toContain('chmod 600');
    }
    await chmod(path, 0o400);
    expect(await codeOfAsync(loadMasterKeyFile('k', path))).toBeUndefined();
  });

  it('refuses a directory and reports a missing file as IO_ERROR', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sealog-mk-'));
    await chmod(dir, 0o700);
    expect(await codeOfAsync(loadMasterKeyFile('k', dir))).toBe('INSECURE_KEY_FILE');
    expect(await codeOfAsync(loadMasterKeyFile('k', join(dir, 'missing')))).toBe('IO_ERROR');
  });

  it('saves a key file with mode 0600 that loads back as the same key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sealog-mk-'));
    const path = join(dir, 'master.key');
    const key = generateMasterKey('k');
    await saveMasterKeyFile(path, key);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readFile(path, 'utf8')).trim()).toMatch(/^[0-9a-f]{64}$/);
    expect(sameKey(key, await loadMasterKeyFile('k', path))).toBe(true);
  });
});
