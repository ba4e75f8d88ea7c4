/** Ingest and batching: the typed audit bus and the durable per-federation batch processor. */
export {
  InMemoryAuditBus,
  type BusOptions,
  type SubscribeOptions,
  type Subscription,
  type Handler,
} from "./bus";
export { FederationBatchProcessor, type ProcessorOptions, type IngestAck } from "./processor";
export { federationEventEncoder, encodeAll, type EncodedEvent, type EventEncoder } from "./encode";
export { storeEvents, EventConflictError, type StoreResult } from "./store-events";
export { noMetrics, safeMetrics, type MetricsCallback, type StageMetric, type Stage } from "./metrics";
export type { AmpTopics, SealedBatchMessage, CheckpointMessage, RejectedEventMessage } from "./topics";
