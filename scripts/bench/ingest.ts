/**
 * `npm run bench -- ingest [--events N] [--batch-sizes 100,1000,10000] [--payload digest|inline]
 *   [--sync FULL|NORMAL] [--wal-checkpoint background|inline]`
 *
 * Pushes N generated federation events (default 10^6) through ingest at each batch size and prints
 * one JSON object on stdout; a progress bar goes to stderr. Per batch size, measured in the same run:
 * - sha256FloorEventsPerSec: raw SHA-256 of each event's canonical bytes (the floor);
 * - hashOnlyEventsPerSec: validate (Ajv) + canonicalise (JCS, digest form) + RFC 9162 leaf hash;
 * - durableEventsPerSec: the same through FederationBatchProcessor.ingest with maxSize = batch size:
 *   archived in one SQLite transaction (WAL, synchronous FULL by default), sealed into the log with
 *   its checkpoint, acknowledged. Calls carry one batch of events each. WAL checkpoints run on the
 *   archive's background worker thread by default (`--wal-checkpoint inline` for SQLite's default).
 * Event generation is outside the timed sections.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { SingleBar, Presets } from "cli-progress";
import { Archive, type SyncMode } from "../../src/archive";
import { FederationBatchProcessor } from "../../src/batching/processor";
import { federationEventEncoder } from "../../src/batching/encode";
import { sha256 } from "../../src/merkle/hash";
import { makeEvents } from "../../test/fixtures/events";

interface Options {
  events: number;
  batchSizes: number[];
  payload: "digest" | "inline";
  sync: SyncMode;
  walCheckpoint: "inline" | "background";
}

function option(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
}

function parse(args: readonly string[]): Options {
  const events = Number(option(args, "--events") ?? 1_000_000);
  const batchSizes = (option(args, "--batch-sizes") ?? "100,1000,10000").split(",").map(Number);
  const payload = option(args, "--payload") ?? "digest";
  const sync = option(args, "--sync") ?? "FULL";
  const walCheckpoint = option(args, "--wal-checkpoint") ?? "background";
  if (!Number.isSafeInteger(events) || events < 1) throw new Error("--events needs a positive integer");
  if (batchSizes.some((b) => !Number.isSafeInteger(b) || b < 1))
    throw new Error("--batch-sizes: positive integers");
  if (payload !== "digest" && payload !== "inline") throw new Error("--payload is digest or inline");
  if (sync !== "FULL" && sync !== "NORMAL") throw new Error("--sync is FULL or NORMAL");
  if (walCheckpoint !== "inline" && walCheckpoint !== "background") {
    throw new Error("--wal-checkpoint is inline or background");
  }
  return { events, batchSizes, payload, sync, walCheckpoint };
}

const rate = (n: number, ms: number): number => Math.round((n * 1000) / ms);

/** One pass: per chunk, time encode (hash-only) and, separately, raw SHA-256 of the canonical bytes. */
function hashPass(o: Options, batch: number, tick: (n: number) => void) {
  const encode = federationEventEncoder();
  let encodeMs = 0;
  let shaMs = 0;
  for (let at = 0; at < o.events; at += batch) {
    const events = makeEvents(at, Math.min(batch, o.events - at), { payload: o.payload });
    let t = performance.now();
    const canonical = events.map((e) => encode(e).canonical);
    encodeMs += performance.now() - t;
    t = performance.now();
    for (const c of canonical) sha256(c);
    shaMs += performance.now() - t;
    tick(events.length);
  }
  return { hashOnlyEventsPerSec: rate(o.events, encodeMs), sha256FloorEventsPerSec: rate(o.events, shaMs) };
}

/** Durable pass into a fresh archive; returns events/s over the timed ingest calls plus the final flush. */
async function durablePass(o: Options, batch: number, tick: (n: number) => void) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-bench-ingest-"));
  const archive = Archive.open(path.join(dir, "archive.db"), {
    synchronous: o.sync,
    walCheckpoint: o.walCheckpoint,
  });
  const stageMs: Record<string, number> = {};
  const p = new FederationBatchProcessor({
    archive,
    origin: "amp.local/ssid",
    maxSize: batch,
    maxAgeMs: 60_000,
    metricsCallback: (m) => void (stageMs[m.stage] = (stageMs[m.stage] ?? 0) + m.latencyMs),
  });
  let ms = 0;
  let cpuUs = 0;
  try {
    for (let at = 0; at < o.events; at += batch) {
      const events = makeEvents(at, Math.min(batch, o.events - at), { payload: o.payload });
      const t = performance.now();
      const cpu = process.cpuUsage();
      await p.ingest(events);
      const used = process.cpuUsage(cpu);
      cpuUs += used.user + used.system;
      ms += performance.now() - t;
      tick(events.length);
    }
    const t = performance.now();
    await p.flush();
    ms += performance.now() - t;
    if (p.log.size !== BigInt(o.events)) throw new Error(`log holds ${p.log.size} of ${o.events} events`);
    const us = (stage: string): number => Math.round(((stageMs[stage] ?? 0) * 10_000) / o.events) / 10;
    const durableMicrosPerEvent = {
      encode: us("encode"),
      archiveSealCommit: Math.round((us("ingest") - us("encode")) * 10) / 10,
      ofWhichLogAppend: us("append"),
    };
    return {
      durableEventsPerSec: rate(o.events, ms),
      durableMicrosPerEvent,
      // CPU this process got during the timed durable calls, per wall second (1 = a whole core), and
      // the rate per CPU-second: what one uncontended core would sustain, fsync waits aside.
      durableCpuShare: Math.round((cpuUs / 1000 / ms) * 100) / 100,
      durableEventsPerCpuSec: Math.round((o.events * 1e6) / cpuUs),
      logSize: Number(p.log.size),
      archiveBytes: dirBytes(dir),
    };
  } finally {
    await p.close();
    archive.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function dirBytes(dir: string): number {
  return fs.readdirSync(dir).reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
}

export async function main(args: readonly string[]): Promise<void> {
  const o = parse(args);
  const bar = new SingleBar(
    {
      stream: process.stderr,
      format: "ingest {phase} |{bar}| {percentage}% {value}/{total} events",
      noTTYOutput: true, // also report progress (every 5 s) when stderr is a file or CI log
      notTTYSchedule: 5000,
    },
    Presets.shades_classic,
  );
  bar.start(o.events * o.batchSizes.length * 2, 0, { phase: "" });
  const results = [];
  for (const batchSize of o.batchSizes) {
    bar.update({ phase: `b=${batchSize} hash` });
    const hashed = hashPass(o, batchSize, (n) => bar.increment(n));
    bar.update({ phase: `b=${batchSize} durable` });
    const durable = await durablePass(o, batchSize, (n) => bar.increment(n));
    results.push({ batchSize, ...hashed, ...durable });
  }
  bar.stop();
  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAverage1m: Math.round(os.loadavg()[0]! * 100) / 100,
  };
  const target = { durableEventsPerSecAtBatch1000: 50_000 };
  const config = {
    events: o.events,
    payload: o.payload,
    synchronous: o.sync,
    journal: "WAL",
    walCheckpoint: o.walCheckpoint,
  };
  console.log(JSON.stringify({ benchmark: "ingest", ...config, machine, target, results }, null, 2));
}
