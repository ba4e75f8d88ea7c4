/**
 * `npm run -s bench -- drift [--scenarios N] [--clean N] [--events N] [--mldsa-workers N]`
 *
 * Proof-drift monitor benchmark, in process: one 4-node federation (real ML-DSA-65 + EIP-712
 * votes, ML-DSA on a worker pool) whose coordinator feeds the DriftMonitor. Runs `--scenarios`
 * injected drift rounds (default 200: every cause — serialization, timestamp, data, equivocation,
 * unknown, clock skew — at 1 %, 5 %, 15 % and 50 % of a `--events` batch, default 200, on a
 * rotating node) mixed with `--clean` clean rounds (default 100), and prints one JSON object:
 * - scenarios, cleanRounds;
 * - detectionLatencyMs {p50, p95, max}: from the last vote of the round to the stored finding;
 * - accuracy: share of scenarios whose only finding has the injected cause, node and exact score;
 * - falsePositives: findings in clean rounds.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { canonicalBytes } from "../../src/events";
import { generateEvents } from "../../src/cli/generate";
import { deriveThrowawayKeys } from "../../src/crypto/keys";
import { MlDsaWorkerPool, defaultMlDsaWorkers } from "../../src/crypto/mldsa";
import { buildFederation } from "../../src/rounds/federation";
import {
  DriftInjector,
  DriftMonitor,
  DriftStore,
  InProcessDriftProbe,
  type AlertCause,
} from "../../src/drift";

const NODES = ["eu-node-001", "us-node-002", "apac-node-003", "eu-node-004"];
const ORIGIN = "amp.local/bench-drift";
const CAUSES: AlertCause[] = [
  "serialization_divergence",
  "timestamp_drift",
  "data_inconsistency",
  "equivocation",
  "unknown",
  "clock_skew",
];
const FRACTIONS = [0.01, 0.05, 0.15, 0.5];

function arg(args: readonly string[], name: string, dflt: number, min = 0): number {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v < min) throw new Error(`${name} needs an integer ≥ ${min}`);
  return v;
}

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const v = s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
  return Math.round(v * 100) / 100;
}

function batch(round: number, events: number): Uint8Array[] {
  const fed = {
    name: "bench-drift",
    origin: ORIGIN,
    nodes: NODES.map((id) => ({ id, region: "EU", weight: 2500n })),
  };
  return generateEvents(fed, BigInt(round) * 1_000_000n, events, "bench-drift").map((e) => canonicalBytes(e));
}

export async function main(args: readonly string[]): Promise<void> {
  const scenarios = arg(args, "--scenarios", 200, 1);
  const clean = arg(args, "--clean", 100);
  const events = arg(args, "--events", 200, 2);
  const workers = arg(args, "--mldsa-workers", defaultMlDsaWorkers());
  const prevLevel = process.env.AMP_LOG_LEVEL;
  process.env.AMP_LOG_LEVEL = "silent";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-bench-drift-"));
  const pool = workers > 0 ? new MlDsaWorkerPool(workers) : undefined;
  await pool?.warmUp();
  const store = new DriftStore(path.join(dir, "drift.sqlite"));
  try {
    const injector = new DriftInjector();
    const probe = new InProcessDriftProbe();
    const monitor = new DriftMonitor({ store, probe });
    const fed = buildFederation(
      {
        origin: ORIGIN,
        nodes: NODES.map((id) => ({ keys: deriveThrowawayKeys("bench-drift", id), weight: 2500n })),
      },
      {
        dataDir: dir,
        domain: { chainId: 31337n, anchor: "0x5FbDB2315678afecb367f032d93F642f64180aa3" },
        drift: injector,
        onVotes: monitor.observer,
        voteTimeoutMs: 5000,
        ...(pool ? { mldsa: pool } : {}),
      },
    );
    probe.register(...fed.nodes);
    // Interleave: spread the clean rounds evenly between the scenarios.
    const plan: ("clean" | number)[] = [];
    for (let s = 0, c = 0; s < scenarios || c < clean;) {
      if (s < scenarios && (c >= clean || s * clean <= c * scenarios)) plan.push(s++);
      else (plan.push("clean"), c++);
    }
    let round = 0n;
    let correct = 0;
    let falsePositives = 0;
    const latencies: number[] = [];
    const byCause = new Map<string, number[]>();
    const misses: string[] = [];
    for (const step of plan) {
      round++;
      injector.clear();
      let expect: { cause: AlertCause; node: string; score: number | null } | undefined;
      if (step !== "clean") {
        const cause = CAUSES[step % CAUSES.length]!;
        const fraction = FRACTIONS[Math.floor(step / CAUSES.length) % FRACTIONS.length]!;
        const node = NODES[step % NODES.length]!;
        injector.add({ nodeId: node, cause, fraction, rounds: [round] });
        const k = Math.min(events, Math.max(1, Math.round(fraction * events)));
        expect = { cause, node, score: cause === "clock_skew" ? null : k / events };
      }
      const out = await fed.coordinator.runRound(round, batch(Number(round), events));
      if (out.status !== "final") throw new Error(`round ${round} failed: ${out.reason}`);
      await monitor.idle();
      const found = store.findings({ fromRound: round, toRound: round });
      if (!expect) {
        falsePositives += found.length;
        continue;
      }
      const f = found[0];
      const ok =
        found.length === 1 &&
        f !== undefined &&
        f.cause === expect.cause &&
        f.node === expect.node &&
        f.driftScore === expect.score &&
        f.actions.length >= 3;
      if (ok) correct++;
      else
        misses.push(
          `round ${round}: expected ${JSON.stringify(expect)}, got ${JSON.stringify(found.map((x) => [x.cause, x.node, x.driftScore]))}`,
        );
      for (const x of found) {
        latencies.push(x.latencyMs);
        byCause.set(x.cause, [...(byCause.get(x.cause) ?? []), x.latencyMs]);
      }
    }
    console.log(
      JSON.stringify(
        {
          scenarios,
          cleanRounds: clean,
          eventsPerBatch: events,
          nodes: NODES.length,
          mldsaWorkers: workers,
          detectionLatencyMs: {
            p50: percentile(latencies, 50),
            p95: percentile(latencies, 95),
            max: percentile(latencies, 100),
          },
          detectionLatencyByCauseMs: Object.fromEntries(
            [...byCause].map(([c, xs]) => [c, { p50: percentile(xs, 50), p95: percentile(xs, 95) }]),
          ),
          accuracy: Math.round((correct / scenarios) * 10_000) / 10_000,
          falsePositives,
          ...(misses.length > 0 ? { misses: misses.slice(0, 10) } : {}),
        },
        null,
        2,
      ),
    );
  } finally {
    store.close();
    await pool?.close();
    fs.rmSync(dir, { recursive: true, force: true });
    if (prevLevel === undefined) delete process.env.AMP_LOG_LEVEL;
    else process.env.AMP_LOG_LEVEL = prevLevel;
  }
}
