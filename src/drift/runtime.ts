/**
 * The drift monitor as one part of a running node or runner: the store in `<data>/drift.sqlite`,
 * the in-process probe over the engine's nodes, the webhook dispatcher (started when webhooks are
 * configured) and the monitor whose `observer` the RoundEngine is given.
 */
import fs from "node:fs";
import path from "node:path";
import type { Manifest } from "../manifest/types";
import { DriftMonitor, type DriftMetrics } from "./monitor";
import type { DriftInjector } from "./injector";
import { InProcessDriftProbe, type VotedEntriesSource } from "./probe";
import { DRIFT_DB_FILE, DriftStore } from "./store";
import type { DriftConfig } from "./types";
import { WebhookDispatcher, type WebhookOptions } from "./webhooks";

export interface DriftOptions {
  readonly config?: Partial<DriftConfig>;
  readonly webhooks?: readonly string[];
  /** Makes chosen nodes drift (demo, tests). */
  readonly injector?: DriftInjector;
  readonly webhookOptions?: WebhookOptions;
  /** Telemetry hooks (the runner passes its AmpMetrics). */
  readonly metrics?: DriftMetrics;
}

/** The manifest's `drift` section as monitor options. */
export function driftOptionsFromManifest(m: Manifest): DriftOptions {
  const d = m.drift;
  return {
    config: {
      alertThreshold: d.alert_threshold,
      timestampToleranceMs: d.timestamp_tolerance_ms,
      clockSkewToleranceMs: d.clock_skew_tolerance_ms,
      autoResolveRounds: d.auto_resolve_rounds,
    },
    webhooks: d.webhooks,
  };
}

export class DriftRuntime {
  readonly store: DriftStore;
  readonly probe = new InProcessDriftProbe();
  readonly monitor: DriftMonitor;
  readonly dispatcher: WebhookDispatcher | undefined;
  readonly injector: DriftInjector | undefined;

  constructor(dataDir: string, opts: DriftOptions = {}) {
    fs.mkdirSync(dataDir, { recursive: true });
    this.store = new DriftStore(path.join(dataDir, DRIFT_DB_FILE));
    const hooks = opts.webhooks ?? [];
    this.dispatcher = hooks.length > 0 ? new WebhookDispatcher(this.store, opts.webhookOptions) : undefined;
    this.monitor = new DriftMonitor({
      store: this.store,
      probe: this.probe,
      webhooks: hooks,
      ...(opts.config ? { config: opts.config } : {}),
      ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
    });
    this.injector = opts.injector;
    this.dispatcher?.start();
  }

  /** Let the probe ask these nodes for range hashes. */
  register(nodes: Iterable<VotedEntriesSource>): void {
    this.probe.register(...nodes);
  }

  /** Wait for queued analyses (before reading findings or closing). */
  idle(): Promise<void> {
    return this.monitor.idle();
  }

  async close(): Promise<void> {
    await this.monitor.idle();
    await this.dispatcher?.stop();
    this.store.close();
  }
}
