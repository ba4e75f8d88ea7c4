/**
 * Ranking of nodes from their allocation records, per epoch and over time. Order: credit score
 * (desc), validation accuracy (desc), consensus participation (desc), median vote latency (asc; a
 * node with none sorts after any with one), uptime (desc), rounds missed (expected − voted, asc: at
 * equal zero scores a node that failed its rounds sorts after one that had none to vote in), then
 * node reference (asc) so that the
 * order is total and the same on every machine. Pure integer comparisons on the records' fields.
 */
import { SCORE_DECIMALS, parseFixed, ratioPpm } from "./score";
import type { AllocationRecord } from "./record";

export interface RankedNode {
  readonly rank: number;
  readonly origin: string;
  readonly node: string;
  readonly nodeRef: string;
  /** Epochs summed (1 for a single epoch). */
  readonly epochs: number;
  /** Score·10^4 (summed over the epochs). */
  readonly scoreScaled: bigint;
  readonly score: string;
  readonly accuracyPpm: bigint;
  readonly participationPpm: bigint;
  readonly medianLatencyMs: number | null;
  readonly uptimePpm: bigint;
  /** Rounds expected but not voted (summed). */
  readonly missedRounds: number;
}

interface Totals {
  origin: string;
  node: string;
  nodeRef: string;
  epochs: number;
  score: bigint;
  correct: number;
  denominator: number;
  voted: number;
  expected: number;
  answered: number;
  latencies: number[];
}

function compare(a: RankedNode, b: RankedNode): number {
  const big = (x: bigint, y: bigint) => (x < y ? -1 : x > y ? 1 : 0);
  return (
    big(b.scoreScaled, a.scoreScaled) ||
    big(b.accuracyPpm, a.accuracyPpm) ||
    big(b.participationPpm, a.participationPpm) ||
    (a.medianLatencyMs ?? Infinity) - (b.medianLatencyMs ?? Infinity) ||
    big(b.uptimePpm, a.uptimePpm) ||
    a.missedRounds - b.missedRounds ||
    (a.nodeRef < b.nodeRef ? -1 : a.nodeRef > b.nodeRef ? 1 : 0)
  );
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

/**
 * Ranks the nodes of `records`: one epoch's records give the epoch ranking; records of several
 * epochs give the ranking over time (scores summed, ratios over the summed counts, latency the
 * median of the epochs' medians).
 */
export function rankNodes(records: readonly AllocationRecord[]): RankedNode[] {
  const totals = new Map<string, Totals>();
  for (const r of records) {
    const t = totals.get(r.node_ref) ?? {
      origin: r.origin,
      node: r.node,
      nodeRef: r.node_ref,
      epochs: 0,
      score: 0n,
      correct: 0,
      denominator: 0,
      voted: 0,
      expected: 0,
      answered: 0,
      latencies: [],
    };
    const c = r.counts;
    t.epochs++;
    t.score += parseFixed(r.credit_score, SCORE_DECIMALS, "credit_score");
    t.correct += c.correct_votes;
    t.denominator += c.votes_cast + c.penalties + c.drift_findings;
    t.voted += c.rounds_voted;
    t.expected += c.rounds_expected;
    t.answered += c.rounds_answered;
    if (c.median_latency_ms !== null) t.latencies.push(c.median_latency_ms);
    totals.set(r.node_ref, t);
  }
  const nodes = [...totals.values()].map((t) => ({
    rank: 0,
    origin: t.origin,
    node: t.node,
    nodeRef: t.nodeRef,
    epochs: t.epochs,
    scoreScaled: t.score,
    score: (t.score / 10_000n).toString() + "." + (t.score % 10_000n).toString().padStart(4, "0"),
    accuracyPpm: ratioPpm(BigInt(t.correct), BigInt(t.denominator)),
    participationPpm: ratioPpm(BigInt(t.voted), BigInt(t.expected)),
    medianLatencyMs: median(t.latencies),
    uptimePpm: ratioPpm(BigInt(t.answered), BigInt(t.expected)),
    missedRounds: t.expected - t.voted,
  }));
  return nodes.sort(compare).map((n, i) => ({ ...n, rank: i + 1 }));
}
