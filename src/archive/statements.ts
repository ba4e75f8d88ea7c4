/**
 * Prepared statements of the archive, compiled once per connection. Reads return 64-bit integers
 * as bigint (`safeIntegers`), so sizes and indices stay exact beyond 2^53.
 */
import type Database from "better-sqlite3";

const EVENT_COLUMNS = `f.origin AS federation, e.seq, e.event_id, e.canonical, e.leaf_hash, e.ingested_at,
  p.payload, p.salt, (x.event_id IS NOT NULL) AS erased`;
const EVENT_JOINS = `JOIN federations f ON f.fid = e.fid
  LEFT JOIN event_payloads p ON p.event_id = e.event_id
  LEFT JOIN erasures x ON x.event_id = e.event_id`;

export class Statements {
  readonly insertFederation: Database.Statement;
  readonly federations: Database.Statement;
  readonly fidOf: Database.Statement;
  readonly nodeRange: Database.Statement;
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
  readonly erasures: Database.Statement;
  readonly payloadRow: Database.Statement;
  readonly insertNode: Database.Statement;
  readonly getNode: Database.Statement;
  readonly insertBatch: Database.Statement;
  readonly lastBatch: Database.Statement;
  readonly batches: Database.Statement;
  readonly insertCheckpoint: Database.Statement;
  readonly checkpoints: Database.Statement;

  constructor(db: Database.Database) {
    const read = (sql: string): Database.Statement => db.prepare(sql).safeIntegers(true);
    this.insertFederation = db.prepare(`INSERT INTO federations (origin, created_at) VALUES (?, ?)`);
    this.federations = db.prepare(`SELECT fid, origin FROM federations`);
    this.fidOf = db.prepare(`SELECT fid FROM federations WHERE origin = ?`);
    this.nodeRange = read(
      `SELECT hash FROM tree_nodes WHERE fid = ? AND level = ? AND idx >= ? AND idx < ? ORDER BY idx`,
    );
    this.insertEvent = db.prepare(
      `INSERT INTO events (fid, seq, event_id, canonical, leaf_hash, ingested_at) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.insertPayload = db.prepare(`INSERT INTO event_payloads (event_id, payload, salt) VALUES (?, ?, ?)`);
    this.maxSeq = read(`SELECT max(seq) AS m FROM events WHERE fid = ?`);
    this.getEvent = read(`SELECT ${EVENT_COLUMNS} FROM events e ${EVENT_JOINS} WHERE e.event_id = ?`);
    this.eventsInRange = read(
      `SELECT ${EVENT_COLUMNS} FROM events e ${EVENT_JOINS}
       WHERE e.fid = ? AND e.seq >= ? AND e.seq < ? ORDER BY e.seq`,
    );
    this.leafRange = read(`SELECT leaf_hash FROM events WHERE fid = ? AND seq >= ? AND seq < ? ORDER BY seq`);
    this.leafAt = read(`SELECT leaf_hash FROM events WHERE fid = ? AND seq = ?`);
    this.isErased = read(`SELECT 1 FROM erasures WHERE event_id = ?`);
    this.deletePayload = db.prepare(`DELETE FROM event_payloads WHERE event_id = ?`);
    this.insertErasure = db.prepare(
      `INSERT INTO erasures (event_id, erased_at, reason, erased_by, commitment) VALUES (?, ?, ?, ?, ?)`,
    );
    this.erasures = read(
      `SELECT event_id, erased_at, reason, erased_by, commitment FROM erasures ORDER BY erased_at, event_id`,
    );
    this.payloadRow = read(`SELECT salt FROM event_payloads WHERE event_id = ?`);
    this.insertNode = db.prepare(`INSERT INTO tree_nodes (fid, level, idx, hash) VALUES (?, ?, ?, ?)`);
    this.getNode = read(`SELECT hash FROM tree_nodes WHERE fid = ? AND level = ? AND idx = ?`);
    this.insertBatch = db.prepare(
      `INSERT INTO batches (fid, batch_no, start_seq, end_seq, root, sealed_at) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.lastBatch = read(`SELECT * FROM batches WHERE fid = ? ORDER BY batch_no DESC LIMIT 1`);
    this.batches = read(`SELECT * FROM batches WHERE fid = ? ORDER BY batch_no`);
    this.insertCheckpoint = db.prepare(
      `INSERT INTO checkpoints (fid, round, size, root, created_at) VALUES (?, ?, ?, ?, ?)`,
    );
    this.checkpoints = read(`SELECT * FROM checkpoints WHERE fid = ? ORDER BY round`);
  }
}
