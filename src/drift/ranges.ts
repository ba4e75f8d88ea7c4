/**
 * Locating divergent leaves by comparing subtree hashes over ranges of the round's batch
 * (RFC 9162 MTH of the leaf hashes in [from, to)), never by fetching the events: the diverging
 * node is asked for the hashes of a few ranges per level, ranges that differ are split, and only
 * single differing leaves are reported. Cost: O(d · log n) hashes exchanged for d divergent leaves.
 */
import { AmpError } from "../util/errors";
import { bytesEqual, leafHash, rootHash } from "../merkle";

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

/** Ranges split per level (a few round trips for a 1,000-leaf batch). */
export const FANOUT = 8;
/** Most ranges asked in one call. */
export const MAX_RANGES_PER_CALL = 4096;

/** The node side: MTH over each range of `leaves` (leaf hashes). Throws on a range out of bounds. */
export function hashRanges(leaves: readonly Uint8Array[], ranges: readonly LeafRange[]): Uint8Array[] {
  if (ranges.length > MAX_RANGES_PER_CALL) {
    throw new AmpError(`at most ${MAX_RANGES_PER_CALL} ranges per call`, { kind: "invalid-input" });
  }
  return ranges.map((r) => {
    if (!Number.isSafeInteger(r.from) || !Number.isSafeInteger(r.to) || r.from < 0 || r.to <= r.from) {
      throw new AmpError(`bad range [${r.from}, ${r.to})`, { kind: "invalid-input" });
    }
    if (r.to > leaves.length) {
      throw new AmpError(`range [${r.from}, ${r.to}) is beyond the ${leaves.length} leaves`, {
        kind: "invalid-input",
      });
    }
    return rootHash(leaves.slice(r.from, r.to));
  });
}

export function leafHashes(entries: readonly Uint8Array[]): Uint8Array[] {
  return entries.map((e) => leafHash(e));
}

function split(r: LeafRange): LeafRange[] {
  const n = r.to - r.from;
  const parts = Math.min(FANOUT, n);
  const out: LeafRange[] = [];
  for (let i = 0; i < parts; i++) {
    const from = r.from + Math.floor((i * n) / parts);
    const to = r.from + Math.floor(((i + 1) * n) / parts);
    if (to > from) out.push({ from, to });
  }
  return out;
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
  let rangesAsked = 0;
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
    const ours = hashRanges(local, level);
    const next: LeafRange[] = [];
    level.forEach((r, i) => {
      if (bytesEqual(ours[i]!, theirs[i]!)) return;
      if (r.to - r.from === 1) indices.push(r.from);
      else next.push(...split(r));
    });
    level = next;
  }
  indices.sort((a, b) => a - b);
  return { indices, compared, rangesAsked };
}
