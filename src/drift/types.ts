/** Drift monitor types: causes, severities, findings, alerts and the monitor's configuration. */

/** Causes of a diverging checkpoint (PROTOCOL §6), per diverging node. */
export const DRIFT_CAUSES = [
  "serialization_divergence",
  "timestamp_drift",
  "data_inconsistency",
  "equivocation",
  "unknown",
] as const;
export type DriftCause = (typeof DRIFT_CAUSES)[number];

/** Every cause a finding or alert can carry: the drift causes and the node's clock skew. */
export const ALERT_CAUSES = [...DRIFT_CAUSES, "clock_skew"] as const;
export type AlertCause = (typeof ALERT_CAUSES)[number];

export type Severity = "low" | "medium" | "high" | "critical";
export const SEVERITIES: readonly Severity[] = ["low", "medium", "high", "critical"];

/** `alert` when past the threshold (or always, for equivocation and clock skew); else `observation`. */
export type FindingKind = "alert" | "observation";

export interface DriftConfig {
  /** Alert when drift_score is strictly above this (seed: 0.10). */
  readonly alertThreshold: number;
  /** Time fields differing by at most this many ms are not timestamp drift. */
  readonly timestampToleranceMs: number;
  /** A node's clock offset from the federation median beyond this raises clock_skew (ms). */
  readonly clockSkewToleranceMs: number;
  /** An alert whose cause has not recurred for this many rounds is auto-resolved. */
  readonly autoResolveRounds: number;
}

export const DEFAULT_DRIFT_CONFIG: DriftConfig = Object.freeze({
  alertThreshold: 0.1,
  timestampToleranceMs: 1000,
  clockSkewToleranceMs: 500,
  autoResolveRounds: 5,
});

/** One finding: a node that diverged from the majority in one round (or whose clock is skewed). */
export interface Finding {
  readonly federation: string;
  readonly round: bigint;
  /** The diverging node. */
  readonly node: string;
  /** A node that signed the majority's checkpoint (the other side of the pair). */
  readonly majorityNode: string;
  readonly cause: AlertCause;
  /** divergent leaves / batch leaves (exact); null for clock skew. */
  readonly driftScore: number | null;
  readonly divergentLeaves: number;
  readonly batchLeaves: number;
  readonly severity: Severity;
  readonly kind: FindingKind;
  /** At least three concrete, cause-specific steps. */
  readonly actions: readonly string[];
  /** Cause-specific facts (field paths, first differing leaf, byte excerpts, evidence link, offsets). */
  readonly detail: Readonly<Record<string, unknown>>;
}
