/**
 * Archive migration 11 (issue 11): the append-only credit tables. Listed in ARCHIVE_MIGRATIONS
 * (src/archive/migrations.ts); kept here, with no import from the archive, to avoid a cycle.
 */
import type { Migration } from "../archive/migrations";

/** Same triggers as the archive's appendOnlyTriggers (refuse UPDATE and DELETE). */
function triggers(table: string): string {
  return ["UPDATE", "DELETE"]
    .map(
      (op) =>
        `CREATE TRIGGER ${table}_no_${op.toLowerCase()} BEFORE ${op} ON ${table}\n` +
        `BEGIN SELECT RAISE(ABORT, 'amp archive: ${table} is append-only (${op} refused)'); END;`,
    )
    .join("\n");
}

export const CREDIT_MIGRATION: Migration = {
  version: 11,
  name: "credit allocations and their on-chain receipts",
  sql: `
CREATE TABLE credit_allocations (
  epoch INTEGER NOT NULL CHECK (epoch >= 0),
  origin TEXT NOT NULL,
  node TEXT NOT NULL,
  allocation_hash TEXT NOT NULL UNIQUE CHECK (length(allocation_hash) = 66),
  prev_allocation_hash TEXT NOT NULL CHECK (length(prev_allocation_hash) = 66),
  record TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (epoch, origin, node)
) WITHOUT ROWID;
CREATE TABLE credit_receipts (
  epoch INTEGER PRIMARY KEY CHECK (epoch >= 0),
  tx_hash TEXT NOT NULL,
  block_number INTEGER NOT NULL,
  recorded_at INTEGER NOT NULL
);
${triggers("credit_allocations")}
${triggers("credit_receipts")}
`,
};
