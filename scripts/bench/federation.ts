/**
 * `npm run -s bench -- federation [--rate R] [--seconds S]`: seven node processes (`amp up`, its
 * own hardhat node) over loopback HTTP, open-loop load of R events/s for S seconds, half per
 * federation, each chunk (50 ms worth) POSTed to the next node of its federation without waiting
 * for earlier answers. Prints one JSON object: offered and acknowledged events/s, event→ack and
 * event→anchored latencies, CPU seconds per process.
 *
 * event→anchored is measured per chunk as the first time the federation's anchored log size (the
 * status of one of its nodes, polled every 50 ms) covers every event acknowledged up to the end of
 * that chunk: exact when batches keep arrival order, an upper bound otherwise.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { generateEvents } from "../../src/cli/generate";
import type { FederationFile } from "../../src/cli/up";
import type { NodeStatus } from "../../src/node/node";
import { PeerClient } from "../../src/transport/client";
import { ensureDist } from "../ensure-dist";

const ROOT = path.resolve(__dirname, "..", "..");

function option(args: readonly string[], name: string, dflt: number): number {
  const i = args.indexOf(name);
  const v = i < 0 ? dflt : Number(args[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
}

function pct(xs: number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!);
}

function cpuSeconds(pid: number): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // clock ticks (USER_HZ = 100 on Linux)
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

export async function main(args: readonly string[]): Promise<void> {
  const rate = option(args, "--rate", 500);
  const seconds = option(args, "--seconds", 20);
  ensureDist();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-bench-fed-"));
  const up = spawn(process.execPath, [path.join(ROOT, "bin", "amp.js"), "up", "--data", dir], {
    cwd: ROOT,
    detached: true,
    stdio: "ignore",
    env: { ...process.env, AMP_LOG_LEVEL: "error" },
  });
  const client = new PeerClient({ timeoutMs: 30_000 });
  try {
    const fedFile = path.join(dir, "federation.json");
    let fed = await until(
      () =>
        fs.existsSync(fedFile) ? (JSON.parse(fs.readFileSync(fedFile, "utf8")) as FederationFile) : undefined,
      300_000,
    );
    const status = (url: string) =>
      client.json<NodeStatus>(url, { method: "GET", path: "/v1/status" }).catch(() => undefined);
    await until(
      async () =>
        (await Promise.all(fed.nodes.map((n) => status(n.url)))).every(Boolean) ? true : undefined,
      300_000,
    );
    fed = JSON.parse(fs.readFileSync(fedFile, "utf8")) as FederationFile; // every pid known now
    process.stderr.write(`federation up in ${dir}; load ${rate} events/s for ${seconds} s\n`);
    const names = [...new Set(fed.nodes.map((n) => n.federation))];
    const chunkMs = 50;
    const perChunk = Math.max(1, Math.round((rate * chunkMs) / 1000 / names.length));
    const chunks = Math.round((seconds * 1000) / chunkMs);
    const cpu0 = new Map(fed.nodes.map((n) => [n.id, cpuSeconds(n.pid ?? -1)]));
    const acked = new Map(names.map((n) => [n, 0]));
    const ackLatency: number[] = [];
    const pending: { fed: string; need: number; sentAt: number }[] = [];
    const anchoredLatency: number[] = [];
    let offered = 0;
    let refused = 0;
    const sends: Promise<void>[] = [];
    const t0 = Date.now();
    let polling = true;
    const poller = (async () => {
      while (polling || pending.length > 0) {
        for (const name of names) {
          const n = fed.nodes.find((x) => x.federation === name)!;
          const st = await status(n.url);
          const size = Number(st?.treeSize ?? 0);
          for (let i = pending.length - 1; i >= 0; i--) {
            const p = pending[i]!;
            if (p.fed === name && p.need <= size) {
              anchoredLatency.push(Date.now() - p.sentAt);
              pending.splice(i, 1);
            }
          }
        }
        if (!polling && Date.now() - t0 > (seconds + 120) * 1000) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    for (let c = 0; c < chunks; c++) {
      const due = t0 + c * chunkMs;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      for (const [k, name] of names.entries()) {
        const members = fed.nodes.filter((n) => n.federation === name);
        const target = members[c % members.length]!;
        const f = { name, origin: "", nodes: members.map((m) => ({ id: m.id, region: "EU", weight: 1n })) };
        const body = generateEvents(f, BigInt(c * perChunk), perChunk, `bench-${t0}-${k}`)
          .map((e) => JSON.stringify(e))
          .join("\n");
        offered += perChunk;
        const sentAt = Date.now();
        sends.push(
          client
            .request(target.url, {
              method: "POST",
              path: "/v1/events",
              body,
              contentType: "application/x-ndjson",
            })
            .then(() => {
              ackLatency.push(Date.now() - sentAt);
              const total = acked.get(name)! + perChunk;
              acked.set(name, total);
              pending.push({ fed: name, need: total, sentAt });
            })
            .catch(() => {
              refused += perChunk;
            }),
        );
      }
    }
    await Promise.all(sends);
    const loadSeconds = (Date.now() - t0) / 1000;
    polling = false;
    await poller;
    const cpu = Object.fromEntries(
      fed.nodes.map((n) => [n.id, Number((cpuSeconds(n.pid ?? -1) - (cpu0.get(n.id) ?? 0)).toFixed(2))]),
    );
    const ackedTotal = [...acked.values()].reduce((a, b) => a + b, 0);
    console.log(
      JSON.stringify(
        {
          bench: "federation",
          rate,
          seconds,
          nodes: fed.nodes.length,
          offeredEvents: offered,
          acknowledgedEvents: ackedTotal,
          refusedEvents: refused,
          acknowledgedPerSecond: Math.round(ackedTotal / loadSeconds),
          eventToAckMs: { p50: pct(ackLatency, 50), p95: pct(ackLatency, 95), p99: pct(ackLatency, 99) },
          eventToAnchoredMs: {
            p50: pct(anchoredLatency, 50),
            p95: pct(anchoredLatency, 95),
            p99: pct(anchoredLatency, 99),
            notAnchoredChunks: pending.length,
          },
          cpuSecondsPerNode: cpu,
          bytesBetweenFederations: null,
        },
        null,
        2,
      ),
    );
  } finally {
    if (up.pid !== undefined) {
      try {
        process.kill(-up.pid, "SIGTERM");
      } catch {
        // gone
      }
      await new Promise((r) => setTimeout(r, 3000));
      try {
        process.kill(-up.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
