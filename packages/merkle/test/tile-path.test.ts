import { describe, expect, it } from 'vitest';
import { encodeTileIndex, MerkleError, tilePath } from '../src/index';

describe('tile-path', () => {
  it('encodes tile indices in 3-digit groups with x prefixes as in the C2SP example', () => {
    expect(encodeTileIndex(1234067)).toBe('x001/x234/067');
    expect(encodeTileIndex(0)).toBe('000');
    expect(encodeTileIndex(999)).toBe('999');
    expect(encodeTileIndex(1000)).toBe('x001/000');
    expect(encodeTileIndex(2 ** 53 - 1)).toBe('x009/x007/x199/x254/x740/991');
  });

  it('names full and partial tiles', () => {
    expect(tilePath(0, 1234067)).toBe('tile/0/x001/x234/067');
    expect(tilePath(2, 0, 17)).toBe('tile/2/000.p/17');
    expect(tilePath(1, 5, 256)).toBe('tile/1/005');
  });

  it('rejects levels, widths and indices outside the layout', () => {
    expect(() => tilePath(8, 0)).toThrow('level: expected 0 ≤ level ≤ 7, got 8');
    expect(() => tilePath(0, 0, 0)).toThrow('width: expected 1 ≤ width ≤ 256, got 0');
    expect(() => tilePath(0, 0, 257)).toThrow(MerkleError);
    expect(() => encodeTileIndex(-1)).toThrow(MerkleError);
  });
});
