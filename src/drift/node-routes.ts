/**
 * The drift monitor's HTTP routes on a node (docs/http.md "Drift monitor"):
 *
 * - operator reads (no token; a node's findings are about its own federation, like /v1/status):
 *   GET /v1/drift, GET /v1/drift/alerts, GET /v1/drift/alerts/:id, GET /v1/drift/clock,
 *   GET /v1/drift/counts;
 * - operator writes (operator token, `requireAdmin`): POST /v1/drift/alerts/:id/ack|resolve with
 *   `{"by": "...", "note": "..."}` (resolving needs a note);
 * - peer calls (signed by a member of this node's federation, as batch and vote requests are):
 *   POST /v1/drift/range-hashes, POST /v1/drift/entries (src/drift/http-probe.ts).
 *
 * The JSON shapes are those of the dashboard's Drift page (src/dashboard/drift.ts): alerts with
 * rounds as decimal strings and their history, findings newest first, clock offsets oldest first.
 */
import type { FastifyInstance, FastifyReply } from "fastify";
import { requireAdmin } from "../node/admin";
import { SIGNATURE_HEADER, UnauthenticatedError, parseJson, verifyBody, type Json } from "../transport/wire";
import { AmpError, InvalidInputError } from "../util/errors";
import {
  acknowledgeAlert,
  clockOffsets,
  recentClockOffsets,
  listAlerts,
  nodeFindingCounts,
  parseAlertId,
  parseAlertState,
  resolveAlert,
  showAlert,
} from "./api";
import { DriftProbeServer, ENTRIES_PATH, RANGE_HASHES_PATH } from "./http-probe";
import type { VotedEntriesSource } from "./probe";
import type { AlertRow, DriftStore, HistoryRow, StoredFinding } from "./store";

export const MAX_ACTION_BYTES = 4096;
const MAX_BY = 100;
const MAX_NOTE = 2000;
/** Findings and clock rounds in GET /v1/drift: the newest ones (as the dashboard shows). */
const MAX_FINDINGS = 500;
const MAX_CLOCK_ROUNDS = 200n;

export interface DriftRoutesContext {
  readonly store: DriftStore;
  readonly adminToken: string;
  /** Address of a member of this node's federation (peer requests), undefined for anyone else. */
  readonly memberAddress: (nodeId: string) => string | undefined;
  readonly voted: VotedEntriesSource;
  /** Webhook URLs told of acknowledgements and resolutions. */
  readonly webhooks: readonly string[];
  /** Called after a state change was queued (kicks the webhook dispatcher). */
  readonly changed?: () => void;
}

/** JSON of an alert: rounds as decimal strings, with its history (the dashboard's DriftAlertView). */
export function alertJson(a: AlertRow, history: readonly HistoryRow[]): Record<string, unknown> {
  return { ...a, firstRound: a.firstRound.toString(), lastRound: a.lastRound.toString(), history };
}

/** JSON of a finding: the round as a decimal string. */
export function findingJson(f: StoredFinding): Record<string, unknown> {
  return { ...f, round: f.round.toString() };
}

const STATUS: Record<string, number> = {
  "invalid-input": 400,
  "not-found": 404,
  conflict: 409,
  "retry-later": 503,
  bug: 500,
};

function send(reply: FastifyReply, e: unknown): FastifyReply {
  if (e instanceof UnauthenticatedError)
    return reply.code(403).send({ error: e.name, message: e.shortMessage });
  if (e instanceof AmpError) {
    return reply.code(STATUS[e.kind] ?? 500).send({ error: e.name, message: e.shortMessage, ...e.meta });
  }
  return reply.code(500).send({ error: "Error", message: String((e as Error).message ?? e).split("\n")[0] });
}

type Req = { body: unknown; query: unknown; params: unknown; headers: Record<string, unknown> };
const guard =
  (h: (req: Req) => unknown) =>
  async (req: Req, reply: FastifyReply): Promise<unknown> => {
    try {
      return await h(req);
    } catch (e) {
      return send(reply, e);
    }
  };

const q = (req: Req): Record<string, unknown> => (req.query ?? {}) as Record<string, unknown>;
const raw = (b: unknown): string => (Buffer.isBuffer(b) ? b.toString("utf8") : "");

function optString(o: Record<string, unknown>, name: string): string | undefined {
  const v = o[name];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v === "") {
    throw new InvalidInputError(`query parameter "${name}" must be a non-empty string`, {
      meta: { field: name },
    });
  }
  return v;
}

function optRound(o: Record<string, unknown>, name: string): bigint | undefined {
  const v = optString(o, name);
  if (v === undefined) return undefined;
  if (!/^(0|[1-9][0-9]{0,19})$/.test(v)) {
    throw new InvalidInputError(`query parameter "${name}" must be a round number`, {
      meta: { field: name },
    });
  }
  return BigInt(v);
}

/** `{ "by": string, "note": string }` and nothing else (the dashboard's rules). */
export function parseAlertAction(body: string, action: "ack" | "resolve"): { by: string; note: string } {
  if (Buffer.byteLength(body) > MAX_ACTION_BYTES) {
    throw new InvalidInputError(`body larger than ${MAX_ACTION_BYTES} bytes`);
  }
  const o: Json = parseJson(body, "body");
  const extra = Object.keys(o).filter((k) => k !== "by" && k !== "note");
  if (extra.length > 0) {
    throw new InvalidInputError(`body: unknown field "${extra[0]}" (only by, note)`, {
      meta: { field: extra[0] },
    });
  }
  if (typeof o.by !== "string" || o.by.trim() === "" || o.by.length > MAX_BY) {
    throw new InvalidInputError(
      `body: field "by" must be a non-empty string of at most ${MAX_BY} characters`,
      {
        meta: { field: "by" },
      },
    );
  }
  const note = o.note ?? "";
  if (typeof note !== "string" || note.length > MAX_NOTE) {
    throw new InvalidInputError(`body: field "note" must be a string of at most ${MAX_NOTE} characters`, {
      meta: { field: "note" },
    });
  }
  if (action === "resolve" && note.trim() === "") {
    throw new InvalidInputError(`body: field "note" is required to resolve an alert`, {
      meta: { field: "note" },
    });
  }
  return { by: o.by.trim(), note };
}

export function addDriftRoutes(app: FastifyInstance, ctx: DriftRoutesContext): void {
  const { store } = ctx;
  const probe = new DriftProbeServer(ctx.voted);
  const alertId = (req: Req) => parseAlertId(String((req.params as Record<string, unknown>).id));

  app.get(
    "/v1/drift",
    guard(() => {
      const alerts = listAlerts(store).map((a) => alertJson(a, store.history(a.id)));
      const findings = store.findings().slice(-MAX_FINDINGS).reverse().map(findingJson);
      const clock = recentClockOffsets(store, MAX_CLOCK_ROUNDS);
      return { alerts: alerts.reverse(), findings, clock };
    }),
  );
  app.get(
    "/v1/drift/alerts",
    guard((req) => {
      const o = q(req);
      const state = optString(o, "state");
      const federation = optString(o, "federation");
      const node = optString(o, "node");
      const rows = listAlerts(store, {
        ...(state !== undefined ? { state: parseAlertState(state) } : {}),
        ...(federation !== undefined ? { federation } : {}),
        ...(node !== undefined ? { node } : {}),
      });
      return { alerts: rows.map((a) => alertJson(a, store.history(a.id))) };
    }),
  );
  app.get(
    "/v1/drift/alerts/:id",
    guard((req) => {
      const d = showAlert(store, alertId(req));
      return {
        alert: alertJson(d.alert, d.history),
        history: d.history,
        findings: d.findings.map(findingJson),
      };
    }),
  );
  for (const action of ["ack", "resolve"] as const) {
    app.post(
      `/v1/drift/alerts/:id/${action}`,
      { preHandler: requireAdmin(ctx.adminToken) },
      guard((req) => {
        const id = alertId(req);
        const { by, note } = parseAlertAction(raw(req.body), action);
        const change = action === "ack" ? acknowledgeAlert : resolveAlert;
        const a = change(store, id, by, note, ctx.webhooks);
        ctx.changed?.();
        return alertJson(a, store.history(id));
      }),
    );
  }
  app.get(
    "/v1/drift/clock",
    guard((req) => {
      const o = q(req);
      const federation = optString(o, "federation");
      const fromRound = optRound(o, "fromRound");
      const toRound = optRound(o, "toRound");
      const samples = clockOffsets(store, {
        ...(federation !== undefined ? { federation } : {}),
        ...(fromRound !== undefined ? { fromRound } : {}),
        ...(toRound !== undefined ? { toRound } : {}),
      });
      return { samples: samples.map((s) => ({ ...s, round: s.round.toString() })) };
    }),
  );
  app.get(
    "/v1/drift/counts",
    guard((req) => {
      const o = q(req);
      const federation = optString(o, "federation");
      const fromRound = optRound(o, "fromRound") ?? 0n;
      const toRound = optRound(o, "toRound") ?? 2n ** 63n;
      const r = nodeFindingCounts(store, {
        fromRound,
        toRound,
        ...(federation !== undefined ? { federation } : {}),
      });
      return {
        roundsObserved: r.roundsObserved,
        counts: r.counts.map((c) => ({ ...c, round: c.round.toString() })),
      };
    }),
  );

  // peer calls of the coordinator's drift monitor (signed like batch and vote requests)
  const signed = (req: Req): Json => {
    const body = raw(req.body);
    verifyBody(req.headers[SIGNATURE_HEADER] as string | undefined, body, ctx.memberAddress);
    return parseJson(body, "body");
  };
  app.post(
    RANGE_HASHES_PATH,
    guard((req) => probe.rangeHashes(signed(req))),
  );
  app.post(
    ENTRIES_PATH,
    guard((req) => probe.entriesAt(signed(req))),
  );
}
