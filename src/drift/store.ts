/**
 * DriftStore: findings, alerts, their append-only state history, clock offsets and the webhook
 * outbox in one SQLite file (`<data>/drift.sqlite`). Findings and history rows are never updated
 * or deleted (triggers refuse it); an alert row holds the current state, the history holds every
 * change with who and why.
 */
import Database from "better-sqlite3";
import { AmpError, InvalidInputError } from "../util/errors";
import type { ClockSample } from "./clock";
import type { Finding, Severity } from "./types";
import { SEVERITIES } from "./types";
import {
  SCHEMA,
  toAlert,
  toFinding,
  type AlertDbRow,
  type AlertRow,
  type AlertState,
  type FindingDbRow,
  type HistoryRow,
  type StoredFinding,
} from "./store-schema";

export {
  ALERT_STATES,
  DRIFT_DB_FILE,
  type AlertRow,
  type AlertState,
  type HistoryRow,
  type StoredFinding,
} from "./store-schema";

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
  /**
   * Active alerts of `federation` whose cause did not recur in the last `rounds` rounds this store
   * observed up to `round` (on the node layout a node observes the rounds it coordinated).
   */
  staleAlerts(federation: string, round: bigint, rounds: number): AlertRow[] {
    return (
      this.db
        .prepare(
          `SELECT * FROM drift_alerts a WHERE federation = ? AND ${ACTIVE} AND (SELECT COUNT(*)
           FROM drift_rounds r WHERE r.federation = a.federation AND r.round > a.last_round AND r.round <= ?) >= ?
           ORDER BY id`,
        )
        .all(federation, round, rounds) as AlertDbRow[]
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

  /** Store clock samples; `replace`: over those of the same round and node (a fuller collection). */
  recordClock(samples: readonly ClockSample[], replace = false): void {
    const ins = this.db.prepare(
      `INSERT OR ${replace ? "REPLACE" : "IGNORE"} INTO drift_clock_offsets (federation, round, node, offset_ms, wall_clock_ms, received_at_ms)
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
