/**
 * The drift monitor's read and workflow API: plain functions over a DriftStore that the CLI
 * (`amp alerts`) calls now and the node's HTTP layer can serve later (GET /drift/alerts,
 * GET /drift/alerts/:id, POST /drift/alerts/:id/ack|resolve, GET /drift/clock, GET /drift/counts).
 */
import { AmpError, InvalidInputError } from "../util/errors";
import type { ClockSample } from "./clock";
import { enqueueWebhooks, WEBHOOK_PAYLOAD_VERSION } from "./webhooks";
import {
  ALERT_STATES,
  type AlertRow,
  type AlertState,
  type DriftStore,
  type HistoryRow,
  type StoredFinding,
} from "./store";
import { ALERT_CAUSES, type AlertCause } from "./types";

export interface AlertDetail {
  readonly alert: AlertRow;
  readonly history: readonly HistoryRow[];
  readonly findings: readonly StoredFinding[];
}

export function parseAlertState(s: string): AlertState {
  if (!(ALERT_STATES as readonly string[]).includes(s)) {
    throw new InvalidInputError(`unknown alert state "${s}" (one of ${ALERT_STATES.join(", ")})`);
  }
  return s as AlertState;
}

export function parseAlertCause(s: string): AlertCause {
  if (!(ALERT_CAUSES as readonly string[]).includes(s)) {
    throw new InvalidInputError(`unknown drift cause "${s}" (one of ${ALERT_CAUSES.join(", ")})`);
  }
  return s as AlertCause;
}

export function parseAlertId(s: string): number {
  const n = Number(s);
  if (!/^[1-9][0-9]*$/.test(s) || !Number.isSafeInteger(n)) {
    throw new InvalidInputError(`alert id must be a positive integer, got "${s}"`);
  }
  return n;
}

export function listAlerts(
  store: DriftStore,
  filter: { state?: AlertState; federation?: string; node?: string } = {},
): AlertRow[] {
  return store.alerts(filter);
}

export function showAlert(store: DriftStore, id: number): AlertDetail {
  const alert = store.alert(id);
  if (!alert) throw new AmpError(`no alert ${id}`, { kind: "not-found" });
  return { alert, history: store.history(id), findings: store.findings({ alertId: id }) };
}

/** The JSON body POSTed to webhooks (documented in src/drift/README.md "Webhook payload"). */
export function webhookBody(
  event: string,
  alert: AlertRow,
  extra: { finding?: StoredFinding; change?: HistoryRow },
): Record<string, unknown> {
  return { type: "amp.drift.alert", version: WEBHOOK_PAYLOAD_VERSION, event, alert, ...extra };
}

/** Change an alert's state (ack, resolve, auto-resolve) and queue the webhooks, atomically. */
export function changeAlert(
  store: DriftStore,
  id: number,
  to: AlertState,
  actor: string,
  note: string,
  webhooks: readonly string[] = [],
): AlertRow {
  return store.db.transaction(() => {
    const alert = store.transition(id, to, actor, note);
    const change = store.history(id).at(-1)!;
    enqueueWebhooks(store, webhooks, id, to, webhookBody(to, alert, { change }));
    return alert;
  })();
}

export const acknowledgeAlert = (
  s: DriftStore,
  id: number,
  by: string,
  note: string,
  hooks?: readonly string[],
) => changeAlert(s, id, "acknowledged", by, note, hooks);

export const resolveAlert = (
  s: DriftStore,
  id: number,
  by: string,
  note: string,
  hooks?: readonly string[],
) => changeAlert(s, id, "resolved", by, note, hooks);

export function clockOffsets(
  store: DriftStore,
  filter: { federation?: string; fromRound?: bigint; toRound?: bigint } = {},
): ClockSample[] {
  return store.clockOffsets(filter);
}

/** One node's clock offset in one round, as the HTTP API and the dashboard show it. */
export interface ClockOffsetView {
  readonly federation: string;
  readonly round: string;
  readonly node: string;
  readonly offsetMs: number;
}

/** The clock offsets of the last `rounds` rounds the store saw, oldest round first. */
export function recentClockOffsets(store: DriftStore, rounds: bigint): ClockOffsetView[] {
  const all = clockOffsets(store);
  const last = all.reduce((m, s) => (s.round > m ? s.round : m), 0n);
  return all
    .filter((s) => s.round > last - rounds)
    .sort((a, b) => (a.round < b.round ? -1 : a.round > b.round ? 1 : 0))
    .map((s) => ({
      federation: s.federation,
      round: s.round.toString(),
      node: s.node,
      offsetMs: s.offsetMs,
    }));
}

/** Findings of one node in one round, by kind and cause. */
export interface NodeRoundFindings {
  readonly federation: string;
  readonly node: string;
  readonly round: bigint;
  readonly alerts: number;
  readonly observations: number;
  readonly byCause: Readonly<Partial<Record<AlertCause, number>>>;
}

/**
 * Per-node finding counts per round over [fromRound, toRound] (inclusive), for validation
 * accuracy in the credit formula: a node's rounds with a finding against it, out of the rounds
 * the monitor observed (`roundsObserved`). Rounds without findings are not listed.
 */
export function nodeFindingCounts(
  store: DriftStore,
  range: { federation?: string; fromRound: bigint; toRound: bigint },
): { roundsObserved: number; counts: NodeRoundFindings[] } {
  const byKey = new Map<
    string,
    { f: string; n: string; r: bigint; a: number; o: number; c: Record<string, number> }
  >();
  for (const f of store.findings(range)) {
    const key = `${f.federation}\n${f.node}\n${f.round}`;
    const e = byKey.get(key) ?? { f: f.federation, n: f.node, r: f.round, a: 0, o: 0, c: {} };
    if (f.kind === "alert") e.a++;
    else e.o++;
    e.c[f.cause] = (e.c[f.cause] ?? 0) + 1;
    byKey.set(key, e);
  }
  const counts = [...byKey.values()]
    .map((e) => ({ federation: e.f, node: e.n, round: e.r, alerts: e.a, observations: e.o, byCause: e.c }))
    .sort((a, b) => (a.round < b.round ? -1 : a.round > b.round ? 1 : a.node < b.node ? -1 : 1));
  const observed = store.db
    .prepare(
      `SELECT COUNT(*) AS n FROM drift_rounds WHERE round >= ? AND round <= ?${range.federation !== undefined ? " AND federation = ?" : ""}`,
    )
    .get(
      ...[range.fromRound, range.toRound, ...(range.federation !== undefined ? [range.federation] : [])],
    ) as {
    n: number;
  };
  return { roundsObserved: observed.n, counts };
}
