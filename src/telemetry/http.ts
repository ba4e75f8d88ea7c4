/**
 * Serving `GET /metrics`: a node:http listener for processes without a web framework (the
 * in-process `amp run` / `amp demo`), and a route for a Fastify app (`registerMetricsRoute`).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { InvalidInputError } from "../util/errors";
import { createLogger } from "../util/log";

/** What serving needs from a registry: prom-client's `Registry` or `AmpMetrics` both fit. */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

const log = createLogger("telemetry/http");

/** `host:port` (port may be 0 for a free one); IPv6 hosts in brackets: `[::1]:9464`. */
export function parseListen(value: string, flag = "--metrics-listen"): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new InvalidInputError(`${flag} must be HOST:PORT (e.g. 127.0.0.1:9464), got "${value}"`);
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port };
}

/** A request listener: `GET|HEAD /metrics` → 200 text exposition; other paths 404, other methods 405. */
export function metricsListener(source: MetricsSource): http.RequestListener {
  return (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /metrics\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("method not allowed\n");
      return;
    }
    source.metrics().then(
      (body) => {
        res.writeHead(200, { "content-type": source.contentType });
        res.end(req.method === "HEAD" ? undefined : body);
      },
      (err: unknown) => {
        log.error("metrics rendering failed", { err });
        res.writeHead(500, { "content-type": "text/plain" }).end("metrics unavailable\n");
      },
    );
  };
}

export interface MetricsServer {
  /** `http://host:port/metrics` with the port actually bound. */
  readonly url: string;
  close(): Promise<void>;
}

/** Listen on `listen` (`host:port`, e.g. `127.0.0.1:0`) and serve `/metrics` until `close()`. */
export async function serveMetrics(source: MetricsSource, listen: string): Promise<MetricsServer> {
  const { host, port } = parseListen(listen);
  const server = http.createServer(metricsListener(source));
  server.keepAliveTimeout = 5_000;
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
    url: `http://${shown}:${addr.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The part of a Fastify instance the route needs (Fastify 5's `app.get(path, handler)`). */
export interface RouteHost {
  get(
    path: string,
    handler: (request: unknown, reply: { header(name: string, value: string): unknown }) => Promise<string>,
  ): unknown;
}

/** Mount `GET /metrics` on a Fastify app: `registerMetricsRoute(app, node.metrics)`. */
export function registerMetricsRoute(app: RouteHost, source: MetricsSource): void {
  app.get("/metrics", async (_request, reply) => {
    reply.header("content-type", source.contentType);
    return source.metrics();
  });
}
