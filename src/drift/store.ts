/**
 * DriftStore: findings, alerts, their append-only state history, clock offsets and the webhook
 * outbox in one SQLite file (`<data>/drift.sqlite`). Findings and history rows are never updated
 * or deleted (triggers refuse it); an alert row holds the current state, the history holds every
 * change with who and why.
 */
import Database from "better-sqlite3";
import { AmpError, InvalidInputError } from "../util/errors";
import type { ClockSample } from "./clock";
import type { AlertCause, Finding, FindingKind, Severity } from "./types";
import { SEVERITIES } from "./types";

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

const SCHEMA = `
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

interface AlertDbRow {
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

interface FindingDbRow {
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

function toAlert(r: AlertDbRow): AlertRow {
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

function toFinding(r: FindingDbRow): StoredFinding {
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

const worse = (a: Severity, b: Severity): Severity =>
  SEVERITIES.indexOf(a) >= SEVERITIES.indexOf(b) ? a : b;
const ACTIVE = "state IN ('open', 'acknowledged')";

export class DriftStore {
  readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("busy_timeout = 5000");
    this.db.exec(SCHEMA);
  }

  close(): void {
    this.db.close();
  }

  /**
   * Store a finding. An alert-kind finding opens an alert for (federation, node, cause), or counts
   * as a recurrence of the active one. Returns the stored finding and, when one was opened, the alert.
   */
  recordFinding(f: Finding, latencyMs: number): { finding: StoredFinding; opened?: AlertRow } {
    return this.db.transaction(() => {
      const now = new Date().toISOString();
      let alertId: number | null = null;
      let opened: AlertRow | undefined;
      if (f.kind === "alert") {
        const active = this.activeAlert(f.federation, f.node, f.cause);
        if (active) {
          alertId = active.id;
          this.db
            .prepare(
              `UPDATE drift_alerts SET last_round = MAX(last_round, ?), occurrences = occurrences + 1,
               severity = ?, drift_score = ?, actions = ?, updated_at = ? WHERE id = ?`,
            )
            .run(
              f.round,
              worse(f.severity, active.severity),
              f.driftScore,
              JSON.stringify(f.actions),
              now,
              active.id,
            );
        } else {
          const r = this.db
            .prepare(
              `INSERT INTO drift_alerts (federation, node, cause, majority_node, severity, drift_score,
               first_round, last_round, occurrences, state, actions, opened_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, 'open', ?, ?, ?)`,
            )
            .run(
              f.federation,
              f.node,
              f.cause,
              f.majorityNode,
              f.severity,
              f.driftScore,
              f.round,
              f.round,
              JSON.stringify(f.actions),
              now,
              now,
            );
          alertId = Number(r.lastInsertRowid);
          this.appendHistory(
            alertId,
            null,
            "open",
            "drift-monitor",
            `opened by a ${f.cause} finding in round ${f.round}`,
          );
          opened = this.alert(alertId);
        }
      }
      const r = this.db
        .prepare(
          `INSERT INTO drift_findings (federation, round, node, majority_node, cause, drift_score,
           divergent_leaves, batch_leaves, severity, kind, actions, detail, alert_id, detected_at, latency_ms)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          f.federation,
          f.round,
          f.node,
          f.majorityNode,
          f.cause,
          f.driftScore,
          f.divergentLeaves,
          f.batchLeaves,
          f.severity,
          f.kind,
          JSON.stringify(f.actions),
          JSON.stringify(f.detail, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)),
          alertId,
          now,
          latencyMs,
        );
      const finding = this.finding(Number(r.lastInsertRowid))!;
      return opened ? { finding, opened } : { finding };
    })();
  }

  private activeAlert(federation: string, node: string, cause: string): AlertRow | undefined {
    const r = this.db
      .prepare(`SELECT * FROM drift_alerts WHERE federation = ? AND node = ? AND cause = ? AND ${ACTIVE}`)
      .get(federation, node, cause) as AlertDbRow | undefined;
    return r && toAlert(r);
  }

  private appendHistory(
    id: number,
    from: AlertState | null,
    to: AlertState,
    actor: string,
    note: string,
  ): void {
    this.db
      .prepare(
        `INSERT INTO drift_alert_history (alert_id, at, from_state, to_state, actor, note) VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(id, new Date().toISOString(), from, to, actor, note);
  }

  /** Change an alert's state; the history gets who and why. Checks the transition. */
  transition(id: number, to: AlertState, actor: string, note: string): AlertRow {
    return this.db.transaction(() => {
      const a = this.alert(id);
      if (!a) throw new AmpError(`no alert ${id}`, { kind: "not-found" });
      if (actor.trim() === "") throw new InvalidInputError("who changes the alert must be named (--by)");
      const allowed: Record<AlertState, readonly AlertState[]> = {
        open: ["acknowledged", "resolved", "auto-resolved"],
        acknowledged: ["resolved", "auto-resolved"],
        resolved: [],
        "auto-resolved": [],
      };
      if (!allowed[a.state].includes(to)) {
        throw new AmpError(`alert ${id} is ${a.state}; it cannot become ${to}`, { kind: "conflict" });
      }
      if (to === "resolved" && note.trim() === "") {
        throw new InvalidInputError(`resolving alert ${id} needs a review note (--note)`);
      }
      this.db
        .prepare(`UPDATE drift_alerts SET state = ?, updated_at = ? WHERE id = ?`)
        .run(to, new Date().toISOString(), id);
      this.appendHistory(id, a.state, to, actor, note);
      return this.alert(id)!;
    })();
  }

  /** Active alerts of `federation` whose cause last recurred at or before `round - rounds`. */
  staleAlerts(federation: string, round: bigint, rounds: number): AlertRow[] {
    return (
      this.db
        .prepare(
          `SELECT * FROM drift_alerts WHERE federation = ? AND ${ACTIVE} AND last_round <= ? ORDER BY id`,
        )
        .all(federation, round - BigInt(rounds)) as AlertDbRow[]
    ).map(toAlert);
  }

  alert(id: number): AlertRow | undefined {
    const r = this.db.prepare(`SELECT * FROM drift_alerts WHERE id = ?`).get(id) as AlertDbRow | undefined;
    return r && toAlert(r);
  }

  alerts(filter: { state?: AlertState; federation?: string; node?: string } = {}): AlertRow[] {
    const where: string[] = [];
    const args: string[] = [];
    for (const [col, v] of [
      ["state", filter.state],
      ["federation", filter.federation],
      ["node", filter.node],
    ] as const) {
      if (v !== undefined) {
        where.push(`${col} = ?`);
        args.push(v);
      }
    }
    const sql = `SELECT * FROM drift_alerts ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY id`;
    return (this.db.prepare(sql).all(...args) as AlertDbRow[]).map(toAlert);
  }

  history(alertId: number): HistoryRow[] {
    const rows = this.db
      .prepare(`SELECT * FROM drift_alert_history WHERE alert_id = ? ORDER BY id`)
      .all(alertId) as {
      alert_id: number;
      at: string;
      from_state: string | null;
      to_state: string;
      actor: string;
      note: string;
    }[];
    return rows.map((r) => ({
      alertId: r.alert_id,
      at: r.at,
      from: r.from_state as AlertState | null,
      to: r.to_state as AlertState,
      actor: r.actor,
      note: r.note,
    }));
  }

  finding(id: number): StoredFinding | undefined {
    const r = this.db.prepare(`SELECT * FROM drift_findings WHERE id = ?`).get(id) as
      FindingDbRow | undefined;
    return r && toFinding(r);
  }

  findings(
    filter: { alertId?: number; federation?: string; fromRound?: bigint; toRound?: bigint } = {},
  ): StoredFinding[] {
    const where: string[] = [];
    const args: (string | number | bigint)[] = [];
    if (filter.alertId !== undefined) (where.push("alert_id = ?"), args.push(filter.alertId));
    if (filter.federation !== undefined) (where.push("federation = ?"), args.push(filter.federation));
    if (filter.fromRound !== undefined) (where.push("round >= ?"), args.push(filter.fromRound));
    if (filter.toRound !== undefined) (where.push("round <= ?"), args.push(filter.toRound));
    const sql = `SELECT * FROM drift_findings ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY id`;
    return (this.db.prepare(sql).all(...args) as FindingDbRow[]).map(toFinding);
  }

  recordClock(samples: readonly ClockSample[]): void {
    const ins = this.db.prepare(
      `INSERT OR IGNORE INTO drift_clock_offsets (federation, round, node, offset_ms, wall_clock_ms, received_at_ms)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.db.transaction(() => {
      for (const s of samples)
        ins.run(s.federation, s.round, s.node, s.offsetMs, s.wallClockMs, s.receivedAtMs);
    })();
  }

  clockOffsets(filter: { federation?: string; fromRound?: bigint; toRound?: bigint } = {}): ClockSample[] {
    const where: string[] = [];
    const args: (string | bigint)[] = [];
    if (filter.federation !== undefined) (where.push("federation = ?"), args.push(filter.federation));
    if (filter.fromRound !== undefined) (where.push("round >= ?"), args.push(filter.fromRound));
    if (filter.toRound !== undefined) (where.push("round <= ?"), args.push(filter.toRound));
    const sql = `SELECT * FROM drift_clock_offsets ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY federation, round, node`;
    const rows = this.db.prepare(sql).all(...args) as {
      federation: string;
      round: number;
      node: string;
      offset_ms: number;
      wall_clock_ms: number;
      received_at_ms: number;
    }[];
    return rows.map((r) => ({
      federation: r.federation,
      round: BigInt(r.round),
      node: r.node,
      offsetMs: r.offset_ms,
      wallClockMs: r.wall_clock_ms,
      receivedAtMs: r.received_at_ms,
    }));
  }

  /** Mark a round observed; false when it already was (a retried attempt). */
  markRound(federation: string, round: bigint): boolean {
    const r = this.db
      .prepare(`INSERT OR IGNORE INTO drift_rounds (federation, round, observed_at) VALUES (?, ?, ?)`)
      .run(federation, round, new Date().toISOString());
    return r.changes === 1;
  }

  roundsObserved(federation?: string): number {
    const r = (
      federation === undefined
        ? this.db.prepare(`SELECT COUNT(*) AS n FROM drift_rounds`).get()
        : this.db.prepare(`SELECT COUNT(*) AS n FROM drift_rounds WHERE federation = ?`).get(federation)
    ) as { n: number };
    return r.n;
  }
}
