import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FileTileStore,
  type FileTileStoreOptions,
  MemoryTileStore,
  MerkleError,
  type TileStore,
} from '../src/index';

function tileBytes(width: number, seed: number): Uint8Array {
  const out = new Uint8Array(width * 32);
  for (let i = 0; i < out.length; i++) out[i] = (i * 7 + seed) & 0xff;
  return out;
}

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'sealog-merkle-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function rejectionCode(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return e instanceof MerkleError ? e.code : `other: ${String(e)}`;
  }
  return undefined;
}

/** Contract tests every store must pass. */
function storeContract(name: string, make: () => Promise<TileStore>): void {
  describe(`tile-store contract: ${name}`, () => {
    it('returns undefined for a tile it does not hold', async () => {
      const store = await make();
      expect(await store.readTile(0, 0, 1)).toBeUndefined();
      expect(await store.readTile(3, 12345, 256)).toBeUndefined();
    });

    it('serves a partial tile for any width up to its own and replaces it with a wider write', async () => {
      const store = await make();
      const full = tileBytes(256, 1);
      await store.writeTiles([{ level: 0, index: 4, width: 10, data: full.subarray(0, 320) }]);
      expect(await store.readTile(0, 4, 10)).toEqual(full.subarray(0, 320));
      expect((await store.readTile(0, 4, 3))!.subarray(0, 96)).toEqual(full.subarray(0, 96));
      expect(await store.readTile(0, 4, 11)).toBeUndefined();
      await store.writeTiles([{ level: 0, index: 4, width: 40, data: full.subarray(0, 1280) }]);
      expect(await store.readTile(0, 4, 40)).toEqual(full.subarray(0, 1280));
      expect((await store.readTile(0, 4, 10))!.subarray(0, 320)).toEqual(full.subarray(0, 320));
      await store.writeTiles([{ level: 0, index: 4, width: 256, data: full }]);
      expect(await store.readTile(0, 4, 256)).toEqual(full);
      expect((await store.readTile(0, 4, 40))!.subarray(0, 1280)).toEqual(full.subarray(0, 1280));
    });

    it('keeps full tiles immutable: identical or prefix rewrites are no-ops, others are refused', async () => {
      const store = await make();
      const full = tileBytes(256, 2);
      await store.writeTiles([{ level: 1, index: 0, width: 256, data: full }]);
      await store.writeTiles([{ level: 1, index: 0, width: 256, data: full.slice() }]);
      await store.writeTiles([{ level: 1, index: 0, width: 5, data: full.slice(0, 160) }]);
      expect(await store.readTile(1, 0, 256)).toEqual(full);
      const other = tileBytes(256, 3);
      expect(await rejectionCode(store.writeTiles([{ level: 1, index: 0, width: 256, data: other }]))).toBe(
        'TILE_CORRUPT',
      );
      expect(await store.readTile(1, 0, 256)).toEqual(full);
    });

    it('rejects writes whose data length does not match the width', async () => {
      const store = await make();
      expect(
        await rejectionCode(store.writeTiles([{ level: 0, index: 0, width: 2, data: new Uint8Array(63) }])),
      ).toBe('TILE_CORRUPT');
      expect(
        await rejectionCode(store.writeTiles([{ level: 9, index: 0, width: 1, data: new Uint8Array(32) }])),
      ).toBe('OUT_OF_RANGE');
    });
  });
}

storeContract('MemoryTileStore', async () => new MemoryTileStore());
const FILE_MODES: readonly [string, FileTileStoreOptions][] = [
  ['fsync, libuv pool', {}],
  ['no fsync, blocking writes', { fsync: false }],
  ['no fsync, libuv pool', { fsync: false, blockingWrites: false }],
];

for (const [mode, options] of FILE_MODES) {
  storeContract(`FileTileStore (${mode})`, async () => new FileTileStore(await tempDir(), options));
}

describe.each(FILE_MODES)('file-tile-store (%s)', (_mode, options) => {
  it('writes tiles at their C2SP paths and keeps only the newest partial of a tile', async () => {
    const dir = await tempDir();
    const store = new FileTileStore(dir, options);
    const full = tileBytes(256, 4);
    await store.writeTiles([{ level: 0, index: 1234067, width: 3, data: full.subarray(0, 96) }]);
    await store.writeTiles([{ level: 0, index: 1234067, width: 7, data: full.subarray(0, 224) }]);
    expect(await readdir(join(dir, 'tile/0/x001/x234/067.p'))).toEqual(['7']);
    expect(new Uint8Array(await readFile(join(dir, 'tile/0/x001/x234/067.p/7')))).toEqual(
      full.subarray(0, 224),
    );
    await store.writeTiles([{ level: 0, index: 1234067, width: 256, data: full }]);
    expect(await readdir(join(dir, 'tile/0/x001/x234'))).toEqual(['067']);
    expect(store.pathOf(2, 5, 9)).toBe(join(dir, 'tile/2/005.p/9'));
  });

  it('survives reopening: a new store on the same directory reads what the old one wrote', async () => {
    const dir = await tempDir();
    const data = tileBytes(256, 5);
    await new FileTileStore(dir, options).writeTiles([
      { level: 0, index: 0, width: 256, data },
      { level: 1, index: 0, width: 1, data: data.subarray(0, 32) },
    ]);
    const reopened = new FileTileStore(dir, { ...options, fsync: false });
    expect(await reopened.readTile(0, 0, 256)).toEqual(data);
    expect(await reopened.readTile(1, 0, 1)).toEqual(data.subarray(0, 32));
  });

  it('falls back to a wider leftover partial when the exact width is gone, and ignores temp files', async () => {
    const dir = await tempDir();
    const data = tileBytes(256, 6);
    await new FileTileStore(dir, options).writeTiles([
      { level: 0, index: 0, width: 9, data: data.subarray(0, 288) },
    ]);
    await writeFile(join(dir, 'tile/0/000.p/.tmp-9-12-1'), 'junk');
    expect((await new FileTileStore(dir, options).readTile(0, 0, 4))!.subarray(0, 128)).toEqual(
      data.subarray(0, 128),
    );
  });

  it('reports a tile file of the wrong length as corrupt', async () => {
    const dir = await tempDir();
    const store = new FileTileStore(dir, options);
    await store.writeTiles([{ level: 0, index: 0, width: 256, data: tileBytes(256, 7) }]);
    await writeFile(store.pathOf(0, 0), new Uint8Array(100));
    expect(await rejectionCode(store.readTile(0, 0, 256))).toBe('TILE_CORRUPT');
  });

  it('fails a write it cannot make with STORE_FAILED and leaves no temp file behind', async () => {
    const dir = await tempDir();
    const store = new FileTileStore(dir, options);
    const data = tileBytes(256, 8);
    await store.writeTiles([{ level: 0, index: 0, width: 256, data }]);
    // A file where the tile's directory must go: every write under tile/1/ fails.
    await writeFile(join(dir, 'tile/1'), 'not a directory');
    expect(
      await rejectionCode(store.writeTiles([{ level: 1, index: 0, width: 3, data: data.subarray(0, 96) }])),
    ).toBe('STORE_FAILED');
    // A partial tile whose name is taken by a non-empty directory: the temp file is written, the
    // rename fails.
    await mkdir(join(store.pathOf(0, 1, 5), 'x'), { recursive: true });
    expect(
      await rejectionCode(store.writeTiles([{ level: 0, index: 1, width: 5, data: data.subarray(0, 160) }])),
    ).toBe('STORE_FAILED');
    expect(await readdir(`${store.pathOf(0, 1)}.p`)).toEqual(['5']);
    // Earlier tiles are intact.
    expect(await store.readTile(0, 0, 256)).toEqual(data);
  });
});

describe('file-tile-store, blocking writes', () => {
  it('creates the next temp file ahead, writes the next tile through it, and removes it on close', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'tile'), { recursive: true });
    // Left by a writer that crashed: swept by the next writer.
    await writeFile(join(dir, 'tile', '.tmp-spare-999999-1'), 'leftover');
    const spares = async (): Promise<string[]> =>
      (await readdir(join(dir, 'tile'))).filter((n) => n.startsWith('.tmp-spare-'));
    const store = new FileTileStore(dir, { fsync: false });
    const tiles = [tileBytes(256, 9), tileBytes(256, 10), tileBytes(256, 11)];
    await store.writeTiles([{ level: 0, index: 0, width: 256, data: tiles[0]! }]);
    await sleep(50);
    const ahead = await spares();
    expect(ahead).toHaveLength(1);
    expect(ahead[0]).not.toBe('.tmp-spare-999999-1');
    await store.writeTiles([{ level: 0, index: 1, width: 256, data: tiles[1]! }]);
    // The spare became tile 1 (renamed into place); the next one is on its way.
    expect(await spares()).not.toContain(ahead[0]);
    expect(await store.readTile(0, 1, 256)).toEqual(tiles[1]);
    await sleep(50);
    expect(await spares()).toHaveLength(1);
    store.close();
    expect(await spares()).toEqual([]);
    // Still writable after close, without spares.
    await store.writeTiles([{ level: 0, index: 2, width: 256, data: tiles[2]! }]);
    await sleep(50);
    expect(await spares()).toEqual([]);
    for (let i = 0; i < 3; i++) expect(await store.readTile(0, i, 256)).toEqual(tiles[i]);
  });
});
