/**
 * Index rows packed for the trip to the writer thread: numbers in one `Float64Array`, tokens in one
 * `Uint8Array` (both transferred, not copied), strings in one flat array (structured clone).
 *
 * Why not post `IndexRow` objects: a row's `subjectToken` is a view into the record's leaf bytes,
 * and structured clone copies a view's whole backing `ArrayBuffer`; packing the 16-byte tokens
 * avoids that, and flat arrays clone faster than objects (README "Benchmarks": 1,000 rows packed +
 * posted vs objects).
 *
 * Not here: validation (the writer checks every row as `SearchIndex.insert` does). The batch owns
 * fresh buffers; after posting with its transfer list they are detached on this side.
 */
import { IndexError } from './errors';
import { type IndexRow, SUBJECT_TOKEN_BYTES } from './index-row';

/** Numbers per row in {@link RowBatch.numbers}: leaf index, occurredAt, receivedAt, erased. */
const NUMBERS_PER_ROW = 4;
/** Strings per row in {@link RowBatch.strings}. */
const STRINGS_PER_ROW = 9;

/** Rows packed for `postMessage`. */
export interface RowBatch {
  /** Rows in the batch. */
  readonly count: number;
  /** Per row: leaf index, occurredAt, receivedAt, 1 when the subject is erased (else 0). */
  readonly numbers: Float64Array;
  /** Per row {@link SUBJECT_TOKEN_BYTES} bytes. */
  readonly tokens: Uint8Array;
  /** Per row: logId, tenantId, eventId, actorType, action, category (or null), resourceType, resourceId, result. */
  readonly strings: (string | null)[];
}

/**
 * Packs rows (copies the tokens).
 * @throws {IndexError} `BAD_ARGUMENT` for a token that is not 16 bytes (everything else is checked
 *   by the writer).
 */
export function packRows(rows: readonly IndexRow[]): RowBatch {
  const n = rows.length;
  const numbers = new Float64Array(n * NUMBERS_PER_ROW);
  const tokens = new Uint8Array(n * SUBJECT_TOKEN_BYTES);
  const strings: (string | null)[] = new Array(n * STRINGS_PER_ROW);
  for (let i = 0; i < n; i++) {
    const row = rows[i]!;
    const token = row.subjectToken;
    const o = i * NUMBERS_PER_ROW;
    numbers[o] = row.leafIndex;
    numbers[o + 1] = row.occurredAt;
    numbers[o + 2] = row.receivedAt;
    if (!(token instanceof Uint8Array) || token.byteLength !== SUBJECT_TOKEN_BYTES) {
      throw new IndexError(
        'BAD_ARGUMENT',
        `rows[${i}].subjectToken: expected ${SUBJECT_TOKEN_BYTES} bytes, got ${token instanceof Uint8Array ? token.byteLength : typeof token}`,
      );
    }
    tokens.set(token, i * SUBJECT_TOKEN_BYTES);
    if (row.subjectErased === true) numbers[o + 3] = 1;
    const s = i * STRINGS_PER_ROW;
    strings[s] = row.logId;
    strings[s + 1] = row.tenantId;
    strings[s + 2] = row.eventId;
    strings[s + 3] = row.actorType;
    strings[s + 4] = row.action;
    strings[s + 5] = row.category ?? null;
    strings[s + 6] = row.resourceType;
    strings[s + 7] = row.resourceId;
    strings[s + 8] = row.result;
  }
  return { count: n, numbers, tokens, strings };
}

/** The rows of a batch; tokens are views into `batch.tokens`. */
export function unpackRows(batch: RowBatch): IndexRow[] {
  const { count, numbers, tokens, strings } = batch;
  const rows: IndexRow[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const o = i * NUMBERS_PER_ROW;
    const s = i * STRINGS_PER_ROW;
    rows[i] = {
      logId: strings[s] as string,
      leafIndex: numbers[o]!,
      tenantId: strings[s + 1] as string,
      eventId: strings[s + 2] as string,
      occurredAt: numbers[o + 1]!,
      receivedAt: numbers[o + 2]!,
      subjectToken: tokens.subarray(i * SUBJECT_TOKEN_BYTES, (i + 1) * SUBJECT_TOKEN_BYTES),
      subjectErased: numbers[o + 3] === 1,
      actorType: strings[s + 3] as string,
      action: strings[s + 4] as string,
      category: strings[s + 5] ?? undefined,
      resourceType: strings[s + 6] as string,
      resourceId: strings[s + 7] as string,
      result: strings[s + 8] as string,
    };
  }
  return rows;
}
