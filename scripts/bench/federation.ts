/**
 * `npm run -s bench -- federation [--rate R] [--seconds S] [--in-process] [--max-batch N]`: a local federation
 * (its own `hardhat node`, the shipped manifest's seven nodes) over loopback HTTP, open-loop load
 * of R events/s for S seconds, half per federation, each chunk (50 ms worth, generated before the
 * clock starts) POSTed to the next node of its federation without waiting for earlier answers.
 *
 * Layouts: by default one `amp node` process per node (startLocalFederation, as `amp up`);
 * `--in-process` runs the seven NodeService instances in this process (each with only its own
 * keys, same code, still HTTP on loopback between them).
 *
 * Prints one JSON object: offered/acknowledged events/s; event→ack (the POST's answer),
 * event→final (the coordinator's QC covers the chunk) and event→anchored (the relay got the anchor
 * transaction's receipt for a round covering the chunk) P50/P95/P99, from the nodes' own records
 * (`GET /v1/stats`; one machine, one clock); event→archived (a node's archive covers the chunk,
 * polled every 100 ms); bytes between federations counted on the wire by the sending node's client
 * (per ordered pair of federations); CPU seconds (user + sys) per process; each round stage's
 * P50/P95.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { generateEvents } from "../../src/cli/generate";
import { DEFAULT_MANIFEST_PATH } from "../../src/manifest";
import { startLocalFederation } from "../../src/node/local";
import { startInProcessNodes } from "../../src/node/in-process";
import type { NodeStatus } from "../../src/node/node";
import { PeerClient } from "../../src/transport/client";
import { ensureDist } from "../ensure-dist";
import {
  bytesBetweenFederations,
  dist,
  latencies,
  stages,
  type Chunk,
  type NodeStats,
} from "./federation-report";

function option(args: readonly string[], name: string, dflt: number): number {
  const i = args.indexOf(name);
  const v = i < 0 ? dflt : Number(args[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
}

/** user + sys CPU seconds of a process (clock ticks, USER_HZ = 100 on Linux). */
function cpuSeconds(pid: number): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

async function until<T>(f: () => Promise<T | undefined> | T | undefined, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface BenchNode {
  id: string;
  federation: string;
  url: string;
}

export async function main(args: readonly string[]): Promise<void> {
  const rate = option(args, "--rate", 500);
  const seconds = option(args, "--seconds", 20);
  const inProcess = args.includes("--in-process");
  const maxBatch = args.includes("--max-batch") ? option(args, "--max-batch", 1000) : undefined;
  ensureDist();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-bench-fed-"));
  process.env.AMP_LOG_LEVEL ??= "error";
  let manifest: string | undefined;
  if (maxBatch !== undefined) {
    // The shipped manifest with another batch.maxSize (events per federation per round).
    manifest = path.join(dir, "bench-manifest.yaml");
    const text = fs.readFileSync(DEFAULT_MANIFEST_PATH, "utf8");
    if (!/^ {2}maxSize: \d+$/m.test(text)) throw new Error(`no batch.maxSize in ${DEFAULT_MANIFEST_PATH}`);
    fs.writeFileSync(manifest, text.replace(/^ {2}maxSize: \d+$/m, `  maxSize: ${maxBatch}`));
  }
  const local = await startLocalFederation({
    data: dir,
    startNodes: !inProcess,
    ...(manifest ? { manifest } : {}),
  });
  const inproc = inProcess ? await startInProcessNodes(local) : undefined;
  const client = new PeerClient({ timeoutMs: 30_000 });
  try {
    const nodes: BenchNode[] = local.state.nodes.map((n) => ({
      id: n.id,
      federation: n.federation,
      url: n.url,
    }));
    const status = (url: string) =>
      client.json<NodeStatus>(url, { method: "GET", path: "/v1/status" }).catch(() => undefined);
    await until(
      async () => ((await Promise.all(nodes.map((n) => status(n.url)))).every(Boolean) ? true : undefined),
      300_000,
    );
    const processes: Record<string, number> = inProcess
      ? { "nodes (one process)": process.pid }
      : Object.fromEntries(local.state.nodes.map((n) => [n.id, n.pid ?? -1]));
    if (local.state.chainPid !== null) processes.chain = local.state.chainPid;
    if (!inProcess) processes["bench (load, supervisor)"] = process.pid;
    process.stderr.write(
      `federation up in ${dir} (${inProcess ? "in-process" : "one process per node"}); load ${rate} events/s for ${seconds} s\n`,
    );

    const names = [...new Set(nodes.map((n) => n.federation))];
    const chunkMs = 50;
    const perChunk = Math.max(1, Math.round((rate * chunkMs) / 1000 / names.length));
    const chunks = Math.round((seconds * 1000) / chunkMs);
    const bodies = Array.from({ length: chunks }, (_, c) =>
      names.map((name, k) => {
        const members = nodes.filter((n) => n.federation === name);
        const f = { name, origin: "", nodes: members.map((m) => ({ id: m.id, region: "EU", weight: 1n })) };
        return generateEvents(f, BigInt(c * perChunk), perChunk, `bench-${dir}-${k}`)
          .map((e) => JSON.stringify(e))
          .join("\n");
      }),
    );
    const cpu0 = Object.fromEntries(Object.entries(processes).map(([k, pid]) => [k, cpuSeconds(pid)]));
    const acked = new Map(names.map((n) => [n, 0]));
    const ackLatency: number[] = [];
    const sent: Chunk[] = [];
    const archivedLatency: number[] = [];
    let offered = 0;
    let refused = 0;
    const sends: Promise<void>[] = [];
    const t0 = Date.now();
    let loading = true;
    const waiting: Chunk[] = [];
    const poller = (async () => {
      while (loading || waiting.length > 0) {
        for (const name of names) {
          const st = await status(nodes.find((x) => x.federation === name)!.url);
          const size = Number(st?.treeSize ?? 0);
          for (let i = waiting.length - 1; i >= 0; i--) {
            const p = waiting[i]!;
            if (p.fed === name && p.need <= size) {
              archivedLatency.push(Date.now() - p.sentAt);
              waiting.splice(i, 1);
            }
          }
        }
        if (!loading && Date.now() - t0 > (seconds + 120) * 1000) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    for (let c = 0; c < chunks; c++) {
      const wait = t0 + c * chunkMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      for (const [k, name] of names.entries()) {
        const members = nodes.filter((n) => n.federation === name);
        const target = members[c % members.length]!;
        offered += perChunk;
        const sentAt = Date.now();
        sends.push(
          client
            .request(target.url, {
              method: "POST",
              path: "/v1/events",
              body: bodies[c]![k]!,
              contentType: "application/x-ndjson",
            })
            .then(() => {
              ackLatency.push(Date.now() - sentAt);
              const total = acked.get(name)! + perChunk;
              acked.set(name, total);
              const chunk = { fed: name, need: total, sentAt };
              sent.push(chunk);
              waiting.push(chunk);
            })
            .catch(() => {
              refused += perChunk;
            }),
        );
      }
    }
    await Promise.all(sends);
    const loadSeconds = (Date.now() - t0) / 1000;
    loading = false;
    await poller;
    const drainSeconds = (Date.now() - t0) / 1000;
    const cpu = Object.fromEntries(
      Object.entries(processes).map(([k, pid]) => [k, Number((cpuSeconds(pid) - cpu0[k]!).toFixed(2))]),
    );
    // A node that does not answer (stuck, restarted) is named, not fatal: its records are missing.
    const answers = await Promise.all(
      nodes.map((n) =>
        client
          .json<NodeStats>(n.url, { method: "GET", path: `/v1/stats?since=${t0}` })
          .catch(() => undefined),
      ),
    );
    const stats = answers.filter((x): x is NodeStats => x !== undefined);
    const statsMissing = nodes.filter((_, i) => answers[i] === undefined).map((n) => n.id);
    const ackedTotal = [...acked.values()].reduce((a, b) => a + b, 0);
    const lat = latencies(sent, stats);
    console.log(
      JSON.stringify(
        {
          bench: "federation",
          layout: inProcess ? "in-process" : "processes",
          rate,
          seconds,
          maxBatch: maxBatch ?? 1000,
          nodes: nodes.length,
          cpus: os.cpus().length,
          loadAverage: os.loadavg().map((x) => Number(x.toFixed(1))),
          offeredEvents: offered,
          acknowledgedEvents: ackedTotal,
          refusedEvents: refused,
          acknowledgedPerSecond: Math.round(ackedTotal / loadSeconds),
          sustainedAnchoredPerSecond: Math.round(ackedTotal / drainSeconds),
          drainSeconds: Number(drainSeconds.toFixed(1)),
          eventToAckMs: dist(ackLatency),
          ...lat,
          eventToArchivedMs: { ...dist(archivedLatency), notArchivedChunks: waiting.length },
          bytesBetweenFederations: bytesBetweenFederations(stats),
          cpuSecondsPerProcess: cpu,
          stages: stages(stats),
          statsMissing,
        },
        null,
        2,
      ),
    );
  } finally {
    await inproc?.stop();
    await local.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
