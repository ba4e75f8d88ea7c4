/**
 * Where `amp alerts` reads and changes alerts:
 * - `--data DIR` with `DIR/drift.sqlite` (a node's data dir, or the in-process demo's): the store;
 * - `--data DIR` of a local federation (`amp up`, the demo on processes: `DIR/nodes/<id>/drift.sqlite`):
 *   every node's store; alerts are named `<node>/<id>` (each coordinator keeps what it observed);
 * - `--node URL`: the node's HTTP API (docs/http.md "Drift monitor"); ack/resolve send the
 *   operator token of `--token-file FILE` or of the node data dir `--data DIR` (`admin.token`).
 */
import fs from "node:fs";
import path from "node:path";
import {
  DRIFT_DB_FILE,
  DriftStore,
  WebhookDispatcher,
  acknowledgeAlert,
  listAlerts,
  parseAlertId,
  resolveAlert,
  showAlert,
  type AlertState,
} from "../drift";
import { ADMIN_TOKEN_FILE, adminHeader } from "../node/admin";
import { AmpError, InvalidInputError } from "../util/errors";
import { CannotCheckError, UsageError } from "./exit";

/** An alert as printed: an AlertRow, rounds as bigint (store) or decimal strings (HTTP). */
export interface AlertLike {
  id: number | string;
  federation: string;
  node: string;
  majorityNode: string;
  cause: string;
  severity: string;
  driftScore: number | null;
  firstRound: bigint | string;
  lastRound: bigint | string;
  occurrences: number;
  state: string;
  actions: readonly string[];
  /** In a federation dir: the node whose monitor observed it (it coordinated the round). */
  observedBy?: string;
}

export interface FindingLike {
  round: bigint | string;
  kind: string;
  cause: string;
  node: string;
  majorityNode: string;
  driftScore: number | null;
  divergentLeaves: number;
  batchLeaves: number;
  severity: string;
  latencyMs: number;
}

export interface HistoryLike {
  at: string;
  from: string | null;
  to: string;
  actor: string;
  note: string;
}

export interface AlertDetailLike {
  alert: AlertLike;
  history: HistoryLike[];
  findings: FindingLike[];
}

export interface AlertFilter {
  state?: AlertState;
  federation?: string;
  node?: string;
}

export interface AlertsSource {
  list(filter: AlertFilter): Promise<AlertLike[]>;
  show(id: string): Promise<AlertDetailLike>;
  change(id: string, to: "acknowledged" | "resolved", by: string, note: string): Promise<AlertLike>;
  close(): void;
}

/** Usage problems (a bad id, state, empty note) exit 2, as flags do. */
export function usage<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof InvalidInputError) throw new UsageError(e.shortMessage, { cause: e });
    throw e;
  }
}

/** One data dir's store. */
class StoreSource implements AlertsSource {
  constructor(
    private readonly store: DriftStore,
    private readonly webhooks: () => readonly string[],
  ) {}
  list(filter: AlertFilter): Promise<AlertLike[]> {
    return Promise.resolve(listAlerts(this.store, filter));
  }
  show(id: string): Promise<AlertDetailLike> {
    const d = showAlert(
      this.store,
      usage(() => parseAlertId(id)),
    );
    return Promise.resolve({ alert: d.alert, history: [...d.history], findings: [...d.findings] });
  }
  async change(id: string, to: "acknowledged" | "resolved", by: string, note: string): Promise<AlertLike> {
    const n = usage(() => parseAlertId(id));
    const hooks = this.webhooks();
    const change = to === "resolved" ? resolveAlert : acknowledgeAlert;
    const a = usage(() => change(this.store, n, by, note, hooks));
    // Try once now; the node's dispatcher retries what fails from the outbox.
    if (hooks.length > 0) await new WebhookDispatcher(this.store, { timeoutMs: 3000 }).deliverDue();
    return a;
  }
  close(): void {
    this.store.close();
  }
}

/** Every node store of a local federation's data dir; ids are `<node>/<id>`. */
class FederationSource implements AlertsSource {
  constructor(private readonly nodes: Map<string, StoreSource>) {}
  private at(id: string): [string, StoreSource] {
    const m = /^([A-Za-z0-9._-]{1,64})\/(.+)$/.exec(id);
    const s = m && this.nodes.get(m[1]!);
    if (!m || !s) {
      throw new UsageError(
        `alert id in a federation dir is <node>/<id> (nodes: ${[...this.nodes.keys()].join(", ")}), got "${id}"`,
      );
    }
    return [m[2]!, s];
  }
  async list(filter: AlertFilter): Promise<AlertLike[]> {
    const out: AlertLike[] = [];
    for (const [node, s] of this.nodes) {
      for (const a of await s.list(filter)) out.push({ ...a, id: `${node}/${a.id}`, observedBy: node });
    }
    return out;
  }
  async show(id: string): Promise<AlertDetailLike> {
    const [n, s] = this.at(id);
    const d = await s.show(n);
    return { ...d, alert: { ...d.alert, id } };
  }
  async change(id: string, to: "acknowledged" | "resolved", by: string, note: string): Promise<AlertLike> {
    const [n, s] = this.at(id);
    return { ...(await s.change(n, to, by, note)), id };
  }
  close(): void {
    for (const s of this.nodes.values()) s.close();
  }
}

/** A node's HTTP API. */
class HttpSource implements AlertsSource {
  constructor(
    private readonly base: string,
    private readonly token: () => string,
  ) {}
  private async call<T>(method: "GET" | "POST", p: string, body?: unknown, token?: string): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.base.replace(/\/$/, "") + p, {
        method,
        headers: {
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
          ...(token !== undefined ? adminHeader(token) : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (e) {
      throw new CannotCheckError(`node ${this.base} does not answer: ${(e as Error).message}`, { cause: e });
    }
    const text = await res.text();
    let o: unknown;
    try {
      o = JSON.parse(text);
    } catch {
      throw new CannotCheckError(`node ${this.base}${p}: HTTP ${res.status}, not JSON`);
    }
    if (res.ok) return o as T;
    const message = (o as { message?: unknown }).message;
    const m = `node ${this.base}: ${typeof message === "string" ? message : `HTTP ${res.status}`}`;
    if (res.status === 400) throw new UsageError(m);
    if (res.status === 401 || res.status === 403) throw new AmpError(`${m} (HTTP ${res.status})`);
    if (res.status >= 500) throw new CannotCheckError(m);
    throw new AmpError(m);
  }
  async list(filter: AlertFilter): Promise<AlertLike[]> {
    const q = new URLSearchParams(
      Object.entries(filter).filter((e): e is [string, string] => typeof e[1] === "string"),
    ).toString();
    return (await this.call<{ alerts: AlertLike[] }>("GET", `/v1/drift/alerts${q ? `?${q}` : ""}`)).alerts;
  }
  show(id: string): Promise<AlertDetailLike> {
    const n = usage(() => parseAlertId(id));
    return this.call<AlertDetailLike>("GET", `/v1/drift/alerts/${n}`);
  }
  change(id: string, to: "acknowledged" | "resolved", by: string, note: string): Promise<AlertLike> {
    const n = usage(() => parseAlertId(id));
    const action = to === "resolved" ? "resolve" : "ack";
    return this.call<AlertLike>("POST", `/v1/drift/alerts/${n}/${action}`, { by, note }, this.token());
  }
  close(): void {}
}

function openStore(file: string): DriftStore {
  return new DriftStore(file);
}

export interface SourceOptions {
  data?: string;
  node?: string;
  tokenFile?: string;
  /** Webhook URLs to tell of a change made on a local store (the manifest's drift.webhooks). */
  webhooks: () => readonly string[];
}

/** The source the flags name (see the file comment); nothing is created on disk. */
export function alertsSource(o: SourceOptions): AlertsSource {
  if (o.node !== undefined) {
    let base: URL;
    try {
      base = new URL(o.node);
    } catch {
      throw new UsageError(`--node must be a URL such as http://127.0.0.1:8080, got "${o.node}"`);
    }
    if (base.protocol !== "http:" && base.protocol !== "https:") {
      throw new UsageError(`--node must be an http(s) URL, got "${o.node}"`);
    }
    const token = (): string => {
      const file = o.tokenFile ?? (o.data !== undefined ? path.join(o.data, ADMIN_TOKEN_FILE) : undefined);
      if (file === undefined) {
        throw new UsageError(
          "changing an alert over --node needs the operator token: --token-file FILE or --data NODE_DIR",
        );
      }
      if (!fs.existsSync(file)) throw new CannotCheckError(`no operator token at ${file}`);
      return fs.readFileSync(file, "utf8").trim();
    };
    return new HttpSource(o.node, token);
  }
  if (o.tokenFile !== undefined) throw new UsageError("--token-file goes with --node URL");
  if (o.data === undefined) throw new UsageError("give --data DIR or --node URL");
  const file = path.join(o.data, DRIFT_DB_FILE);
  if (fs.existsSync(file)) return new StoreSource(openStore(file), o.webhooks);
  const nodesDir = path.join(o.data, "nodes");
  const nodes = fs.existsSync(nodesDir)
    ? fs
        .readdirSync(nodesDir)
        .filter((n) => fs.existsSync(path.join(nodesDir, n, DRIFT_DB_FILE)))
        .sort()
    : [];
  if (nodes.length === 0) {
    throw new CannotCheckError(
      `no drift monitor data at ${file}: run "amp run" or "amp demo --data ${o.data}" first`,
    );
  }
  return new FederationSource(
    new Map(
      nodes.map((n) => [n, new StoreSource(openStore(path.join(nodesDir, n, DRIFT_DB_FILE)), o.webhooks)]),
    ),
  );
}
