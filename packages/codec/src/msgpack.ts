/**
 * The one msgpackr configuration of the storage format, spelled out option by option, because
 * msgpack is not canonical and msgpackr's defaults (records, shared structures) would make leaves
 * depend on state outside themselves. Internal: not re-exported.
 *
 * Output of `packer.pack()` in default mode is a view into a msgpackr-owned slab that msgpackr
 * never writes again: callers may keep it.
 */
import { Packr, Unpackr } from 'msgpackr';

const OPTIONS = {
  // Plain msgpack maps/arrays only: no record extension, no structures, nothing shared across leaves.
  useRecords: false,
  sequential: false,
  structuredClone: false,
  // Only JSON-like values and Uint8Array (packed as `bin`); no typed-array/Set/Map extensions.
  moreTypes: false,
  bundleStrings: false,
  // Doubles stay doubles: lossless, and the encoding of a number never depends on a rounding mode.
  useFloat32: 0,
  // Smallest map header (fixmap/map16/map32), as the msgpack spec recommends.
  variableMapSize: true,
  // An absent optional field is `nil` in its fixed array position.
  encodeUndefinedAsNil: true,
  useTimestamp32: false,
  largeBigIntToFloat: false,
  // Decoding: maps become plain objects, `bin` values are views of the input (no copies), and a
  // 64-bit integer written by another encoder decodes to a number (range-checked by the caller).
  mapsAsObjects: true,
  copyBuffers: false,
  int64AsType: 'number',
} as const;

/** Shared packer (msgpackr instances are synchronous and reentrant per call). */
export const packer: Packr = new Packr(OPTIONS);
/** Shared unpacker with the same configuration. */
export const unpacker: Unpackr = new Unpackr(OPTIONS);

/** Lower-case hex of a byte, for messages (`0x93`). */
export function hexByte(b: number | undefined): string {
  return b === undefined ? 'end of data' : `0x${b.toString(16).padStart(2, '0')}`;
}
