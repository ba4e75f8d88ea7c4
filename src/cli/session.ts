/**
 * Opening a data dir for work: deployment record checked against the live chain, keys checked
 * against the registered validators, the AnchoringRunner ready at the chain's next round.
 */
import fs from "node:fs";
import path from "node:path";
import { Archive } from "../archive";
import type { ChainConnection } from "../chain/connect";
import { AnchoredRounds, ANCHORS_FILE } from "../chain/anchored-rounds";
import { assertDeploymentLive, readDeployment } from "../chain/deployment";
import type { DeploymentRecord } from "../chain/deployment";
import { AnchoringRunner, ARCHIVE_FILE } from "../chain/runner";
import type { RunnerFederation } from "../chain/runner";
import type { FaultInjector } from "../consensus/fault-injector";
import type { AmpMetrics } from "../telemetry/metrics";
import { mlDsaKeyCommitment } from "../crypto/keys";
import { AmpError, InvalidInputError } from "../util/errors";
import { loadFederationKeys, loadManifestFederations, THROWAWAY_BANNER } from "./context";
import { DEFAULT_MANIFEST_PATH, loadManifest } from "../manifest";
import { driftOptionsFromManifest } from "../drift/runtime";
import type { ManifestFederation } from "./context";

export interface SessionOptions {
  manifest?: string | undefined;
  keys?: string | undefined;
  faults?: FaultInjector;
  maxBatch?: number;
  /** ML-DSA worker threads (0: main thread only); the runner's default when omitted. */
  mldsaWorkers?: number;
  /** Prometheus metrics for the runner (`--metrics-listen`). */
  metrics?: AmpMetrics | undefined;
}

/** Runner federations from the manifest and keys; keys must be the deployment's validators. */
export async function runnerFederationsFor(
  record: DeploymentRecord | undefined,
  opts: SessionOptions,
  say: (l: string) => void,
): Promise<{ manifest: ManifestFederation[]; feds: RunnerFederation[] }> {
  const manifest = loadManifestFederations(opts.manifest);
  const keys = await loadFederationKeys(manifest, opts.keys, () => say(THROWAWAY_BANNER));
  const feds = keys.map((k) => ({
    name: k.federation.name,
    origin: k.federation.origin,
    nodes: k.keys.map((key, i) => ({ keys: key, weight: k.federation.nodes[i]!.weight })),
  }));
  for (const f of feds) {
    const registered = record?.federations.find((r) => r.origin === f.origin);
    if (!record) continue;
    if (!registered) {
      throw new InvalidInputError(
        `federation ${f.origin} is not in the deployment record: use the --manifest it was deployed with`,
      );
    }
    const mine = f.nodes.map((n) => n.keys.wallet.address);
    const norm = (xs: string[]) => JSON.stringify(xs.map((x) => x.toLowerCase()).sort());
    // Records written before key commitments existed have none to compare.
    const commitments = f.nodes.map((n) => mlDsaKeyCommitment(n.keys.mldsa.publicKey));
    if (
      norm(mine) !== norm(registered.validators) ||
      (Array.isArray(registered.keyCommitments) && norm(commitments) !== norm(registered.keyCommitments))
    ) {
      throw new InvalidInputError(
        `the keys of ${f.origin} are not the validators registered at deployment (wrong --keys?)`,
      );
    }
  }
  return { manifest, feds };
}

export async function openSession(
  conn: ChainConnection,
  dataDir: string,
  opts: SessionOptions,
  say: (l: string) => void,
): Promise<{ runner: AnchoringRunner; manifest: ManifestFederation[]; record: DeploymentRecord }> {
  const record = readDeployment(dataDir);
  await assertDeploymentLive(conn, record);
  const { manifest, feds } = await runnerFederationsFor(record, opts, say);
  const runner = await AnchoringRunner.open({
    dataDir,
    conn,
    record,
    federations: feds,
    drift: driftOptionsFromManifest(loadManifest(opts.manifest ?? DEFAULT_MANIFEST_PATH)),
    ...(opts.faults ? { faults: opts.faults } : {}),
    ...(opts.maxBatch !== undefined ? { maxBatch: opts.maxBatch } : {}),
    ...(opts.mldsaWorkers !== undefined ? { mldsaWorkers: opts.mldsaWorkers } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
  });
  return { runner, manifest, record };
}

/** Read-only stores of a data dir (no chain needed): the archive and the anchored rounds. */
export function openStores(dataDir: string): { archive: Archive; anchors: AnchoredRounds; close(): void } {
  const file = path.join(dataDir, ARCHIVE_FILE);
  if (!fs.existsSync(file)) {
    throw new InvalidInputError(
      `no archive at ${file}: ingest events or run "amp run" with this --data dir first`,
    );
  }
  const archive = Archive.open(file);
  if (!fs.existsSync(path.join(dataDir, ANCHORS_FILE))) {
    archive.close();
    throw new AmpError(`no anchored rounds in ${dataDir} yet: run "amp run" first`, { kind: "not-found" });
  }
  const anchors = AnchoredRounds.open(dataDir);
  return {
    archive,
    anchors,
    close: () => {
      anchors.close();
      archive.close();
    },
  };
}
