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
  /** Propose next validator epoch's weights from governance weights (src/credits/adaptive.ts). */
  adaptive_weights: boolean;
}

/** Proof-drift monitor settings (src/drift/README.md). */
export interface DriftManifestConfig {
  /** Alert when drift_score is strictly above this (default 0.1). */
  alert_threshold: number;
  /** Time fields differing by at most this are not timestamp drift (default 1000 ms). */
  timestamp_tolerance_ms: number;
  /** Clock offset from the federation median that raises clock_skew (default 500 ms). */
  clock_skew_tolerance_ms: number;
  /** Rounds without recurrence after which an alert is auto-resolved (default 5). */
  auto_resolve_rounds: number;
  /** Webhook URLs (http/https) notified of alert changes. */
  webhooks: string[];
}

export interface Manifest {
  version: 1;
  /** Absolute path of the file it was loaded from, or the label given to parseManifest. */
  source: string;
  federations: ManifestFederation[];
  bridges: ManifestBridge[];
  batch: BatchConfig;
  credit: CreditConfig;
  drift: DriftManifestConfig;
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
