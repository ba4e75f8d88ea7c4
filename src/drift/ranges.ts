/**
 * Locating divergent leaves by comparing subtree hashes over ranges of the round's batch
 * (RFC 9162 MTH of the leaf hashes in [from, to)), never by fetching the events: the diverging
 * node is asked for the hashes of the subtrees (of the batch's Merkle tree) of every differing
 * range, three levels at a time, down to single leaves. Cost: O(d · log n) hashes exchanged for d
 * divergent leaves, O(n) hashing on each side.
 */
import { AmpError } from "../util/errors";
import { bytesEqual, leafHash, nodeHash } from "../merkle";

export interface LeafRange {
  /** First leaf index in the batch (inclusive). */
  readonly from: number;
  /** End index (exclusive); `to > from`. */
  readonly to: number;
}

/**
 * What the monitor may ask a node about the entries behind its vote for a round. In process
 * `InProcessDriftProbe` answers from the node; over HTTP a node serves the same two calls.
 */
export interface DriftProbe {
  /** MTH over each range of the leaves behind `nodeId`'s vote for `round`. */
  rangeHashes(
    nodeId: string,
    origin: string,
    round: bigint,
    ranges: readonly LeafRange[],
  ): Promise<Uint8Array[]>;
  /** The entry bytes behind the vote at these batch indices (asked only for divergent leaves). */
  entriesAt(nodeId: string, origin: string, round: bigint, indices: readonly number[]): Promise<Uint8Array[]>;
}

/** Levels of the batch's Merkle tree asked per round trip (up to 2^3 = 8 ranges per differing range). */
export const LEVELS_PER_CALL = 3;
/** Most ranges asked in one call. */
export const MAX_RANGES_PER_CALL = 4096;

/** RFC 9162 split: the largest power of two smaller than n (n ≥ 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * MTH over ranges of a fixed list of leaf hashes, memoised: MTH(D[a:b]) = H(0x01 ‖ MTH(D[a:a+k]) ‖
 * MTH(D[a+k:b])), k the largest power of two < b − a. Ranges taken as subtrees of the batch's tree
 * share their hashes, so a whole bisection costs O(n) hashes.
 */
export class RangeHasher {
  private readonly memo = new Map<number, Uint8Array>();
  constructor(readonly leaves: readonly Uint8Array[]) {}

  hash(from: number, to: number): Uint8Array {
    if (to - from === 1) return this.leaves[from]!;
    const key = from * 0x100000 + to; // batches are far below 2^20 leaves
    let h = this.memo.get(key);
    if (!h) {
      const k = from + split(to - from);
      h = nodeHash(this.hash(from, k), this.hash(k, to));
      this.memo.set(key, h);
    }
    return h;
  }
}

/** The node side: MTH over each range of `leaves` (leaf hashes). Throws on a range out of bounds. */
export function hashRanges(
  leaves: readonly Uint8Array[] | RangeHasher,
  ranges: readonly LeafRange[],
): Uint8Array[] {
  const hasher = leaves instanceof RangeHasher ? leaves : new RangeHasher(leaves);
  const n = hasher.leaves.length;
  if (ranges.length > MAX_RANGES_PER_CALL) {
    throw new AmpError(`at most ${MAX_RANGES_PER_CALL} ranges per call`, { kind: "invalid-input" });
  }
  return ranges.map((r) => {
    if (!Number.isSafeInteger(r.from) || !Number.isSafeInteger(r.to) || r.from < 0 || r.to <= r.from) {
      throw new AmpError(`bad range [${r.from}, ${r.to})`, { kind: "invalid-input" });
    }
    if (r.to > n) {
      throw new AmpError(`range [${r.from}, ${r.to}) is beyond the ${n} leaves`, { kind: "invalid-input" });
    }
    return hasher.hash(r.from, r.to);
  });
}

export function leafHashes(entries: readonly Uint8Array[]): Uint8Array[] {
  return entries.map((e) => leafHash(e));
}

/** The subtrees of `r`, LEVELS_PER_CALL levels down (single leaves stop early). */
function descend(r: LeafRange, levels = LEVELS_PER_CALL): LeafRange[] {
  if (levels === 0 || r.to - r.from === 1) return [r];
  const k = r.from + split(r.to - r.from);
  return [...descend({ from: r.from, to: k }, levels - 1), ...descend({ from: k, to: r.to }, levels - 1)];
}

export interface Divergence {
  /** Batch indices (ascending) whose leaves differ, over the first `compared` leaves. */
  readonly indices: number[];
  readonly compared: number;
  /** Ranges asked of the node. */
  readonly rangesAsked: number;
}

/**
 * Compare the node's leaves [0, compared) with `local` (the majority's leaf hashes) range by range.
 * `compared` is the number of leaves both sides hold.
 */
export async function locateDivergence(
  probe: DriftProbe,
  nodeId: string,
  origin: string,
  round: bigint,
  local: readonly Uint8Array[],
  compared: number,
): Promise<Divergence> {
  const indices: number[] = [];
  const ours = new RangeHasher(local);
  let rangesAsked = 0;
  // The whole batch first (one hash), then LEVELS_PER_CALL levels of subtrees of each differing range.
  let level: LeafRange[] = compared > 0 ? [{ from: 0, to: compared }] : [];
  while (level.length > 0) {
    const theirs: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += MAX_RANGES_PER_CALL) {
      const chunk = level.slice(i, i + MAX_RANGES_PER_CALL);
      const got = await probe.rangeHashes(nodeId, origin, round, chunk);
      if (got.length !== chunk.length) {
        throw new AmpError(`node ${nodeId} answered ${got.length} hashes for ${chunk.length} ranges`, {
          kind: "invalid-input",
        });
      }
      theirs.push(...got);
    }
    rangesAsked += level.length;
    const next: LeafRange[] = [];
    level.forEach((r, i) => {
      if (bytesEqual(ours.hash(r.from, r.to), theirs[i]!)) return;
      if (r.to - r.from === 1) indices.push(r.from);
      else next.push(...descend(r));
    });
    level = next;
  }
  indices.sort((a, b) => a - b);
  return { indices, compared, rangesAsked };
}
