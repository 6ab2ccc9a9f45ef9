/**
 * Times `verifyDataDir` on a data directory made by `make-bench-log.ts`, keyless and keyed, and
 * prints the median and best of several runs in MiB/s of segment bytes. With several `--module`
 * paths (builds of the verifier to compare), runs alternate between them (A B A B …) so that load
 * from other jobs on a shared machine hits every variant alike; compare the ratios of one run.
 *
 *   node --conditions=@sealog/source --import tsx packages/verifier/bench/verify-throughput.ts DIR \
 *     [--runs 5] [--mode keyless|keyed|both] [--module path/to/index.ts]... [--threads 0,2]
 *
 * `--threads` compares thread counts of one build instead (each a variant).
 *
 * Every run must verify (`ok`), else the script fails: a fast wrong answer is not a figure.
 * Besides wall time it prints the process's CPU time (all threads): MiB per CPU-second is what a
 * variant costs whatever else the machine runs, wall time what it delivers with the cores it got.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

interface Variant {
  readonly label: string;
  readonly threads: number | undefined;
  readonly verifyDataDir: (
    dir: string,
    options: { keyless?: boolean; threads?: number },
  ) => Promise<{ ok: boolean; summary: { bytes: number; leaves: number }; findings: unknown[] }>;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      runs: { type: 'string', default: '5' },
      mode: { type: 'string', default: 'both' },
      module: { type: 'string', multiple: true },
      threads: { type: 'string' },
    },
  });
  const dir = positionals[0];
  if (dir === undefined)
    throw new Error('usage: verify-throughput.ts DIR [--runs N] [--mode M] [--module P]...');
  const runs = Number(values.runs);
  const modules = values.module ?? [new URL('../src/index.ts', import.meta.url).pathname];
  const variants: Variant[] = [];
  for (const m of modules) {
    const mod = (await import(resolve(m))) as Pick<Variant, 'verifyDataDir'>;
    const counts = values.threads === undefined ? [undefined] : values.threads.split(',').map(Number);
    for (const threads of counts) {
      const label = threads === undefined ? m : `${m} (threads ${threads})`;
      variants.push({ label, threads, verifyDataDir: mod.verifyDataDir });
    }
  }
  const modes = values.mode === 'both' ? ['keyless', 'keyed'] : [values.mode!];
  for (const mode of modes) {
    const times: number[][] = variants.map(() => []);
    const cpu: number[][] = variants.map(() => []);
    let mib = 0;
    // One untimed warm-up per variant (JIT, page cache), then alternating timed runs.
    for (let r = -1; r < runs; r++) {
      for (let v = 0; v < variants.length; v++) {
        const t = performance.now();
        const c = process.cpuUsage();
        const variant = variants[v]!;
        const report = await variant.verifyDataDir(dir, {
          keyless: mode === 'keyless',
          ...(variant.threads === undefined ? {} : { threads: variant.threads }),
        });
        const ms = performance.now() - t;
        const used = process.cpuUsage(c);
        if (!report.ok) {
          throw new Error(
            `${variants[v]!.label} ${mode}: not verified: ${JSON.stringify(report.findings[0])}`,
          );
        }
        mib = report.summary.bytes / 1048576;
        if (r >= 0) {
          times[v]!.push(ms);
          cpu[v]!.push((used.user + used.system) / 1000);
        }
      }
    }
    for (let v = 0; v < variants.length; v++) {
      const ts = times[v]!;
      const med = median(ts);
      const best = Math.min(...ts);
      console.log(
        `${mode} ${variants[v]!.label}: ${mib.toFixed(1)} MiB, median ${med.toFixed(0)} ms = ${(mib / (med / 1000)).toFixed(0)} MiB/s, best ${best.toFixed(0)} ms = ${(mib / (best / 1000)).toFixed(0)} MiB/s (runs: ${ts.map((x) => x.toFixed(0)).join(' ')}); CPU time (all threads) median ${median(cpu[v]!).toFixed(0)} ms = ${(mib / (median(cpu[v]!) / 1000)).toFixed(0)} MiB per CPU-second`,
      );
    }
    if (variants.length > 1) {
      const base = median(times[0]!);
      for (let v = 1; v < variants.length; v++) {
        console.log(
          `${mode} speed-up of ${variants[v]!.label} over ${variants[0]!.label}: ${(base / median(times[v]!)).toFixed(2)}x`,
        );
      }
    }
  }
}

await main();
