/**
 * The root of an earlier tree recovered from one inclusion proof, so an export bundle (which
 * carries inclusion proofs against its own checkpoint, no consistency proof) can still be checked
 * against a checkpoint an auditor kept of a smaller tree.
 *
 * Why it works (RFC 9162 §2.1): the left siblings on the audit path of leaf m are perfect, aligned
 * subtrees whose union is `[0, m)` — the compact range of `[0, m)`, largest first. So the root of
 * `[0, m + 1)` follows from them and the leaf, and so does that of any `size ≤ m` whose compact
 * range is a prefix of theirs (m in `[size, size + lowest set bit of size)`). For any other leaf
 * the proof says nothing about the tree of `size` leaves.
 *
 * Not here: verifying the proof against the bundle's root (the caller did; this walk repeats the
 * RFC's steps only to tell left siblings from right ones).
 */
import { hashChildren } from '@sealog/merkle';

/**
 * The RFC 9162 root of the first `size` leaves when the inclusion proof of leaf `index` (hash
 * `leafHash`) in the tree of `treeSize` leaves determines it; `undefined` when it does not (or the
 * proof is malformed).
 * @param size - 1 ≤ size ≤ treeSize.
 */
export function prefixRootFromInclusion(
  leafHash: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  size: number,
): Uint8Array | undefined {
  if (size < 1 || size > treeSize || index >= treeSize || index < size - 1) return undefined;
  // Left siblings by level: the subtree at `level` with index `(index >> level) − 1`.
  const lefts = new Map<number, Uint8Array>();
  // RFC 9162 §2.1.3.2 steps 2–6, recording which proof entries are left siblings and at what level.
  let fn = index;
  let sn = treeSize - 1;
  let level = 0;
  for (const p of proof) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
        level += 1;
      }
      if (fn === 0) return undefined;
      lefts.set(level, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
    level += 1;
  }
  if (sn !== 0) return undefined;
  // The perfect subtrees to fold, largest first. For size = index + 1: all left siblings, then the
  // leaf (folding them right to left is the RFC root; merging equal sizes first gives the same
  // nested hashes). For size ≤ index: the compact range of [0, size), each a left sibling.
  const blocks: Uint8Array[] = [];
  if (size === index + 1) {
    for (const l of [...lefts.keys()].sort((a, b) => b - a)) blocks.push(lefts.get(l)!);
    blocks.push(leafHash);
  } else {
    let start = 0;
    for (let l = 52; l >= 0; l--) {
      const width = 2 ** l;
      if (Math.floor(size / width) % 2 === 0) continue;
      const hash = Math.floor(index / width) - 1 === start / width ? lefts.get(l) : undefined;
      if (hash === undefined) return undefined;
      blocks.push(hash);
      start += width;
    }
  }
  let root = blocks[blocks.length - 1]!;
  for (let k = blocks.length - 2; k >= 0; k--) root = hashChildren(blocks[k]!, root);
  return root;
}
