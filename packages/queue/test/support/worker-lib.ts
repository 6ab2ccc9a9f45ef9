/**
 * Worker threads cannot load TypeScript on Node 20, and tests must run on source (no build):
 * this transpiles `src/*.ts` once per process into a temp directory of plain ESM (type-only code
 * erased, extensionless relative imports given `.js`) and returns the URL of its `index.js`.
 * Worker scripts `import()` that URL. Test-and-bench support only; not part of the package.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

let cached: string | null = null;

/** @returns a `file:` URL of the transpiled package entry. */
export function workerLibUrl(): string {
  if (cached !== null) return cached;
  const srcDir = fileURLToPath(new URL('../../src/', import.meta.url));
  const outDir = mkdtempSync(join(tmpdir(), 'sealog-queue-worker-'));
  mkdirSync(outDir, { recursive: true });
  for (const name of readdirSync(srcDir)) {
    if (!name.endsWith('.ts')) continue;
    const source = readFileSync(join(srcDir, name), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
    });
    const js = outputText.replace(/(from\s+'\.\/[a-z0-9-]+)'/g, "$1.js'");
    writeFileSync(join(outDir, name.replace(/\.ts$/, '.js')), js);
  }
  cached = pathToFileURL(join(outDir, 'index.js')).href;
  return cached;
}

/** `file:` URL of the generic producer worker script. */
export const PRODUCER_WORKER_URL: URL = new URL('./producer-worker.mjs', import.meta.url);
