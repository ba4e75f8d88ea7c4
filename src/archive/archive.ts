/**
 * The SQLite archive of a node: events (canonical bytes + leaf hash), erasable payloads, tree nodes,
 * batches and checkpoints of every federation it serves. One file, WAL journal, prepared statements,
 * one transaction per call that writes. See README.md for the durability choice.
 */
import Database from "better-sqlite3";
import { AmpError, InvalidInputError } from "../util/errors";
import { ARCHIVE_MIGRATIONS, runMigrations, type Migration } from "./migrations";
import { Statements } from "./statements";
import { BackgroundCheckpointer } from "./checkpointer";

/**
 * A SQLite storage failure while opening `file` (read-only or missing data dir, full disk, file
 * size limit) wrapped so that its message names the file; other errors pass unchanged.
 */
function storageError(err: unknown, file: string): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !/^SQLITE_(CANTOPEN|READONLY|IOERR|FULL|PERM)/.test(code)) return err;
  return new AmpError(`cannot open ${file}: ${(err as Error).message.split("\n")[0]}`, {
    kind: "retry-later",
    cause: err,
    meta: { path: file, code },
  });
}

/** `FULL`: every commit is fsynced (survives power loss). `NORMAL`: survives a process crash only. */
export type SyncMode = "FULL" | "NORMAL";

export interface ArchiveOptions {
  /** Default "FULL": an acknowledged event survives SIGKILL and power loss. */
  synchronous?: SyncMode;
  /** Migrations to run on open; default ARCHIVE_MIGRATIONS (pass a longer list to add your own). */
  migrations?: readonly Migration[];
  /**
   * "inline" (default): SQLite checkpoints the WAL inside commits on this thread. "background": a
   * worker thread checkpoints every 50 ms (ingest-heavy nodes; see checkpointer.ts); this connection
   * then only checkpoints itself past a 64 MiB WAL, as a safety net.
   */
  walCheckpoint?: "inline" | "background";
}

/** One event to store: its leaf index (seq), id, canonical bytes, leaf hash, optional raw payload. */
export interface EventRecord {
  readonly seq: bigint;
  readonly eventId: string;
  readonly canonical: Uint8Array;
  readonly leafHash: Uint8Array;
  /** JCS bytes of an inline payload, kept in the erasable side table (the leaf covers its commitment). */
  readonly payload?: Uint8Array | undefined;
  /** Secret 32-byte salt of the payload commitment, erased with the payload. */
  readonly salt?: Uint8Array | undefined;
}

/** How the erased payload was committed in the leaf: what the kept bytes still reveal. */
export type ErasureCommitment = "salted" | "digest" | "none";

/** One row of the append-only erasure log. */
export interface ErasureRecord {
  readonly eventId: string;
  /** Unix milliseconds. */
  readonly erasedAt: number;
  readonly reason: string;
  /** Who asked for or performed the erasure ("" when not given, and for rows from before v2). */
  readonly by: string;
  /**
   * "salted": the leaf holds a salted commitment, now unconfirmable; "digest": the leaf holds the
   * unsalted SHA-256(JCS(payload)) (events archived before v2), which still confirms a guess;
   * "none": no payload was ever stored (digest-only event).
   */
  readonly commitment: ErasureCommitment;
}

export interface StoredEvent {
  readonly federation: string;
  readonly seq: bigint;
  readonly eventId: string;
  readonly canonical: Uint8Array;
  readonly leafHash: Uint8Array;
  readonly ingestedAt: number;
  /** Raw payload bytes, null if the event had none or it was erased. */
  readonly payload: Uint8Array | null;
  /** Salt of the payload commitment, null if none, erased, or archived before v2. */
  readonly salt: Uint8Array | null;
  readonly erased: boolean;
}

export interface BatchRecord {
  readonly batchNo: bigint;
  readonly startSeq: bigint;
  readonly endSeq: bigint;
  readonly root: Uint8Array;
  readonly sealedAt: number;
}

export interface CheckpointRecord {
  readonly round: bigint;
  readonly size: bigint;
  readonly root: Uint8Array;
  readonly createdAt: number;
}

/** Plain Uint8Array view of a Buffer (so values compare equal to hashes computed elsewhere). */
export function bytes(buf: Uint8Array): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export class Archive {
  readonly db: Database.Database;
  readonly path: string;
  private readonly st: Statements;
  private checkpointer: BackgroundCheckpointer | undefined;
  /** origin → fid, for federation rows known to be committed. */
  private readonly fids = new Map<string, number>();

  private constructor(path: string, db: Database.Database) {
    this.path = path;
    this.db = db;
    this.st = new Statements(db);
    this.loadFederations();
  }

  private loadFederations(): void {
    for (const r of this.st.federations.all() as { fid: number; origin: string }[])
      this.fids.set(r.origin, r.fid);
  }

  /**
   * The federation's numeric key, creating its row if needed. Rows created inside an open transaction
   * are cached only after they are known committed (a rollback would otherwise leave a stale key).
   */
  federationKey(origin: string): number {
    const known = this.fids.get(origin);
    if (known !== undefined) return known;
    const row = this.st.fidOf.get(origin) as { fid: number } | undefined;
    const fid = row ? row.fid : Number(this.st.insertFederation.run(origin, Date.now()).lastInsertRowid);
    if (!this.db.inTransaction) this.fids.set(origin, fid);
    return fid;
  }

  /** Key for reads: -1 (matches nothing) for a federation with no row. */
  private readKey(origin: string): number {
    const known = this.fids.get(origin);
    if (known !== undefined) return known;
    const row = this.st.fidOf.get(origin) as { fid: number } | undefined;
    return row?.fid ?? -1;
  }

  /** Opens (creating if needed) the archive at `path` and applies pending migrations. */
  static open(path: string, options: ArchiveOptions = {}): Archive {
    const sync = options.synchronous ?? "FULL";
    if (sync !== "FULL" && sync !== "NORMAL") {
      throw new InvalidInputError(`archive synchronous mode must be FULL or NORMAL, got ${String(sync)}`);
    }
    let db: Database.Database;
    try {
      db = new Database(path);
    } catch (err) {
      throw storageError(err, path);
    }
    try {
      db.pragma("journal_mode = WAL");
      db.pragma(`synchronous = ${sync}`);
      db.pragma("secure_delete = ON");
      db.pragma("cache_size = -65536"); // 64 MiB: keeps the event_id index hot at 10^6+ events
      db.pragma("busy_timeout = 5000");
      runMigrations(db, options.migrations ?? ARCHIVE_MIGRATIONS);
      const archive = new Archive(path, db);
      if (options.walCheckpoint === "background") {
        db.pragma("wal_autocheckpoint = 16384");
        archive.checkpointer = new BackgroundCheckpointer(path, sync);
      }
      return archive;
    } catch (err) {
      db.close();
      throw storageError(err, path);
    }
  }

  close(): void {
    this.checkpointer?.stop();
    this.checkpointer = undefined;
    if (this.db.open) this.db.close();
  }

  /** Runs `fn` in one transaction (nested calls become savepoints); rolls back if it throws. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** Inserts events of `federation` in one transaction. Throws on a duplicate id or seq (nothing stored). */
  insertEvents(federation: string, records: readonly EventRecord[], ingestedAt = Date.now()): void {
    this.transaction(() => {
      const fid = this.federationKey(federation);
      for (const r of records) {
        this.st.insertEvent.run(fid, r.seq, r.eventId, r.canonical, r.leafHash, ingestedAt);
        if (r.payload !== undefined) this.st.insertPayload.run(r.eventId, r.payload, r.salt ?? null);
      }
    });
  }

  /** One past the highest stored seq of `federation` (0 if none). */
  nextSeq(federation: string): bigint {
    const row = this.st.maxSeq.get(this.readKey(federation)) as { m: bigint | null };
    return row.m === null ? 0n : row.m + 1n;
  }

  /** The stored event with this id, or undefined. */
  getEvent(eventId: string): StoredEvent | undefined {
    const row = this.st.getEvent.get(eventId) as EventRow | undefined;
    return row && toStoredEvent(row);
  }

  /** Events of `federation` with from ≤ seq < to, ascending. */
  eventsInRange(federation: string, from: bigint, to: bigint): StoredEvent[] {
    return (this.st.eventsInRange.all(this.readKey(federation), from, to) as EventRow[]).map(toStoredEvent);
  }

  /** Leaf hashes of `federation` with from ≤ seq < to, ascending. */
  leafHashes(federation: string, from: bigint, to: bigint): Uint8Array[] {
    return (this.st.leafRange.all(this.readKey(federation), from, to) as { leaf_hash: Buffer }[]).map((r) =>
      bytes(r.leaf_hash),
    );
  }

  leafHash(federation: string, seq: bigint): Uint8Array | undefined {
    const row = this.st.leafAt.get(this.readKey(federation), seq) as { leaf_hash: Buffer } | undefined;
    return row && bytes(row.leaf_hash);
  }

  /**
   * GDPR erasure: deletes the raw payload of `eventId` and its commitment salt (securely, WAL
   * truncated) and appends a row to the erasure log. The event's canonical bytes hold only the
   * salted commitment, so every proof stays valid and nothing kept confirms a guessed payload.
   * Returns false if it was already erased. Throws InvalidInputError for an unknown event.
   */
  erasePayload(eventId: string, reason: string, by = ""): boolean {
    return this.erase(eventId, reason, by) !== undefined;
  }

  /** erasePayload returning the new erasure-log row (undefined if it was already erased). */
  erase(eventId: string, reason: string, by = "", erasedAt = Date.now()): ErasureRecord | undefined {
    const record = this.transaction(() => {
      if (this.st.getEvent.get(eventId) === undefined) {
        throw new InvalidInputError(`cannot erase the payload of unknown event ${eventId}`, {
          meta: { eventId },
        });
      }
      if (this.st.isErased.get(eventId) !== undefined) return undefined;
      const row = this.st.payloadRow.get(eventId) as { salt: Buffer | null } | undefined;
      const commitment: ErasureCommitment =
        row === undefined ? "none" : row.salt === null ? "digest" : "salted";
      this.st.deletePayload.run(eventId);
      this.st.insertErasure.run(eventId, erasedAt, reason, by, commitment);
      return { eventId, erasedAt, reason, by, commitment };
    });
    if (record) this.truncateWal();
    return record;
  }

  /** The append-only erasure log, oldest first. */
  erasures(): ErasureRecord[] {
    return (this.st.erasures.all() as ErasureRow[]).map((r) => ({
      eventId: r.event_id,
      erasedAt: Number(r.erased_at),
      reason: r.reason,
      by: r.erased_by,
      commitment: r.commitment,
    }));
  }

  /**
   * Copies the whole WAL into the database and truncates it, so erased bytes leave the WAL file.
   * Retries while another connection (the background checkpointer) holds the checkpoint lock.
   */
  private truncateWal(): void {
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (let attempt = 0; attempt < 200; attempt++) {
      const [r] = this.db.pragma("wal_checkpoint(TRUNCATE)") as { busy: number }[];
      if (r?.busy === 0) return;
      Atomics.wait(pause, 0, 0, 5);
    }
    throw new AmpError(`archive ${this.path}: could not truncate the WAL after erasure (busy)`, {
      kind: "retry-later",
    });
  }

  /** Hashes of stored tree nodes (level ≥ 1) from ≤ idx < to, ascending (only the stored ones). */
  nodeRange(federation: string, level: number, from: bigint, to: bigint): Uint8Array[] {
    const rows = this.st.nodeRange.all(this.readKey(federation), level, from, to) as { hash: Buffer }[];
    return rows.map((r) => bytes(r.hash));
  }

  /** Hash of tree node (level ≥ 1, idx) of `federation`, or undefined. */
  node(federation: string, level: number, idx: bigint): Uint8Array | undefined {
    const row = this.st.getNode.get(this.readKey(federation), level, idx) as { hash: Buffer } | undefined;
    return row && bytes(row.hash);
  }

  insertNodes(
    federation: string,
    nodes: readonly { level: number; index: bigint; hash: Uint8Array }[],
  ): void {
    const fid = this.federationKey(federation);
    for (const n of nodes) this.st.insertNode.run(fid, n.level, n.index, n.hash);
  }

  insertBatch(federation: string, b: BatchRecord): void {
    this.st.insertBatch.run(
      this.federationKey(federation),
      b.batchNo,
      b.startSeq,
      b.endSeq,
      b.root,
      b.sealedAt,
    );
  }

  lastBatch(federation: string): BatchRecord | undefined {
    const row = this.st.lastBatch.get(this.readKey(federation)) as BatchRow | undefined;
    return row && toBatch(row);
  }

  batches(federation: string): BatchRecord[] {
    return (this.st.batches.all(this.readKey(federation)) as BatchRow[]).map(toBatch);
  }

  insertCheckpoint(federation: string, c: Omit<CheckpointRecord, "createdAt">, createdAt = Date.now()): void {
    this.st.insertCheckpoint.run(this.federationKey(federation), c.round, c.size, c.root, createdAt);
  }

  checkpoints(federation: string): CheckpointRecord[] {
    return (this.st.checkpoints.all(this.readKey(federation)) as CheckpointRow[]).map((r) => ({
      round: r.round,
      size: r.size,
      root: bytes(r.root),
      createdAt: Number(r.created_at),
    }));
  }

  /** Row counts per table: used to show that a refused input changed nothing. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const t of [
      "federations",
      "events",
      "event_payloads",
      "erasures",
      "tree_nodes",
      "batches",
      "checkpoints",
    ]) {
      out[t] = (this.db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
    }
    return out;
  }

  /** Throws a conflict AmpError unless the archive file is open (helps callers after close()). */
  requireOpen(): void {
    if (!this.db.open) throw new AmpError(`archive ${this.path} is closed`, { kind: "conflict" });
  }
}

interface ErasureRow {
  event_id: string;
  erased_at: bigint;
  reason: string;
  erased_by: string;
  commitment: ErasureCommitment;
}

interface EventRow {
  federation: string;
  seq: bigint;
  event_id: string;
  canonical: Buffer;
  leaf_hash: Buffer;
  ingested_at: bigint;
  payload: Buffer | null;
  salt: Buffer | null;
  erased: bigint;
}

function toStoredEvent(r: EventRow): StoredEvent {
  return {
    federation: r.federation,
    seq: r.seq,
    eventId: r.event_id,
    canonical: bytes(r.canonical),
    leafHash: bytes(r.leaf_hash),
    ingestedAt: Number(r.ingested_at),
    payload: r.payload === null ? null : bytes(r.payload),
    salt: r.salt === null ? null : bytes(r.salt),
    erased: r.erased !== 0n,
  };
}

interface BatchRow {
  batch_no: bigint;
  start_seq: bigint;
  end_seq: bigint;
  root: Buffer;
  sealed_at: bigint;
}

function toBatch(r: BatchRow): BatchRecord {
  return {
    batchNo: r.batch_no,
    startSeq: r.start_seq,
    endSeq: r.end_seq,
    root: bytes(r.root),
    sealedAt: Number(r.sealed_at),
  };
}

interface CheckpointRow {
  round: bigint;
  size: bigint;
  root: Buffer;
  created_at: bigint;
}
