/** The drift store's schema and row mappings (see store.ts). */
import type { AlertCause, Finding, FindingKind, Severity } from "./types";

export const DRIFT_DB_FILE = "drift.sqlite";

export type AlertState = "open" | "acknowledged" | "resolved" | "auto-resolved";
export const ALERT_STATES: readonly AlertState[] = ["open", "acknowledged", "resolved", "auto-resolved"];

export interface AlertRow {
  readonly id: number;
  readonly federation: string;
  readonly node: string;
  readonly cause: AlertCause;
  readonly majorityNode: string;
  readonly severity: Severity;
  readonly driftScore: number | null;
  readonly firstRound: bigint;
  readonly lastRound: bigint;
  readonly occurrences: number;
  readonly state: AlertState;
  readonly actions: readonly string[];
  readonly openedAt: string;
  readonly updatedAt: string;
}

export interface HistoryRow {
  readonly alertId: number;
  readonly at: string;
  readonly from: AlertState | null;
  readonly to: AlertState;
  readonly actor: string;
  readonly note: string;
}

export interface StoredFinding extends Finding {
  readonly id: number;
  readonly alertId: number | null;
  readonly detectedAt: string;
  readonly latencyMs: number;
}

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS drift_findings (
  id INTEGER PRIMARY KEY AUTOINCREMENT, federation TEXT NOT NULL, round INTEGER NOT NULL,
  node TEXT NOT NULL, majority_node TEXT NOT NULL, cause TEXT NOT NULL, drift_score REAL,
  divergent_leaves INTEGER NOT NULL, batch_leaves INTEGER NOT NULL, severity TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('alert', 'observation')), actions TEXT NOT NULL,
  detail TEXT NOT NULL, alert_id INTEGER, detected_at TEXT NOT NULL, latency_ms REAL NOT NULL);
CREATE INDEX IF NOT EXISTS drift_findings_round ON drift_findings (federation, round);
CREATE TABLE IF NOT EXISTS drift_alerts (
  id INTEGER PRIMARY KEY AUTOINCREMENT, federation TEXT NOT NULL, node TEXT NOT NULL,
  cause TEXT NOT NULL, majority_node TEXT NOT NULL, severity TEXT NOT NULL, drift_score REAL,
  first_round INTEGER NOT NULL, last_round INTEGER NOT NULL, occurrences INTEGER NOT NULL,
  state TEXT NOT NULL, actions TEXT NOT NULL, opened_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS drift_alert_history (
  id INTEGER PRIMARY KEY AUTOINCREMENT, alert_id INTEGER NOT NULL REFERENCES drift_alerts (id),
  at TEXT NOT NULL, from_state TEXT, to_state TEXT NOT NULL, actor TEXT NOT NULL, note TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS drift_clock_offsets (
  federation TEXT NOT NULL, round INTEGER NOT NULL, node TEXT NOT NULL, offset_ms REAL NOT NULL,
  wall_clock_ms INTEGER NOT NULL, received_at_ms INTEGER NOT NULL,
  PRIMARY KEY (federation, round, node));
CREATE TABLE IF NOT EXISTS drift_rounds (
  federation TEXT NOT NULL, round INTEGER NOT NULL, observed_at TEXT NOT NULL,
  PRIMARY KEY (federation, round));
CREATE TABLE IF NOT EXISTS drift_webhook_outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT NOT NULL, alert_id INTEGER NOT NULL,
  event TEXT NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL, delivered_at TEXT, last_error TEXT, created_at TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS drift_history_no_update BEFORE UPDATE ON drift_alert_history
  BEGIN SELECT RAISE(ABORT, 'drift_alert_history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS drift_history_no_delete BEFORE DELETE ON drift_alert_history
  BEGIN SELECT RAISE(ABORT, 'drift_alert_history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS drift_findings_no_update BEFORE UPDATE ON drift_findings
  BEGIN SELECT RAISE(ABORT, 'drift_findings is append-only'); END;
CREATE TRIGGER IF NOT EXISTS drift_findings_no_delete BEFORE DELETE ON drift_findings
  BEGIN SELECT RAISE(ABORT, 'drift_findings is append-only'); END;
`;

export interface AlertDbRow {
  id: number;
  federation: string;
  node: string;
  cause: string;
  majority_node: string;
  severity: string;
  drift_score: number | null;
  first_round: number;
  last_round: number;
  occurrences: number;
  state: string;
  actions: string;
  opened_at: string;
  updated_at: string;
}

export interface FindingDbRow {
  id: number;
  federation: string;
  round: number;
  node: string;
  majority_node: string;
  cause: string;
  drift_score: number | null;
  divergent_leaves: number;
  batch_leaves: number;
  severity: string;
  kind: string;
  actions: string;
  detail: string;
  alert_id: number | null;
  detected_at: string;
  latency_ms: number;
}

export function toAlert(r: AlertDbRow): AlertRow {
  return {
    id: r.id,
    federation: r.federation,
    node: r.node,
    cause: r.cause as AlertCause,
    majorityNode: r.majority_node,
    severity: r.severity as Severity,
    driftScore: r.drift_score,
    firstRound: BigInt(r.first_round),
    lastRound: BigInt(r.last_round),
    occurrences: r.occurrences,
    state: r.state as AlertState,
    actions: JSON.parse(r.actions) as string[],
    openedAt: r.opened_at,
    updatedAt: r.updated_at,
  };
}

export function toFinding(r: FindingDbRow): StoredFinding {
  return {
    id: r.id,
    federation: r.federation,
    round: BigInt(r.round),
    node: r.node,
    majorityNode: r.majority_node,
    cause: r.cause as AlertCause,
    driftScore: r.drift_score,
    divergentLeaves: r.divergent_leaves,
    batchLeaves: r.batch_leaves,
    severity: r.severity as Severity,
    kind: r.kind as FindingKind,
    actions: JSON.parse(r.actions) as string[],
    detail: JSON.parse(r.detail) as Record<string, unknown>,
    alertId: r.alert_id,
    detectedAt: r.detected_at,
    latencyMs: r.latency_ms,
  };
}
