/**
 * Crash-test child: creates subject keys in batches (and shreds some) in a journal store until
 * it is killed. After each call resolves it prints what is now durable, one line per fact:
 * `created <id> <key hex> <tag hex>` or `shredded <id>`. Usage: `<dir> <master key hex> <round>`.
 */
import { JournalSubjectKeyStore, Keyring, loadMasterKey } from '../../src/index';

const [dir, keyHex, round] = process.argv.slice(2);
if (dir === undefined || keyHex === undefined || round === undefined) {
  throw new Error('usage: journal-crash-child <dir> <master key hex> <round>');
}
const BATCH = 40;
const store = await JournalSubjectKeyStore.open(dir, new Keyring([loadMasterKey('k1', keyHex)]), {
  segmentBytes: 8192,
});
for (let batch = 0; ; batch++) {
  const ids: string[] = [];
  // Overlaps the previous batch by a few ids: existing keys must come back unchanged.
  for (let i = -3; i < BATCH; i++) ids.push(`crash/${round}/${batch * BATCH + i}`);
  const keys = await store.getOrCreateMany(ids);
  let out = '';
  for (const [id, key] of keys) {
    out += `created ${id} ${Buffer.from(key.exportBytes()).toString('hex')} ${Buffer.from(key.keyTag).toString('hex')}\n`;
  }
  process.stdout.write(out);
  if (batch % 3 === 2) {
    const victim = `crash/${round}/${batch * BATCH + 5}`;
    await store.shred(victim);
    process.stdout.write(`shredded ${victim}\n`);
  }
}
