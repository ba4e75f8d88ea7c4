/**
 * LogStore over the SQLite archive: leaves are the `leaf_hash` column of `events` (written at
 * ingest), interior nodes live in `tree_nodes`, and each append is one `batches` row whose end is
 * the log size. An append is refused unless its leaves are exactly the archived ones.
 */
import { AmpError } from "../util/errors";
import type { AppendUpdate, LogStore } from "../log/store";
import type { Archive } from "./archive";

export class SqliteLogStore implements LogStore {
  readonly archive: Archive;
  readonly federation: string;

  constructor(archive: Archive, federation: string) {
    this.archive = archive;
    this.federation = federation;
  }

  /** The log size is the end of the last sealed batch (ingested events beyond it are pending). */
  size(): bigint {
    return this.archive.lastBatch(this.federation)?.endSeq ?? 0n;
  }

  getNode(level: number, index: bigint): Uint8Array | undefined {
    if (level === 0) return this.archive.leafHash(this.federation, index);
    return this.archive.node(this.federation, level, index);
  }

  writeAppend(update: AppendUpdate): void {
    if (update.leaves.length === 0) return;
    this.archive.transaction(() => {
      const last = this.archive.lastBatch(this.federation);
      const size = last?.endSeq ?? 0n;
      if (update.oldSize !== size) {
        throw new AmpError(
          `archived log ${this.federation} is at size ${size}, append expected ${update.oldSize}`,
          {
            kind: "conflict",
          },
        );
      }
      this.checkLeaves(update);
      this.archive.insertNodes(this.federation, update.nodes);
      this.archive.insertBatch(this.federation, {
        batchNo: (last?.batchNo ?? 0n) + 1n,
        startSeq: update.oldSize,
        endSeq: update.newSize,
        root: update.root,
        sealedAt: Date.now(),
      });
    });
  }

  private checkLeaves(update: AppendUpdate): void {
    const stored = this.archive.leafHashes(this.federation, update.oldSize, update.newSize);
    const ok =
      stored.length === update.leaves.length &&
      stored.every((h, i) => Buffer.compare(h, update.leaves[i]!) === 0);
    if (!ok) {
      throw new AmpError(`append to ${this.federation} does not match the archived leaves`, {
        kind: "bug",
        details: `expected ${update.leaves.length} archived leaves from ${update.oldSize}, found ${stored.length} (or different hashes)`,
      });
    }
  }
}
