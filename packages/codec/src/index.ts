/** @sealog/codec — public surface (named re-exports only). */

export {
  BatchBodyBuilder,
  batchBodyLength,
  decodeBatchBody,
  encodeBatchBody,
  MAX_BATCH_BODY_BYTES,
  MAX_BATCH_RECORDS,
} from './batch-body';
export { BodyCompressor, compressBody, decompressBody, snappyUncompressedLength } from './compression';
export { CodecError, type CodecErrorCode, type CodecErrorOptions } from './errors';
export {
  ACTOR_TYPES,
  type ActorType,
  type AuditEvent,
  DEFAULT_RESULT,
  DEFAULT_RETENTION_CLASS,
  EVENT_CATEGORIES,
  EVENT_RESULTS,
  type EventActor,
  type EventCategory,
  type EventChange,
  type EventContext,
  type EventResource,
  type EventResult,
  type JsonValue,
  LIMITS,
  MAX_EPOCH_MS,
  MAX_EVENT_JSON_BYTES,
  type MetadataValue,
  type NormalizedActor,
  type NormalizedChange,
  type NormalizedContext,
  type NormalizedEvent,
  type NormalizedResource,
} from './event';
export { EVENT_JSON_SCHEMA, type JsonSchema, RFC3339_PATTERN } from './event-json-schema';
export { FORMAT_VERSION, RECORD_ENCODING_POSITIONAL } from './format-version';
export {
  BATCH_ROOT_BYTES,
  CHAIN_HASH_BYTES,
  decodeFrameHeader,
  encodeFrameHeader,
  FRAME_FLAGS,
  FRAME_HEADER_BYTES,
  FRAME_HEADER_OFFSETS,
  FRAME_MAGIC,
  type FrameHeader,
  type FrameHeaderFields,
  GCM_TAG_BYTES,
  KEY_ID_BYTES,
  LOG_ID_BYTES,
  MAX_STORED_BODY_BYTES,
  NONCE_BYTES,
} from './frame-header';
export { parseRfc3339 } from './occurred-at';
export {
  decodePersonal,
  encodePersonal,
  joinPersonal,
  type PersonalChange,
  type PersonalFields,
  type PublicEventPart,
  type RecordContext,
  type SplitEvent,
  splitPersonal,
} from './personal';
export {
  assembledRecordLength,
  assembleRecord,
  assembleRecordInto,
  decodeRecord,
  type EntityLink,
  encodeRecordBody,
  LEAF_HASH_BYTES,
  MAX_RECORD_BYTES,
  makeRecordBody,
  maxAssembledRecordLength,
  RECORD_BODY_FIELDS,
  type RecordBody,
  type RecordServerFields,
  type StoredRecord,
} from './record';
export { renderPublicRecord } from './render-record';
export {
  type BatchValidationIssue,
  type BatchValidationResult,
  MAX_VALIDATION_ISSUES,
  type ValidateBatchOptions,
  type ValidateOptions,
  type ValidationIssue,
  type ValidationIssueCode,
  type ValidationResult,
  validateBatch,
  validateEvent,
} from './validate-event';
