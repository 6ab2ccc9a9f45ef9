/** @sealog/crypto-envelope — public surface (named re-exports only). */
export { KEY_DIR_MODE, KEY_FILE_MODE, shredFile, syncDirectory, writeFileAtomic } from './atomic-file';
export {
  BLIND_INDEX_ROOT_KEY_BYTES,
  BLIND_TOKEN_BYTES,
  BlindIndexKey,
  blindToken,
  deriveBlindIndexKey,
  MAX_BLIND_FIELD_BYTES,
} from './blind-index';
export { constantTimeEqual } from './bytes';
export {
  CHECKPOINT_ROOT_HASH_BYTES,
  type Checkpoint,
  type CheckpointInput,
  formatCheckpoint,
  type OpenedCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
} from './checkpoint';
export { DATA_KEY_BYTES, DATA_KEY_ID_BYTES, DataKey, type DataKeyFromBytesOptions } from './data-key';
export { CryptoEnvelopeError, type CryptoEnvelopeErrorCode } from './errors';
export {
  createFieldSealer,
  FieldSealer,
  MAX_FIELD_PLAINTEXT_BYTES,
  MAX_FIELD_SEALS_PER_KEY,
  SEALED_FIELD_OVERHEAD_BYTES,
  SEALED_FIELD_VERSION,
} from './field-sealer';
export {
  DEFAULT_SUBJECT_KEY_CACHE_ENTRIES,
  FileSubjectKeyStore,
  type FileSubjectKeyStoreOptions,
} from './file-subject-key-store';
export {
  createFrameSealer,
  FRAME_NONCE_BYTES,
  FRAME_TAG_BYTES,
  FrameSealer,
  type FrameSealerOptions,
  MAX_FRAMES_PER_KEY,
  MAX_GCM_PLAINTEXT_BYTES,
  MAX_OUTSTANDING_NONCES,
  NONCE_PREFIX_BYTES,
  openFrame,
} from './frame-sealer';
export { formatIntegrity, INTEGRITY_SEPARATOR, type Integrity, parseIntegrity } from './integrity';
export {
  DEFAULT_JOURNAL_SEGMENT_BYTES,
  JOURNAL_ENTRY_HEADER_BYTES,
  JOURNAL_SEGMENT_HEADER_BYTES,
  JOURNAL_SEGMENT_VERSION,
  type JournalRecoveryFinding,
  JournalSubjectKeyStore,
  type JournalSubjectKeyStoreOptions,
  MAX_JOURNAL_SEGMENT_BYTES,
  MIN_JOURNAL_SEGMENT_BYTES,
} from './journal-subject-key-store';
export { Keyring } from './keyring';
export {
  checkMasterKeyId,
  generateMasterKey,
  loadMasterKey,
  loadMasterKeyFile,
  MASTER_KEY_BYTES,
  MAX_MASTER_KEY_ID_LENGTH,
  MasterKey,
  saveMasterKeyFile,
} from './master-key';
export {
  generateNoteKey,
  isValidNoteKeyName,
  MAX_NOTE_SIGNATURES,
  NOTE_ALG_ED25519,
  type NoteKeyPair,
  type NoteSignature,
  NoteSigner,
  NoteVerifier,
  noteKeyHash,
  type OpenedNote,
  openNote,
  signNote,
} from './signed-note';
export {
  checkSubjectId,
  MAX_SUBJECT_ID_BYTES,
  SUBJECT_KEY_BYTES,
  SUBJECT_KEY_TAG_BYTES,
  SubjectKey,
} from './subject-key';
export { MemorySubjectKeyStore, type SubjectKeyStore } from './subject-key-store';
export {
  MAX_WRAPPED_KEY_ID_BYTES,
  parseWrappedKeyHeader,
  type UnwrappedKey,
  unwrapKey,
  WRAPPED_KEY_MATERIAL_BYTES,
  WRAPPED_KEY_VERSION,
  type WrappedKeyHeader,
  type WrappedKeyPurpose,
  wrapKey,
} from './wrapped-key';
