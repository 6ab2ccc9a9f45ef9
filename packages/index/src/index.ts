/** @sealog/index — the search index of sealog: derived from the logs, rebuildable, blind tokens only. */

export {
  type CursorKey,
  type CursorKind,
  decodeCursor,
  encodeCursor,
  MAX_CURSOR_CHARS,
  type SortOrder,
} from './cursor';
export { IndexError, type IndexErrorCode } from './errors';
export { type IndexRow, indexRowOf, SUBJECT_TOKEN_BYTES } from './index-row';
export {
  createIndexer,
  DEFAULT_CHUNK_ROWS,
  DEFAULT_MAX_BATCH_DELAY_MS,
  DEFAULT_MAX_CHUNKS_IN_FLIGHT,
  DEFAULT_MAX_RETRY_MS,
  DEFAULT_POLL_INTERVAL_MS,
  type Erasure,
  Indexer,
  type IndexerOptions,
  type IndexLag,
  type IndexSource,
  type IndexTarget,
  type IsErased,
  reindex,
  type SourceLog,
  type SourceRecord,
} from './indexer';
export { LEAF_INDEX_LIMIT, MAX_LOGS } from './position';
export {
  APPLICATION_ID,
  DEFAULT_CACHE_BYTES,
  DEFAULT_CHECKPOINT_PAGES,
  DEFAULT_MMAP_BYTES,
  DEFAULT_PAGE_BYTES,
  SCHEMA_VERSION,
} from './schema';
export {
  type ErasureHorizon,
  type HistoryQuery,
  type IndexStats,
  MAX_FIELD_CHARS,
  MAX_PAGE_LIMIT,
  openSearchIndex,
  type RecordErasure,
  type SearchHit,
  SearchIndex,
  type SearchIndexOptions,
  type SearchPage,
  type SearchQuery,
} from './search-index';
export { openWorkerSearchIndex, WorkerSearchIndex } from './worker-search-index';
