/**
 * Clock skew (PROTOCOL §6): each vote carries the node's signed wall clock. Per round, each node's
 * estimate is `wallClockMs − midpoint(coordinator's send, receive time)` (NTP-style; error at
 * most half the round trip); its offset is the estimate minus the federation's median estimate.
 * Past the tolerance by more than the error of both (the node's and the median's, at most the
 * largest of the round): a `clock_skew` finding (a loaded machine's slow
 * answers are not taken for a skewed clock). Stamps that do not verify against the node's registered address are
 * ignored (and reported as `invalid`).
 */
import { verifyClockStamp } from "../consensus/clock-stamp";
import type { VoteCollection } from "../consensus/observer";
import { recommendedActions } from "./actions";
import { clockSeverity } from "./severity";
import type { DriftConfig, Finding } from "./types";

export interface ClockSample {
  readonly federation: string;
  readonly round: bigint;
  readonly node: string;
  readonly wallClockMs: number;
  readonly receivedAtMs: number;
  /** Offset from the federation's median, in ms. */
  readonly offsetMs: number;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Cheap pre-check (no signature checks): would any node's offset, from the stamps as received, be
 * past the tolerance? Only then are the stamps verified before the round finalises.
 */
/**
 * The stamp was taken between sending the request and receiving the answer: the estimate is the
 * stamp minus the midpoint, its error at most half the round trip (NTP's bound). Without the
 * send time (older coordinators) the receive time is the reference and the bound is 0.
 */
function estimate(
  wall: number,
  p: { receivedAtMs: number; askedAtMs?: number },
): { est: number; err: number } {
  const asked = p.askedAtMs !== undefined && p.askedAtMs <= p.receivedAtMs ? p.askedAtMs : p.receivedAtMs;
  return { est: wall - (asked + p.receivedAtMs) / 2, err: (p.receivedAtMs - asked) / 2 };
}

/** Past the tolerance even when the round trip's error is counted in the node's favour. */
const skewed = (offsetMs: number, errMs: number, tol: number) => Math.abs(offsetMs) - errMs > tol;

/**
 * Cheap pre-check (no signature checks): would any node's offset, from the stamps as received, be
 * past the tolerance? Only then are the stamps verified before the round finalises.
 */
export function suspectClock(c: VoteCollection, cfg: DriftConfig): boolean {
  const est = c.proposals.flatMap((p) => {
    const s = p.checkpoints[0]?.vote.clock;
    return s && Number.isFinite(s.wallClockMs) ? [estimate(s.wallClockMs, p)] : [];
  });
  if (est.length < 2) return false;
  const med = median(est.map((e) => e.est));
  const medErr = Math.max(...est.map((e) => e.err));
  return est.some((e) => skewed(e.est - med, e.err + medErr, cfg.clockSkewToleranceMs));
}

export function clockSamples(
  c: VoteCollection,
  cfg: DriftConfig,
): { samples: ClockSample[]; findings: Finding[]; invalid: string[] } {
  const raw: { node: string; wall: number; recv: number; est: number; err: number }[] = [];
  const invalid: string[] = [];
  for (const p of c.proposals) {
    const first = p.checkpoints[0];
    const stamp = first?.vote.clock;
    if (!first || !stamp) continue;
    const ctx = { origin: c.origin, epoch: c.epoch, round: c.round, body: first.body };
    if (!verifyClockStamp(stamp, ctx, p.address)) {
      invalid.push(p.nodeId);
      continue;
    }
    raw.push({
      node: p.nodeId,
      wall: stamp.wallClockMs,
      recv: p.receivedAtMs,
      ...estimate(stamp.wallClockMs, p),
    });
  }
  if (raw.length === 0) return { samples: [], findings: [], invalid };
  const med = median(raw.map((r) => r.est));
  const samples = raw.map((r) => ({
    federation: c.origin,
    round: c.round,
    node: r.node,
    wallClockMs: r.wall,
    receivedAtMs: r.recv,
    offsetMs: r.est - med,
  }));
  // The median is one of the estimates (or between two): its error is at most the largest one.
  const medErr = Math.max(...raw.map((r) => r.err));
  const errOf = new Map(raw.map((r) => [r.node, r.err + medErr]));
  const closest = [...samples].sort((a, b) => Math.abs(a.offsetMs) - Math.abs(b.offsetMs))[0]!;
  const tol = cfg.clockSkewToleranceMs;
  const findings: Finding[] = samples
    .filter((s) => skewed(s.offsetMs, errOf.get(s.node) ?? 0, tol) && s.node !== closest.node)
    .map((s) => ({
      federation: c.origin,
      round: c.round,
      node: s.node,
      majorityNode: closest.node,
      cause: "clock_skew",
      driftScore: null,
      divergentLeaves: 0,
      batchLeaves: c.entries.length,
      severity: clockSeverity(s.offsetMs, tol),
      kind: "alert",
      actions: recommendedActions("clock_skew", {
        node: s.node,
        majorityNode: closest.node,
        federation: c.origin,
        round: c.round,
        divergentLeaves: 0,
        batchLeaves: c.entries.length,
        offsetMs: Math.round(s.offsetMs),
        toleranceMs: tol,
      }),
      detail: {
        offsetMs: s.offsetMs,
        toleranceMs: tol,
        wallClockMs: s.wallClockMs,
        roundTripErrorMs: errOf.get(s.node) ?? 0,
        medianNode: closest.node,
      },
    }));
  return { samples, findings, invalid };
}
