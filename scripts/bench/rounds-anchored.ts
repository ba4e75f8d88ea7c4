/**
 * The anchored half of `npm run bench -- rounds`: the same rounds as `amp run`, end to end on Hardhat's
 * in-process network — generated events archived durably, sealed, voted (ML-DSA-65 + EIP-712), witnessed,
 * and anchored by `GlobalProofAnchor.anchorRound` — so the three round latencies and the gas of each
 * anchored round come from real transactions.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { connectEmbedded } from "../../src/chain/connect";
import { writeDeployment } from "../../src/chain/deployment";
import { AnchoringRunner, type RoundReport } from "../../src/chain/runner";
import { deployAndRegister } from "../../src/cli/deploy";
import { runRounds } from "../../src/cli/run";
import { runnerFederationsFor } from "../../src/cli/session";

type Anchored = Exclude<RoundReport, { status: "failed" }>;

export interface Stats {
  p50: number;
  p95: number;
  max: number;
}

export async function runAnchoredRounds(
  rounds: number,
  events: number,
  warmup: number,
  stats: (xs: readonly number[]) => Stats,
): Promise<Record<string, unknown>> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-bench-anchored-"));
  const quiet = () => undefined;
  try {
    const conn = await connectEmbedded();
    const record = await deployAndRegister(conn, {}, quiet);
    writeDeployment(dataDir, record);
    const { manifest, feds } = await runnerFederationsFor(record, {}, quiet);
    const runner = await AnchoringRunner.open({ dataDir, conn, record, federations: feds, maxBatch: events });
    let reports: RoundReport[];
    try {
      reports = await runRounds(
        runner,
        manifest,
        { rounds: rounds + warmup, generate: events, salt: "bench" },
        quiet,
      );
    } finally {
      runner.close();
    }
    const measured = reports.slice(warmup);
    const ok = measured.filter((r): r is Anchored => r.status !== "failed");
    const pick = (f: (r: Anchored) => number) => stats(ok.map(f));
    return {
      rounds: measured.length,
      anchored: ok.length,
      failed: measured.length - ok.length,
      signaturesPerCheckpoint:
        "a minimal quorum (the fewest signers above 2/3 of the weight), not every validator",
      latencyMs: {
        sealToQuorum: pick((r) => r.latencies.sealToQuorumMs),
        quorumToWitnessed: pick((r) => r.latencies.quorumToWitnessedMs),
        witnessedToAnchored: pick((r) => r.latencies.witnessedToAnchoredMs),
      },
      gasPerRound: pick((r) => Number(r.gasUsed)),
      bytesAcrossFederations: pick((r) => r.witnessBytes),
      batchPayloadBytes: pick((r) => r.payloadBytes),
    };
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
