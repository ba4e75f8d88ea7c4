/**
 * The federation benchmark's figures from what the nodes measured themselves (`GET /v1/stats`):
 * event→final and event→anchored per load chunk, bytes between federations per ordered pair of
 * federations, and each round stage's P50/P95 (where a round's time goes).
 */
import type { AnchoredRecordTiming, FinalRecord } from "../../src/node/timings";
import type { PeerWire } from "../../src/node/node";

export interface NodeStats {
  nodeId: string;
  federation: string;
  wire: PeerWire[];
  final: FinalRecord[];
  anchored: AnchoredRecordTiming[];
}

/** One load chunk: `need` = events of `fed` acknowledged up to and including it. */
export interface Chunk {
  readonly fed: string;
  readonly need: number;
  readonly sentAt: number;
}

export function pct(xs: readonly number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!);
}

export function dist(xs: readonly number[]): { p50: number | null; p95: number | null; p99: number | null } {
  return { p50: pct(xs, 50), p95: pct(xs, 95), p99: pct(xs, 99) };
}

/**
 * For each chunk, the first time a record covers it: `at(r)` when `size(r, fed)` ≥ need. Records
 * are taken in time order; a chunk never covered is counted in `missing`.
 */
function cover<R>(
  chunks: readonly Chunk[],
  records: readonly R[],
  at: (r: R) => number,
  size: (r: R, fed: string) => number | undefined,
): { latencies: number[]; missing: number } {
  const sorted = [...records].sort((a, b) => at(a) - at(b));
  const latencies: number[] = [];
  let missing = 0;
  for (const c of chunks) {
    const r = sorted.find((x) => (size(x, c.fed) ?? -1) >= c.need);
    if (r === undefined) missing++;
    else latencies.push(Math.max(0, at(r) - c.sentAt));
  }
  return { latencies, missing };
}

export function latencies(chunks: readonly Chunk[], stats: readonly NodeStats[]) {
  const finals = stats.flatMap((s) => s.final);
  const anchored = stats.flatMap((s) => s.anchored);
  const f = cover(
    chunks,
    finals,
    (r) => r.finalAt,
    (r, fed) => (r.federation === fed ? Number(r.treeSize) : undefined),
  );
  const a = cover(
    chunks,
    anchored,
    (r) => r.anchoredAt,
    (r, fed) => (r.sizes[fed] === undefined ? undefined : Number(r.sizes[fed])),
  );
  return {
    eventToFinalMs: { ...dist(f.latencies), notFinalChunks: f.missing },
    eventToAnchoredMs: { ...dist(a.latencies), notAnchoredChunks: a.missing },
    rounds: {
      anchored: new Set(anchored.map((r) => r.round)).size,
      eventsPerRound: dist(anchored.map((r) => r.entries)),
    },
  };
}

/** Bytes on the wire between federations, per ordered pair "A→B" (A's nodes sent the requests). */
export function bytesBetweenFederations(stats: readonly NodeStats[]) {
  const pairs: Record<string, { requests: number; sentBytes: number; receivedBytes: number }> = {};
  const byRoute: Record<string, { requests: number; bytes: number }> = {};
  let total = 0;
  let withinFederations = 0;
  for (const s of stats) {
    for (const w of s.wire) {
      if (w.federation === s.federation) {
        withinFederations += w.sentBytes + w.receivedBytes;
        continue;
      }
      const k = `${s.federation}→${w.federation}`;
      const p = (pairs[k] ??= { requests: 0, sentBytes: 0, receivedBytes: 0 });
      p.requests += w.requests;
      p.sentBytes += w.sentBytes;
      p.receivedBytes += w.receivedBytes;
      total += w.sentBytes + w.receivedBytes;
      for (const [route, c] of Object.entries(w.routes)) {
        const r = (byRoute[route] ??= { requests: 0, bytes: 0 });
        r.requests += c.requests;
        r.bytes += c.sentBytes + c.receivedBytes;
      }
    }
  }
  const routes = Object.fromEntries(Object.entries(byRoute).sort((a, b) => b[1].bytes - a[1].bytes));
  return { totalBytes: total, pairs, byRoute: routes, withinFederationsBytes: withinFederations };
}

/** P50/P95 of each stage, over the coordinators' final rounds and the relays' anchored rounds. */
export function stages(stats: readonly NodeStats[]) {
  const summarise = (recs: readonly { stagesMs: Readonly<Record<string, number>> }[]) => {
    const names = [...new Set(recs.flatMap((r) => Object.keys(r.stagesMs)))];
    return Object.fromEntries(
      names.map((n) => {
        const xs = recs.map((r) => r.stagesMs[n]).filter((x): x is number => x !== undefined);
        return [n, { p50: pct(xs, 50), p95: pct(xs, 95) }];
      }),
    );
  };
  const anchored = stats.flatMap((s) => s.anchored);
  return {
    coordinatorMs: summarise(stats.flatMap((s) => s.final)),
    relayMs: summarise(anchored),
    roundTotalMs: dist(anchored.map((r) => r.anchoredAt - r.startedAt)),
    // From round R's anchor receipt (at its relay) to the tick that drove R+1 starting (its proposer).
    betweenRoundsMs: dist(gaps(anchored)),
  };
}

function gaps(anchored: readonly { round: string; startedAt: number; anchoredAt: number }[]): number[] {
  const byRound = new Map(anchored.map((r) => [BigInt(r.round), r]));
  const out: number[] = [];
  for (const [round, r] of byRound) {
    const next = byRound.get(round + 1n);
    if (next) out.push(next.startedAt - r.anchoredAt);
  }
  return out;
}
