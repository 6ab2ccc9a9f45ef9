import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FRAME_HEADER_BYTES, FRAME_HEADER_OFFSETS, FRAME_MAGIC } from '../src/frame-header';
import { fromHex, readFixture } from './support/golden';

const DOC = readFileSync(fileURLToPath(new URL('../../../docs/FORMAT.md', import.meta.url)), 'utf8');
const BLOCK = /<!-- fixture: ([\w.-]+) -->\n```hex\n([\s\S]*?)```/g;

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

describe('format-doc', () => {
  it('shows worked examples byte-identical to the golden fixtures', () => {
    const blocks = [...DOC.matchAll(BLOCK)];
    expect(blocks.map((m) => m[1])).toEqual([
      'record-v1-first.hex',
      'record-v1-linked.hex',
      'frame-v1-plain.hex',
      'frame-header-v1-sealed.hex',
      'personal-v1.hex',
    ]);
    for (const [, name, text] of blocks) {
      expect(hex(fromHex(text!)), name).toBe(hex(fromHex(readFixture(name!))));
    }
  });

  it('documents the header size, magic and every field offset the code uses', () => {
    expect(DOC).toContain(`### Frame header (${FRAME_HEADER_BYTES} bytes, big-endian)`);
    expect(DOC).toContain(`\`0x${FRAME_MAGIC.toString(16)}\``);
    const start = DOC.indexOf('### Frame header (');
    const section = DOC.slice(start, DOC.indexOf('\n### ', start + 1));
    const rows = [...section.matchAll(/^\| (\d+) \| (\d+) \| ([a-z_ ]+) \|/gm)].map((m) => Number(m[1]));
    const offsets = Object.values(FRAME_HEADER_OFFSETS).sort((a, b) => a - b);
    expect(rows).toEqual(offsets);
  });
});
