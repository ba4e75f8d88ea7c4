/**
 * `npm run bench -- rounds [--rounds N] [--events N] [--ssid-nodes N] [--opencore-nodes N]
 *                          [--mldsa-workers N] [--anchored-rounds N]`
 *
 * Runs N nexus rounds (default 200, after 3 warm-up rounds) of `--events` events per federation
 * (default 1000) through the in-process RoundEngine: seal → ML-DSA-65 + EIP-712 votes → QC →
 * cross-federation witnessing → global root, all 7 nodes sharing this machine, their ML-DSA work on
 * `--mldsa-workers` threads (default one per core, at least 2; 0 = main thread only). Prints JSON:
 * P50/P95 of seal→quorum (per federation) and quorum→witnessed, the CPU time behind them (all
 * threads), bytes across federations vs batch payload bytes.
 * Then (`anchored`, skipped with `--anchored-rounds 0`) the same rounds end to end through
 * `AnchoringRunner` on Hardhat's in-process network: all three latencies including
 * witnessed→anchored, and the gas of every anchored round.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { deriveThrowawayKeys } from "../../src/crypto/keys";
import { canonicalBytes } from "../../src/events";
import { RoundMetricsStore } from "../../src/rounds/metrics-store";
import { RoundEngine } from "../../src/rounds/round-engine";
import { MlDsaWorkerPool, defaultMlDsaWorkers } from "../../src/crypto/mldsa";
import { runAnchoredRounds } from "./rounds-anchored";

export interface RoundsBenchOptions {
  rounds: number;
  events: number;
  ssidNodes: number;
  opencoreNodes: number;
  /** ML-DSA worker threads (0: all ML-DSA work in the main thread). */
  mldsaWorkers: number;
}

function arg(args: readonly string[], name: string, dflt: number, min = 1): number {
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

const stats = (xs: readonly number[]) => ({
  p50: percentile(xs, 50),
  p95: percentile(xs, 95),
  max: percentile(xs, 100),
});

function event(origin: string, round: number, i: number): Uint8Array {
  return canonicalBytes({
    schema_version: "1.0",
    event_id: `3b241101-e2bb-4255-${origin.length.toString(16).padStart(4, "0")}-${(round * 100000 + i).toString(16).padStart(12, "0")}`,
    event_type: "identity.credential_issued",
    source_module: `${origin.split("/")[1]}-wallet`,
    timestamp: new Date(Date.UTC(2026, 10, 25, 20, 0, 0, round * 1000 + (i % 1000))).toISOString(),
    federation_context: {
      federation_id: origin.split("/")[1],
      node_id: `${origin.split("/")[1]}-1`,
      region: "EU",
    },
    payload_digest: (round * 7919 + i).toString(16).padStart(64, "0"),
  });
}

function specOf(origin: string, n: number) {
  const base = 10000n / BigInt(n);
  return {
    origin,
    nodes: Array.from({ length: n }, (_, i) => ({
      keys: deriveThrowawayKeys("bench-rounds", `${origin.split("/")[1]}-${i + 1}`),
      weight: base + (BigInt(i) < 10000n % BigInt(n) ? 1n : 0n),
    })),
  };
}

export async function runRoundsBench(o: RoundsBenchOptions): Promise<Record<string, unknown>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-bench-rounds-"));
  const metrics = new RoundMetricsStore(path.join(dir, "metrics.sqlite"));
  const origins = ["amp.local/ssid", "amp.local/opencore"];
  const pool = o.mldsaWorkers > 0 ? new MlDsaWorkerPool(o.mldsaWorkers) : undefined;
  await pool?.warmUp();
  const engine = new RoundEngine({
    ...(pool ? { mldsa: pool } : {}),
    dataDir: dir,
    domain: { chainId: 31337n, anchor: "0x5FbDB2315678afecb367f032d93F642f64180aa3" },
    federations: [specOf(origins[0]!, o.ssidNodes), specOf(origins[1]!, o.opencoreNodes)],
    maxBatch: o.events,
    metrics,
  });
  const warmup = 3;
  const seal: Record<string, number[]> = { [origins[0]!]: [], [origins[1]!]: [] };
  const cpuCons: Record<string, number[]> = { [origins[0]!]: [], [origins[1]!]: [] };
  const cpuWit: number[] = [];
  const toWitnessed: number[] = [];
  const bytes: number[] = [];
  const bytesPerNode: number[] = [];
  const payload: number[] = [];
  const parts = { qc: [] as number[], proofs: [] as number[], cosignatures: [] as number[] };
  for (let r = 1; r <= o.rounds + warmup; r++) {
    for (const origin of origins)
      engine.enqueue(
        origin,
        Array.from({ length: o.events }, (_, i) => event(origin, r, i)),
      );
    const res = await engine.runRound();
    if (res.status !== "witnessed") throw new Error(`round ${r} failed: ${res.reason}`);
    engine.markAnchored(res);
    if (r <= warmup) continue;
    for (const origin of origins) {
      seal[origin]!.push(res.latencies.sealToQuorumMs[origin]!);
      cpuCons[origin]!.push(res.latencies.cpuMs.consensus[origin]!);
    }
    toWitnessed.push(res.latencies.quorumToWitnessedMs);
    cpuWit.push(res.latencies.cpuMs.witness);
    bytes.push(res.witnessBytes);
    parts.qc.push(res.witnessBytesBreakdown.qc);
    parts.proofs.push(res.witnessBytesBreakdown.proofs);
    parts.cosignatures.push(res.witnessBytesBreakdown.cosignatures);
    bytesPerNode.push(res.witnessBytesPerNode);
    payload.push(res.payloadBytes);
  }
  metrics.close();
  await pool?.close();
  fs.rmSync(dir, { recursive: true, force: true });
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const reduction = (crossing: number[]) => Math.round((1 - sum(crossing) / sum(payload)) * 1e5) / 1e3;
  return {
    bench: "rounds",
    rounds: o.rounds,
    eventsPerFederationPerRound: o.events,
    nodes: { [origins[0]!]: o.ssidNodes, [origins[1]!]: o.opencoreNodes },
    signatures: "ML-DSA-65 (votes, witness cosignatures) + secp256k1 EIP-712 (votes)",
    mldsaWorkerThreads: o.mldsaWorkers,
    latencyMs: {
      sealToQuorum: Object.fromEntries(origins.map((x) => [x, stats(seal[x]!)])),
      quorumToWitnessed: stats(toWitnessed),
      cpuConsensusAllNodesOfFederation: Object.fromEntries(origins.map((x) => [x, stats(cpuCons[x]!)])),
      cpuWitnessAllNodes: stats(cpuWit),
    },
    bytesPerRound: {
      acrossFederations: stats(bytes),
      acrossFederationsP50Breakdown: {
        qcNotes: stats(parts.qc).p50,
        consistencyProofs: stats(parts.proofs).p50,
        cosignatureLines: stats(parts.cosignatures).p50,
      },
      acrossFederationsFanOutPerWitnessNode: stats(bytesPerNode),
      batchPayload: stats(payload),
      reductionPercent: reduction(bytes),
      reductionPercentFanOut: reduction(bytesPerNode),
    },
    cpus: os.cpus().length,
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

export async function main(args: readonly string[]): Promise<void> {
  const rounds = arg(args, "--rounds", 200);
  const events = arg(args, "--events", 1000);
  const result = await runRoundsBench({
    rounds,
    events,
    ssidNodes: arg(args, "--ssid-nodes", 4),
    opencoreNodes: arg(args, "--opencore-nodes", 3),
    mldsaWorkers: arg(args, "--mldsa-workers", defaultMlDsaWorkers(), 0),
  });
  const anchoredRounds = arg(args, "--anchored-rounds", rounds, 0);
  const anchored = anchoredRounds > 0 ? await runAnchoredRounds(anchoredRounds, events, 3, stats) : null;
  console.log(JSON.stringify({ ...result, anchored }, null, 2));
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
