/** @sealog/ledger — the write path and read path of sealog logs. */
export { CHAIN_BYTES, GENESIS_CHAIN, nextChainHash } from './chain-hash';
export { CHECKPOINTS_FILE, CheckpointLog, type StoredCheckpoint } from './checkpoint-log';
export { DATA_KEYS_FILE, DataKeys } from './data-keys';
export { LOCK_FILE } from './dir-lock';
export { EntityHeads, type HeadColumns } from './entity-heads';
export { LedgerError, type LedgerErrorCode, type LedgerIssue } from './errors';
export { type BundleFilter, type BundleOptions, type BundleResult, exportBundle } from './export-bundle';
export { type OpenedFrame, openStoredFrame } from './frame-reader';
export { IdTable, KeyTable } from './inflight-tables';
export { type AppendOptions, createLedger, Ledger, type LedgerOptions, type LogConfig } from './ledger';
export {
  GENERATED_MASTER_KEY_ID,
  LedgerKeys,
  type MasterKeySource,
  SUBJECT_TOKEN_FIELD,
  subjectStoreIdOfToken,
} from './ledger-keys';
export {
  type AppendResult,
  CHAIN_EXTENSION_PREFIX,
  INTEGRITY_ALGO_VERSION,
  type LogIdentity,
  LogWriter,
  type LogWriterOptions,
  logIdBytes,
  type ReadRecord,
} from './log-writer';
export {
  entityKeyOf,
  type PreparedRecord,
  type PreparedRecords,
  personalAad,
  preparedColumns,
  RecordPreparer,
  subjectIdOf,
} from './record-prep';
export {
  ERASED,
  PersonalReader,
  type PersonalView,
  type RecordViewOptions,
  renderRecordView,
} from './record-view';
export {
  type EntityHead,
  type FingerprintColumns,
  readSnapshot,
  SNAPSHOT_FILE,
  type StateSnapshot,
} from './state-snapshot';
