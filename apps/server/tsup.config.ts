import { definePackage } from '../../tsup.preset.ts';

// The CLI entry keeps its shebang; `dts` is not needed for an executable.
export default definePackage({ entry: ['src/cli.ts'], dts: false });
