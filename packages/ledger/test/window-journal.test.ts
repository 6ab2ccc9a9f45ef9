import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdempotencyWindow } from '../src/idempotency-window';
import { newSalt } from '../src/key-fingerprint';
import { readWindowFiles, WindowJournal, type WindowRef, windowFileName } from '../src/window-journal';
import { flatWindow, tempDir } from './helpers';

const hashOf = (n: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, j) => (n * 7 + j * 13) & 0xff);
const keyOf = (n: number): string => `tenant\u0000ev-${n}`;

/** Entries `ref` names, as a window sees them: `[first, end)` numbered from `ref.first`. */
function windowOf(dir: string, ref: WindowRef, capacity: number): IdempotencyWindow {
  return IdempotencyWindow.fromColumns(readWindowFiles(dir, ref), capacity, ref.first);
}

const windowFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((n) => n.startsWith('window-'))
    .sort();

describe('WindowJournal', () => {
  it('writes only what the files lack, and reads back exactly the window at every snapshot (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 64 }),
        fc.array(fc.integer({ min: 0, max: 700 }), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        async (capacity, perFile, rounds, reopen) => {
          const dir = tempDir();
          let window = new IdempotencyWindow(capacity);
          let journal = new WindowJournal(dir, window.salt, undefined, perFile);
          let next = 0;
          let ref: WindowRef | undefined;
          for (const adds of rounds) {
            for (let i = 0; i < adds; i++, next++) window.set(keyOf(next), next * 3, hashOf(next));
            // A re-add of a held key (what a replay does) changes nothing.
            if (next > 0) window.set(keyOf(next - 1), (next - 1) * 3, hashOf(next - 1));
            // Entries visited to be written: only those the files lack.
            let visited = 0;
            const visitRun = window.visitRun.bind(window);
            window.visitRun = (seq, max, visit) => {
              const n = visitRun(seq, max, visit);
              visited += n;
              return n;
            };
            const lacking = window.endSequence - Math.max(window.firstSequence, ref?.end ?? 0);
            ref = await journal.write(window, window.firstSequence, window.endSequence);
            expect(visited).toBe(lacking);
            expect(ref).toMatchObject({ first: window.firstSequence, end: window.endSequence });
            expect(flatWindow(readWindowFiles(dir, ref))).toBe(flatWindow(window.columns()));
            await journal.prune(ref.first);
            // Only files holding part of the range are left.
            const expected: string[] = [];
            for (let k = Math.floor(ref.first / perFile); k * perFile < ref.end; k++) {
              expected.push(windowFileName(k));
            }
            expect(windowFiles(dir)).toEqual(ref.end > ref.first ? expected : windowFiles(dir));
            if (reopen) {
              // A restart: the window and the journal from what the snapshot names.
              window = windowOf(dir, ref, capacity);
              journal = new WindowJournal(dir, window.salt, ref);
            }
          }
          for (let n = Math.max(0, next - capacity); n < next; n++) {
            expect(window.get(keyOf(n))?.leafIndex).toBe(n * 3);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('keeps the named range intact when a later write is never committed (crash before the snapshot rename)', async () => {
    const dir = tempDir();
    const window = new IdempotencyWindow(1000);
    const journal = new WindowJournal(dir, window.salt, undefined, 16);
    for (let n = 0; n < 40; n++) window.set(keyOf(n), n, hashOf(n));
    const committed = await journal.write(window, window.firstSequence, window.endSequence);
    const before = flatWindow(readWindowFiles(dir, committed));
    for (let n = 40; n < 90; n++) window.set(keyOf(n), n, hashOf(n));
    await journal.write(window, window.firstSequence, window.endSequence);
    // Restart from the committed snapshot: its range reads as it was, later files are gone.
    const reopened = new WindowJournal(dir, window.salt, committed);
    expect(flatWindow(readWindowFiles(dir, committed))).toBe(before);
    expect(windowFiles(dir)).toEqual([0, 1, 2].map(windowFileName));
    // Other records arrive after the restart: they overwrite what the lost write left.
    const again = windowOf(dir, committed, 1000);
    for (let n = 500; n < 560; n++) again.set(keyOf(n), n, hashOf(n + 1));
    const ref = await reopened.write(again, again.firstSequence, again.endSequence);
    expect(ref).toMatchObject({ first: 0, end: 100 });
    expect(flatWindow(readWindowFiles(dir, ref))).toBe(flatWindow(again.columns()));
  });

  it('starts the range after entries that left the window before they were written', async () => {
    const dir = tempDir();
    const window = new IdempotencyWindow(10);
    const journal = new WindowJournal(dir, window.salt, undefined, 4);
    let next = 0;
    const add = (n: number): void => {
      for (let i = 0; i < n; i++, next++) window.set(keyOf(next), next, hashOf(next));
    };
    add(7);
    await journal.write(window, window.firstSequence, window.endSequence);
    add(50);
    // Appends keep arriving while the snapshot writes (between its writes): more than the window holds.
    const first = window.firstSequence;
    const end = window.endSequence;
    let pauses = 0;
    const ref = await journal.write(window, first, end, async () => {
      pauses++;
      add(3);
    });
    expect(ref.end).toBe(end);
    expect(ref.first).toBeGreaterThan(first);
    const back = windowOf(dir, ref, 100);
    expect(back.size).toBe(ref.end - ref.first);
    for (let n = ref.first; n < ref.end; n++) expect(back.get(keyOf(n))?.leafIndex).toBe(n);
    expect(pauses).toBeGreaterThan(0);
  });

  it('refuses files that are missing, short, or of another window, naming the file', async () => {
    const dir = tempDir();
    const window = new IdempotencyWindow(100);
    for (let n = 0; n < 20; n++) window.set(keyOf(n), n, hashOf(n));
    const journal = new WindowJournal(dir, window.salt, undefined, 8);
    const ref = await journal.write(window, 0, 20);
    expect(() => readWindowFiles(dir, { ...ref, salt: newSalt() })).toThrow(
      `state snapshot: ${windowFileName(0)}: header is not that of file 0 of this window`,
    );
    expect(() => readWindowFiles(dir, { ...ref, first: 24, end: 30 })).toThrow(
      `state snapshot: ${windowFileName(3)}: ENOENT`,
    );
    expect(() => readWindowFiles(dir, { ...ref, end: 22 })).toThrow(
      `state snapshot: ${windowFileName(2)}: file ends`,
    );
    writeFileSync(join(dir, windowFileName(2)), Buffer.alloc(70));
    expect(() => readWindowFiles(dir, ref)).toThrow(`state snapshot: ${windowFileName(2)}: header is not`);
    expect(() => readWindowFiles(dir, { ...ref, first: 5, end: 4 })).toThrow('is not valid');
  });

  it('deletes window files of another incarnation instead of writing into them', async () => {
    const dir = tempDir();
    const old = new IdempotencyWindow(100);
    for (let n = 0; n < 30; n++) old.set(keyOf(n), n, hashOf(n));
    await new WindowJournal(dir, old.salt, undefined, 8).write(old, 0, 30);
    expect(windowFiles(dir)).toHaveLength(4);
    // No snapshot names them (e.g. the first snapshot crashed before its rename).
    const fresh = new IdempotencyWindow(5);
    const journal = new WindowJournal(dir, fresh.salt, undefined, 8);
    expect(windowFiles(dir)).toEqual([]);
    for (let n = 0; n < 12; n++) fresh.set(keyOf(100 + n), n, hashOf(n));
    const ref = await journal.write(fresh, fresh.firstSequence, fresh.endSequence);
    expect(ref).toMatchObject({ first: 7, end: 12 });
    expect(windowFiles(dir)).toEqual([0, 1].map(windowFileName));
    expect(flatWindow(readWindowFiles(dir, ref))).toBe(flatWindow(fresh.columns()));
  });
});
