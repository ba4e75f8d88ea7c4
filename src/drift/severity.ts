/**
 * Severity from score and cause (documented in README "Severity"), and alert vs observation.
 *
 * | drift_score         | serialization / timestamp / unknown | data_inconsistency | equivocation |
 * | ------------------- | ----------------------------------- | ------------------ | ------------ |
 * | ≤ 0.10              | low                                 | medium             | critical     |
 * | > 0.10 and ≤ 0.25   | medium                              | high               | critical     |
 * | > 0.25 and ≤ 0.50   | high                                | critical           | critical     |
 * | > 0.50              | critical                            | critical           | critical     |
 *
 * clock_skew: offset > tolerance → medium; > 4 × tolerance → high.
 */
import type { AlertCause, DriftConfig, FindingKind, Severity } from "./types";
import { SEVERITIES } from "./types";

function byScore(score: number): number {
  if (score <= 0.1) return 0;
  if (score <= 0.25) return 1;
  if (score <= 0.5) return 2;
  return 3;
}

export function driftSeverity(cause: AlertCause, score: number): Severity {
  if (cause === "equivocation") return "critical";
  const bump = cause === "data_inconsistency" ? 1 : 0;
  return SEVERITIES[Math.min(3, byScore(score) + bump)]!;
}

export function clockSeverity(offsetMs: number, toleranceMs: number): Severity {
  return Math.abs(offsetMs) > 4 * toleranceMs ? "high" : "medium";
}

/**
 * Alert when drift_score > threshold. A signed conflict (equivocation) is an alert at any score;
 * clock skew findings exist only past the tolerance, so they are always alerts.
 */
export function findingKind(cause: AlertCause, score: number | null, cfg: DriftConfig): FindingKind {
  if (cause === "equivocation" || cause === "clock_skew") return "alert";
  return score !== null && score > cfg.alertThreshold ? "alert" : "observation";
}
