/** Proof-drift monitor (PROTOCOL §6): detection before finality, clock skew, alerts, webhooks. */
export * from "./types";
export { detectDrift } from "./detector";
export { classifyLeaf, type LeafDiff, type LeafCause } from "./classify";
export { hashRanges, leafHashes, locateDivergence, type DriftProbe, type LeafRange } from "./ranges";
export { InProcessDriftProbe, type VotedEntriesSource } from "./probe";
export { DriftInjector, driftedIndices, type DriftRule } from "./injector";
export { clockSamples, type ClockSample } from "./clock";
export { driftSeverity, clockSeverity, findingKind } from "./severity";
export { recommendedActions } from "./actions";
export {
  DriftStore,
  DRIFT_DB_FILE,
  ALERT_STATES,
  type AlertRow,
  type AlertState,
  type HistoryRow,
  type StoredFinding,
} from "./store";
export {
  WebhookDispatcher,
  enqueueWebhooks,
  outbox,
  checkWebhookUrl,
  WEBHOOK_PAYLOAD_VERSION,
} from "./webhooks";
export { DriftMonitor, type DriftMonitorOptions } from "./monitor";
export * from "./api";
export { DriftExtension, type DriftExtensionOptions } from "./node-extension";
export { HttpDriftProbe, DriftProbeServer } from "./http-probe";
export { addDriftRoutes, alertJson, findingJson, parseAlertAction } from "./node-routes";
export { CountedDrift, type NodeDriftOptions } from "./node-injection";
