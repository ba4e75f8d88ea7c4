/**
 * The demo on the node layout — `npm start`, `amp demo --processes` — and, with `inProcess`, the
 * in-process `amp demo` (the same NodeService code, every node in this process with only its own
 * keys: startInProcessNodes). A local federation
 * from startLocalFederation (src/node/local.ts) — a child `hardhat node`, the deployment and one
 * `amp node` process per manifest node, each with only its own THROWAWAY keys — then generated
 * events over HTTP until the wanted number of rounds is anchored, with ONE node started Byzantine
 * (`amp node --fault`, test/demo only) in a few rounds. Sample proofs are fetched over HTTP and
 * verified against the pinned trust policy (trust.json); every child is stopped before the table,
 * the evidence and the proofs are printed. Progress goes to `log` (stderr), node logs to files.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { readJsonLines } from "../consensus/json-lines";
import type { Evidence } from "../consensus/evidence";
import type { InjectedFault } from "../consensus/fault-injector";
import { decodeRecord } from "../node/anchored-record";
import { faultArg, faultsFromSpecs } from "../node/faults";
import { startInProcessNodes, type InProcessNodes } from "../node/in-process";
import { startLocalFederation, type FederationFile, type LocalFederation } from "../node/local";
import type { NodeServiceConfig } from "../node/service";
import type { NodeStatus } from "../node/node";
import type { ProofFile } from "../proof/format";
import { publicClientFor, verifyProof } from "../proof/verify";
import { readTrustPolicy } from "../trust/policy";
import { serveMetrics, type MetricsServer, type MetricsSource } from "../telemetry/http";
import { mergeExpositions } from "../telemetry/merge";
import { PeerClient } from "../transport/client";
import { AmpError } from "../util/errors";
import type { AnchoredRound } from "../chain/anchored-rounds";
import { loadManifestFederations, type ManifestFederation } from "./context";
import type { DemoVerified } from "./demo";
import { CannotCheckError } from "./exit";
import { generateEvents } from "./generate";
import { short } from "./output";
import { formatProcessRounds, type ProcessRoundRow } from "./demo-table";
import { demoCreditsOf, demoDriftSummaryOf, type DemoCredit } from "./demo-results";

export interface ProcessDemoOptions {
  /** Anchored rounds to reach (a submission may take one round more when a tick splits it). */
  rounds: number;
  /** Events per federation per submission. */
  events: number;
  /** Keep the data dir (logs, node data, trust.json) here; default a temp dir, removed on success. */
  data?: string;
  /** Start one ssid node Byzantine (default true). */
  byzantine?: boolean;
  /** Extra `amp node` flags per node (e.g. `--drift CAUSE`, `--epoch-seconds N`). */
  nodeArgs?: (nodeId: string) => readonly string[];
  /** Give up when the rounds are not anchored within this many ms (default 120 s). */
  timeoutMs?: number;
  /**
   * In-process mode: no `amp node` children; every node runs as a NodeService in THIS process
   * (startInProcessNodes) with these settings (extensions, drift hook, ML-DSA backend). `nodeArgs`
   * is then unused; the Byzantine faults are given to the node's service instead of `--fault`.
   */
  inProcess?: (nodeId: string) => Partial<NodeServiceConfig>;
  /** The nodes' credit epoch: wait for the first allocation (on-chain) and report it. */
  epochSeconds?: number;
  /** Print what the drift monitors raised (the demo's `--drift`). */
  drift?: boolean;
  /** Serve every node's `GET /metrics`, merged, at http://HOST:PORT/metrics while the demo runs. */
  metricsListen?: string;
}

export interface ProcessDemoSummary {
  rpc: string;
  trustPolicy: string;
  rounds: ProcessRoundRow[];
  verified: DemoVerified[];
  evidence: (Evidence & { recordedBy: string })[];
  /** Child processes started (chain + nodes, last known pids) and how many ran on after the stop (0). */
  processes: { started: number; pids: number[]; leftRunning: number };
  /** Credit epochs allocated during the demo (with `epochSeconds`; else empty). */
  credits: DemoCredit[];
}

export const PROCESS_BYZANTINE_NODE = "ssid-apac-1";
/** Rounds it does not propose itself (rotation: round R's proposer is node (R − 1) mod 7). */
export const PROCESS_BYZANTINE_ROUNDS: readonly [bigint, InjectedFault][] = [
  [2n, "wrong-root"],
  [4n, "equivocation"],
  [5n, "invalid-signature"],
];

const client = new PeerClient({ timeoutMs: 5000, tries: 2 });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function until<T>(what: string, f: () => Promise<T | undefined>, deadline: number): Promise<T> {
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new CannotCheckError(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

export const statusOf = (url: string) =>
  client
    .json<NodeStatus>(url, { method: "GET", path: "/v1/status" })
    .catch((): NodeStatus | undefined => undefined);

/** Every node's `GET /metrics`, fetched at scrape time and merged into one exposition. */
export function nodesMetrics(nodes: readonly { url: string }[]): MetricsSource {
  return {
    contentType: "text/plain; version=0.0.4; charset=utf-8",
    metrics: async () => {
      const texts = await Promise.all(
        nodes.map((n) =>
          fetch(`${n.url}/metrics`, { signal: AbortSignal.timeout(5000) })
            .then((r) => (r.ok ? r.text() : ""))
            .catch(() => ""),
        ),
      );
      return mergeExpositions(texts);
    },
  };
}

/** Pids of the chain and the nodes as federation.json last recorded them. */
function childPids(fed: LocalFederation): number[] {
  const file = path.join(fed.data, "federation.json");
  const state = fs.existsSync(file)
    ? (JSON.parse(fs.readFileSync(file, "utf8")) as FederationFile)
    : fed.state;
  return [state.chainPid, ...state.nodes.map((n) => n.pid)].filter((p): p is number => p !== null);
}

export async function runProcessDemo(
  opts: ProcessDemoOptions,
  say: (line: string) => void = (l) => console.log(l),
  logLine: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<ProcessDemoSummary> {
  const t0 = Date.now();
  const log = (l: string) => logLine(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${l}`);
  const data = opts.data ?? fs.mkdtempSync(path.join(os.tmpdir(), "amp-demo-processes-"));
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  const byzantine = opts.byzantine !== false;
  const faultArgs = (id: string): string[] =>
    byzantine && id === PROCESS_BYZANTINE_NODE
      ? PROCESS_BYZANTINE_ROUNDS.flatMap(([r, k]) => ["--fault", faultArg(k, [r])])
      : [];
  log(`starting a local federation in ${data} (node logs in ${path.join(data, "logs")})`);
  if (opts.inProcess === undefined && __filename.endsWith(".ts")) {
    log("dist/ is missing or older than src/: every node runs through ts-node (slow); run `npm run build`");
  }
  const inProcess = opts.inProcess;
  const fed = await startLocalFederation({
    data,
    nodeArgs: (id) => [...faultArgs(id), ...(opts.nodeArgs?.(id) ?? [])],
    say: log,
    startNodes: inProcess === undefined,
  });
  let local: InProcessNodes | undefined;
  let metrics: MetricsServer | undefined;
  const stopAll = async () => {
    await metrics?.close();
    await local?.stop();
    await fed.stop();
  };
  if (inProcess) {
    const configure = (id: string): Partial<NodeServiceConfig> => {
      const faults = faultsFromSpecs(
        faultArgs(id).filter((a) => a !== "--fault"),
        id,
      );
      return { ...(faults ? { faults } : {}), ...inProcess(id) };
    };
    local = await startInProcessNodes(fed, { configure }).catch(async (e: unknown) => {
      await fed.stop();
      throw e;
    });
  }
  const pids = childPids(fed);
  const onSignal = () => void stopAll().finally(() => process.exit(130));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let ok = false;
  try {
    if (byzantine) {
      log(
        `Byzantine (amp node --fault, test only): ${PROCESS_BYZANTINE_NODE} (25% of ssid's weight) in rounds ` +
          PROCESS_BYZANTINE_ROUNDS.map(([r, k]) => `${r} (${k})`).join(", "),
      );
    }
    const nodes = fed.state.nodes;
    await until(
      "every node answering /v1/status",
      async () => ((await Promise.all(nodes.map((n) => statusOf(n.url)))).every(Boolean) ? true : undefined),
      deadline,
    );
    log(`chain (hardhat node) ${fed.rpc} pid ${fed.state.chainPid ?? "-"}`);
    if (inProcess) {
      log(
        `${nodes.length} nodes in this process (NodeService, own keys each): ${nodes.map((n) => n.url).join(", ")}`,
      );
    } else {
      log(`${nodes.length} node processes up: ${nodes.map((n) => `${n.id} pid ${n.pid ?? "-"}`).join(", ")}`);
    }
    if (opts.metricsListen !== undefined) {
      metrics = await serveMetrics(nodesMetrics(nodes), opts.metricsListen);
      say(`metrics: ${metrics.url} (every node's /metrics merged)`);
    }
    const feds = loadManifestFederations(fed.state.manifest);
    const submitted = await load(fed, feds, opts, deadline, log);
    const rounds = await anchoredRows(fed, deadline);
    const verified = await verifySamples(fed, submitted, log);
    const credits =
      opts.epochSeconds === undefined ? [] : await demoCreditsOf(fed.state.nodes, client, deadline, log);
    const result = { rpc: fed.rpc, trustPolicy: fed.state.trustPolicy, rounds, verified, credits };
    for (const p of childPids(fed)) if (!pids.includes(p)) pids.push(p); // restarted children too
    await stopAll();
    const left = pids.filter(alive);
    log(`stopped: ${pids.length - left.length} of ${pids.length} child processes gone`);
    const evidence = readEvidence(fed);
    for (const r of rounds) {
      r.evidence = [
        ...new Set(evidence.filter((e) => e.round === r.round).map((e) => `${e.nodeId} ${e.kind}`)),
      ];
    }
    printSummary(
      { ...result, evidence, processes: { started: pids.length, pids, leftRunning: left.length } },
      say,
    );
    if (opts.drift === true) say(demoDriftSummaryOf(data, opts.data !== undefined));
    if (left.length > 0) throw new CannotCheckError(`child processes still running: ${left.join(", ")}`);
    // Evidence is owed only when a Byzantine round was reached (`--rounds 1` reaches none).
    const reached = PROCESS_BYZANTINE_ROUNDS.some(([r]) => rounds.some((x) => x.round === r.toString()));
    if (byzantine && reached && !evidence.some((e) => e.nodeId === PROCESS_BYZANTINE_NODE)) {
      throw new AmpError(`no evidence of ${PROCESS_BYZANTINE_NODE} was recorded`, { kind: "bug" });
    }
    ok = true;
    return { ...result, evidence, processes: { started: pids.length, pids, leftRunning: 0 } };
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    await stopAll();
    if (!ok) log(`demo failed: logs kept in ${path.join(data, "logs")}`);
    else if (opts.data === undefined) fs.rmSync(data, { recursive: true, force: true });
  }
}

/** Submit events over HTTP (rotating over each federation's nodes) until `rounds` are anchored. */
async function load(
  fed: LocalFederation,
  feds: ManifestFederation[],
  opts: ProcessDemoOptions,
  deadline: number,
  log: (l: string) => void,
): Promise<Map<string, string[]>> {
  const ids = new Map<string, string[]>(feds.map((f) => [f.name, []]));
  for (let step = 0; ; step++) {
    for (const f of feds) {
      const members = fed.state.nodes.filter((n) => n.federation === f.name);
      const target = members[step % members.length]!;
      const list = ids.get(f.name)!;
      const events = generateEvents(f, BigInt(list.length), opts.events, "amp-demo-processes");
      const res = await client.json<{ acknowledged: { eventId: string; status: string }[] }>(target.url, {
        method: "POST",
        path: "/v1/events",
        body: events.map((e) => JSON.stringify(e)).join("\n"),
        contentType: "application/x-ndjson",
      });
      list.push(...res.acknowledged.map((a) => a.eventId));
    }
    const anchored = await until(
      "the submitted events anchored on every node",
      async () => {
        const st = await Promise.all(fed.state.nodes.map((n) => statusOf(n.url)));
        const done = st.every(
          (s) => s && s.pendingEvents === 0 && s.treeSize === String(ids.get(s.federation)?.length),
        );
        return done ? BigInt(st[0]!.chainNextRound) - 1n : undefined;
      },
      deadline,
    );
    log(
      `submission ${step + 1}: ${feds.map((f) => `${opts.events} ${f.name}`).join(", ")} events; anchored rounds: ${anchored}`,
    );
    if (anchored >= BigInt(opts.rounds)) return ids;
  }
}

/**
 * One row per anchored round from `from` on, from the nodes' anchored-round records (checked
 * against the chain by the nodes); a row's "added" counts from the round before `from`.
 */
export async function anchoredRows(
  fed: LocalFederation,
  deadline: number,
  from = 1n,
): Promise<ProcessRoundRow[]> {
  const st = (await statusOf(fed.state.nodes[0]!.url))!;
  const last = BigInt(st.chainNextRound) - 1n;
  const rows: ProcessRoundRow[] = [];
  const prev = new Map<string, bigint>();
  for (let round = from > 1n ? from - 1n : 1n; round <= last; round++) {
    const rec: AnchoredRound = await until(
      `the anchored-round record of round ${round}`,
      async () => {
        for (const n of fed.state.nodes) {
          const o = await client
            .json<Record<string, unknown>>(n.url, { method: "GET", path: `/v1/anchors/${round}` })
            .catch(() => undefined);
          if (o) return decodeRecord(o);
        }
        return undefined;
      },
      deadline,
    );
    if (round < from) {
      for (const c of rec.checkpoints) prev.set(c.origin, BigInt(c.treeSize));
      continue;
    }
    rows.push({
      round: round.toString(),
      globalRoot: rec.globalRoot,
      txHash: rec.txHash,
      gasUsed: rec.gasUsed.toString(),
      federations: rec.checkpoints.map((c) => {
        const size = BigInt(c.treeSize);
        const added = size - (prev.get(c.origin) ?? 0n);
        prev.set(c.origin, size);
        return { origin: c.origin, added: added.toString(), treeSize: c.treeSize, rootHash: c.rootHash };
      }),
      evidence: [],
    });
  }
  return rows;
}

/** First, middle and last event of each federation: proof over HTTP, verified with trust.json. */
async function verifySamples(
  fed: LocalFederation,
  submitted: Map<string, string[]>,
  log: (l: string) => void,
): Promise<DemoVerified[]> {
  const policy = readTrustPolicy(fed.state.trustPolicy);
  const chain = publicClientFor(fed.rpc);
  const out: DemoVerified[] = [];
  for (const [name, ids] of submitted) {
    const members = fed.state.nodes.filter((n) => n.federation === name);
    for (const [i, id] of [0, Math.floor(ids.length / 2), ids.length - 1].entries()) {
      const eventId = ids[id]!;
      const node = members[i % members.length]!;
      const proof = await client.json<ProofFile>(node.url, { method: "GET", path: `/v1/proof/${eventId}` });
      const v = await verifyProof(proof, chain, { policy });
      log(`proof of ${eventId} fetched from ${node.id} (${node.url}) verified`);
      out.push({ eventId: v.eventId, origin: v.origin, index: v.index, round: v.round, txHash: v.txHash });
    }
  }
  return out;
}

/** Evidence every node's coordinator recorded (read after the nodes stopped). */
export function readEvidence(fed: LocalFederation): (Evidence & { recordedBy: string })[] {
  const out: (Evidence & { recordedBy: string })[] = [];
  for (const n of fed.state.nodes) {
    const file = path.join(n.dataDir, "evidence", "evidence.jsonl");
    if (!fs.existsSync(file)) continue;
    for (const e of readJsonLines<Evidence>(file)) out.push({ ...e, recordedBy: n.id });
  }
  return out.sort((a, b) => Number(BigInt(a.round) - BigInt(b.round)));
}

function printSummary(s: ProcessDemoSummary, say: (l: string) => void): void {
  for (const line of formatProcessRounds(s.rounds)) say(line);
  say("");
  if (s.evidence.length === 0) say("evidence: none");
  for (const e of s.evidence) {
    say(
      `EVIDENCE round ${e.round} ${e.nodeId} ${e.kind} (${e.origin}, recorded by ${e.recordedBy}'s coordinator): ${e.detail}`,
    );
  }
  say("");
  for (const c of s.credits) {
    say(`credits: epoch ${c.epoch} allocated to ${c.nodes} nodes in tx ${short(c.txHash)}`);
  }
  for (const v of s.verified) {
    say(
      `VALID event ${v.eventId} ${v.origin}#${String(v.index)} in round ${String(v.round)}, ` +
        `anchored in ${short(v.txHash)}, verified against the pinned trust policy (trust.json)`,
    );
  }
  say(
    `stopped ${s.processes.started} child processes (chain + nodes); still running: ${s.processes.leftRunning}`,
  );
}
