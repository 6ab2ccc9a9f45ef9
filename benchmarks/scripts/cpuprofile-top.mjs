#!/usr/bin/env node
/**
 * Prints the top self-time functions of a V8 `.cpuprofile` (from `node --cpu-prof`).
 *
 * Usage: node benchmarks/scripts/cpuprofile-top.mjs FILE.cpuprofile... [--top N]
 * With several files (e.g. `dir/*.cpuprofile`: the main thread plus loader or worker threads),
 * each is summarised in turn.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  options: { top: { type: 'string', default: '25' } },
  allowPositionals: true,
});
if (positionals.length === 0) {
  console.error('usage: cpuprofile-top.mjs FILE.cpuprofile... [--top N]');
  process.exit(2);
}
for (const file of positionals) summarise(file, Number(values.top));

function summarise(file, top) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map();
  for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  const self = new Map();
  let total = 0;
  for (const [id, n] of counts) {
    const node = byId.get(id);
    const f = node.callFrame;
    const where =
      f.url === '' ? '' : ` ${f.url.replace(/^.*\/(packages|node_modules)\//, '$1/')}:${f.lineNumber + 1}`;
    const key = `${f.functionName || '(anonymous)'}${where}`;
    self.set(key, (self.get(key) ?? 0) + n);
    total += n;
  }
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
  console.log(`${file}: ${total} samples`);
  for (const [key, n] of rows) console.log(`${((100 * n) / total).toFixed(1).padStart(5)}%  ${key}`);
}
