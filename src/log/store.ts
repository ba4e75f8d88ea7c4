/**
 * Where a federation log keeps its hashes. A store holds, for a log of `size()` leaves, every leaf
 * hash (level 0) and the hash of every complete perfect subtree ("node") at level L ≥ 1, keyed by
 * (level, index): node (L, i) covers leaves [i·2^L, (i+1)·2^L). That is enough to answer any
 * inclusion or consistency proof, and any past root, in O(log n) lookups.
 */
import { AmpError } from "../util/errors";
import { HASH_SIZE } from "../merkle/hash";

/** A complete perfect subtree hash: level L ≥ 0 (0 = a leaf), index i. */
export interface TreeNode {
  readonly level: number;
  readonly index: bigint;
  readonly hash: Uint8Array;
}

/** What one append adds to a log: written atomically by `LogStore.writeAppend`. */
export interface AppendUpdate {
  readonly oldSize: bigint;
  readonly newSize: bigint;
  /** Leaf hashes for indices oldSize .. newSize-1, in order. */
  readonly leaves: readonly Uint8Array[];
  /** Newly completed nodes at level ≥ 1, in the order they completed (ascending index per level). */
  readonly nodes: readonly TreeNode[];
  /** Root of the tree of newSize leaves. */
  readonly root: Uint8Array;
}

export interface LogStore {
  /** Number of leaves whose hashes (and completed nodes) are stored. */
  size(): bigint;
  /** Hash of node (level, index), or undefined if that subtree is not complete in the stored tree. */
  getNode(level: number, index: bigint): Uint8Array | undefined;
  /** Persist an append atomically (all of it or nothing). MUST refuse `oldSize !== size()`. */
  writeAppend(update: AppendUpdate): void;
}

const CHUNK_HASHES = 4096;

/** A growable column of 32-byte hashes packed in fixed-size chunks (≈ 32 bytes per hash). */
class HashColumn {
  private readonly chunks: Uint8Array[] = [];
  length = 0;

  push(hash: Uint8Array): void {
    const slot = this.length % CHUNK_HASHES;
    if (slot === 0) this.chunks.push(new Uint8Array(CHUNK_HASHES * HASH_SIZE));
    this.chunks[this.chunks.length - 1]!.set(hash, slot * HASH_SIZE);
    this.length++;
  }

  get(i: number): Uint8Array | undefined {
    if (i >= this.length) return undefined;
    const chunk = this.chunks[Math.floor(i / CHUNK_HASHES)]!;
    const off = (i % CHUNK_HASHES) * HASH_SIZE;
    return chunk.slice(off, off + HASH_SIZE);
  }
}

/**
 * In-memory LogStore (validators' working copies, tests). Indices are held as exact JS numbers, so a
 * memory store is limited to 2^53 - 1 leaves — far beyond what fits in memory.
 */
export class MemoryLogStore implements LogStore {
  private readonly levels: HashColumn[] = [];
  private leafCount = 0n;

  size(): bigint {
    return this.leafCount;
  }

  getNode(level: number, index: bigint): Uint8Array | undefined {
    if (index < 0n || index > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
    return this.levels[level]?.get(Number(index));
  }

  writeAppend(update: AppendUpdate): void {
    if (update.oldSize !== this.leafCount) {
      throw new AmpError(`log store is at size ${this.leafCount}, append expected ${update.oldSize}`, {
        kind: "conflict",
      });
    }
    if (update.newSize - update.oldSize !== BigInt(update.leaves.length)) {
      throw new AmpError("append update: leaf count does not match the size change", { kind: "bug" });
    }
    this.checkNodeOrder(update.nodes);
    for (const leaf of update.leaves) this.column(0).push(leaf);
    for (const n of update.nodes) this.column(n.level).push(n.hash);
    this.leafCount = update.newSize;
  }

  private column(level: number): HashColumn {
    while (this.levels.length <= level) this.levels.push(new HashColumn());
    return this.levels[level]!;
  }

  /** Every node must land exactly at the next free slot of its level (checked before any write). */
  private checkNodeOrder(nodes: readonly TreeNode[]): void {
    const next = new Map<number, number>();
    for (const n of nodes) {
      const expected = next.get(n.level) ?? this.levels[n.level]?.length ?? 0;
      if (n.level < 1 || BigInt(expected) !== n.index) {
        throw new AmpError(`append update: node (${n.level}, ${n.index}) out of order`, { kind: "bug" });
      }
      next.set(n.level, expected + 1);
    }
  }
}
