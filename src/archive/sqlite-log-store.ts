/**
 * LogStore over the SQLite archive: leaves are the `leaf_hash` column of `events` (written at
 * ingest), interior nodes live in `tree_nodes`, and each append is one `batches` row whose end is
 * the log size.
 *
 * Only nodes whose level is a multiple of NODE_STRIDE (4) are stored: about n/15 rows for n leaves
 * instead of n - 1. A node at another level is recomputed from the ≤ 2^3 = 8 stored hashes below it
 * (one range read), so a proof still costs O(log n) reads and no whole-tree work.
 */
import { AmpError } from "../util/errors";
import { hashChildren } from "../merkle/hash";
import type { AppendUpdate, LogStore } from "../log/store";
import type { AppendPlan, FederationLog } from "../log";
import type { Archive } from "./archive";

/** Levels stored in tree_nodes are the multiples of this (level 0 = leaves, in `events`). */
export const NODE_STRIDE = 4;

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
    const below = level % NODE_STRIDE;
    const base = level - below;
    const width = 1n << BigInt(below);
    const from = index * width;
    const hashes =
      base === 0
        ? this.archive.leafHashes(this.federation, from, from + width)
        : this.archive.nodeRange(this.federation, base, from, from + width);
    if (BigInt(hashes.length) !== width) return undefined;
    return fold(hashes);
  }

  /**
   * Writes the stored-level nodes and the batch row; refuses leaves that are not the archived ones.
   * The batch row is numbered `batchNo` when given (the anchored round that sealed it: see
   * {@link appendRound}), else the last number + 1; numbers only grow.
   */
  writeAppend(update: AppendUpdate, batchNo?: bigint): void {
    if (update.leaves.length === 0) return;
    this.archive.transaction(() => {
      const last = this.archive.lastBatch(this.federation);
      const size = last?.endSeq ?? 0n;
      const no = batchNo ?? (last?.batchNo ?? 0n) + 1n;
      if (last && no <= last.batchNo) {
        throw new AmpError(
          `archived log ${this.federation}: batch ${no} is not after the last batch ${last.batchNo}`,
          { kind: "conflict" },
        );
      }
      if (update.oldSize !== size) {
        throw new AmpError(
          `archived log ${this.federation} is at size ${size}, append expected ${update.oldSize}`,
          {
            kind: "conflict",
          },
        );
      }
      this.checkLeaves(update);
      this.archive.insertNodes(
        this.federation,
        update.nodes.filter((n) => n.level % NODE_STRIDE === 0),
      );
      this.archive.insertBatch(this.federation, {
        batchNo: no,
        startSeq: update.oldSize,
        endSeq: update.newSize,
        root: update.root,
        sealedAt: Date.now(),
      });
    });
  }

  /**
   * The first and last appended leaves must equal the archived ones (events are archived with
   * contiguous seqs, so both ends present means all are): a cheap guard against appending anything
   * that is not durably stored.
   */
  private checkLeaves(update: AppendUpdate): void {
    const first = this.archive.leafHash(this.federation, update.oldSize);
    const last = this.archive.leafHash(this.federation, update.newSize - 1n);
    const ok =
      first !== undefined &&
      last !== undefined &&
      Buffer.compare(first, update.leaves[0]!) === 0 &&
      Buffer.compare(last, update.leaves[update.leaves.length - 1]!) === 0;
    if (!ok) {
      throw new AmpError(`append to ${this.federation} does not match the archived leaves`, {
        kind: "bug",
        details: `leaves ${update.oldSize}..${update.newSize - 1n} are not all archived with these hashes`,
      });
    }
  }
}

/**
 * Append `leafHashes` (already archived as events) to an archived log as ONE batch numbered by the
 * anchored `round` that sealed them, so archive batch numbers and anchored round numbers are one
 * number (a round where the federation had no new event leaves no batch row).
 */
export function appendRound(
  log: FederationLog,
  leafHashes: readonly Uint8Array[],
  round: bigint,
  prepared?: AppendPlan,
): void {
  if (leafHashes.length === 0) return;
  if (!(log.store instanceof SqliteLogStore)) {
    throw new AmpError(`appendRound needs a log stored in the archive`, { kind: "bug" });
  }
  // `prepared`: the caller's `log.prepareAppend(leafHashes)`, used only when it starts at the log's
  // size and has these leaves (applyAppend refuses any other start as well).
  const usable =
    prepared !== undefined &&
    prepared.oldSize === log.size &&
    prepared.leaves.length === leafHashes.length &&
    prepared.leaves.every((h, i) => h === leafHashes[i]);
  const plan = usable ? prepared : log.prepareAppend(leafHashes);
  log.store.writeAppend(plan, round);
  log.applyAppend(plan);
}

/** Folds 2^k hashes (k ≥ 0) into the root of their perfect subtree. */
function fold(hashes: Uint8Array[]): Uint8Array {
  let level = hashes;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(hashChildren(level[i]!, level[i + 1]!));
    level = next;
  }
  return level[0]!;
}
