/** The SQLite archive: durable events, erasable payloads, tree nodes, batches, checkpoints. */
export {
  Archive,
  type ArchiveOptions,
  type SyncMode,
  type EventRecord,
  type StoredEvent,
  type BatchRecord,
  type CheckpointRecord,
  type ErasureRecord,
  type ErasureCommitment,
} from "./archive";
export {
  eraseEvent,
  checkErasureRequest,
  MAX_ERASURE_REASON,
  MAX_ERASURE_BY,
  type ErasureRequest,
  type ErasureResult,
} from "./erasure";
export { ARCHIVE_MIGRATIONS, runMigrations, appendOnlyTriggers, type Migration } from "./migrations";
export { SqliteLogStore, appendRound } from "./sqlite-log-store";
