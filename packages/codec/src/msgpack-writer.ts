/**
 * A msgpack writer for the storage format's own shapes, byte-for-byte what `packer.pack` (the
 * msgpackr configuration in msgpack.ts) writes for the same values — property-tested against it
 * (test/msgpack-writer.test.ts). msgpackr's `pack` dispatches on every value's type and packs a
 * `Uint8Array` through its extension table; the record body's 16 fields have known types, so a
 * writer called field by field does less: it is the hot path of every append.
 *
 * Values other than strings, numbers, booleans, `null`/`undefined`, arrays, plain objects and
 * `Uint8Array` are packed by msgpackr itself and copied in, so the output stays msgpackr's.
 *
 * Output: views of a slab that is never written again once a view of it was handed out (as with
 * msgpackr's `pack`): callers may keep them.
 */
import { packer } from './msgpack';

const SLAB_BYTES = 64 * 1024;

/** See module doc. One per thread; not reentrant (a call must `finish` before the next `begin`). */
export class MsgpackWriter {
  private slab = Buffer.allocUnsafe(SLAB_BYTES);
  private view = new DataView(this.slab.buffer, this.slab.byteOffset, this.slab.length);
  private start = 0;
  private pos = 0;

  /** Starts a value; `expected` is a size hint (the slab grows as needed). */
  begin(expected = 1024): void {
    if (this.slab.length - this.pos < expected) this.newSlab(expected);
    this.start = this.pos;
  }

  /** The bytes written since {@link begin}: a view the caller may keep. */
  finish(): Uint8Array {
    const out = this.slab.subarray(this.start, this.pos);
    this.start = this.pos;
    return out;
  }

  /** Drops what was written since {@link begin} (after an error). */
  abandon(): void {
    this.pos = this.start;
  }

  private newSlab(need: number): void {
    const written = this.slab.subarray(this.start, this.pos);
    const size = Math.max(SLAB_BYTES, 2 * (need + written.length));
    const slab = Buffer.allocUnsafe(size);
    slab.set(written, 0);
    this.slab = slab;
    this.view = new DataView(slab.buffer, slab.byteOffset, slab.length);
    this.start = 0;
    this.pos = written.length;
  }

  private room(bytes: number): void {
    if (this.pos + bytes > this.slab.length) this.newSlab(bytes);
  }

  nil(): void {
    this.room(1);
    this.slab[this.pos++] = 0xc0;
  }

  bool(v: boolean): void {
    this.room(1);
    this.slab[this.pos++] = v ? 0xc3 : 0xc2;
  }

  arrayHeader(length: number): void {
    this.header(length, 0x90, 0xdc);
  }

  mapHeader(length: number): void {
    this.header(length, 0x80, 0xde);
  }

  /** fix-form `fix | length` below 16, else `code16` + u16, else `code16 + 1` + u32. */
  private header(length: number, fix: number, code16: number): void {
    this.room(5);
    const s = this.slab;
    if (length < 0x10) {
      s[this.pos++] = fix | length;
    } else if (length < 0x10000) {
      s[this.pos++] = code16;
      s[this.pos++] = length >> 8;
      s[this.pos++] = length & 0xff;
    } else {
      s[this.pos++] = code16 + 1;
      this.view.setUint32(this.pos, length);
      this.pos += 4;
    }
  }

  /** A number as msgpackr writes it (`useFloat32: 0`, `useRecords: false`); else {@link value}. */
  num(v: number): void {
    if (typeof v !== 'number') {
      this.value(v);
      return;
    }
    this.room(9);
    const s = this.slab;
    if (v >>> 0 === v) {
      if (v < 0x80) {
        s[this.pos++] = v;
      } else if (v < 0x100) {
        s[this.pos++] = 0xcc;
        s[this.pos++] = v;
      } else if (v < 0x10000) {
        s[this.pos++] = 0xcd;
        s[this.pos++] = v >> 8;
        s[this.pos++] = v & 0xff;
      } else {
        s[this.pos++] = 0xce;
        this.view.setUint32(this.pos, v);
        this.pos += 4;
      }
    } else if (v >> 0 === v) {
      if (v >= -0x20) {
        s[this.pos++] = 0x100 + v;
      } else if (v >= -0x80) {
        s[this.pos++] = 0xd0;
        s[this.pos++] = v + 0x100;
      } else if (v >= -0x8000) {
        s[this.pos++] = 0xd1;
        this.view.setInt16(this.pos, v);
        this.pos += 2;
      } else {
        s[this.pos++] = 0xd2;
        this.view.setInt32(this.pos, v);
        this.pos += 4;
      }
    } else {
      s[this.pos++] = 0xcb;
      this.view.setFloat64(this.pos, v);
      this.pos += 8;
    }
  }

  /**
   * A string as msgpackr writes it: below 64 UTF-16 units its own UTF-8 loop (a lone surrogate
   * becomes 3 bytes), from 64 on `Buffer#utf8Write` (a lone surrogate becomes U+FFFD); the
   * smallest header for the byte length. A value that is not a string goes to {@link value}.
   */
  str(v: string): void {
    if (typeof v !== 'string') {
      // Not what the caller's type said: written as what it is, as msgpackr would.
      this.value(v);
      return;
    }
    const units = v.length;
    const headerSize = units < 0x20 ? 1 : units < 0x100 ? 2 : units < 0x10000 ? 3 : 5;
    this.room(headerSize + 3 * units);
    const s = this.slab;
    const at = this.pos + headerSize;
    let length: number;
    if (units < 0x40) {
      let p = at;
      for (let i = 0; i < units; i++) {
        let c1 = v.charCodeAt(i);
        if (c1 < 0x80) {
          s[p++] = c1;
        } else if (c1 < 0x800) {
          s[p++] = (c1 >> 6) | 0xc0;
          s[p++] = (c1 & 0x3f) | 0x80;
        } else if ((c1 & 0xfc00) === 0xd800 && (v.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
          c1 = 0x10000 + ((c1 & 0x03ff) << 10) + (v.charCodeAt(i + 1) & 0x03ff);
          i++;
          s[p++] = (c1 >> 18) | 0xf0;
          s[p++] = ((c1 >> 12) & 0x3f) | 0x80;
          s[p++] = ((c1 >> 6) & 0x3f) | 0x80;
          s[p++] = (c1 & 0x3f) | 0x80;
        } else {
          s[p++] = (c1 >> 12) | 0xe0;
          s[p++] = ((c1 >> 6) & 0x3f) | 0x80;
          s[p++] = (c1 & 0x3f) | 0x80;
        }
      }
      length = p - at;
    } else {
      length = s.write(v, at, 'utf8');
    }
    let p = this.pos;
    if (length < 0x20) {
      s[p++] = 0xa0 | length;
    } else if (length < 0x100) {
      if (headerSize < 2) s.copyWithin(p + 2, p + 1, p + 1 + length);
      s[p++] = 0xd9;
      s[p++] = length;
    } else if (length < 0x10000) {
      if (headerSize < 3) s.copyWithin(p + 3, p + headerSize, p + headerSize + length);
      s[p++] = 0xda;
      s[p++] = length >> 8;
      s[p++] = length & 0xff;
    } else {
      if (headerSize < 5) s.copyWithin(p + 5, p + headerSize, p + headerSize + length);
      s[p++] = 0xdb;
      this.view.setUint32(p, length);
      p += 4;
    }
    this.pos = p + length;
  }

  /** `bin` bytes (msgpackr: bin8/16/32 by length). */
  bin(v: Uint8Array): void {
    const length = v.length;
    this.room(length + 5);
    const s = this.slab;
    if (length < 0x100) {
      s[this.pos++] = 0xc4;
      s[this.pos++] = length;
    } else if (length < 0x10000) {
      s[this.pos++] = 0xc5;
      s[this.pos++] = length >> 8;
      s[this.pos++] = length & 0xff;
    } else {
      s[this.pos++] = 0xc6;
      this.view.setUint32(this.pos, length);
      this.pos += 4;
    }
    s.set(v, this.pos);
    this.pos += length;
  }

  /** A string or `nil` for `undefined`. */
  optStr(v: string | undefined): void {
    if (v === undefined) this.nil();
    else this.str(v);
  }

  /** Any value, as `packer.pack` would write it (see module doc). */
  value(v: unknown): void {
    switch (typeof v) {
      case 'string':
        this.str(v);
        return;
      case 'number':
        this.num(v);
        return;
      case 'boolean':
        this.bool(v);
        return;
      case 'undefined':
        this.nil();
        return;
      case 'object': {
        if (v === null) {
          this.nil();
          return;
        }
        const type = (v as object).constructor;
        if (type === Array) {
          const a = v as unknown[];
          this.arrayHeader(a.length);
          for (let i = 0; i < a.length; i++) this.value(a[i]);
          return;
        }
        if (type === Object) {
          const o = v as Record<string, unknown>;
          const keys = Object.keys(o);
          this.mapHeader(keys.length);
          for (let i = 0; i < keys.length; i++) {
            const key = keys[i]!;
            this.str(key);
            this.value(o[key]);
          }
          return;
        }
        if (type === Uint8Array || type === Buffer) {
          this.bin(v as Uint8Array);
          return;
        }
        break;
      }
    }
    this.raw(packer.pack(v));
  }

  /** Bytes copied in as they are (an encoding made elsewhere). */
  raw(bytes: Uint8Array): void {
    this.room(bytes.length);
    this.slab.set(bytes, this.pos);
    this.pos += bytes.length;
  }
}
