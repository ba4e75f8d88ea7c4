/** Typed view of manifest_federation.yaml after validation (defaults filled, key paths absolute). */
export interface ManifestNode {
  id: string;
  region: string;
  /** Integer basis points of the federation's governance weight (the federation sums to 10000). */
  weight: number;
  /** Absolute path of the ML-DSA key file. */
  mldsa_key: string;
  /** Absolute path of the encrypted secp256k1 JSON keystore. */
  evm_keystore: string;
  /**
   * Base URL of the node's HTTP service (src/node). Default on loopback:
   * `http://127.0.0.1:<DEFAULT_NODE_PORT + position of the node in the manifest>`.
   */
  url: string;
}

/** Port of the first manifest node when no `url` is given (the next nodes count up from it). */
export const DEFAULT_NODE_PORT = 7401;

export interface ManifestFederation {
  id: string;
  /** C2SP checkpoint origin, e.g. amp.local/ssid. */
  origin: string;
  nodes: ManifestNode[];
}

/** Nodes of `witness` verify and cosign the final checkpoints of `witnessed`. */
export interface ManifestBridge {
  witness: string;
  witnessed: string;
}

export interface BatchConfig {
  maxSize: number;
  maxAgeMs: number;
}

export interface CreditConfig {
  weights: {
    proofs_validated: number;
    validation_accuracy: number;
    storage_contribution_gb: number;
    consensus_participation: number;
  };
  max_score: number;
  epoch_seconds: number;
}

export interface Manifest {
  version: 1;
  /** Absolute path of the file it was loaded from, or the label given to parseManifest. */
  source: string;
  federations: ManifestFederation[];
  bridges: ManifestBridge[];
  batch: BatchConfig;
  credit: CreditConfig;
}

/** Total governance weight of a federation, in basis points. */
export const FEDERATION_WEIGHT_TOTAL = 10_000;

/** One problem found in a manifest, located in its file. */
export interface ManifestProblem {
  file: string;
  line: number;
  col: number;
  /** JSON Pointer of the offending value, e.g. /federations/0/nodes/2/weight. */
  field: string;
  rule: string;
}
