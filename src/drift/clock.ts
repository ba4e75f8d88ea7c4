/**
 * Clock skew (PROTOCOL §6): each vote carries the node's signed wall clock. Per round, each node's
 * estimate is `wallClockMs − coordinator's receive time` (which cancels when the node answered);
 * its offset is the estimate minus the federation's median estimate. Past the tolerance:
 * a `clock_skew` finding. Stamps that do not verify against the node's registered address are
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
export function suspectClock(c: VoteCollection, cfg: DriftConfig): boolean {
  const est = c.proposals.flatMap((p) => {
    const s = p.checkpoints[0]?.vote.clock;
    return s && Number.isFinite(s.wallClockMs) ? [s.wallClockMs - p.receivedAtMs] : [];
  });
  if (est.length < 2) return false;
  const med = median(est);
  return est.some((e) => Math.abs(e - med) > cfg.clockSkewToleranceMs);
}

export function clockSamples(
  c: VoteCollection,
  cfg: DriftConfig,
): { samples: ClockSample[]; findings: Finding[]; invalid: string[] } {
  const raw: { node: string; wall: number; recv: number }[] = [];
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
    raw.push({ node: p.nodeId, wall: stamp.wallClockMs, recv: p.receivedAtMs });
  }
  if (raw.length === 0) return { samples: [], findings: [], invalid };
  const med = median(raw.map((r) => r.wall - r.recv));
  const samples = raw.map((r) => ({
    federation: c.origin,
    round: c.round,
    node: r.node,
    wallClockMs: r.wall,
    receivedAtMs: r.recv,
    offsetMs: r.wall - r.recv - med,
  }));
  const closest = [...samples].sort((a, b) => Math.abs(a.offsetMs) - Math.abs(b.offsetMs))[0]!;
  const tol = cfg.clockSkewToleranceMs;
  const findings: Finding[] = samples
    .filter((s) => Math.abs(s.offsetMs) > tol && s.node !== closest.node)
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
        medianNode: closest.node,
      },
    }));
  return { samples, findings, invalid };
}
