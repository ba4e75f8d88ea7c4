/**
 * `amp run` on the node code: the nodes of `--data DIR` (DIR/nodes/<id>) as NodeServices in this
 * process — the same code and extensions as `amp node`, each with only its own keys, talking over
 * loopback HTTP (startLocalFederation with `startNodes: false` + startInProcessNodes, as the
 * in-process `amp demo`) — on the chain at `--rpc`. The events `amp ingest` queued in
 * `DIR/archive.sqlite` (and `--generate` events) are posted to the nodes' `POST /v1/events`; it
 * waits until every node has them anchored, stops the nodes, prints the round table, and removes
 * the delivered queue (the nodes hold the events and payloads from then on).
 */
import fs from "node:fs";
import path from "node:path";
import { Archive, type StoredEvent } from "../archive";
import { ANCHORS_FILE } from "../chain/anchored-rounds";
import { connectRpc } from "../chain/connect";
import { assertDeploymentLive, readDeployment } from "../chain/deployment";
import { ARCHIVE_FILE } from "../chain/runner";
import { MlDsaWorkerPool } from "../crypto/mldsa";
import { loadManifest } from "../manifest";
import { startInProcessNodes, type InProcessNodes } from "../node/in-process";
import { startLocalFederation, type LocalFederation } from "../node/local";
import { serveMetrics, type MetricsServer } from "../telemetry/http";
import { PeerClient } from "../transport/client";
import { InvalidInputError } from "../util/errors";
import { loadManifestFederations, type ManifestFederation } from "./context";
import { anchoredRows, nodesMetrics, readEvidence, statusOf, until } from "./demo-processes";
import type { DemoCredit } from "./demo-results";
import { formatProcessRounds, type ProcessRoundRow } from "./demo-table";
import { generateEvents } from "./generate";
import { nodeExtensions } from "./node-extensions";
import { short } from "./output";

export interface RunOnNodesOptions {
  rpc: string;
  data: string;
  /** Anchored rounds to reach at most (with `generate`: one submission after another). */
  rounds: number;
  /** Synthetic events per federation per submission (0: only the queue, one submission). */
  generate: number;
  maxBatch?: number | undefined;
  manifest?: string | undefined;
  keys?: string | undefined;
  /** ML-DSA worker threads shared by the nodes (0: main thread). */
  workers: number;
  epochSeconds?: number | undefined;
  metricsListen?: string | undefined;
}

export interface RunOnNodesResult {
  startRound: string;
  /** Events `amp ingest` had queued. */
  pending: string;
  rounds: ProcessRoundRow[];
  /** Credit epochs the nodes allocated on-chain during the run. */
  credits: DemoCredit[];
}

/** Events posted per request (each line ≤ 1 MiB; the node's body limit is 8 MiB). */
const CHUNK = 200;
const client = new PeerClient({ timeoutMs: 30_000, tries: 3 });

/** The raw event `amp ingest` validated: its leaf form with the inline payload put back. */
function rawLine(e: StoredEvent): string {
  const raw = JSON.parse(Buffer.from(e.canonical).toString("utf8")) as Record<string, unknown>;
  if (e.payload) {
    // The node commits to the payload with its own fresh salt (src/batching/encode.ts).
    delete raw.payload_commitment;
    raw.payload = JSON.parse(Buffer.from(e.payload).toString("utf8")) as unknown;
  }
  return JSON.stringify(raw);
}

/** Refuse a RoundEngine data dir: its anchored archive is not a node's, nor a queue. */
function refuseEngineDir(data: string): void {
  for (const f of [ANCHORS_FILE, "engine"]) {
    if (fs.existsSync(path.join(data, f))) {
      throw new InvalidInputError(
        `${data} holds rounds anchored by the RoundEngine \`amp run\` of an earlier release (${f}): ` +
          "`amp run` now runs the nodes (DIR/nodes/<id>); give a new --data dir (amp events/proof/erase/credits still read this one)",
      );
    }
  }
}

interface Submission {
  readonly fed: LocalFederation;
  /** Per federation: the tree size every node must reach. */
  readonly target: Map<string, bigint>;
  step: number;
}

/** Post `lines` of federation `name` to its nodes (rotating), counting what is new in `target`. */
async function post(s: Submission, name: string, lines: readonly string[]): Promise<void> {
  const members = s.fed.state.nodes.filter((n) => n.federation === name);
  for (let i = 0; i < lines.length; i += CHUNK) {
    const node = members[s.step++ % members.length]!;
    const res = await client.json<{ acknowledged: { status: string }[] }>(node.url, {
      method: "POST",
      path: "/v1/events",
      body: lines.slice(i, i + CHUNK).join("\n"),
      contentType: "application/x-ndjson",
    });
    const fresh = res.acknowledged.filter((a) => a.status !== "anchored").length;
    s.target.set(name, (s.target.get(name) ?? 0n) + BigInt(fresh));
  }
}

/** Post the queue in chunks (bounded memory); returns how many events it held. */
async function postQueue(s: Submission, queue: Archive, feds: readonly ManifestFederation[]): Promise<void> {
  for (const f of feds) {
    const next = queue.nextSeq(f.name);
    for (let seq = 0n; seq < next; seq += BigInt(CHUNK)) {
      const end = seq + BigInt(CHUNK) < next ? seq + BigInt(CHUNK) : next;
      await post(s, f.name, queue.eventsInRange(f.name, seq, end).map(rawLine));
    }
  }
}

/** Allocated credit epochs of the node that knows the most. */
async function allocatedEpochs(fed: LocalFederation): Promise<DemoCredit[]> {
  let best: DemoCredit[] = [];
  for (const n of fed.state.nodes) {
    const a = await client
      .json<{
        epochs: { epoch: string; nodes: number; txHash: string | null; blockNumber: number | null }[];
      }>(n.url, { method: "GET", path: "/v1/credits/epochs" })
      .catch(() => undefined);
    const done = (a?.epochs ?? []).flatMap((e) =>
      e.txHash !== null && e.blockNumber !== null
        ? [{ epoch: e.epoch, nodes: e.nodes, txHash: e.txHash, block: e.blockNumber }]
        : [],
    );
    if (done.length > best.length) best = done;
  }
  return best;
}

export async function runOnNodes(
  opts: RunOnNodesOptions,
  say: (line: string) => void,
  log: (line: string) => void,
): Promise<RunOnNodesResult> {
  refuseEngineDir(opts.data);
  const conn = await connectRpc(opts.rpc);
  try {
    if (fs.existsSync(path.join(opts.data, "deployment.json")))
      await assertDeploymentLive(conn, readDeployment(opts.data));
  } finally {
    conn.close();
  }
  const queueFile = path.join(opts.data, ARCHIVE_FILE);
  const queue = fs.existsSync(queueFile) ? Archive.open(queueFile) : undefined;
  const pool = opts.workers > 0 ? new MlDsaWorkerPool(opts.workers) : undefined;
  let fed: LocalFederation | undefined;
  let local: InProcessNodes | undefined;
  let metrics: MetricsServer | undefined;
  let stopped = false;
  const stopAll = async () => {
    if (stopped) return;
    stopped = true;
    await metrics?.close();
    await local?.stop();
    await fed?.stop();
    await pool?.close();
  };
  const onSignal = () => void stopAll().finally(() => process.exit(130));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const deadline = Date.now() + 600_000 + opts.rounds * 60_000;
    fed = await startLocalFederation({
      data: opts.data,
      rpc: opts.rpc,
      startNodes: false,
      say: log,
      ...(opts.manifest !== undefined ? { manifest: opts.manifest } : {}),
      ...(opts.keys !== undefined ? { keys: opts.keys } : {}),
    });
    const manifest = loadManifest(fed.state.manifest);
    local = await startInProcessNodes(fed, {
      configure: () => ({
        // The same list `amp node` runs; several nodes share this process.
        extensions: nodeExtensions(manifest, { epochSeconds: opts.epochSeconds, processMetrics: false }),
        ...(opts.maxBatch !== undefined ? { maxBatch: opts.maxBatch } : {}),
        ...(pool ? { mldsa: pool } : {}),
      }),
    });
    const nodes = fed.state.nodes;
    const statuses = await until(
      "every node answering /v1/status",
      async () => {
        const st = await Promise.all(nodes.map((n) => statusOf(n.url)));
        return st.every((x) => x !== undefined) ? st : undefined;
      },
      deadline,
    );
    log(
      `${nodes.length} nodes in this process (NodeService, own keys each): ${nodes.map((n) => n.url).join(", ")}`,
    );
    if (opts.metricsListen !== undefined) {
      metrics = await serveMetrics(nodesMetrics(nodes), opts.metricsListen);
      say(`metrics: ${metrics.url} (every node's /metrics merged)`);
    }
    const feds = loadManifestFederations(fed.state.manifest);
    const pending = feds.reduce((n, f) => n + (queue?.nextSeq(f.name) ?? 0n), 0n);
    const startRound = BigInt(statuses[0]!.chainNextRound);
    say(`starting at round ${startRound}; ${pending} events queued`);
    const before = new Set((await allocatedEpochs(fed)).map((c) => c.epoch));
    const target = new Map<string, bigint>();
    for (const s of statuses) {
      const size = BigInt(s.treeSize);
      if (size > (target.get(s.federation) ?? 0n)) target.set(s.federation, size);
    }
    const sub: Submission = { fed, target, step: 0 };
    for (let round = 0; ; round++) {
      const sizes = new Map(target);
      if (round === 0 && queue) await postQueue(sub, queue, feds);
      for (const f of feds) {
        if (opts.generate === 0) continue;
        const seq = target.get(f.name) ?? 0n;
        const events = generateEvents(f, seq, opts.generate, path.resolve(opts.data));
        await post(
          sub,
          f.name,
          events.map((e) => JSON.stringify(e)),
        );
      }
      if ([...target].every(([k, v]) => sizes.get(k) === v)) {
        say(`no queued events: stopping after ${round} submissions`);
        break;
      }
      const anchored = await until(
        "the posted events anchored on every node",
        async () => {
          const st = await Promise.all(nodes.map((n) => statusOf(n.url)));
          const done = st.every(
            (s) => s && s.pendingEvents === 0 && BigInt(s.treeSize) >= (target.get(s.federation) ?? 0n),
          );
          return done ? BigInt(st[0]!.chainNextRound) - 1n : undefined;
        },
        deadline,
      );
      log(`submission ${round + 1}: anchored up to round ${anchored}`);
      if (opts.generate === 0 || anchored - startRound + 1n >= BigInt(opts.rounds)) break;
    }
    const rows = await anchoredRows(fed, deadline, startRound);
    const credits = (await allocatedEpochs(fed)).filter((c) => !before.has(c.epoch));
    await stopAll();
    const evidence = readEvidence(fed);
    for (const r of rows) {
      r.evidence = [
        ...new Set(evidence.filter((e) => e.round === r.round).map((e) => `${e.nodeId} ${e.kind}`)),
      ];
    }
    if (rows.length > 0) for (const line of formatProcessRounds(rows)) say(line);
    for (const c of credits)
      say(`credits: epoch ${c.epoch} allocated to ${c.nodes} nodes in tx ${short(c.txHash)}`);
    if (queue) {
      queue.close();
      for (const f of [queueFile, `${queueFile}-wal`, `${queueFile}-shm`]) fs.rmSync(f, { force: true });
      log(`the ${pending} queued events are anchored on the nodes: removed the ingest queue ${queueFile}`);
    }
    return { startRound: startRound.toString(), pending: pending.toString(), rounds: rows, credits };
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    try {
      queue?.close();
    } catch {
      // closed already
    }
    await stopAll();
  }
}
