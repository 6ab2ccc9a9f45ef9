/**
 * SHA-256 (FIPS 180-4) of RFC 9162 tree hashes, four at a time: WebAssembly functions using
 * 128-bit SIMD, one node per 32-bit lane, generated here at load time from the algorithm (the
 * module is built instruction by instruction below; there is no binary blob to trust).
 *
 * Why: hashing the interior nodes of each frame's tree is most of a keyless verification (one node
 * per leaf). node:crypto costs ~1.1 µs per call whatever the input (it has no batch API);
 * sha256-node.ts does one node in ~0.6 µs; four lanes at once measured ~0.2 µs per node.
 *
 * Layout: hashes are 8 words, nodes' children are 16 adjacent words (left ‖ right), all in the
 * module's memory as native 32-bit integers holding the big-endian word values (as sha256-node.ts).
 * `hash(src, dst, count)` hashes nodes `i < count` from `src + 16i` to `dst + 8i` (word offsets):
 * groups of four in WebAssembly, the rest with sha256-node.ts. `dst` must not overlap `src`.
 * `hashLeaves` does the same for RFC 9162 leaf hashes of records (~340-byte leaves: node:crypto
 * ~1.1 µs per call, four lanes ~0.7 µs per leaf measured), grouping leaves that pad to the same
 * number of blocks; the rest go to node:crypto.
 *
 * Checked against node:crypto by the tests. When the runtime has no WebAssembly SIMD,
 * {@link SimdHasher.create} returns `undefined` (callers fall back).
 */
import { hash as nodeHash } from 'node:crypto';
import { HASH_WORDS, hashNodeWords, wordsFromBytes } from './sha256-node';

/** FIPS 180-4 §4.2.2 round constants. */
const K = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
];
/** FIPS 180-4 §5.3.3 initial hash value. */
const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
/** Bytes of one group's input (4 nodes × 16 words) and output (4 × 8 words). */
const GROUP_IN_BYTES = 256;
const GROUP_OUT_BYTES = 128;
/** WebAssembly page size. */
const PAGE_BYTES = 65536;

/** 64-byte blocks of `0x00 ‖ leaf` once padded (a 0x80 byte and a 64-bit length at least). */
function paddedBlocks(leafBytes: number): number {
  return Math.ceil((leafBytes + 1 + 1 + 8) / 64);
}

// WebAssembly binary encoding (core spec §5, SIMD: opcodes after the 0xfd prefix, LEB128).
const OP = {
  block: 0x02,
  loop: 0x03,
  brIf: 0x0d,
  end: 0x0b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  void: 0x40,
  simd: 0xfd,
} as const;
const SIMD = {
  load: 0x00,
  store: 0x0b,
  const: 0x0c,
  shuffle: 0x0d,
  and: 0x4e,
  or: 0x50,
  xor: 0x51,
  bitselect: 0x52,
  shl: 0xab,
  shrU: 0xad,
  add: 0xae,
} as const;
const V128 = 0x7b;
const I32 = 0x7f;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

/** 32-bit right rotation of a JS number (for constant folding). */
function rotr(x: number, n: number): number {
  return ((x >>> n) | (x << (32 - n))) >>> 0;
}

/** Emits the function body; value stack discipline as in the WebAssembly text format. */
class Emitter {
  readonly code: number[] = [];
  private nextLocal: number;

  /** @param params - i32 parameters before the v128 locals. */
  constructor(params: number) {
    this.nextLocal = params;
  }

  get locals(): number {
    return this.nextLocal;
  }

  local(): number {
    return this.nextLocal++;
  }

  get(l: number): void {
    this.code.push(OP.localGet, ...uleb(l));
  }

  set(l: number): void {
    this.code.push(OP.localSet, ...uleb(l));
  }

  tee(l: number): void {
    this.code.push(OP.localTee, ...uleb(l));
  }

  i32(n: number): void {
    this.code.push(OP.i32Const, ...sleb(n | 0));
  }

  op(code: number): void {
    this.code.push(code);
  }

  simd(op: number): void {
    this.code.push(OP.simd, ...uleb(op));
  }

  /** A v128 whose four lanes are `v`. */
  splat(v: number): void {
    this.simd(SIMD.const);
    for (let lane = 0; lane < 4; lane++)
      this.code.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  }

  /** `v128.load offset` from the address on the stack (16-byte aligned). */
  load(offset: number): void {
    this.simd(SIMD.load);
    this.code.push(...uleb(4), ...uleb(offset));
  }

  store(offset: number): void {
    this.simd(SIMD.store);
    this.code.push(...uleb(4), ...uleb(offset));
  }

  /** `i8x16.shuffle` selecting bytes `bytes` (0–15: first operand, 16–31: second). */
  shuffle8(bytes: readonly number[]): void {
    this.simd(SIMD.shuffle);
    this.code.push(...bytes);
  }

  /** `i8x16.shuffle` selecting 32-bit lanes `lanes` (0–3: first operand, 4–7: second). */
  shuffle32(lanes: readonly number[]): void {
    this.simd(SIMD.shuffle);
    for (const l of lanes) this.code.push(4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3);
  }

  /** Pushes `rotr(x, n)` lane-wise. */
  rotr(x: number, n: number): void {
    this.get(x);
    this.i32(n);
    this.simd(SIMD.shrU);
    this.get(x);
    this.i32(32 - n);
    this.simd(SIMD.shl);
    this.simd(SIMD.or);
  }

  /** Pushes `rotr(x, a) ^ rotr(x, b) ^ (c < 0 ? rotr(x, −c) : x >>> c)` (the four Σ/σ functions). */
  sigma(x: number, a: number, b: number, c: number): void {
    this.rotr(x, a);
    this.rotr(x, b);
    this.simd(SIMD.xor);
    if (c < 0) this.rotr(x, -c);
    else {
      this.get(x);
      this.i32(c);
      this.simd(SIMD.shrU);
    }
    this.simd(SIMD.xor);
  }
}

/** A message-schedule word: known at generation time, or held in a local. */
type Word = { readonly k: number } | { readonly l: number };

/**
 * The SHA-256 pieces of a function body over four lanes: the 16-word schedule window `w`, the state
 * `s`, the state before the block `h1`, and temporaries.
 */
class Sha256Code {
  readonly e: Emitter;
  readonly w: number[];
  readonly s: number[];
  readonly h1: number[];
  readonly r: number[];
  readonly t1: number;
  readonly t2: number;

  constructor(e: Emitter) {
    this.e = e;
    this.w = Array.from({ length: 16 }, () => e.local());
    this.s = Array.from({ length: 8 }, () => e.local());
    this.h1 = Array.from({ length: 8 }, () => e.local());
    this.r = Array.from({ length: 4 }, () => e.local());
    this.t1 = e.local();
    this.t2 = e.local();
  }

  /** 4×4 transpose of 32-bit lanes: rows `from` → columns `to` (uses t1, t2 and from[0..1]). */
  transpose(from: readonly number[], to: readonly number[]): void {
    const e = this.e;
    const t = [this.t1, this.t2, from[0]!, from[1]!];
    // Rows 0–1 are read before t[2], t[3] overwrite them.
    const pairs: readonly [number, number, readonly number[], number][] = [
      [from[0]!, from[1]!, [0, 4, 1, 5], t[0]!],
      [from[0]!, from[1]!, [2, 6, 3, 7], t[1]!],
      [from[2]!, from[3]!, [0, 4, 1, 5], t[2]!],
      [from[2]!, from[3]!, [2, 6, 3, 7], t[3]!],
      [t[0]!, t[2]!, [0, 1, 4, 5], to[0]!],
      [t[0]!, t[2]!, [2, 3, 6, 7], to[1]!],
      [t[1]!, t[3]!, [0, 1, 4, 5], to[2]!],
      [t[1]!, t[3]!, [2, 3, 6, 7], to[3]!],
    ];
    for (const [x, y, lanes, out] of pairs) {
      e.get(x);
      e.get(y);
      e.shuffle32(lanes);
      e.set(out);
    }
  }

  /** Sets the state to the initial hash value. */
  init(): void {
    for (let i = 0; i < 8; i++) {
      this.e.splat(IV[i]!);
      this.e.set(this.s[i]!);
    }
  }

  /** `s += h1` (the feed-forward after a block). */
  feedForward(): void {
    for (let i = 0; i < 8; i++) {
      this.e.get(this.s[i]!);
      this.e.get(this.h1[i]!);
      this.e.simd(SIMD.add);
      this.e.set(this.s[i]!);
    }
  }

  /** `h1 = s` (before a block). */
  save(): void {
    for (let i = 0; i < 8; i++) {
      this.e.get(this.s[i]!);
      this.e.set(this.h1[i]!);
    }
  }

  /**
   * One block: 64 rounds over `s` with the schedule window `win` (the block's 16 words, some known
   * at generation time), expanded in place into the `w` locals as the rounds need it.
   */
  block(win: Word[]): void {
    const e = this.e;
    const v = [...this.s];
    for (let t = 0; t < 64; t++) {
      if (t >= 16) win[t % 16] = this.expand(win, t);
      const x = win[t % 16]!;
      const [a, b, c, d, ee, f, g, hh] = v as [
        number,
        number,
        number,
        number,
        number,
        number,
        number,
        number,
      ];
      // t1 = h + Σ1(e) + Ch(e, f, g) + K[t] + W[t]
      e.get(hh);
      e.sigma(ee, 6, 11, -25);
      e.simd(SIMD.add);
      // Ch(e, f, g) = e ? f : g, bit by bit: one v128.bitselect(f, g, e).
      e.get(f);
      e.get(g);
      e.get(ee);
      e.simd(SIMD.bitselect);
      e.simd(SIMD.add);
      if ('k' in x) e.splat((K[t]! + x.k) >>> 0);
      else {
        e.get(x.l);
        e.splat(K[t]!);
        e.simd(SIMD.add);
      }
      e.simd(SIMD.add);
      e.set(this.t1);
      // d += t1 (the next e); h = t1 + Σ0(a) + Maj(a, b, c) (the next a).
      e.get(d);
      e.get(this.t1);
      e.simd(SIMD.add);
      e.set(d);
      e.get(this.t1);
      e.sigma(a, 2, 13, -22);
      e.simd(SIMD.add);
      // Maj(a, b, c) = c where a and b differ, else a: v128.bitselect(c, a, a ^ b).
      e.get(c);
      e.get(a);
      e.get(a);
      e.get(b);
      e.simd(SIMD.xor);
      e.simd(SIMD.bitselect);
      e.simd(SIMD.add);
      e.set(hh);
      v.unshift(v.pop()!);
    }
  }

  /** Schedule word t ≥ 16 into `w[t % 16]` (words known at generation time are folded). */
  private expand(win: Word[], t: number): Word {
    const e = this.e;
    const a = win[(t - 2) % 16]!;
    const b = win[(t - 7) % 16]!;
    const c = win[(t - 15) % 16]!;
    const d = win[t % 16]!;
    const s1 = (k: number): number => rotr(k, 17) ^ rotr(k, 19) ^ (k >>> 10);
    const s0 = (k: number): number => rotr(k, 7) ^ rotr(k, 18) ^ (k >>> 3);
    if ('k' in a && 'k' in b && 'k' in c && 'k' in d) return { k: (s1(a.k) + b.k + s0(c.k) + d.k) >>> 0 };
    if ('k' in a) e.splat(s1(a.k));
    else e.sigma(a.l, 17, 19, 10);
    if ('k' in b) e.splat(b.k);
    else e.get(b.l);
    e.simd(SIMD.add);
    if ('k' in c) e.splat(s0(c.k));
    else e.sigma(c.l, 7, 18, 3);
    e.simd(SIMD.add);
    if ('k' in d) e.splat(d.k);
    else e.get(d.l);
    e.simd(SIMD.add);
    const l = this.w[t % 16]!;
    e.set(l);
    return { l };
  }

  /**
   * Loads 16 words of four messages, lane j's from `addr(j)` (pushes an address) + `offset(j)`,
   * transposed into `w`.
   */
  loadBlock(addr: (j: number) => void, offset: (j: number) => number, bswap: boolean): void {
    const e = this.e;
    for (let q = 0; q < 4; q++) {
      for (let j = 0; j < 4; j++) {
        addr(j);
        e.load(offset(j) + 16 * q);
        if (bswap) {
          // Message bytes are big-endian words: reverse each 4-byte group.
          e.tee(this.r[j]!);
          e.get(this.r[j]!);
          e.shuffle8([3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12]);
        }
        e.set(this.r[j]!);
      }
      this.transpose(this.r, this.w.slice(4 * q, 4 * q + 4));
    }
  }

  /** Stores the state of lane j as 8 words at `addr(j) + offset`. */
  storeState(addr: (j: number) => void, offset: number): void {
    const e = this.e;
    for (let half = 0; half < 2; half++) {
      this.transpose(this.s.slice(4 * half, 4 * half + 4), this.r);
      for (let j = 0; j < 4; j++) {
        addr(j);
        e.get(this.r[j]!);
        e.store(offset + 32 * j + 16 * half);
      }
    }
  }
}

/** A counted loop around `body`: runs while local `counter` (decremented) is not zero. */
function counted(e: Emitter, counter: number, body: () => void): void {
  e.op(OP.block);
  e.op(OP.void);
  e.get(counter);
  e.op(OP.i32Eqz);
  e.op(OP.brIf);
  e.code.push(...uleb(0));
  e.op(OP.loop);
  e.op(OP.void);
  body();
  e.get(counter);
  e.i32(1);
  e.op(OP.i32Sub);
  e.tee(counter);
  e.op(OP.brIf);
  e.code.push(...uleb(0));
  e.op(OP.end);
  e.op(OP.end);
}

/** `local += n` for an i32 local. */
function bump(e: Emitter, local: number, n: number): void {
  e.get(local);
  e.i32(n);
  e.op(OP.i32Add);
  e.set(local);
}

/** `nodes4(src, dst, groups)`: interior nodes, four per group (see module doc). */
function nodesFunction(): Emitter {
  const SRC = 0;
  const DST = 1;
  const GROUPS = 2;
  const e = new Emitter(3);
  const c = new Sha256Code(e);
  const w = c.w;
  const w2first = e.local();
  counted(e, GROUPS, () => {
    // The children, lane j = node j (native words, no byte swap).
    c.loadBlock(
      () => e.get(SRC),
      (j) => 64 * j,
      false,
    );
    // Block 2's first word: the right child's last byte, then 0x80 (padding).
    e.get(w[15]!);
    e.i32(24);
    e.simd(SIMD.shl);
    e.splat(0x00800000);
    e.simd(SIMD.or);
    e.set(w2first);
    // Block 1 = 0x01 ‖ left ‖ right[0..31): each word straddles two child words by one byte.
    for (let i = 15; i >= 1; i--) {
      e.get(w[i - 1]!);
      e.i32(24);
      e.simd(SIMD.shl);
      e.get(w[i]!);
      e.i32(8);
      e.simd(SIMD.shrU);
      e.simd(SIMD.or);
      e.set(w[i]!);
    }
    e.get(w[0]!);
    e.i32(8);
    e.simd(SIMD.shrU);
    e.splat(0x01000000);
    e.simd(SIMD.or);
    e.set(w[0]!);
    c.init();
    c.save();
    c.block(w.map((l) => ({ l })));
    c.feedForward();
    c.save();
    // Block 2 = right[31] ‖ 0x80 ‖ 0…0 ‖ length 520 bits: only the first word varies.
    const win2: Word[] = Array.from({ length: 16 }, (_, i) => ({ k: i === 15 ? 520 : 0 }));
    win2[0] = { l: w2first };
    c.block(win2);
    c.feedForward();
    c.storeState(() => e.get(DST), 0);
    bump(e, SRC, GROUP_IN_BYTES);
    bump(e, DST, GROUP_OUT_BYTES);
  });
  e.op(OP.end);
  return e;
}

/**
 * `leaves4(msg, blocks, stride, dst)`: four padded messages of `blocks` 64-byte blocks each, lane
 * j's at `msg + j·stride` (bytes as hashed), their hashes to `dst + 32j` as words.
 */
function leavesFunction(): Emitter {
  const MSG = 0;
  const BLOCKS = 1;
  const STRIDE = 2;
  const DST = 3;
  const e = new Emitter(4);
  const c = new Sha256Code(e);
  c.init();
  counted(e, BLOCKS, () => {
    c.loadBlock(
      (j) => {
        e.get(MSG);
        if (j > 0) {
          e.get(STRIDE);
          e.i32(j);
          e.op(OP.i32Mul);
          e.op(OP.i32Add);
        }
      },
      () => 0,
      true,
    );
    c.save();
    c.block(c.w.map((l) => ({ l })));
    c.feedForward();
    bump(e, MSG, 64);
  });
  c.storeState(() => e.get(DST), 0);
  e.op(OP.end);
  return e;
}

/** Builds the module: memory "mem", functions "nodes4" and "leaves4" (byte addresses). */
function buildModule(): Uint8Array {
  const fns = [
    { name: 'nodes4', params: 3, e: nodesFunction() },
    { name: 'leaves4', params: 4, e: leavesFunction() },
  ];
  const name = (n: string): number[] => [...uleb(n.length), ...Buffer.from(n, 'utf8')];
  const section = (id: number, payload: number[]): number[] => [id, ...uleb(payload.length), ...payload];
  const types = fns.flatMap((f) => [
    0x60,
    ...uleb(f.params),
    ...Array<number>(f.params).fill(I32),
    ...uleb(0),
  ]);
  const bodies = fns.flatMap((f) => {
    const body = [...uleb(1), ...uleb(f.e.locals - f.params), V128, ...f.e.code];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, [...uleb(fns.length), ...types]),
    ...section(3, [...uleb(fns.length), ...fns.map((_, i) => i)]),
    ...section(5, [...uleb(1), 0x00, ...uleb(1)]),
    ...section(7, [
      ...uleb(fns.length + 1),
      ...name('mem'),
      0x02,
      ...uleb(0),
      ...fns.flatMap((f, i) => [...name(f.name), 0x00, ...uleb(i)]),
    ]),
    ...section(10, [...uleb(fns.length), ...bodies]),
  ]);
}

/** The parts of the WebAssembly JS API used here (the project's TypeScript libs do not declare it). */
interface WasmModule {
  readonly __brand?: 'WebAssembly.Module';
}
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
declare const WebAssembly: {
  validate(bytes: Uint8Array): boolean;
  readonly Module: new (bytes: Uint8Array) => WasmModule;
  readonly Instance: new (
    module: WasmModule,
    imports: object,
  ) => { readonly exports: Record<string, unknown> };
};

let compiled: WasmModule | null | undefined;
/** See {@link SimdHasher.shared}: `null` until first asked for. */
let shared: SimdHasher | undefined | null = null;

/** The compiled module, or `null` when WebAssembly SIMD is not available. */
function module(): WasmModule | null {
  if (compiled !== undefined) return compiled;
  try {
    const bytes = buildModule();
    compiled = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  } catch {
    compiled = null;
  }
  return compiled;
}

/** Node hashing in one WebAssembly memory; see module doc. Create with {@link SimdHasher.create}. */
export class SimdHasher {
  private readonly memory: WasmMemory;
  private readonly nodes4: (src: number, dst: number, groups: number) => void;
  private readonly leaves4: (msg: number, blocks: number, stride: number, dst: number) => void;
  /** The whole memory as words; replaced when the memory grows (views of the old one go stale). */
  words: Int32Array;
  /** The whole memory as bytes (same lifetime as `words`). */
  private bytes: Uint8Array;
  /** Leaves waiting for three more of the same block count, by block count. */
  private readonly waiting = new Map<number, number[]>();
  /** Scratch for `0x00 ‖ leaf` hashed by node:crypto (leaves left over from groups of four). */
  private prefixed = new Uint8Array(1024);

  private constructor(mod: WasmModule) {
    const instance = new WebAssembly.Instance(mod, {});
    this.memory = instance.exports.mem as WasmMemory;
    this.nodes4 = instance.exports.nodes4 as (src: number, dst: number, groups: number) => void;
    this.leaves4 = instance.exports.leaves4 as (
      msg: number,
      blocks: number,
      stride: number,
      dst: number,
    ) => void;
    this.words = new Int32Array(this.memory.buffer);
    this.bytes = new Uint8Array(this.memory.buffer);
  }

  /** A hasher with its own memory, or `undefined` without WebAssembly SIMD. */
  static create(): SimdHasher | undefined {
    const mod = module();
    return mod === null ? undefined : new SimdHasher(mod);
  }

  /**
   * This thread's shared hasher (made on first use), or `undefined` without WebAssembly SIMD.
   * Callers use its memory only within one synchronous call, so they can share it.
   */
  static shared(): SimdHasher | undefined {
    if (shared === null) shared = SimdHasher.create();
    return shared;
  }

  /** Grows the memory to at least `words` words (then {@link SimdHasher.words} is a new view). */
  ensure(words: number): void {
    const bytes = words * 4;
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return;
    this.memory.grow(Math.ceil((bytes - have) / PAGE_BYTES));
    this.words = new Int32Array(this.memory.buffer);
    this.bytes = new Uint8Array(this.memory.buffer);
  }

  /** Words of scratch {@link SimdHasher.hashLeaves} needs for leaves of at most `maxLeafBytes`. */
  static leafScratchWords(maxLeafBytes: number): number {
    return 4 * paddedBlocks(maxLeafBytes) * 16 + 4 * HASH_WORDS;
  }

  /**
   * RFC 9162 leaf hashes `SHA-256(0x00 ‖ leaf)` of `leaves[i]` to words `dst + 8i`: four at a time
   * for leaves that pad to the same number of blocks, node:crypto for the rest. Uses
   * {@link SimdHasher.leafScratchWords} words from word `scratch` on (4-word aligned; the caller
   * ensured the memory).
   */
  hashLeaves(leaves: readonly Uint8Array[], dst: number, scratch: number): void {
    this.hashMessages(leaves, dst, scratch, 1);
  }

  /**
   * Like {@link SimdHasher.hashLeaves}, of `prefix` (0 or 1) zero bytes ‖ message: with 0, the
   * plain SHA-256 of each message.
   */
  hashMessages(leaves: readonly Uint8Array[], dst: number, scratch: number, prefix: 0 | 1): void {
    this.hashEach(leaves.length, (i) => leaves[i]!.length, leaves, undefined, 0, dst, scratch, prefix);
  }

  /**
   * Like {@link SimdHasher.hashMessages}, of the messages `data[offsets[from + i], offsets[from +
   * i + 1])`, `i < count` (hash `i` to words `dst + 8i`), without a view per message: their bytes
   * are first copied to word `staging` on (after the scratch; the caller ensured
   * {@link SimdHasher.stagingWords} words there for them), and laid out from that copy.
   */
  hashRanges(
    data: Uint8Array,
    offsets: ArrayLike<number>,
    from: number,
    count: number,
    dst: number,
    scratch: number,
    staging: number,
    prefix: 0 | 1,
  ): void {
    const first = offsets[from]!;
    const last = offsets[from + count]!;
    this.bytes.set(first === 0 && last === data.length ? data : data.subarray(first, last), staging * 4);
    // Message i is bytes[at + offsets[from + i], at + offsets[from + i + 1]).
    const at = staging * 4 - first;
    const ends = from === 0 ? offsets : Array.prototype.slice.call(offsets, from, from + count + 1);
    this.hashEach(count, (i) => ends[i + 1]! - ends[i]!, undefined, ends, at, dst, scratch, prefix);
  }

  /** Words {@link SimdHasher.hashRanges} stages `bytes` bytes in. */
  static stagingWords(bytes: number): number {
    return Math.ceil(bytes / 16) * 4;
  }

  /**
   * Hashes `count` messages, each given either as `leaves[i]` or as the staged bytes
   * `bytes[at + offsets[i], at + offsets[i + 1])`: grouped by padded length, four at a time.
   */
  private hashEach(
    count: number,
    lengthOf: (i: number) => number,
    leaves: readonly Uint8Array[] | undefined,
    offsets: ArrayLike<number> | undefined,
    at: number,
    dst: number,
    scratch: number,
    prefix: 0 | 1,
  ): void {
    const waiting = this.waiting;
    for (let i = 0; i < count; i++) {
      const blocks = paddedBlocks(lengthOf(i) + prefix - 1);
      let group = waiting.get(blocks);
      if (group === undefined) {
        group = [];
        waiting.set(blocks, group);
      }
      group.push(i);
      if (group.length === 4) {
        this.group(leaves, offsets, at, group, blocks, dst, scratch, prefix);
        group.length = 0;
      }
    }
    for (const group of waiting.values()) {
      for (const i of group) {
        // Left over (fewer than four of a length): node:crypto, from a view of the staged copy.
        const leaf = leaves?.[i] ?? this.bytes.subarray(at + offsets![i]!, at + offsets![i + 1]!);
        this.single(leaf, dst + HASH_WORDS * i, prefix);
      }
      group.length = 0;
    }
  }

  /** Four leaves of `blocks` padded blocks each: messages laid out at `scratch`, hashed in lanes. */
  private group(
    leaves: readonly Uint8Array[] | undefined,
    offsets: ArrayLike<number> | undefined,
    staged: number,
    idx: readonly number[],
    blocks: number,
    dst: number,
    scratch: number,
    prefix: 0 | 1,
  ): void {
    const b = this.bytes;
    const stride = blocks * 64;
    const base = scratch * 4;
    for (let j = 0; j < 4; j++) {
      const i = idx[j]!;
      const at = base + j * stride;
      // FIPS 180-4 §5.1.1 padding of [0x00 ‖] leaf: 0x80, zeros, the bit length as u64 big-endian.
      b[at] = 0;
      let length: number;
      if (leaves !== undefined) {
        const leaf = leaves[i]!;
        b.set(leaf, at + prefix);
        length = leaf.length;
      } else {
        const start = staged + offsets![i]!;
        const end = staged + offsets![i + 1]!;
        b.copyWithin(at + prefix, start, end);
        length = end - start;
      }
      const end = at + prefix + length;
      b[end] = 0x80;
      b.fill(0, end + 1, at + stride - 4);
      const bits = (length + prefix) * 8;
      b[at + stride - 4] = bits >>> 24;
      b[at + stride - 3] = bits >>> 16;
      b[at + stride - 2] = bits >>> 8;
      b[at + stride - 1] = bits;
    }
    const out = base + 4 * stride;
    this.leaves4(base, blocks, stride, out);
    const w = this.words;
    for (let j = 0; j < 4; j++) {
      const from = out / 4 + HASH_WORDS * j;
      w.copyWithin(dst + HASH_WORDS * idx[j]!, from, from + HASH_WORDS);
    }
  }

  private single(leaf: Uint8Array, dst: number, prefix: 0 | 1): void {
    if (prefix === 0) {
      wordsFromBytes(nodeHash('sha256', leaf, 'buffer') as Buffer, 0, this.words, dst, 1);
      return;
    }
    if (this.prefixed.length < leaf.length + 1) this.prefixed = new Uint8Array(leaf.length + 1);
    this.prefixed[0] = 0;
    this.prefixed.set(leaf, 1);
    const h = nodeHash('sha256', this.prefixed.subarray(0, leaf.length + 1), 'buffer') as Buffer;
    wordsFromBytes(h, 0, this.words, dst, 1);
  }

  /** Hashes `count` nodes: children at words `src + 16i`, hash to `dst + 8i` (4-word aligned offsets). */
  hash(src: number, dst: number, count: number): void {
    const groups = count >>> 2;
    if (groups > 0) this.nodes4(src * 4, dst * 4, groups);
    for (let i = groups * 4; i < count; i++) {
      hashNodeWords(this.words, src + 2 * HASH_WORDS * i, this.words, dst + HASH_WORDS * i);
    }
  }
}
