/**
 * The extensions every node runs (`amp node`, and the in-process nodes of `amp demo`/`amp run`):
 * ONE list, so both layouts run the same node code. Metrics (`GET /metrics`), the drift monitor,
 * erasure over HTTP, credit allocation.
 */
import { CreditsExtension } from "../credits/node-extension";
import { DriftExtension } from "../drift/node-extension";
import { driftOptionsFromManifest } from "../drift/runtime";
import { erasureExtension } from "../erasure/extension";
import type { Manifest } from "../manifest";
import type { NodeExtension } from "../node/service";
import { nodeMetricsExtension } from "../telemetry/node";

export interface NodeExtensionsOptions {
  /** Overrides the manifest's credit.epoch_seconds (`--epoch-seconds N`). */
  readonly epochSeconds?: number | undefined;
  /**
   * Export Node.js process metrics (default true: one node per process). false when several
   * nodes share this process (in-process mode): each would report the same process.
   */
  readonly processMetrics?: boolean;
}

/** A fresh list for ONE node (extensions hold per-node state: never share a list between nodes). */
export function nodeExtensions(manifest: Manifest, opts: NodeExtensionsOptions = {}): NodeExtension[] {
  return [
    nodeMetricsExtension({ processMetrics: opts.processMetrics ?? true }),
    new DriftExtension(driftOptionsFromManifest(manifest)),
    erasureExtension(),
    new CreditsExtension({ credit: manifest.credit, epochSeconds: opts.epochSeconds }),
  ];
}
