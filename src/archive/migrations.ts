/**
 * Versioned schema migrations for the SQLite archive.
 *
 * The database records every applied version in `schema_migrations` (version, name, checksum).
 * On open, the archive applies, in ascending order and each in its own transaction, every migration
 * whose version is not recorded yet. A recorded migration whose checksum no longer matches its SQL is
 * refused: applied migrations are never edited, a change is a new migration.
 *
 * To add one (any component): append `{ version: <last + 1>, name, sql }` to `ARCHIVE_MIGRATIONS`
 * below, or pass extra migrations to `openArchive({ migrations })` — versions must stay strictly
 * ascending across the whole list. New proof-bearing tables MUST get append-only triggers
 * (`appendOnlyTriggers(table)`).
 */
import { createHash } from "node:crypto";
import type Database from "better-sqlite3";
import { AmpError, InvalidInputError } from "../util/errors";
import { CREDIT_MIGRATION } from "../credits/migration";

export interface Migration {
  /** Strictly ascending positive integer. */
  readonly version: number;
  /** Short description, recorded in `schema_migrations`. */
  readonly name: string;
  /** SQL run in one transaction (may hold several statements). */
  readonly sql: string;
}

/** SQL for triggers that refuse UPDATE and DELETE on `table` with `RAISE(ABORT, ...)`. */
export function appendOnlyTriggers(table: string): string {
  return ["UPDATE", "DELETE"]
    .map(
      (op) =>
        `CREATE TRIGGER ${table}_no_${op.toLowerCase()} BEFORE ${op} ON ${table}\n` +
        `BEGIN SELECT RAISE(ABORT, 'amp archive: ${table} is append-only (${op} refused)'); END;`,
    )
    .join("\n");
}

const PROOF_BEARING = [
  "federations",
  "events",
  "tree_nodes",
  "batches",
  "checkpoints",
  "erasures",
  "schema_migrations",
];

const V1_SQL = `
CREATE TABLE federations (
  fid INTEGER PRIMARY KEY,
  origin TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
);
CREATE TABLE events (
  fid INTEGER NOT NULL,
  seq INTEGER NOT NULL CHECK (seq >= 0),
  event_id TEXT NOT NULL UNIQUE,
  canonical BLOB NOT NULL,
  leaf_hash BLOB NOT NULL CHECK (length(leaf_hash) = 32),
  ingested_at INTEGER NOT NULL,
  PRIMARY KEY (fid, seq)
) WITHOUT ROWID;
CREATE TABLE event_payloads (
  event_id TEXT PRIMARY KEY,
  payload BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE erasures (
  event_id TEXT PRIMARY KEY,
  erased_at INTEGER NOT NULL,
  reason TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE tree_nodes (
  fid INTEGER NOT NULL,
  level INTEGER NOT NULL CHECK (level >= 1),
  idx INTEGER NOT NULL CHECK (idx >= 0),
  hash BLOB NOT NULL CHECK (length(hash) = 32),
  PRIMARY KEY (fid, level, idx)
) WITHOUT ROWID;
CREATE TABLE batches (
  fid INTEGER NOT NULL,
  batch_no INTEGER NOT NULL CHECK (batch_no >= 1),
  start_seq INTEGER NOT NULL,
  end_seq INTEGER NOT NULL CHECK (end_seq > start_seq),
  root BLOB NOT NULL CHECK (length(root) = 32),
  sealed_at INTEGER NOT NULL,
  PRIMARY KEY (fid, batch_no)
) WITHOUT ROWID;
CREATE TABLE checkpoints (
  fid INTEGER NOT NULL,
  round INTEGER NOT NULL CHECK (round >= 1),
  size INTEGER NOT NULL CHECK (size >= 0),
  root BLOB NOT NULL CHECK (length(root) = 32),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (fid, round)
) WITHOUT ROWID;
${PROOF_BEARING.map(appendOnlyTriggers).join("\n")}
`;

/**
 * v2, salted erasure: the secret salt of an event's `payload_commitment` lives in its
 * `event_payloads` row and is deleted with the payload. Rows from before v2 have no salt (their
 * leaf holds the unsalted `payload_digest`, which cannot be rewritten without changing every root;
 * erasing them is recorded with commitment = 'digest'). The erasure log gains who asked for it.
 */
const V2_SQL = `
ALTER TABLE event_payloads ADD COLUMN salt BLOB CHECK (salt IS NULL OR length(salt) = 32);
ALTER TABLE erasures ADD COLUMN erased_by TEXT NOT NULL DEFAULT '';
ALTER TABLE erasures ADD COLUMN commitment TEXT NOT NULL DEFAULT 'digest'
  CHECK (commitment IN ('salted', 'digest', 'none'));
`;

/** The archive's own migrations. Append new ones at the end; never edit an applied one. */
export const ARCHIVE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "federations, events, payloads, erasures, tree nodes, batches, checkpoints",
    sql: V1_SQL,
  },
  { version: 2, name: "payload salts; erasure log records who and the commitment kind", sql: V2_SQL },
  CREDIT_MIGRATION,
];

function checksum(sql: string): string {
  return createHash("sha256").update(sql, "utf8").digest("hex");
}

function checkOrder(migrations: readonly Migration[]): void {
  let last = 0;
  for (const m of migrations) {
    if (!Number.isSafeInteger(m.version) || m.version <= last) {
      throw new InvalidInputError(`migration versions must be strictly ascending positive integers`, {
        details: `version ${m.version} ("${m.name}") follows version ${last}`,
        meta: { version: m.version, previous: last },
      });
    }
    last = m.version;
  }
}

const BOOTSTRAP = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at INTEGER NOT NULL)`;

/**
 * Apply every migration of `migrations` not yet recorded in `db`. Idempotent: a second call applies
 * nothing. Returns the versions applied by this call.
 */
export function runMigrations(db: Database.Database, migrations: readonly Migration[]): number[] {
  checkOrder(migrations);
  db.exec(BOOTSTRAP);
  const rows = db.prepare("SELECT version, checksum FROM schema_migrations").all() as {
    version: number;
    checksum: string;
  }[];
  const applied = new Map(rows.map((r) => [r.version, r.checksum]));
  const insert = db.prepare(
    "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)",
  );
  const done: number[] = [];
  for (const m of migrations) {
    const sum = checksum(m.sql);
    const recorded = applied.get(m.version);
    if (recorded !== undefined) {
      if (recorded !== sum) {
        throw new AmpError(`archive migration ${m.version} was changed after it was applied`, {
          kind: "conflict",
          details: `"${m.name}": recorded checksum ${recorded}, current ${sum}; add a new migration instead`,
          meta: { version: m.version },
        });
      }
      continue;
    }
    db.transaction(() => {
      db.exec(m.sql);
      insert.run(m.version, m.name, sum, Date.now());
    })();
    done.push(m.version);
  }
  return done;
}
