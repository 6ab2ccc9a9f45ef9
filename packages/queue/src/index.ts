/** @sealog/queue — public surface (named re-exports only). */
export {
  BatchQueue,
  type BatchQueueOptions,
  type BatchQueueStats,
  createBatchQueue,
  type DequeueOptions,
  type EnqueueOptions,
  type Lane,
  type LaneStats,
  MAX_QUEUE_ITEMS,
  type TryEnqueueResult,
} from './batch-queue';
export { QueueClosedError, QueueError, type QueueErrorCode } from './errors';
export {
  LANE_CONTROL_BYTES,
  MAX_LANE_CAPACITY_BYTES,
  MAX_LANES,
  MIN_LANE_CAPACITY_BYTES,
  RECORD_HEADER_BYTES,
  recordBytes,
  type SharedRingLaneHandle,
} from './shared-ring-layout';
export { attachLane, SharedRingProducer } from './shared-ring-producer';
export {
  createSharedRingQueue,
  type SharedDequeueOptions,
  type SharedRingBatch,
  type SharedRingLaneStats,
  SharedRingQueue,
  type SharedRingQueueOptions,
  type SharedRingQueueStats,
} from './shared-ring-queue';
