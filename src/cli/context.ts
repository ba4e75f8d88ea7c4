/**
 * What several commands share: the manifest's federations, node keys (key files or throwaway demo
 * keys), and opening the data dir.
 */
import fs from "node:fs";
import path from "node:path";
import { deriveThrowawayKeys, loadNodeKeys, mlDsaKeyCommitment } from "../crypto/keys";
import type { NodeKeys } from "../crypto/keys";
import { CannotCheckError, UsageError } from "./exit";
import type { FederationSpec } from "../chain/deploy";
import { DEFAULT_MANIFEST_PATH, loadManifest } from "../manifest";

/** The label every throwaway demo key is derived from (so demo, deploy and run agree). */
export const DEMO_KEY_LABEL = "amp-demo";

export interface ManifestNode {
  id: string;
  region: string;
  weight: bigint;
}

export interface ManifestFederation {
  name: string;
  origin: string;
  nodes: ManifestNode[];
}

/** Federations of the manifest (the shipped `manifest_federation.yaml` when no file is given). */
export function loadManifestFederations(file?: string): ManifestFederation[] {
  if (file !== undefined && !fs.existsSync(file)) {
    throw new CannotCheckError(
      `no such manifest: ${file} (check --manifest, or leave it out for the default)`,
    );
  }
  const manifest = loadManifest(file ?? DEFAULT_MANIFEST_PATH);
  return manifest.federations.map((f) => ({
    name: f.id,
    origin: f.origin,
    nodes: f.nodes.map((n) => ({ id: n.id, region: n.region, weight: BigInt(n.weight) })),
  }));
}

export interface FederationKeys {
  federation: ManifestFederation;
  keys: NodeKeys[];
}

/**
 * Node keys: from key files in `keysDir` (password from AMP_KEYSTORE_PASSWORD) or, without a
 * keys dir, THROWAWAY DEMO KEYS derived from {@link DEMO_KEY_LABEL} (`onThrowaway` is told).
 */
export async function loadFederationKeys(
  federations: ManifestFederation[],
  keysDir: string | undefined,
  onThrowaway: () => void = () => undefined,
): Promise<FederationKeys[]> {
  if (keysDir === undefined) {
    onThrowaway();
    return federations.map((federation) => ({
      federation,
      keys: federation.nodes.map((n) => deriveThrowawayKeys(DEMO_KEY_LABEL, n.id)),
    }));
  }
  const password = process.env.AMP_KEYSTORE_PASSWORD;
  if (!password) throw new UsageError("set AMP_KEYSTORE_PASSWORD to read the keystores in --keys");
  const out: FederationKeys[] = [];
  for (const federation of federations) {
    const keys: NodeKeys[] = [];
    for (const n of federation.nodes) keys.push(await loadNodeKeys(path.resolve(keysDir), n.id, password));
    out.push({ federation, keys });
  }
  return out;
}

/** Registry specs (validator addresses, weights, ML-DSA key commitments) for the federations. */
export function federationSpecs(fks: FederationKeys[]): FederationSpec[] {
  return fks.map(({ federation, keys }) => ({
    origin: federation.origin,
    validators: keys.map((k) => k.wallet.address),
    weights: federation.nodes.map((n) => n.weight),
    keyCommitments: keys.map((k) => mlDsaKeyCommitment(k.mldsa.publicKey)),
  }));
}

export const THROWAWAY_BANNER =
  "THROWAWAY DEMO KEYS: validator keys are derived deterministically from a public label; never use them for anything real";
