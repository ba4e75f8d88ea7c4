/**
 * The drift monitor as a NodeExtension (node layout, `amp node`): the node's coordinator shows the
 * monitor every vote collection of the rounds it coordinates, before they finalise
 * (`Coordinator.addVoteObserver`); the monitor asks diverging nodes for range hashes over HTTP
 * (`HttpDriftProbe`, signed requests), classifies, stores findings and alerts in
 * `<node data>/drift.sqlite`, logs them and delivers webhooks from the persisted outbox. It never
 * blocks a round: the observer only queues work.
 */
import path from "node:path";
import type { NodeExtension, NodeExtensionContext } from "../node/service";
import { createLogger } from "../util/log";
import { HttpDriftProbe } from "./http-probe";
import { DriftMonitor, type DriftMetrics } from "./monitor";
import { addDriftRoutes } from "./node-routes";
import { DRIFT_DB_FILE, DriftStore } from "./store";
import type { DriftConfig } from "./types";
import { WebhookDispatcher, checkWebhookUrl, type WebhookOptions } from "./webhooks";

export interface DriftExtensionOptions {
  /** The manifest's `drift` section (`driftOptionsFromManifest`). */
  readonly config?: Partial<DriftConfig>;
  readonly webhooks?: readonly string[];
  readonly webhookOptions?: WebhookOptions;
  /** Prometheus hooks (detection time, findings and alerts by cause, clock offsets). */
  readonly metrics?: DriftMetrics;
}

interface Parts {
  readonly store: DriftStore;
  readonly monitor: DriftMonitor;
  readonly dispatcher: WebhookDispatcher;
}

export class DriftExtension implements NodeExtension {
  readonly name = "drift";
  private parts: Parts | undefined;
  private readonly webhooks: readonly string[];

  constructor(private readonly opts: DriftExtensionOptions = {}) {
    this.webhooks = (opts.webhooks ?? []).map(checkWebhookUrl);
  }

  /** The store, monitor and dispatcher of this node (made on first use). */
  private of(ctx: NodeExtensionContext): Parts {
    if (this.parts) return this.parts;
    const store = new DriftStore(path.join(ctx.dataDir, DRIFT_DB_FILE));
    const dispatcher = new WebhookDispatcher(store, this.opts.webhookOptions);
    const node = ctx.node;
    const probe = new HttpDriftProbe({
      nodeId: node.id,
      wallet: node.cfg.keys.wallet,
      client: node.transport.client,
      url: (id) => node.transport.url(id),
    });
    const monitor = new DriftMonitor({
      store,
      probe,
      webhooks: this.webhooks,
      dispatcher,
      logger: createLogger("drift").child({ node: node.id }),
      ...(this.opts.config ? { config: this.opts.config } : {}),
      ...(this.opts.metrics ? { metrics: this.opts.metrics } : {}),
    });
    this.parts = { store, monitor, dispatcher };
    return this.parts;
  }

  /** The monitor (tests: wait for queued analyses with `monitor.idle()`). */
  get monitor(): DriftMonitor | undefined {
    return this.parts?.monitor;
  }

  routes(app: Parameters<NonNullable<NodeExtension["routes"]>>[0], ctx: NodeExtensionContext): void {
    const { store, dispatcher } = this.of(ctx);
    const fed = ctx.node.federation;
    addDriftRoutes(app, {
      store,
      adminToken: ctx.adminToken,
      memberAddress: (id) => fed.nodes.find((n) => n.id === id)?.member.address,
      voted: ctx.node.validator,
      webhooks: this.webhooks,
      changed: () => dispatcher.kick(),
    });
  }

  start(ctx: NodeExtensionContext): void {
    const { monitor, dispatcher } = this.of(ctx);
    ctx.coordinator.addVoteObserver(monitor.observer);
    // Always started: the outbox may hold deliveries queued before a restart.
    dispatcher.start();
  }

  async close(): Promise<void> {
    const p = this.parts;
    if (!p) return;
    await p.monitor.idle();
    await p.dispatcher.stop();
    p.store.close();
    this.parts = undefined;
  }
}
