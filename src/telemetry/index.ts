/** Prometheus metrics of an AMP node or in-process run, and serving them (see README.md). */
import { AmpMetrics } from "./metrics";
import type { AmpMetricsOptions } from "./metrics";
import { serveMetrics } from "./http";
import type { MetricsSource } from "./http";

export { AmpMetrics, SECONDS_BUCKETS, refusalReason } from "./metrics";
export type { AmpMetricsOptions, AnchorObservation, RefusalReason } from "./metrics";
export { metricsListener, parseListen, registerMetricsRoute, serveMetrics } from "./http";
export type { MetricsServer, MetricsSource, RouteHost } from "./http";
export { observeIngest, observeRunnerOpen } from "./runner-hooks";
export { nodeMetrics, nodeMetricsExtension, reasonOfStatus } from "./node";
export type { NodeMetricsOptions } from "./node";

/** A fresh registry with every AMP metric (one per node; never prom-client's global registry). */
export function createMetrics(opts: AmpMetricsOptions = {}): AmpMetrics {
  return new AmpMetrics(opts);
}

/** The Prometheus text exposition of a registry. */
export function renderMetrics(source: MetricsSource): Promise<string> {
  return source.metrics();
}

/**
 * For CLI commands with `--metrics-listen HOST:PORT`: metrics and their `/metrics` server, the URL
 * told through `say`; without a value, no metrics and nothing listening.
 */
export async function startMetrics(
  listen: string | undefined,
  say: (line: string) => void,
): Promise<{ metrics: AmpMetrics | undefined; close(): Promise<void> }> {
  if (listen === undefined) return { metrics: undefined, close: () => Promise.resolve() };
  const metrics = new AmpMetrics();
  const server = await serveMetrics(metrics, listen);
  say(`metrics: ${server.url}`);
  return { metrics, close: () => server.close() };
}
