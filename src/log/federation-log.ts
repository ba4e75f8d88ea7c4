/**
 * FederationLog: the append-only RFC 9162 Merkle log of one federation (origin).
 *
 * In memory it keeps only the compact range of [0, size): the perfect subtrees ("peaks") of the
 * binary decomposition of size, largest first. Appending a leaf merges equal-level peaks, so a batch
 * of b leaves costs O(b + log n) hashes. Every completed node goes to the LogStore, from which any
 * past root and any inclusion or consistency proof is served in O(log² n) work, never a rebuild.
 */
import { AmpError, InvalidInputError } from "../util/errors";
import { EMPTY_ROOT, hashChildren, requireHash } from "../merkle/hash";
import { consistencyProofFrom, inclusionProofFrom } from "../merkle/build";
import { requireTreeSize, splitPoint } from "../merkle/size";
import { MemoryLogStore, type AppendUpdate, type LogStore, type TreeNode } from "./store";

/** A log's signed-over state: C2SP tlog-checkpoint (origin, size, root). */
export interface Checkpoint {
  readonly origin: string;
  readonly size: bigint;
  readonly root: Uint8Array;
}

/** A computed but not yet applied append (see `prepareAppend`). */
export interface AppendPlan extends AppendUpdate {
  readonly peaks: readonly Peak[];
}

interface Peak {
  readonly level: number;
  readonly hash: Uint8Array;
}

const ORIGIN_RE = /^[\x21-\x7e]{1,255}$/;

/** Throws InvalidInputError unless `origin` is 1..255 printable ASCII characters without spaces. */
export function requireOrigin(origin: unknown): string {
  if (typeof origin !== "string" || !ORIGIN_RE.test(origin)) {
    throw new InvalidInputError("log origin must be 1..255 printable ASCII characters without spaces", {
      meta: { origin },
    });
  }
  return origin;
}

/** log2 of a power of two. */
function levelOf(powerOfTwo: bigint): number {
  return powerOfTwo.toString(2).length - 1;
}

function isPowerOfTwo(x: bigint): boolean {
  return x > 0n && (x & (x - 1n)) === 0n;
}

function foldPeaks(peaks: readonly Peak[]): Uint8Array {
  if (peaks.length === 0) return EMPTY_ROOT;
  let root = peaks[peaks.length - 1]!.hash;
  for (let i = peaks.length - 2; i >= 0; i--) root = hashChildren(peaks[i]!.hash, root);
  return root;
}

export class FederationLog {
  readonly origin: string;
  readonly store: LogStore;
  private treeSize: bigint;
  private peaks: readonly Peak[];

  /** Opens the log held by `store` (empty by default), recovering its compact range in O(log n). */
  constructor(origin: string, store: LogStore = new MemoryLogStore()) {
    this.origin = requireOrigin(origin);
    this.store = store;
    this.treeSize = store.size();
    this.peaks = this.loadPeaks(this.treeSize);
  }

  get size(): bigint {
    return this.treeSize;
  }

  /** Root of the current tree (SHA-256("") when empty). O(log n) hashes, no store reads. */
  root(): Uint8Array {
    return foldPeaks(this.peaks);
  }

  checkpoint(): Checkpoint {
    return { origin: this.origin, size: this.treeSize, root: this.root() };
  }

  /** Computes an append of `leafHashes` without changing the log or the store. */
  prepareAppend(leafHashes: readonly Uint8Array[]): AppendPlan {
    const peaks: Peak[] = [...this.peaks];
    const nodes: TreeNode[] = [];
    let size = this.treeSize;
    for (let i = 0; i < leafHashes.length; i++) {
      let hash = requireHash(leafHashes[i], `leafHashes[${i}]`);
      let level = 0;
      let index = size;
      while (peaks.length > 0 && peaks[peaks.length - 1]!.level === level) {
        hash = hashChildren(peaks.pop()!.hash, hash);
        level++;
        index /= 2n;
        nodes.push({ level, index, hash });
      }
      peaks.push({ level, hash });
      size++;
    }
    const leaves = [...leafHashes];
    return { oldSize: this.treeSize, newSize: size, leaves, nodes, root: foldPeaks(peaks), peaks };
  }

  /** Makes a plan written to the store the log's state. Refuses a plan not prepared from this state. */
  applyAppend(plan: AppendPlan): Checkpoint {
    if (plan.oldSize !== this.treeSize) {
      throw new AmpError(`append plan starts at size ${plan.oldSize}, log is at ${this.treeSize}`, {
        kind: "conflict",
      });
    }
    this.treeSize = plan.newSize;
    this.peaks = plan.peaks;
    return { origin: this.origin, size: plan.newSize, root: plan.root };
  }

  /** Appends leaf hashes: prepare, write to the store atomically, then apply. Returns the checkpoint. */
  append(leafHashes: readonly Uint8Array[]): Checkpoint {
    const plan = this.prepareAppend(leafHashes);
    this.store.writeAppend(plan);
    return this.applyAppend(plan);
  }

  /** Re-reads size and compact range from the store (after a rolled-back outer transaction). */
  reload(): void {
    this.treeSize = this.store.size();
    this.peaks = this.loadPeaks(this.treeSize);
  }

  /** Hash of leaf `index` (< size). */
  leafHash(index: number | bigint): Uint8Array {
    const i = requireTreeSize(index, "leaf index");
    if (i >= this.treeSize)
      throw new InvalidInputError(`leaf index ${i} is not below log size ${this.treeSize}`);
    return this.node(0, i);
  }

  /** Root of the tree of the first `treeSize` leaves (≤ size), from stored nodes. */
  rootAt(treeSize: number | bigint): Uint8Array {
    const n = this.requireSize(treeSize, "tree size");
    return n === 0n ? EMPTY_ROOT : this.subtreeRoot(0n, n);
  }

  /** RFC 9162 inclusion proof of leaf `index` in the tree of `treeSize` leaves (default: current). */
  inclusionProof(index: number | bigint, treeSize: number | bigint = this.treeSize): Uint8Array[] {
    const n = this.requireSize(treeSize, "tree size");
    return inclusionProofFrom(index, n, (s, e) => this.subtreeRoot(s, e));
  }

  /** RFC 9162 consistency proof from `oldSize` to `newSize` (default: current), 0 < old ≤ new ≤ size. */
  consistencyProof(oldSize: number | bigint, newSize: number | bigint = this.treeSize): Uint8Array[] {
    const n = this.requireSize(newSize, "new tree size");
    return consistencyProofFrom(oldSize, n, (s, e) => this.subtreeRoot(s, e));
  }

  private requireSize(value: number | bigint, what: string): bigint {
    const n = requireTreeSize(value, what);
    if (n > this.treeSize) throw new InvalidInputError(`${what} ${n} exceeds log size ${this.treeSize}`);
    return n;
  }

  /** MTH(D[start:end]) for a range that is a node of some tree: perfect aligned pieces from the store. */
  private subtreeRoot(start: bigint, end: bigint): Uint8Array {
    const len = end - start;
    if (isPowerOfTwo(len) && start % len === 0n) {
      const level = levelOf(len);
      return this.node(level, start / len);
    }
    const k = splitPoint(len);
    return hashChildren(this.subtreeRoot(start, start + k), this.subtreeRoot(start + k, end));
  }

  private node(level: number, index: bigint): Uint8Array {
    const h = this.store.getNode(level, index);
    if (h === undefined) {
      throw new AmpError(`log store of ${this.origin} is missing node (${level}, ${index})`, {
        kind: "bug",
        meta: { origin: this.origin, level, index },
      });
    }
    return h;
  }

  private loadPeaks(size: bigint): Peak[] {
    const peaks: Peak[] = [];
    let start = 0n;
    for (let level = size.toString(2).length - 1; level >= 0 && size > 0n; level--) {
      const width = 1n << BigInt(level);
      if ((size & width) === 0n) continue;
      peaks.push({ level, hash: this.node(level, start / width) });
      start += width;
    }
    return peaks;
  }
}
