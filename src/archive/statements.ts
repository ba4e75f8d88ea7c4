/**
 * Prepared statements of the archive, compiled once per connection. Reads return 64-bit integers
 * as bigint (`safeIntegers`), so sizes and indices stay exact beyond 2^53.
 */
import type Database from "better-sqlite3";

const EVENT_COLUMNS = `e.federation, e.seq, e.event_id, e.canonical, e.leaf_hash, e.ingested_at,
  p.payload, (x.event_id IS NOT NULL) AS erased`;
const EVENT_JOINS = `LEFT JOIN event_payloads p ON p.event_id = e.event_id
  LEFT JOIN erasures x ON x.event_id = e.event_id`;

export class Statements {
  readonly insertEvent: Database.Statement;
  readonly insertPayload: Database.Statement;
  readonly maxSeq: Database.Statement;
  readonly getEvent: Database.Statement;
  readonly eventsInRange: Database.Statement;
  readonly leafRange: Database.Statement;
  readonly leafAt: Database.Statement;
  readonly isErased: Database.Statement;
  readonly deletePayload: Database.Statement;
  readonly insertErasure: Database.Statement;
  readonly insertNode: Database.Statement;
  readonly getNode: Database.Statement;
  readonly insertBatch: Database.Statement;
  readonly lastBatch: Database.Statement;
  readonly batches: Database.Statement;
  readonly insertCheckpoint: Database.Statement;
  readonly checkpoints: Database.Statement;

  constructor(db: Database.Database) {
    const read = (sql: string): Database.Statement => db.prepare(sql).safeIntegers(true);
    this.insertEvent = db.prepare(
      `INSERT INTO events (federation, seq, event_id, canonical, leaf_hash, ingested_at) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.insertPayload = db.prepare(`INSERT INTO event_payloads (event_id, payload) VALUES (?, ?)`);
    this.maxSeq = read(`SELECT max(seq) AS m FROM events WHERE federation = ?`);
    this.getEvent = read(`SELECT ${EVENT_COLUMNS} FROM events e ${EVENT_JOINS} WHERE e.event_id = ?`);
    this.eventsInRange = read(
      `SELECT ${EVENT_COLUMNS} FROM events e ${EVENT_JOINS}
       WHERE e.federation = ? AND e.seq >= ? AND e.seq < ? ORDER BY e.seq`,
    );
    this.leafRange = read(
      `SELECT leaf_hash FROM events WHERE federation = ? AND seq >= ? AND seq < ? ORDER BY seq`,
    );
    this.leafAt = read(`SELECT leaf_hash FROM events WHERE federation = ? AND seq = ?`);
    this.isErased = read(`SELECT 1 FROM erasures WHERE event_id = ?`);
    this.deletePayload = db.prepare(`DELETE FROM event_payloads WHERE event_id = ?`);
    this.insertErasure = db.prepare(`INSERT INTO erasures (event_id, erased_at, reason) VALUES (?, ?, ?)`);
    this.insertNode = db.prepare(`INSERT INTO tree_nodes (federation, level, idx, hash) VALUES (?, ?, ?, ?)`);
    this.getNode = read(`SELECT hash FROM tree_nodes WHERE federation = ? AND level = ? AND idx = ?`);
    this.insertBatch = db.prepare(
      `INSERT INTO batches (federation, batch_no, start_seq, end_seq, root, sealed_at) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.lastBatch = read(`SELECT * FROM batches WHERE federation = ? ORDER BY batch_no DESC LIMIT 1`);
    this.batches = read(`SELECT * FROM batches WHERE federation = ? ORDER BY batch_no`);
    this.insertCheckpoint = db.prepare(
      `INSERT INTO checkpoints (federation, round, size, root, created_at) VALUES (?, ?, ?, ?, ?)`,
    );
    this.checkpoints = read(`SELECT * FROM checkpoints WHERE federation = ? ORDER BY round`);
  }
}
