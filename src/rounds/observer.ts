/**
 * RoundObserver: what a round reports to an observer (src/telemetry's metrics) as it happens. The
 * engine calls it after each round and the coordinator's transport around each vote request; an
 * observer MUST be cheap and MUST NOT throw (exceptions are swallowed: telemetry never breaks a round).
 */
import type { FaultKind } from "../consensus/evidence";
import type { Transport } from "../consensus/types";
import type { RoundResult } from "./round-engine";

export interface RoundObserver {
  /** A round finished: witnessed (with its latencies) or failed (keeps its number). */
  round(result: RoundResult): void;
  /** One vote request to `node` took `seconds`; `ok` when it returned signed votes. */
  vote(federation: string, node: string, seconds: number, ok: boolean): void;
  /** The coordinator recorded Byzantine evidence against `node`. */
  evidence(federation: string, node: string, kind: FaultKind): void;
}

/** Calls `fn`, swallowing what it throws. */
export function observe(fn: () => void): void {
  try {
    fn();
  } catch {
    // Telemetry never breaks the pipeline.
  }
}

/** The same transport, timing each vote request for the observer. */
export function observedTransport(inner: Transport, federation: string, observer: RoundObserver): Transport {
  return {
    deliverBatch: (nodeId, batch) => inner.deliverBatch(nodeId, batch),
    fetchEntries: (peer, origin, round, from, count) => inner.fetchEntries(peer, origin, round, from, count),
    requestVote: async (nodeId, request) => {
      const t0 = process.hrtime.bigint();
      const elapsed = () => Number(process.hrtime.bigint() - t0) / 1e9;
      try {
        const res = await inner.requestVote(nodeId, request);
        observe(() => observer.vote(federation, nodeId, elapsed(), res.kind === "vote"));
        return res;
      } catch (e) {
        observe(() => observer.vote(federation, nodeId, elapsed(), false));
        throw e;
      }
    },
  };
}
