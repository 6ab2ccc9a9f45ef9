import { definePackage } from '../../tsup.preset.ts';

// The verification worker is started by file URL, so it is an entry of its own.
export default definePackage({ entry: ['src/index.ts', 'src/verify-worker.ts'] });
