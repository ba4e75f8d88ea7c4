/** The SQLite archive: durable events, erasable payloads, tree nodes, batches, checkpoints. */
export {
  Archive,
  type ArchiveOptions,
  type SyncMode,
  type EventRecord,
  type StoredEvent,
  type BatchRecord,
  type CheckpointRecord,
} from "./archive";
export { ARCHIVE_MIGRATIONS, runMigrations, appendOnlyTriggers, type Migration } from "./migrations";
export { SqliteLogStore } from "./sqlite-log-store";
