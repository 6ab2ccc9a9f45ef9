import { definePackage } from '../../tsup.preset.ts';

// The writer thread is started by file URL, so it is an entry of its own.
export default definePackage({ entry: ['src/index.ts', 'src/write-worker.ts'] });
