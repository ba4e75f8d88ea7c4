/**
 * Inbox: events a node acknowledged and that no anchored round holds yet (SQLite, WAL,
 * synchronous = FULL: an acknowledged event survives a crash and a power loss). The round's
 * coordinator pulls the oldest ones from every node of the federation; a node deletes an event
 * from its inbox once an anchored round holds it.
 */
import Database from "better-sqlite3";
import type { EncodedEvent } from "../batching/encode";
import { PushbackError } from "../util/errors";
import { asStorageWriteError } from "../util/storage";

export interface InboxEvent {
  readonly eventId: string;
  readonly canonical: Uint8Array;
  readonly leafHash: Uint8Array;
  readonly payload: Uint8Array | null;
  /** Secret salt of the payload commitment (with `payload`; archived and erased with it). */
  readonly salt: Uint8Array | null;
}

interface Row {
  event_id: string;
  canonical: Buffer;
  leaf_hash: Buffer;
  payload: Buffer | null;
  salt: Buffer | null;
}

const COLUMNS = "event_id, canonical, leaf_hash, payload, salt";

export class Inbox {
  private readonly db: Database.Database;
  /** Prepared once (preparing a statement per call showed in profiles at 1000 events/s). */
  private readonly q: {
    get: Database.Statement;
    insert: Database.Statement;
    oldest: Database.Statement;
    del: Database.Statement;
  };
  /** Pending events (this process is the inbox's only writer): status is polled every round. */
  private count: number;

  /** `capacity`: most pending events held; beyond it submissions get pushback (HTTP 429). */
  constructor(
    readonly file: string,
    readonly capacity = 100_000,
  ) {
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    // Deleted rows (events once anchored) are overwritten, so no payload outlives its erasure here.
    this.db.pragma("secure_delete = ON");
    this.db.exec(`CREATE TABLE IF NOT EXISTS inbox (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      event_id TEXT NOT NULL UNIQUE,
      canonical BLOB NOT NULL,
      leaf_hash BLOB NOT NULL,
      payload BLOB,
      received_at INTEGER NOT NULL,
      salt BLOB)`);
    // Inboxes written before the salt column: add it (their pending events carry no salt).
    const cols = this.db.prepare("PRAGMA table_info(inbox)").all() as { name: string }[];
    if (!cols.some((c) => c.name === "salt")) this.db.exec("ALTER TABLE inbox ADD COLUMN salt BLOB");
    this.q = {
      get: this.db.prepare(`SELECT ${COLUMNS} FROM inbox WHERE event_id = ?`),
      insert: this.db.prepare(
        "INSERT OR IGNORE INTO inbox (event_id, canonical, leaf_hash, payload, salt, received_at) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      oldest: this.db.prepare(`SELECT ${COLUMNS} FROM inbox ORDER BY seq LIMIT ?`),
      del: this.db.prepare("DELETE FROM inbox WHERE event_id = ?"),
    };
    this.count = (this.db.prepare("SELECT COUNT(*) AS n FROM inbox").get() as { n: number }).n;
  }

  close(): void {
    this.db.close();
  }

  /** Copy the WAL into the file and truncate it: deleted payload bytes leave the WAL (erasure). */
  scrub(): void {
    this.db.pragma("wal_checkpoint(TRUNCATE)");
  }

  size(): number {
    return this.count;
  }

  get(eventId: string): InboxEvent | undefined {
    const r = this.q.get.get(eventId) as Row | undefined;
    return r ? toEvent(r) : undefined;
  }

  /**
   * Store all events in one transaction (all or none). Returns, per input, whether it was new.
   * Pushback (retry later) when the inbox would exceed its capacity; nothing is stored then. A
   * failed write (full disk, file size limit, read-only data dir) is a StorageWriteError naming
   * this file (HTTP 503): the transaction was rolled back, nothing of the request is acknowledged.
   */
  add(events: readonly EncodedEvent[]): boolean[] {
    try {
      return this.addAll(events);
    } catch (e) {
      throw asStorageWriteError(e, this.file, "nothing of this request was stored or acknowledged") ?? e;
    }
  }

  private addAll(events: readonly EncodedEvent[]): boolean[] {
    const added = this.db.transaction(() => {
      if (this.count + events.length > this.capacity) {
        throw new PushbackError(`inbox full (${this.capacity} pending events)`, 1000);
      }
      const now = Date.now();
      return events.map(
        (e) =>
          this.q.insert.run(
            e.eventId,
            Buffer.from(e.canonical),
            Buffer.from(e.leafHash),
            e.payload ? Buffer.from(e.payload) : null,
            e.salt ? Buffer.from(e.salt) : null,
            now,
          ).changes === 1,
      );
    })();
    this.count += added.filter(Boolean).length; // after the commit: a failed transaction counts nothing
    return added;
  }

  /** The oldest `limit` pending events, in arrival order. */
  oldest(limit: number): InboxEvent[] {
    const rows = this.q.oldest.all(limit) as Row[];
    return rows.map(toEvent);
  }

  /** Every pending event id, in arrival order. */
  ids(): string[] {
    return (this.db.prepare("SELECT event_id FROM inbox ORDER BY seq").all() as { event_id: string }[]).map(
      (r) => r.event_id,
    );
  }

  remove(eventIds: readonly string[]): void {
    const removed = this.db.transaction(() => {
      let n = 0;
      for (const id of eventIds) n += this.q.del.run(id).changes;
      return n;
    })();
    this.count -= removed;
  }
}

function toEvent(r: Row): InboxEvent {
  return {
    eventId: r.event_id,
    canonical: new Uint8Array(r.canonical),
    leafHash: new Uint8Array(r.leaf_hash),
    payload: r.payload ? new Uint8Array(r.payload) : null,
    salt: r.salt ? new Uint8Array(r.salt) : null,
  };
}
