/**
 * Allocation records in the node's SQLite archive (append-only tables, migration 11):
 * `credit_allocations` holds every record (canonical JSON) with its hash, one row per
 * (epoch, origin, node); `credit_receipts` marks an epoch whose batch is recorded on-chain.
 * The migration is in ./migration.ts.
 */
import type { Archive } from "../archive";
import { canonicalJson } from "../merkle";
import { AmpError } from "../util/errors";
import { allocationHash, type AllocationRecord } from "./record";

export interface StoredAllocation {
  readonly epoch: bigint;
  readonly origin: string;
  readonly node: string;
  readonly allocationHash: string;
  readonly record: AllocationRecord;
}

export interface EpochReceipt {
  readonly epoch: bigint;
  readonly txHash: string;
  readonly blockNumber: number;
}

interface Row {
  epoch: bigint;
  origin: string;
  node: string;
  allocation_hash: string;
  record: string;
}

function toStored(r: Row): StoredAllocation {
  return {
    epoch: BigInt(r.epoch),
    origin: r.origin,
    node: r.node,
    allocationHash: r.allocation_hash,
    record: JSON.parse(r.record) as AllocationRecord,
  };
}

/** Reads and writes allocations in an archive opened with {@link CREDIT_MIGRATION}. */
export class AllocationStore {
  constructor(private readonly archive: Archive) {
    const has = archive.db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'credit_allocations'")
      .get();
    if (!has) {
      throw new AmpError(`archive ${archive.path} has no credit tables (migration 11 not applied)`, {
        kind: "bug",
      });
    }
  }

  /**
   * All records of an epoch in one transaction; refused if the epoch has any already. (The
   * RoundEngine's scheduler stores before its transaction and marks the receipt after; the node
   * layout stores only what is on-chain, with its receipt: {@link insertRecordedEpoch}.)
   */
  insertEpoch(epoch: bigint, records: readonly AllocationRecord[], at = Date.now()): void {
    const insert = this.archive.db.prepare(
      "INSERT INTO credit_allocations (epoch, origin, node, allocation_hash, prev_allocation_hash, record, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    this.archive.transaction(() => {
      if (this.epoch(epoch).length > 0) {
        throw new AmpError(`credit epoch ${epoch} is allocated already`, { kind: "conflict" });
      }
      for (const r of records) {
        if (r.epoch !== epoch.toString()) throw new AmpError(`record of epoch ${r.epoch} in epoch ${epoch}`);
        insert.run(epoch, r.origin, r.node, allocationHash(r), r.prev_allocation_hash, canonicalJson(r), at);
      }
    });
  }

  /**
   * The records of an epoch already recorded on-chain AND its receipt, in ONE transaction: a crash
   * can never leave the records without their receipt (a node would count the epoch as its own
   * but could not serve it to the others).
   */
  insertRecordedEpoch(
    epoch: bigint,
    records: readonly AllocationRecord[],
    r: EpochReceipt,
    at = Date.now(),
  ): void {
    if (r.epoch !== epoch)
      throw new AmpError(`receipt of epoch ${r.epoch} for epoch ${epoch}`, { kind: "bug" });
    this.archive.transaction(() => {
      this.insertEpoch(epoch, records, at);
      this.markRecorded(r, at);
    });
  }

  /** Epochs with records but no receipt row, ascending (node layout: left by a crash of an older version). */
  epochsWithoutReceipt(): bigint[] {
    const rows = this.archive.db
      .prepare(
        "SELECT DISTINCT epoch FROM credit_allocations WHERE epoch NOT IN (SELECT epoch FROM credit_receipts) ORDER BY epoch",
      )
      .all() as { epoch: bigint | number }[];
    return rows.map((r) => BigInt(r.epoch));
  }

  epoch(epoch: bigint): StoredAllocation[] {
    const rows = this.archive.db
      .prepare(
        "SELECT epoch, origin, node, allocation_hash, record FROM credit_allocations WHERE epoch = ? ORDER BY origin, node",
      )
      .all(epoch) as Row[];
    return rows.map(toStored);
  }

  all(): StoredAllocation[] {
    const rows = this.archive.db
      .prepare(
        "SELECT epoch, origin, node, allocation_hash, record FROM credit_allocations ORDER BY epoch, origin, node",
      )
      .all() as Row[];
    return rows.map(toStored);
  }

  /** The node's last allocation hash (zero hash when it has none). */
  lastHash(origin: string, node: string): string | undefined {
    const row = this.archive.db
      .prepare(
        "SELECT allocation_hash FROM credit_allocations WHERE origin = ? AND node = ? ORDER BY epoch DESC LIMIT 1",
      )
      .get(origin, node) as { allocation_hash: string } | undefined;
    return row?.allocation_hash;
  }

  lastEpoch(): bigint | undefined {
    const row = this.archive.db.prepare("SELECT max(epoch) AS e FROM credit_allocations").get() as {
      e: bigint | number | null;
    };
    return row.e === null ? undefined : BigInt(row.e);
  }

  markRecorded(r: EpochReceipt, at = Date.now()): void {
    this.archive.db
      .prepare("INSERT INTO credit_receipts (epoch, tx_hash, block_number, recorded_at) VALUES (?, ?, ?, ?)")
      .run(r.epoch, r.txHash, r.blockNumber, at);
  }

  receipt(epoch: bigint): EpochReceipt | undefined {
    const row = this.archive.db
      .prepare("SELECT epoch, tx_hash, block_number FROM credit_receipts WHERE epoch = ?")
      .get(epoch) as { epoch: bigint; tx_hash: string; block_number: bigint | number } | undefined;
    return row
      ? { epoch: BigInt(row.epoch), txHash: row.tx_hash, blockNumber: Number(row.block_number) }
      : undefined;
  }
}
