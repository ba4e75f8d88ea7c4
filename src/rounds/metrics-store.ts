/**
 * Round metrics in SQLite (table `amp_round_metrics`): one row per nexus round attempt that
 * reached witnessing or failed. The anchoring step fills the witnessed→anchored latency, gas and
 * transaction hash later with `recordAnchored`.
 */
import Database from "better-sqlite3";

export interface RoundMetricsRow {
  readonly round: bigint;
  readonly status: "witnessed" | "failed";
  readonly sealToQuorumMs: Readonly<Record<string, number>>;
  readonly quorumToWitnessedMs: number | null;
  readonly witnessBytes: number;
  readonly payloadBytes: number;
  readonly globalRoot: string | null;
  readonly detail: string;
}

export interface AnchoredMetrics {
  readonly witnessedToAnchoredMs: number;
  readonly gasUsed: bigint;
  readonly txHash: string;
}

export class RoundMetricsStore {
  private readonly db: Database.Database;

  /** Open (or share) a SQLite database; creates the table if missing. */
  constructor(db: Database.Database | string) {
    this.db = typeof db === "string" ? RoundMetricsStore.openFile(db) : db;
    this.db.exec(`CREATE TABLE IF NOT EXISTS amp_round_metrics (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      round INTEGER NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('witnessed', 'failed')),
      seal_to_quorum_ms TEXT NOT NULL,
      quorum_to_witnessed_ms REAL,
      witnessed_to_anchored_ms REAL,
      witness_bytes INTEGER NOT NULL,
      payload_bytes INTEGER NOT NULL,
      global_root TEXT,
      gas_used INTEGER,
      tx_hash TEXT,
      detail TEXT NOT NULL,
      created_at TEXT NOT NULL
    )`);
  }

  private static openFile(file: string): Database.Database {
    const db = new Database(file);
    db.pragma("journal_mode = WAL");
    return db;
  }

  record(row: RoundMetricsRow): void {
    this.db
      .prepare(
        `INSERT INTO amp_round_metrics (round, status, seal_to_quorum_ms, quorum_to_witnessed_ms, witness_bytes,
         payload_bytes, global_root, detail, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        row.round,
        row.status,
        JSON.stringify(row.sealToQuorumMs),
        row.quorumToWitnessedMs,
        row.witnessBytes,
        row.payloadBytes,
        row.globalRoot,
        row.detail,
        new Date().toISOString(),
      );
  }

  /** Hook for the anchoring step: latency, gas and tx of the witnessed row of `round`. */
  recordAnchored(round: bigint, m: AnchoredMetrics): void {
    this.db
      .prepare(
        `UPDATE amp_round_metrics SET witnessed_to_anchored_ms = ?, gas_used = ?, tx_hash = ?
         WHERE round = ? AND status = 'witnessed'`,
      )
      .run(m.witnessedToAnchoredMs, m.gasUsed, m.txHash, round);
  }

  rows(): Record<string, unknown>[] {
    this.db.defaultSafeIntegers(false);
    return this.db.prepare("SELECT * FROM amp_round_metrics ORDER BY id").all() as Record<string, unknown>[];
  }

  close(): void {
    this.db.close();
  }
}
