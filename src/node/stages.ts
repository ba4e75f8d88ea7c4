/**
 * StageClock: the smallest timing hook of the node's round pipeline. The coordinator and the round
 * driver run each stage through `time(stage, fn)`; whoever listens (src/telemetry's node metrics)
 * is told the stage, its duration and whether it succeeded. With no listener it only calls `fn`.
 * A listener MUST be cheap; what it throws is swallowed (telemetry never breaks a round).
 */
import { performance } from "node:perf_hooks";

/**
 * seal — the coordinator takes and persists the round's batch; quorum — votes until the QC;
 * witness — other federations' cosignatures; anchor — the anchor transaction until its receipt.
 */
export type NodeStage = "seal" | "quorum" | "witness" | "anchor";

export type StageListener = (stage: NodeStage, seconds: number, ok: boolean) => void;

export class StageClock {
  private readonly listeners: StageListener[] = [];

  /** Be told of every stage this node runs from now on. */
  listen(l: StageListener): void {
    this.listeners.push(l);
  }

  async time<T>(stage: NodeStage, fn: () => Promise<T>): Promise<T> {
    if (this.listeners.length === 0) return fn();
    const t0 = performance.now();
    let ok = false;
    try {
      const v = await fn();
      ok = true;
      return v;
    } finally {
      const seconds = (performance.now() - t0) / 1000;
      for (const l of this.listeners) {
        try {
          l(stage, seconds, ok);
        } catch {
          // a listener never breaks a round
        }
      }
    }
  }
}
