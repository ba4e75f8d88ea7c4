/**
 * The Drift page's data and its two write actions. Reads `<data>/drift.sqlite` (src/drift's
 * DriftStore) through src/drift/api.ts; acknowledging and resolving an alert go through the same
 * api functions as `amp alerts ack|resolve`, so the store's checks (transition allowed, who named,
 * resolving needs a note) and its append-only history apply unchanged.
 *
 * On a node-layout data dir (DIR/nodes/<id>/) every node's drift.sqlite is read and merged as live
 * mode merges the nodes' GET /v1/drift ({@link mergeDrift}: alerts named `<node>/<id>`); acknowledge
 * / resolve of `<node>/<id>` write to that node's store ({@link applyNodeAction}).
 *
 * The POST routes are CSRF-safe by construction: the body MUST be `application/json` (a
 * cross-origin page cannot send that without a CORS preflight, which this server never answers),
 * an `Origin` header, when sent, MUST equal the server's own origin, and `Sec-Fetch-Site`, when
 * sent, MUST be `same-origin`. Bodies are limited to MAX_ACTION_BYTES and checked field by field.
 */
import fs from "node:fs";
import type http from "node:http";
import path from "node:path";
import { acknowledgeAlert, listAlerts, parseAlertId, recentClockOffsets, resolveAlert } from "../drift/api";
import { DRIFT_DB_FILE, DriftStore } from "../drift/store";
import type { AlertRow, HistoryRow, StoredFinding } from "../drift/store";
import { AmpError } from "../util/errors";
import type { DataDirLayout } from "../cli/data-dir";
import type { Unavailable } from "./live";

export const MAX_ACTION_BYTES = 4096;
const MAX_BY = 100;
const MAX_NOTE = 2000;
/** Findings and clock samples shown: the newest ones. */
const MAX_FINDINGS = 500;
const MAX_CLOCK_ROUNDS = 200n;

export interface DriftAlertView extends Omit<AlertRow, "firstRound" | "lastRound"> {
  readonly firstRound: string;
  readonly lastRound: string;
  readonly history: readonly HistoryRow[];
}

export interface DriftFindingView {
  readonly id: number;
  readonly round: string;
  readonly federation: string;
  readonly node: string;
  readonly majorityNode: string;
  readonly cause: string;
  readonly driftScore: number | null;
  readonly severity: string;
  readonly kind: string;
  readonly alertId: number | null;
  readonly detectedAt: string;
}

export interface DriftSnapshot {
  readonly alerts: readonly DriftAlertView[];
  /** Newest first. */
  readonly findings: readonly DriftFindingView[];
  /** Oldest round first. */
  readonly clock: readonly { federation: string; round: string; node: string; offsetMs: number }[];
}

function withStore<T>(dataDir: string, empty: T, fn: (s: DriftStore) => T): T {
  const file = path.join(dataDir, DRIFT_DB_FILE);
  if (!fs.existsSync(file)) return empty;
  const store = new DriftStore(file);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

const findingView = (f: StoredFinding): DriftFindingView => ({
  id: f.id,
  round: f.round.toString(),
  federation: f.federation,
  node: f.node,
  majorityNode: f.majorityNode,
  cause: f.cause,
  driftScore: f.driftScore,
  severity: f.severity,
  kind: f.kind,
  alertId: f.alertId,
  detectedAt: f.detectedAt,
});

const alertView = (a: AlertRow, history: readonly HistoryRow[]): DriftAlertView => ({
  ...a,
  firstRound: a.firstRound.toString(),
  lastRound: a.lastRound.toString(),
  history,
});

export function driftSnapshot(dataDir: string): DriftSnapshot {
  return withStore<DriftSnapshot>(dataDir, { alerts: [], findings: [], clock: [] }, (store) => {
    const alerts = listAlerts(store).map((a) => alertView(a, store.history(a.id)));
    const findings = store.findings().slice(-MAX_FINDINGS).reverse().map(findingView);
    const clock = recentClockOffsets(store, MAX_CLOCK_ROUNDS);
    return { alerts: alerts.reverse(), findings, clock };
  });
}

/** A refused or failed action, with the HTTP status to answer. */
export class DashboardActionError extends Error {
  override name = "DashboardActionError";
  constructor(
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const ACTION_ROUTE = /^\/api\/drift\/alerts\/([^/]+)\/(ack|resolve)$/;

/** Refuse anything but a same-origin JSON request (see the file comment). */
export function checkSameOriginJson(req: http.IncomingMessage): void {
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/json") {
    throw new DashboardActionError(415, "the body must be application/json");
  }
  const host = req.headers.host;
  // DNS rebinding: a page of evil.example rebound to 127.0.0.1 is "same-origin" to the browser,
  // but its requests name evil.example as Host. Writes need Host to be an IP literal or localhost.
  const hostname = (host ?? "").replace(/:\d+$/, "");
  if (!/^(localhost|\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\])$/.test(hostname)) {
    throw new DashboardActionError(
      403,
      `request for host "${host ?? ""}" refused: use the dashboard by IP address or localhost`,
    );
  }
  const origin = req.headers.origin;
  if (origin !== undefined && (host === undefined || origin !== `http://${host}`)) {
    throw new DashboardActionError(403, `cross-origin request refused (Origin ${origin})`);
  }
  const site = req.headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin") {
    throw new DashboardActionError(403, `cross-site request refused (Sec-Fetch-Site ${String(site)})`);
  }
}

/** Read at most MAX_ACTION_BYTES of body; more is refused with 413 without reading it all. */
export function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? "0");
    if (declared > MAX_ACTION_BYTES) {
      reject(new DashboardActionError(413, `body larger than ${MAX_ACTION_BYTES} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_ACTION_BYTES) {
        // Answer 413 and discard the rest (the socket stays usable for the answer).
        reject(new DashboardActionError(413, `body larger than ${MAX_ACTION_BYTES} bytes`));
        req.removeAllListeners("data");
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** `{ "by": string, "note": string }`, nothing else; field-named errors. */
export function parseAction(body: string, action: "ack" | "resolve"): { by: string; note: string } {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch (e) {
    throw new DashboardActionError(400, `body is not JSON: ${(e as Error).message}`, { cause: e });
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new DashboardActionError(400, "body must be a JSON object {by, note}");
  }
  const o = v as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => k !== "by" && k !== "note");
  if (extra.length > 0) throw new DashboardActionError(400, `unknown field "${extra[0]}" (only by, note)`);
  if (typeof o.by !== "string" || o.by.trim() === "" || o.by.length > MAX_BY) {
    throw new DashboardActionError(
      400,
      `field "by" must be a non-empty string of at most ${MAX_BY} characters`,
    );
  }
  const note = o.note ?? "";
  if (typeof note !== "string" || note.length > MAX_NOTE) {
    throw new DashboardActionError(400, `field "note" must be a string of at most ${MAX_NOTE} characters`);
  }
  if (action === "resolve" && note.trim() === "") {
    throw new DashboardActionError(400, `field "note" is required to resolve an alert`);
  }
  return { by: o.by.trim(), note };
}

const STATUS_OF: Record<string, number> = { "not-found": 404, conflict: 409, "invalid-input": 400 };

/** Acknowledge or resolve alert `idText` through src/drift/api.ts; the changed alert with history. */
export function applyAction(
  dataDir: string,
  idText: string,
  action: "ack" | "resolve",
  body: { by: string; note: string },
  webhooks: readonly string[] = [],
): DriftAlertView {
  let id: number;
  try {
    id = parseAlertId(idText);
  } catch (e) {
    throw new DashboardActionError(400, (e as AmpError).shortMessage, { cause: e });
  }
  const missing = (): DriftAlertView => {
    throw new DashboardActionError(404, `no alert ${id}`);
  };
  return (
    withStore(dataDir, undefined, (store) => {
      try {
        const change = action === "ack" ? acknowledgeAlert : resolveAlert;
        const a = change(store, id, body.by, body.note, webhooks);
        return alertView(a, store.history(id));
      } catch (e) {
        if (e instanceof AmpError) {
          throw new DashboardActionError(STATUS_OF[e.kind] ?? 500, e.shortMessage, { cause: e });
        }
        throw e;
      }
    }) ?? missing()
  );
}

/** One node's drift answer (GET /v1/drift, or {@link driftSnapshot} of its data dir), untrusted. */
export interface DriftAnswer {
  alerts: Record<string, unknown>[];
  findings: Record<string, unknown>[];
  clock: Record<string, unknown>[];
}

/**
 * Several nodes' drift merged: alert and finding ids are node-local, so each becomes `<node>/<id>`
 * with `observedBy`; clock samples once per (round, node); `none` when no node answered.
 */
export function mergeDrift(
  answers: readonly { readonly name: string; readonly answer: DriftAnswer | undefined }[],
  none: string,
): unknown {
  const sources: string[] = [];
  const alerts: Record<string, unknown>[] = [];
  const findings: Record<string, unknown>[] = [];
  const clock = new Map<string, Record<string, unknown>>();
  for (const { name, answer: d } of answers) {
    if (!d || !Array.isArray(d.alerts) || !Array.isArray(d.findings) || !Array.isArray(d.clock)) continue;
    sources.push(name);
    const local = (id: unknown) =>
      typeof id === "number" || typeof id === "string" ? `${name}/${id}` : null;
    for (const a of d.alerts) alerts.push({ ...a, id: local(a.id), observedBy: name });
    for (const f of d.findings)
      findings.push({ ...f, id: local(f.id), alertId: local(f.alertId), observedBy: name });
    for (const c of d.clock) {
      const key = JSON.stringify([c.round, c.node]);
      if (!clock.has(key)) clock.set(key, c);
    }
  }
  if (sources.length === 0) {
    const unavailable: Unavailable = { available: false, reason: none };
    return unavailable;
  }
  const round = (o: Record<string, unknown>, k: string) => {
    const v = o[k];
    return (typeof v === "string" || typeof v === "number") && /^[0-9]{1,20}$/.test(`${v}`) ? BigInt(v) : 0n;
  };
  const desc = (k: string) => (x: Record<string, unknown>, y: Record<string, unknown>) =>
    round(x, k) === round(y, k) ? 0 : round(x, k) > round(y, k) ? -1 : 1;
  return {
    alerts: alerts.sort(desc("lastRound")),
    findings: findings.sort(desc("round")).slice(0, MAX_FINDINGS),
    clock: [...clock.values()].sort((x, y) => -desc("round")(x, y)),
    source: sources.join(", "),
  };
}

type NodeLayout = DataDirLayout & { kind: "nodes" };

/** The Drift page of a data dir: its drift.sqlite, or every node's merged (node layout). */
export function dataDirDrift(dataDir: string, layout: NodeLayout | undefined): unknown {
  if (!layout) return driftSnapshot(dataDir);
  return mergeDrift(
    layout.nodes.map((n) => ({ name: n.id, answer: driftSnapshot(n.dir) as unknown as DriftAnswer })),
    "no node of this data dir has a drift store",
  );
}

/** Clock offsets of a data dir (the Nodes page): its drift.sqlite's, or every node's. */
export function dataDirClocks(dataDir: string, layout: NodeLayout | undefined): DriftSnapshot["clock"] {
  if (!layout) return driftSnapshot(dataDir).clock;
  return layout.nodes.flatMap((n) => driftSnapshot(n.dir).clock);
}

/** Acknowledge / resolve alert `<node>/<id>` of a node-layout data dir in that node's store. */
export function applyNodeAction(
  layout: NodeLayout,
  idText: string,
  action: "ack" | "resolve",
  body: { by: string; note: string },
  webhooks: readonly string[] = [],
): Omit<DriftAlertView, "id"> & { id: string; observedBy: string } {
  const m = /^(.+)\/([^/]+)$/.exec(idText);
  if (!m) throw new DashboardActionError(404, `alert "${idText}": expected <node>/<id>`);
  const node = layout.nodes.find((n) => n.id === m[1]);
  if (!node) throw new DashboardActionError(404, `alert "${idText}": no node "${m[1]}" in this data dir`);
  const a = applyAction(node.dir, m[2]!, action, body, webhooks);
  return { ...a, id: idText, observedBy: node.id };
}
