/**
 * The dashboard's HTTP server (node:http): static assets — the page, its script and style from
 * ./public, uPlot from its npm package (served from node_modules: no CDN, works offline) — and
 * `GET /api/rounds`, the data dir's snapshot as JSON. Read-only: GET and HEAD only, a strict
 * Content-Security-Policy (`'self'` only), nothing but the files named here is served.
 */
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { parseListen } from "../telemetry/http";
import { createLogger } from "../util/log";
import { expandLayout } from "./layout";
import type { ReceiptsReader } from "../credits/chain";
import { CreditsData } from "./credits";
import { ProofLookupError, checkEventId, lookupProof } from "./proof";
import type { ProofCheck } from "./proof";
import { DashboardData } from "./data";
import type { LiveNodes } from "./live";
import { nodesSnapshot } from "./nodes";
import type { ManifestWeights } from "./nodes";
import {
  ACTION_ROUTE,
  DashboardActionError,
  applyAction,
  applyNodeAction,
  checkSameOriginJson,
  dataDirClocks,
  dataDirDrift,
  parseAction,
  readBody,
} from "./drift";

const log = createLogger("dashboard");

/** ./public next to this file, or the sources' when running compiled from dist/. */
function publicDir(): string {
  const here = path.join(__dirname, "public");
  if (fs.existsSync(here)) return here;
  return path.join(__dirname, "..", "..", "..", "src", "dashboard", "public");
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

/** URL path → file; a fixed list, so no request can name another file. */
function assets(): Map<string, string> {
  const pub = publicDir();
  // Bundled at build time next to the compiled pages (bundle.ts); from the npm package in the sources.
  const bundled = path.join(pub, "assets");
  const uplot = fs.existsSync(path.join(bundled, "uPlot.iife.min.js"))
    ? bundled
    : path.dirname(require.resolve("uplot/dist/uPlot.iife.min.js"));
  return new Map([
    ["/", path.join(pub, "index.html")],
    ["/app.js", path.join(pub, "app.js")],
    ["/app.css", path.join(pub, "app.css")],
    ["/nodes", path.join(pub, "nodes.html")],
    ["/nodes.js", path.join(pub, "nodes.js")],
    ["/drift", path.join(pub, "drift.html")],
    ["/drift.js", path.join(pub, "drift.js")],
    ["/plot.js", path.join(pub, "plot.js")],
    ["/credits", path.join(pub, "credits.html")],
    ["/credits.js", path.join(pub, "credits.js")],
    ["/proof", path.join(pub, "proof.html")],
    ["/proof.js", path.join(pub, "proof.js")],
    ["/assets/uPlot.iife.min.js", path.join(uplot, "uPlot.iife.min.js")],
    ["/assets/uPlot.min.css", path.join(uplot, "uPlot.min.css")],
  ]);
}

const SECURITY = {
  "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

export interface DashboardOptions {
  /** Node weights of the manifest the run used (the Nodes page); none shown without it. */
  readonly manifest?: readonly ManifestWeights[];
  /** Webhooks notified when an alert is acknowledged or resolved from the Drift page. */
  readonly webhooks?: readonly string[];
  /** The pinned ProofCreditReceipts the Credits page verifies receipts against; unchecked without. */
  readonly receipts?: ReceiptsReader;
  /** The chain and the pinned trust policy the Proof lookup verifies proofs against; unchecked without. */
  readonly proofCheck?: ProofCheck;
  /** Read rounds, nodes, proofs and drift from running nodes' HTTP APIs instead of the data dir. */
  readonly live?: LiveNodes;
}

/** GET /api/proof?event=ID: the event's proof file and its verification. */
function proofRoute(
  data: DashboardData,
  opts: DashboardOptions,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): void {
  const head = req.method === "HEAD";
  void (async () => {
    try {
      const query = new URL(req.url ?? "/", "http://dashboard.invalid").searchParams;
      const eventId = checkEventId(query.get("event"));
      const originOf = (name: string) => opts.manifest?.find((f) => f.name === name)?.origin;
      const found = opts.live
        ? await opts.live.proof(eventId, opts.proofCheck)
        : await lookupProof(data.dataDir, eventId, originOf, opts.proofCheck, data.nodeLayout());
      sendJson(res, 200, found, head);
    } catch (e) {
      if (e instanceof ProofLookupError && (e.status === 404 || e.status === 409)) {
        // A lookup that finds no proof is an answer, not a failed request (no browser console error).
        sendJson(
          res,
          200,
          { found: false, reason: e.status === 404 ? "not-found" : "not-anchored", error: e.message },
          head,
        );
        return;
      }
      if (e instanceof ProofLookupError) {
        sendJson(res, e.status, { error: e.message }, head);
        return;
      }
      log.error("dashboard proof lookup failed", { url: req.url, err: e });
      sendJson(res, 500, { error: "the dashboard could not build the proof" }, head);
    }
  })();
}

function sendJson(res: http.ServerResponse, status: number, value: unknown, head = false): void {
  res.writeHead(status, { ...SECURITY, "content-type": "application/json", "cache-control": "no-store" });
  res.end(head ? undefined : JSON.stringify(value));
}

/** POST /api/drift/alerts/:id/ack|resolve (the only writes; see drift.ts for the CSRF checks). */
async function driftAction(
  data: DashboardData,
  opts: DashboardOptions,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  m: RegExpExecArray,
): Promise<void> {
  try {
    checkSameOriginJson(req);
    const action = m[2] as "ack" | "resolve";
    const body = parseAction(await readBody(req), action);
    const id = decodeURIComponent(m[1]!);
    const nodes = opts.live ? undefined : data.nodeLayout();
    sendJson(
      res,
      200,
      opts.live
        ? await opts.live.driftAction(id, action, body)
        : nodes
          ? applyNodeAction(nodes, id, action, body, opts.webhooks ?? [])
          : applyAction(data.dataDir, id, action, body, opts.webhooks ?? []),
    );
  } catch (e) {
    if (e instanceof DashboardActionError) {
      sendJson(res, e.status, { error: e.message });
      return;
    }
    log.error("dashboard action failed", { url: req.url, err: e });
    sendJson(res, 500, { error: "the dashboard could not change the alert" });
  }
}

export function dashboardListener(dataDir: string, opts: DashboardOptions = {}): http.RequestListener {
  const named = (opts.manifest ?? []).flatMap((m) => (m.name !== undefined ? [{ ...m, name: m.name }] : []));
  const data = new DashboardData(dataDir, named);
  const files = assets();
  const credits = new CreditsData(dataDir, opts.receipts, () => data.nodeLayout());
  return (req, res) => {
    const url = (req.url ?? "/").split("?")[0]!;
    const action = ACTION_ROUTE.exec(url);
    if (action) {
      if (req.method === "POST") void driftAction(data, opts, req, res, action);
      else res.writeHead(405, { allow: "POST", "content-type": "text/plain" }).end("method not allowed\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("method not allowed\n");
      return;
    }
    if (url === "/api/proof") {
      proofRoute(data, opts, req, res);
      return;
    }
    const live = opts.live;
    if (
      live &&
      (url === "/api/rounds" || url === "/api/nodes" || url === "/api/drift" || url === "/api/credits")
    ) {
      const answer =
        url === "/api/rounds"
          ? live.rounds()
          : url === "/api/nodes"
            ? live.nodesView()
            : url === "/api/drift"
              ? live.drift()
              : live.credits();
      answer.then(
        (v) => sendJson(res, 200, v, req.method === "HEAD"),
        (err: unknown) => {
          log.error("dashboard request failed", { url, err });
          sendJson(res, 502, { error: "the dashboard could not read the nodes" }, req.method === "HEAD");
        },
      );
      return;
    }
    if (url === "/api/nodes") {
      // Clock offsets from the drift store, rank and governance weight from the checked records.
      credits
        .snapshot()
        .then((c) => nodesSnapshot(data, opts.manifest, dataDirClocks(dataDir, data.nodeLayout()), c))
        .then(
          (v) => sendJson(res, 200, v, req.method === "HEAD"),
          (err: unknown) => {
            log.error("dashboard request failed", { url, err });
            res
              .writeHead(500, { "content-type": "text/plain" })
              .end("dashboard could not read the data dir\n");
          },
        );
      return;
    }
    if (url === "/api/credits") {
      credits.snapshot().then(
        (v) => sendJson(res, 200, v, req.method === "HEAD"),
        (err: unknown) => {
          log.error("dashboard request failed", { url, err });
          res.writeHead(500, { "content-type": "text/plain" }).end("dashboard could not read the data dir\n");
        },
      );
      return;
    }
    try {
      const api =
        url === "/api/rounds"
          ? data.snapshot()
          : url === "/api/drift"
            ? dataDirDrift(dataDir, data.nodeLayout())
            : undefined;
      if (api) {
        const body = JSON.stringify(api);
        res.writeHead(200, { ...SECURITY, "content-type": "application/json", "cache-control": "no-store" });
        res.end(req.method === "HEAD" ? undefined : body);
        return;
      }
      const file = files.get(url);
      if (!file) {
        res.writeHead(404, { ...SECURITY, "content-type": "text/plain" }).end("not found\n");
        return;
      }
      // Pages from the sources get their head and nav here; bundled ones have them already.
      const body = file.endsWith(".html")
        ? expandLayout(fs.readFileSync(file, "utf8"), file)
        : fs.readFileSync(file);
      res.writeHead(200, { ...SECURITY, "content-type": TYPES[path.extname(file)] ?? "text/plain" });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch (err) {
      log.error("dashboard request failed", { url, err });
      res.writeHead(500, { "content-type": "text/plain" }).end("dashboard could not read the data dir\n");
    }
  };
}

export interface DashboardServer {
  /** `http://host:port/` with the port actually bound. */
  readonly url: string;
  close(): Promise<void>;
}

/** Serve the dashboard of `dataDir` on `listen` (`host:port`; port 0 picks a free one). */
export async function serveDashboard(
  dataDir: string,
  listen: string,
  opts: DashboardOptions = {},
): Promise<DashboardServer> {
  const { host, port } = parseListen(listen, "--listen");
  const server = http.createServer(dashboardListener(dataDir, opts));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shown}:${addr.port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
