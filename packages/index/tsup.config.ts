import { definePackage } from '../../tsup.preset.ts';

export default definePackage();
