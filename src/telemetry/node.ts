/**
 * Metrics of one node process (`amp node`): a NodeExtension that serves `GET /metrics` on the
 * node's own URL and feeds the node's AmpMetrics registry from
 *
 * - the node's HTTP service (Fastify `onResponse` hook): ingest latency and events accepted or
 *   refused by reason (pushback on 429/503), vote requests answered, checkpoints cosigned;
 * - the coordinator's StageClock (src/node/stages.ts): seal, quorum, witness and anchor latencies;
 * - every tick's result: anchors, failed rounds, last anchored round and time;
 * - the evidence files (`evidence/evidence.jsonl`, `evidence/catch-up.jsonl`), read as they grow;
 * - the node's state at scrape time: tree size, last signed and anchored round, inbox depth.
 *
 * Other extensions (drift, credits) add their series with `nodeMetrics(ctx)?.driftDetection(…)`.
 */
import fs from "node:fs";
import path from "node:path";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { FaultKind } from "../consensus/evidence";
import type { TickResult } from "../node/driver";
import type { NodeExtension, NodeExtensionContext } from "../node/service";
import { AmpError } from "../util/errors";
import { AmpMetrics, type RefusalReason } from "./metrics";
import { observe } from "../rounds/observer";

const registries = new WeakMap<NodeExtensionContext, AmpMetrics>();

/** Evidence kinds a node records (label values stay a fixed set; anything else is `other`). */
const EVIDENCE_KINDS = new Set<string>([
  "wrong-root",
  "equivocation",
  "invalid-signature",
  "wrong-length-signature",
  "withheld-vote",
  "forged-entries",
]);

/**
 * The metrics registry of the node whose extension context is `ctx` (undefined when the node runs
 * without the metrics extension). Call it when observing, not when building an extension: extensions
 * are set up in list order. Example (drift): `nodeMetrics(ctx)?.driftDetection(origin, seconds)`.
 */
export function nodeMetrics(ctx: NodeExtensionContext): AmpMetrics | undefined {
  return registries.get(ctx);
}

export interface NodeMetricsOptions {
  /** Export Node.js process metrics (default true: one node per process; false when several share one). */
  readonly processMetrics?: boolean;
}

/** HTTP status of a refused ingest → the refusal reason (error kind) it stands for. */
export function reasonOfStatus(status: number): RefusalReason {
  if (status === 429 || status === 503) return "retry-later";
  if (status === 422 || status === 409) return "conflict";
  if (status === 404) return "not-found";
  if (status >= 400 && status < 500) return "invalid-input";
  return "bug";
}

/** Non-blank lines of an NDJSON body (what one ingest call carried). */
function eventsIn(body: unknown): number {
  if (!Buffer.isBuffer(body)) return 0;
  let n = 0;
  for (const line of body.toString("utf8").split("\n")) if (line.trim() !== "") n++;
  return n;
}

/** Reads an append-only JSON-lines file as it grows; calls `each` once per complete line. */
class Tail {
  private offset = 0;
  constructor(private readonly file: string) {}
  read(each: (o: Record<string, unknown>) => void): void {
    let size: number;
    try {
      size = fs.statSync(this.file).size;
    } catch {
      return; // not written yet
    }
    if (size <= this.offset) return;
    const fd = fs.openSync(this.file, "r");
    try {
      const buf = Buffer.alloc(size - this.offset);
      fs.readSync(fd, buf, 0, buf.length, this.offset);
      const end = buf.lastIndexOf(0x0a);
      if (end < 0) return; // a line still being written
      this.offset += end + 1;
      for (const line of buf.subarray(0, end).toString("utf8").split("\n")) {
        try {
          each(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // a torn line: ignored, as the evidence store does
        }
      }
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** The metrics extension of one node: `extensions: [nodeMetricsExtension()]`. */
export function nodeMetricsExtension(opts: NodeMetricsOptions = {}): NodeExtension {
  let metrics: AmpMetrics | undefined;
  let tails: Tail[] = [];
  let lastSeen = 0n; // the last anchored round seen (set at start: a restart is not an anchor)

  const onTick = (r: TickResult, ctx: NodeExtensionContext) => {
    const m = metrics;
    if (!m) return;
    observe(() => {
      if (r.kind === "anchored" || r.kind === "already-anchored") {
        // This node drove the round through witnessing to the chain (as `witnessed` in process).
        m.anchors.inc({ status: r.kind });
        m.rounds.inc({ status: "witnessed" });
      } else if (r.kind === "failed") m.rounds.inc({ status: "failed" });
      // Every node (not only the round's proposer) tells when it last saw a new anchored round.
      const anchored = ctx.node.lastAnchoredRound();
      if (anchored > lastSeen) {
        m.lastAnchorTime.set(Date.now() / 1000);
        lastSeen = anchored;
      }
      for (const t of tails) {
        t.read((e) => {
          const kind = typeof e.kind === "string" && EVIDENCE_KINDS.has(e.kind) ? e.kind : "other";
          const accused = typeof e.nodeId === "string" ? e.nodeId : "unknown";
          // Label values stay bounded: only node ids of the manifest.
          if (!ctx.node.cfg.roster.has(accused)) return;
          const fed = ctx.node.cfg.roster.federationOf(accused).config.origin;
          m.evidence(fed, accused, kind as FaultKind);
        });
      }
    });
  };

  return {
    name: "metrics",
    routes(app: FastifyInstance, ctx: NodeExtensionContext) {
      const node = ctx.node;
      const federation = node.origin;
      const m = new AmpMetrics({
        defaultLabels: { federation, node: node.id },
        processMetrics: opts.processMetrics ?? true,
      });
      metrics = m;
      registries.set(ctx, m);
      m.weights(
        federation,
        node.federation.nodes.map((n) => ({ node: n.id, weight: n.member.weight })),
      );
      m.trackQueueDepth(() => ({ [federation]: node.inbox.size() }));
      // Read from the node at each scrape (cheap: sizes and a small state file).
      const state = () => {
        const s = node.status();
        m.treeSize.set({ federation }, Number(s.treeSize));
        m.lastSignedRound.set({ federation }, Number(s.lastSignedRound));
        m.lastAnchoredRound.set(Number(s.lastAnchoredRound));
        // Weights change with validator-set rotations (adaptive weights): read them at each scrape.
        m.weights(
          federation,
          node.federation.nodes.map((n) => ({ node: n.id, weight: n.member.weight })),
        );
      };
      ctx.coordinator.stages.listen((stage, seconds) => {
        if (stage === "seal") m.sealSeconds.observe({ federation }, seconds);
        else if (stage === "quorum") m.quorumSeconds.observe({ federation }, seconds);
        else if (stage === "witness") m.witnessSeconds.observe(seconds);
        else m.anchorSeconds.observe(seconds);
      });
      tails = ["evidence.jsonl", "catch-up.jsonl"].map(
        (f) => new Tail(path.join(ctx.dataDir, "evidence", f)),
      );

      // Events newly queued by an ingest call (duplicates and already anchored ones are not counted).
      const queued = new WeakMap<FastifyRequest, number>();
      app.addHook("onSend", (req: FastifyRequest, reply: FastifyReply, payload: unknown, done) => {
        if (req.method === "POST" && req.routeOptions.url === "/v1/events" && typeof payload === "string") {
          queued.set(req, payload.match(/"status":"queued"/g)?.length ?? 0);
        }
        done(null, payload);
      });
      app.addHook("onResponse", (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
        observe(() => {
          const route = req.routeOptions.url;
          const status = reply.statusCode;
          const seconds = reply.elapsedTime / 1000;
          if (req.method === "POST" && route === "/v1/events") {
            const n = eventsIn(req.body);
            if (status < 300) m.ingested(federation, seconds, queued.get(req) ?? 0);
            else {
              const reason = reasonOfStatus(status);
              m.refused(federation, new AmpError(`HTTP ${status}`, { kind: reason }), Math.max(1, n));
            }
          } else if (req.method === "POST" && route === "/v1/validator/vote") {
            m.vote(federation, node.id, seconds, status < 300);
          }
        });
        done();
      });
      app.get("/metrics", async (_req, reply) => {
        observe(state);
        void reply.header("content-type", m.contentType);
        return m.metrics();
      });
    },
    start(ctx: NodeExtensionContext) {
      lastSeen = ctx.node.lastAnchoredRound();
    },
    onTick,
  };
}
