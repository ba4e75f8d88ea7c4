/**
 * The drift monitor's findings as the credit formula's `drift_findings` (validation accuracy's
 * denominator): per node, the rounds in [fromRound, toRound] with at least one finding (alert or
 * observation) against it, from src/drift's store (`nodeFindingCounts`). A round counts once, so
 * one drifting round costs a node at most one vote's worth of accuracy.
 */
import { nodeFindingCounts } from "../drift/api";
import type { DriftStore } from "../drift/store";
import type { DriftFindingsProvider } from "./measure";

export function driftFindingsProvider(store: DriftStore): DriftFindingsProvider {
  return {
    findingsFor(origin, fromRound, toRound) {
      const out = new Map<string, number>();
      const { counts } = nodeFindingCounts(store, { federation: origin, fromRound, toRound });
      for (const c of counts) out.set(c.node, (out.get(c.node) ?? 0) + 1);
      return out;
    },
  };
}
