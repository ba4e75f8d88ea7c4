/**
 * DriftMonitor: the coordinator's vote observer. For every vote collection it records the nodes'
 * clock offsets, detects and classifies drift (DriftProbe range hashes), stores findings and
 * alerts, tells the sinks (structured log, webhooks via the persisted outbox) and auto-resolves
 * alerts whose cause stopped recurring. `observe` only queues work: the round never waits for it.
 */
import { performance } from "node:perf_hooks";
import type { VoteCollection, VoteObserver } from "../consensus/observer";
import { createLogger, type Logger } from "../util/log";
import { changeAlert, webhookBody } from "./api";
import { clockSamples, suspectClock } from "./clock";
import { detectDrift } from "./detector";
import type { DriftProbe } from "./ranges";
import type { DriftStore, StoredFinding } from "./store";
import { DEFAULT_DRIFT_CONFIG, type DriftConfig, type Finding } from "./types";
import { checkWebhookUrl, enqueueWebhooks, type WebhookDispatcher } from "./webhooks";

/** The telemetry hooks the monitor feeds (src/telemetry's AmpMetrics has them). */
export interface DriftMetrics {
  driftDetection(federation: string, seconds: number): void;
  driftFinding(cause: string): void;
  driftAlert(cause: string): void;
  clockOffsetOf(node: string, seconds: number): void;
}

export interface DriftMonitorOptions {
  readonly store: DriftStore;
  readonly probe: DriftProbe;
  readonly config?: Partial<DriftConfig>;
  /** Webhook URLs for alert changes (http/https). */
  readonly webhooks?: readonly string[];
  /** Started by its owner; kicked after each queued change. */
  readonly dispatcher?: WebhookDispatcher;
  readonly logger?: Logger;
  /** Called for every stored finding (tests, benchmark). */
  readonly onFinding?: (f: StoredFinding) => void;
  /** Detection time per pass, findings and alerts by cause, clock offsets (Prometheus). */
  readonly metrics?: DriftMetrics;
}

export class DriftMonitor {
  readonly config: DriftConfig;
  readonly observer: VoteObserver = (c) => this.observe(c);
  private readonly webhooks: readonly string[];
  private readonly logger: Logger;
  private readonly seen = new Set<string>();
  /**
   * Per round: how many stamps the recorded clock samples came from and the nodes already flagged
   * (null: the round was observed before a restart).
   */
  private readonly clockSeen = new Map<string, { stamps: number; flagged: Set<string> } | null>();
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly opts: DriftMonitorOptions) {
    this.config = { ...DEFAULT_DRIFT_CONFIG, ...opts.config };
    this.webhooks = (opts.webhooks ?? []).map(checkWebhookUrl);
    this.logger = opts.logger ?? createLogger("drift");
  }

  /** Queue the analysis of one vote collection (returns at once). */
  observe(c: VoteCollection): void {
    this.chain = this.chain
      .then(() => this.process(c))
      .catch((e: unknown) =>
        this.logger.error("drift analysis failed", { origin: c.origin, round: c.round, error: e }),
      );
  }

  /** Resolves when every queued analysis is done. */
  idle(): Promise<void> {
    return this.chain;
  }

  private async process(c: VoteCollection): Promise<void> {
    const store = this.opts.store;
    const findings: Finding[] = [];
    const fresh = c.proposals.some((p) =>
      p.checkpoints.some((x) => !this.seen.has(this.key(c, p.nodeId, x.body))),
    );
    if (fresh) {
      const t0 = performance.now();
      const drift = await detectDrift(c, this.opts.probe, this.config);
      this.opts.metrics?.driftDetection(c.origin, (performance.now() - t0) / 1000);
      for (const f of drift) {
        const bodies = c.proposals.find((p) => p.nodeId === f.node)!.checkpoints.map((x) => x.body);
        if (bodies.every((b) => this.seen.has(this.key(c, f.node, b)))) continue;
        findings.push(f);
      }
      for (const p of c.proposals)
        for (const x of p.checkpoints) this.seen.add(this.key(c, p.nodeId, x.body));
    }
    // Drift first (its latency is measured). In process the coordinator yields once after showing
    // the votes, so this runs before it finalises; the rest waits for the next turn of the event
    // loop and never holds up the round: the round mark and the clock stamps (a signature check each).
    for (const f of findings) this.record(f, performance.now() - c.lastVoteAt);
    // Clock: verified before the yield only when an offset looks past the tolerance. Votes
    // accumulate over a round's attempts, so a later collection holds more stamps (nodes that timed
    // out in attempt 1): the round's samples are those of its collection with the most stamps
    // (replacing fewer), and a node is flagged at most once per round.
    const roundKey = `${c.origin}\n${c.round}`;
    const known = this.clockSeen.get(roundKey);
    const stamps = c.proposals.filter((p) => p.checkpoints[0]?.vote.clock !== undefined).length;
    const more = known !== null && stamps > (known?.stamps ?? 0);
    const flagged = known?.flagged ?? new Set<string>();
    const flag = (fs: readonly Finding[]) => {
      for (const f of fs.filter((x) => !flagged.has(x.node))) {
        flagged.add(f.node);
        this.record(f, performance.now() - c.lastVoteAt);
      }
    };
    const early = more && suspectClock(c, this.config) ? clockSamples(c, this.config) : undefined;
    flag(early?.findings ?? []);
    await new Promise<void>((resolve) => setImmediate(resolve));
    const firstLook = store.markRound(c.origin, c.round);
    if (known === undefined && !firstLook) {
      this.clockSeen.set(roundKey, null); // seen before a restart
    } else if (!more) {
      if (known === undefined) this.clockSeen.set(roundKey, { stamps: 0, flagged }); // no stamps yet
    } else {
      const clock = early ?? clockSamples(c, this.config);
      store.recordClock(clock.samples, known !== undefined);
      this.clockSeen.set(roundKey, { stamps, flagged });
      for (const x of clock.samples) this.opts.metrics?.clockOffsetOf(x.node, x.offsetMs / 1000);
      if (clock.invalid.length > 0) {
        this.logger.warn("clock stamps that do not verify", {
          origin: c.origin,
          round: c.round,
          nodes: clock.invalid,
        });
      }
      if (!early) flag(clock.findings);
    }
    this.autoResolve(c);
    if (this.seen.size > 100_000) this.seen.clear();
    if (this.clockSeen.size > 100_000) this.clockSeen.clear();
  }

  private key(c: VoteCollection, node: string, body: string): string {
    return `${c.origin}\n${c.round}\n${node}\n${body}`;
  }

  private record(f: Finding, latencyMs: number): void {
    const store = this.opts.store;
    const { finding, opened } = store.db.transaction(() => {
      const r = store.recordFinding(f, latencyMs);
      if (r.opened) {
        enqueueWebhooks(
          store,
          this.webhooks,
          r.opened.id,
          "opened",
          webhookBody("opened", r.opened, { finding: r.finding }),
        );
      }
      return r;
    })();
    this.opts.metrics?.driftFinding(f.cause);
    if (f.kind === "alert") this.opts.metrics?.driftAlert(f.cause);
    const fields = {
      origin: f.federation,
      round: f.round,
      node: f.node,
      majorityNode: f.majorityNode,
      cause: f.cause,
      driftScore: f.driftScore,
      severity: f.severity,
      alertId: finding.alertId,
      actions: f.actions,
    };
    if (f.kind === "alert") this.logger.warn(opened ? "drift alert opened" : "drift alert recurred", fields);
    else this.logger.info("drift observation", fields);
    if (opened) this.opts.dispatcher?.kick();
    this.opts.onFinding?.(finding);
  }

  private autoResolve(c: VoteCollection): void {
    const n = this.config.autoResolveRounds;
    for (const a of this.opts.store.staleAlerts(c.origin, c.round, n)) {
      const note = `no ${a.cause} from ${a.node} for ${n} rounds (last in round ${a.lastRound})`;
      changeAlert(this.opts.store, a.id, "auto-resolved", "drift-monitor", note, this.webhooks);
      this.logger.info("drift alert auto-resolved", {
        alertId: a.id,
        origin: c.origin,
        round: c.round,
        note,
      });
      this.opts.dispatcher?.kick();
    }
  }
}
