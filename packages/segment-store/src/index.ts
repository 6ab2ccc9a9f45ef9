/** @sealog/segment-store — append-only segment files of opaque frames. */
export { formatOffset, SegmentStoreError, type SegmentStoreErrorCode } from './errors';
export {
  ENVELOPE_BYTES,
  MAX_FRAME_BYTES,
  SEGMENT_FORMAT_VERSION,
  type SegmentFooter,
  type SegmentHeader,
} from './format';
export { LatencyHistogram, type LatencySummary } from './latency-histogram';
export { type FrameRead, type SegmentEnd, type SegmentScan, scanSegmentFile } from './segment-file';
export {
  DirectorySegmentSource,
  listSegmentFiles,
  openSegmentSource,
  type SegmentInfo,
  type SegmentSource,
  segmentFileName,
} from './segment-source';
export {
  type AppendResult,
  DEFAULT_MAX_UNSYNCED_BYTES,
  DEFAULT_SEGMENT_BYTES,
  type Durability,
  type FrameLocation,
  fsyncDir,
  openSegmentStore,
  type RecoveryReport,
  SegmentStore,
  type SegmentStoreOptions,
  type SegmentStoreStats,
} from './segment-store';
