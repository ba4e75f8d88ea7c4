/**
 * Background WAL checkpointing. By default SQLite checkpoints inside the committing call, on the
 * ingest thread (≈ 2-3 µs of CPU per archived event, measured). A BackgroundCheckpointer runs
 * `PRAGMA wal_checkpoint(PASSIVE)` every `intervalMs` from its own connection on a worker thread, so
 * the copy of committed WAL frames into the database file overlaps with ingest. Durability is
 * unchanged: a commit is durable once its WAL frames are synced; checkpoints only move them.
 */
import { Worker } from "node:worker_threads";

// Plain JavaScript so the worker needs no TypeScript loader (ts-node or compiled, same code).
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma("busy_timeout = 1000");
db.pragma("synchronous = " + workerData.synchronous);
const tick = () => { try { db.pragma("wal_checkpoint(PASSIVE)"); } catch (e) { /* busy: next tick */ } };
const timer = setInterval(tick, workerData.intervalMs);
parentPort.on("message", () => { clearInterval(timer); db.close(); parentPort.close(); });
`;

export class BackgroundCheckpointer {
  private readonly worker: Worker;

  constructor(path: string, synchronous: string, intervalMs = 50) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path, synchronous, intervalMs, driver: require.resolve("better-sqlite3") },
    });
    this.worker.unref();
  }

  /** Asks the worker to close its connection and exit (it finishes a running checkpoint first). */
  stop(): void {
    this.worker.postMessage("stop");
  }
}
