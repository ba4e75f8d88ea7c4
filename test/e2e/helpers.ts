/**
 * Shared setup for the end-to-end tests: a fresh deployment on the embedded network and an
 * AnchoringRunner over a temp data dir, with the default federations and throwaway keys.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ChainConnection } from "../../src/chain/connect";
import type { DeploymentRecord } from "../../src/chain/deployment";
import { writeDeployment } from "../../src/chain/deployment";
import { AnchoringRunner } from "../../src/chain/runner";
import type { RunnerFederation } from "../../src/chain/runner";
import type { FaultInjector } from "../../src/consensus/fault-injector";
import { loadFederationKeys, loadManifestFederations } from "../../src/cli/context";
import type { ManifestFederation } from "../../src/cli/context";
import { deployAndRegister } from "../../src/cli/deploy";
import { generateEvents } from "../../src/cli/generate";
import { publicClientFor } from "../../src/proof/verify";
import { trustPolicyFromChain } from "../../src/trust/policy";
import type { TrustPolicy } from "../../src/trust/policy";

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function runnerFederations(): Promise<{
  manifest: ManifestFederation[];
  feds: RunnerFederation[];
}> {
  const manifest = loadManifestFederations();
  const keys = await loadFederationKeys(manifest, undefined);
  const feds = keys.map((k) => ({
    name: k.federation.name,
    origin: k.federation.origin,
    nodes: k.keys.map((key, i) => ({ keys: key, weight: k.federation.nodes[i]!.weight })),
  }));
  return { manifest, feds };
}

export async function deployFresh(conn: ChainConnection, dataDir: string): Promise<DeploymentRecord> {
  const record = await deployAndRegister(conn, {}, () => undefined);
  writeDeployment(dataDir, record);
  return record;
}

export async function openRunner(
  conn: ChainConnection,
  record: DeploymentRecord,
  dataDir: string,
  faults?: FaultInjector,
): Promise<AnchoringRunner> {
  const { feds } = await runnerFederations();
  return AnchoringRunner.open({
    dataDir,
    conn,
    record,
    federations: feds,
    voteTimeoutMs: 200,
    ...(faults ? { faults } : {}),
  });
}

/** Ingest `perFederation` generated events into every federation. */
export function ingestGenerated(
  runner: AnchoringRunner,
  manifest: ManifestFederation[],
  perFederation: number,
): void {
  for (const f of manifest) {
    const events = generateEvents(f, runner.archive.nextSeq(f.name), perFederation, "e2e");
    runner.ingest(events);
  }
}

/** The trust policy of a deployment, read from the chain (what `amp deploy` writes as trust.json). */
export async function trustOf(
  conn: ChainConnection,
  record: DeploymentRecord,
): Promise<{ policy: TrustPolicy }> {
  const policy = await trustPolicyFromChain(
    publicClientFor(conn.eip1193),
    record.contracts.globalProofAnchor,
    record.federations,
  );
  return { policy };
}
