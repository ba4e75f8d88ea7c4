/**
 * The metrics of the in-process AnchoringRunner (src/chain/runner.ts), kept here so the runner
 * only calls two functions: the static gauges when it opens, and a timed ingest.
 */
import { performance } from "node:perf_hooks";
import type { AmpMetrics } from "./metrics";

export interface ObservedFederation {
  /** Archive key (manifest name). */
  readonly name: string;
  /** The label value: the federation's log origin. */
  readonly origin: string;
  readonly nodes: readonly { readonly keys: { readonly nodeId: string }; readonly weight: bigint }[];
}

/** Governance weights now, queue depth (events archived, not yet in a round) at each scrape. */
export function observeRunnerOpen(
  m: AmpMetrics,
  federations: readonly ObservedFederation[],
  queueDepth: (f: ObservedFederation) => bigint,
): void {
  for (const f of federations) {
    m.weights(
      f.origin,
      f.nodes.map((n) => ({ node: n.keys.nodeId, weight: n.weight })),
    );
  }
  m.trackQueueDepth(() => Object.fromEntries(federations.map((f) => [f.origin, Number(queueDepth(f))])));
}

/**
 * Run an all-or-nothing ingest call and count it: events stored per federation (read from
 * `nextSeq` before and after) and the call's latency; a refused call counts every event refused
 * with the error's kind (federation `unknown`: the federation may be what is wrong).
 */
export function observeIngest<T>(
  m: AmpMetrics,
  federations: readonly ObservedFederation[],
  nextSeq: (name: string) => bigint,
  events: number,
  ingest: () => T,
): T {
  const t0 = performance.now();
  const before = federations.map((f) => nextSeq(f.name));
  let result: T;
  try {
    result = ingest();
  } catch (e) {
    m.refused("unknown", e, events);
    throw e;
  }
  const seconds = (performance.now() - t0) / 1000;
  for (const [i, f] of federations.entries()) {
    const stored = Number(nextSeq(f.name) - before[i]!);
    if (stored > 0) m.ingested(f.origin, seconds, stored);
  }
  return result;
}
