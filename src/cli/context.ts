/**
 * What several commands share: the manifest's federations, node keys (key files or throwaway demo
 * keys), and opening the data dir.
 */
import fs from "node:fs";
import path from "node:path";
import { deriveThrowawayKeys, loadNodeKeys } from "../crypto/keys";
import type { NodeKeys } from "../crypto/keys";
import { InvalidInputError } from "../util/errors";
import type { FederationSpec } from "../chain/deploy";

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

const DEFAULT_FEDERATIONS: ManifestFederation[] = [
  {
    name: "ssid",
    origin: "amp.local/ssid",
    nodes: [
      { id: "ssid-eu-1", region: "EU", weight: 2500n },
      { id: "ssid-us-1", region: "US", weight: 2500n },
      { id: "ssid-apac-1", region: "APAC", weight: 2500n },
      { id: "ssid-eu-2", region: "EU", weight: 2500n },
    ],
  },
  {
    name: "opencore",
    origin: "amp.local/opencore",
    nodes: [
      { id: "opencore-eu-1", region: "EU", weight: 3334n },
      { id: "opencore-us-1", region: "US", weight: 3333n },
      { id: "opencore-apac-1", region: "APAC", weight: 3333n },
    ],
  },
];

/** Federations of the manifest (the shipped default when no file is given). */
export function loadManifestFederations(file?: string): ManifestFederation[] {
  if (file !== undefined) {
    if (!fs.existsSync(file)) throw new InvalidInputError(`no such manifest: ${file}`);
    throw new InvalidInputError("custom manifests are not supported yet");
  }
  return DEFAULT_FEDERATIONS.map((f) => ({ ...f, nodes: f.nodes.map((n) => ({ ...n })) }));
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
  if (!password) throw new InvalidInputError("set AMP_KEYSTORE_PASSWORD to read the keystores in --keys");
  const out: FederationKeys[] = [];
  for (const federation of federations) {
    const keys: NodeKeys[] = [];
    for (const n of federation.nodes) keys.push(await loadNodeKeys(path.resolve(keysDir), n.id, password));
    out.push({ federation, keys });
  }
  return out;
}

/** Registry specs (validator addresses and weights) for the federations. */
export function federationSpecs(fks: FederationKeys[]): FederationSpec[] {
  return fks.map(({ federation, keys }) => ({
    origin: federation.origin,
    validators: keys.map((k) => k.wallet.address),
    weights: federation.nodes.map((n) => n.weight),
  }));
}

export const THROWAWAY_BANNER =
  "THROWAWAY DEMO KEYS: validator keys are derived deterministically from a public label; never use them for anything real";
