/** @sealog/verifier — public surface (named re-exports only). */

export {
  generateNoteKey,
  type NoteKeyPair,
  type NoteSignature,
  type OpenedNote,
  openNote,
  signNote,
} from '@sealog/crypto-envelope';
export {
  BUNDLE_HEADER_TYPE,
  BUNDLE_VERSION,
  type BundleConsistencyProof,
  type BundleFilter,
  type BundleHeader,
  MAX_BUNDLE_CONSISTENCY_PROOFS,
  MAX_BUNDLE_LINE_BYTES,
  parseBundleConsistency,
  parseBundleHeader,
  renderRecord,
} from './bundle-format';
export { verifyBundle } from './bundle-verifier';
export { CHAIN_EXTENSION_PREFIX, CHECKPOINTS_FILE } from './checkpoint-file';
export { DATA_KEYS_FILE } from './data-key-file';
export { VerifierError, type VerifierErrorCode } from './errors';
export {
  DEFAULT_MAX_FINDINGS,
  type Finding,
  type FindingCode,
  type FindingSeverity,
  hexOffset,
} from './finding';
export { type LogIdentity, readLogIdentity } from './log-verifier';
export type {
  AuditorCheckpoint,
  BundleSummary,
  VerifyOptions,
  VerifyProgress,
  VerifyReport,
  VerifySummary,
} from './report';
export { isLogDir, MASTER_KEY_FILE, verifyDataDir, verifyLogDir } from './verify';
export {
  EXIT_FINDINGS,
  EXIT_USAGE,
  EXIT_VERIFIED,
  formatFinding,
  formatReport,
  runVerifyCommand,
  VERIFY_USAGE,
  type VerifyCommandIO,
  verifyPath,
} from './verify-command';
