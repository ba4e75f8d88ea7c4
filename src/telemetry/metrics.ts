/**
 * AmpMetrics: the Prometheus metrics of one AMP node (or of one in-process run), on a registry of
 * its own — never prom-client's global default registry — so that several nodes in one process
 * keep separate registries. Names carry the `amp_` prefix and base units (`_seconds`, `_bytes`,
 * `_total`); labels are bounded sets (federation, node, status, reason, kind, cause), never event ids.
 *
 * Each `observe…`/event method is safe to call from the pipeline: it never throws.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { FaultKind } from "../consensus/evidence";
import type { MetricsCallback } from "../batching/metrics";
import type { RoundObserver } from "../rounds/observer";
import type { RoundResult } from "../rounds/round-engine";
import { observe } from "../rounds/observer";
import { AmpError } from "../util/errors";

/** Stage latencies from 1 ms to 30 s. */
export const SECONDS_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** Why an event was refused: the AmpError kind (bounded), `bug` for anything else. */
export type RefusalReason = "invalid-input" | "conflict" | "retry-later" | "not-found" | "bug";

export function refusalReason(err: unknown): RefusalReason {
  return err instanceof AmpError ? err.kind : "bug";
}

export interface AmpMetricsOptions {
  /** Labels on every series, e.g. `{ node: "ssid-eu-1" }` for a node process's own registry. */
  readonly defaultLabels?: Readonly<Record<string, string>>;
  /** Also export Node.js process metrics (`process_*`, `nodejs_*`); default true. */
  readonly processMetrics?: boolean;
}

/** What an anchoring step reports (the runner's RoundReport, anchored or already anchored). */
export interface AnchorObservation {
  readonly status: "anchored" | "already-anchored";
  readonly round: bigint;
  readonly gasUsed: bigint;
  readonly witnessedToAnchoredMs: number;
}

export class AmpMetrics implements RoundObserver {
  readonly registry: Registry;
  private queueDepthSource: (() => Readonly<Record<string, number>>) | undefined;

  readonly ingestSeconds: Histogram<"federation">;
  readonly sealSeconds: Histogram<"federation">;
  readonly voteSeconds: Histogram<"federation" | "node">;
  readonly quorumSeconds: Histogram<"federation">;
  readonly witnessSeconds: Histogram;
  readonly anchorSeconds: Histogram;
  readonly driftDetectionSeconds: Histogram<"federation">;
  readonly allocationSeconds: Histogram;

  readonly eventsAccepted: Counter<"federation">;
  readonly eventsRefused: Counter<"federation" | "reason">;
  readonly pushback: Counter<"federation">;
  readonly rounds: Counter<"status">;
  readonly votes: Counter<"federation" | "node" | "outcome">;
  readonly evidenceTotal: Counter<"federation" | "node" | "kind">;
  readonly driftFindings: Counter<"cause">;
  readonly driftAlerts: Counter<"cause">;
  readonly anchors: Counter<"status">;
  readonly anchorGas: Counter;
  readonly allocations: Counter;
  readonly witnessBytes: Counter;
  readonly payloadBytes: Counter;

  readonly treeSize: Gauge<"federation">;
  readonly lastSignedRound: Gauge<"federation">;
  readonly lastAnchoredRound: Gauge;
  readonly lastAnchorTime: Gauge;
  readonly queueDepth: Gauge<"federation">;
  readonly clockOffset: Gauge<"node">;
  readonly governanceWeight: Gauge<"federation" | "node">;
  readonly quorumSignedWeight: Gauge<"federation">;
  readonly quorumTotalWeight: Gauge<"federation">;

  constructor(opts: AmpMetricsOptions = {}) {
    const registers = [(this.registry = new Registry())];
    if (opts.defaultLabels) this.registry.setDefaultLabels({ ...opts.defaultLabels });
    if (opts.processMetrics !== false) {
      collectDefaultMetrics({ register: this.registry });
      // Gauges named like counters (promtool refuses them); nodejs_active_* carry the same counts.
      for (const kind of ["resources", "handles", "requests"])
        this.registry.removeSingleMetric(`nodejs_active_${kind}_total`);
    }
    const h = <L extends string>(name: string, help: string, labelNames: L[]) =>
      new Histogram<L>({ name, help, labelNames, buckets: SECONDS_BUCKETS, registers });
    const c = <L extends string>(name: string, help: string, labelNames: L[]) =>
      new Counter<L>({ name, help, labelNames, registers });
    const g = <L extends string>(name: string, help: string, labelNames: L[]) =>
      new Gauge<L>({ name, help, labelNames, registers });

    this.ingestSeconds = h(
      "amp_ingest_seconds",
      "Ingest call: validate, canonicalise, archive durably, until acknowledged.",
      ["federation"],
    );
    this.sealSeconds = h(
      "amp_seal_seconds",
      "Sealing a batch into the federation log until it is published.",
      ["federation"],
    );
    this.voteSeconds = h("amp_vote_seconds", "One vote request to a validator until its answer.", [
      "federation",
      "node",
    ]);
    this.quorumSeconds = h(
      "amp_round_quorum_seconds",
      "Seal to quorum certificate of one federation in a round.",
      ["federation"],
    );
    this.witnessSeconds = h(
      "amp_round_witness_seconds",
      "Last quorum to every checkpoint cosigned by a witness quorum.",
      [],
    );
    this.anchorSeconds = h("amp_anchor_seconds", "Witnessed round to anchor transaction receipt.", []);
    this.driftDetectionSeconds = h("amp_drift_detection_seconds", "One drift detection pass.", [
      "federation",
    ]);
    this.allocationSeconds = h("amp_allocation_seconds", "One credit allocation (scoring and receipt).", []);

    this.eventsAccepted = c("amp_events_accepted_total", "Events durably archived and acknowledged.", [
      "federation",
    ]);
    this.eventsRefused = c("amp_events_refused_total", "Events refused, by reason (error kind).", [
      "federation",
      "reason",
    ]);
    this.pushback = c("amp_pushback_total", "Ingest calls refused with retry-later (pushback).", [
      "federation",
    ]);
    this.rounds = c("amp_rounds_total", "Nexus round attempts by outcome (witnessed or failed).", ["status"]);
    this.votes = c("amp_votes_total", "Vote requests by outcome (vote, or none: refused, missing, failed).", [
      "federation",
      "node",
      "outcome",
    ]);
    this.evidenceTotal = c("amp_byzantine_evidence_total", "Byzantine evidence recorded, by fault kind.", [
      "federation",
      "node",
      "kind",
    ]);
    this.driftFindings = c("amp_drift_findings_total", "Drift findings, by cause.", ["cause"]);
    this.driftAlerts = c("amp_drift_alerts_total", "Drift alerts raised, by cause.", ["cause"]);
    this.anchors = c("amp_anchors_total", "Rounds anchored on chain (or found already anchored).", [
      "status",
    ]);
    this.anchorGas = c("amp_anchor_gas_total", "Gas used by anchor transactions.", []);
    this.allocations = c("amp_allocations_total", "Credit allocations recorded.", []);
    this.witnessBytes = c(
      "amp_witness_bytes_total",
      "Bytes exchanged across federations for witnessing.",
      [],
    );
    this.payloadBytes = c("amp_payload_bytes_total", "Canonical event bytes in witnessed rounds.", []);

    this.treeSize = g("amp_tree_size", "Entries in the federation log at its last signed checkpoint.", [
      "federation",
    ]);
    this.lastSignedRound = g("amp_last_signed_round", "Last round with a quorum certificate.", [
      "federation",
    ]);
    this.lastAnchoredRound = g("amp_last_anchored_round", "Last round anchored on chain.", []);
    this.lastAnchorTime = g("amp_last_anchor_timestamp_seconds", "Unix time of the last anchor.", []);
    const source = () => this.queueDepthSource?.() ?? {};
    this.queueDepth = new Gauge({
      name: "amp_queue_depth",
      help: "Events acknowledged but not yet in a signed round (read at scrape time).",
      labelNames: ["federation"],
      registers,
      collect() {
        for (const [federation, n] of Object.entries(source())) this.set({ federation }, n);
      },
    });
    this.clockOffset = g("amp_clock_offset_seconds", "Node clock offset from the federation's median.", [
      "node",
    ]);
    this.governanceWeight = g("amp_governance_weight", "Voting weight of a node in its federation.", [
      "federation",
      "node",
    ]);
    this.quorumSignedWeight = g("amp_quorum_signed_weight", "Weight that signed the last certificate.", [
      "federation",
    ]);
    this.quorumTotalWeight = g("amp_quorum_total_weight", "Total weight of the federation.", ["federation"]);
  }

  /**
   * Prometheus text exposition of this registry. prom-client writes a NaN sample (an event-loop
   * lag gauge before its first measurement) as `Nan`; the text format spells it `NaN`.
   */
  async metrics(): Promise<string> {
    return (await this.registry.metrics()).replace(/ Nan$/gm, " NaN");
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Queue depth per federation, read at each scrape. */
  trackQueueDepth(fn: () => Readonly<Record<string, number>>): void {
    this.queueDepthSource = fn;
  }

  /** A batching `metricsCallback` (src/batching/metrics.ts): ingest and seal latencies, accepted events. */
  batchingCallback(): MetricsCallback {
    return (m) =>
      observe(() => {
        const federation = m.origin ?? "";
        if (m.stage === "ingest") {
          this.ingestSeconds.observe({ federation }, m.latencyMs / 1000);
          this.eventsAccepted.inc({ federation }, m.count);
        } else if (m.stage === "seal") {
          this.sealSeconds.observe({ federation }, m.latencyMs / 1000);
        }
      });
  }

  /** An ingest call outside the batching processor (e.g. the runner's): latency and how many stored. */
  ingested(federation: string, seconds: number, accepted: number): void {
    observe(() => {
      this.ingestSeconds.observe({ federation }, seconds);
      this.eventsAccepted.inc({ federation }, accepted);
    });
  }

  /** `count` events refused with `err`; a retry-later refusal also counts as pushback. */
  refused(federation: string, err: unknown, count = 1): void {
    observe(() => {
      const reason = refusalReason(err);
      this.eventsRefused.inc({ federation, reason }, count);
      if (reason === "retry-later") this.pushback.inc({ federation });
    });
  }

  round(result: RoundResult): void {
    observe(() => {
      this.rounds.inc({ status: result.status });
      if (result.status !== "witnessed") return;
      for (const [federation, ms] of Object.entries(result.latencies.sealToQuorumMs)) {
        this.quorumSeconds.observe({ federation }, ms / 1000);
      }
      this.witnessSeconds.observe(result.latencies.quorumToWitnessedMs / 1000);
      this.witnessBytes.inc(result.witnessBytes);
      this.payloadBytes.inc(result.payloadBytes);
      for (const f of result.federations) {
        const federation = f.origin;
        this.treeSize.set({ federation }, Number(f.checkpoint.treeSize));
        this.lastSignedRound.set({ federation }, Number(result.round));
        this.quorumSignedWeight.set({ federation }, Number(f.qc.signedWeight));
        this.quorumTotalWeight.set({ federation }, Number(f.qc.totalWeight));
      }
    });
  }

  vote(federation: string, node: string, seconds: number, ok: boolean): void {
    observe(() => {
      this.voteSeconds.observe({ federation, node }, seconds);
      this.votes.inc({ federation, node, outcome: ok ? "vote" : "none" });
    });
  }

  evidence(federation: string, node: string, kind: FaultKind): void {
    observe(() => this.evidenceTotal.inc({ federation, node, kind }));
  }

  anchored(a: AnchorObservation, now = Date.now()): void {
    observe(() => {
      this.anchors.inc({ status: a.status });
      this.anchorSeconds.observe(a.witnessedToAnchoredMs / 1000);
      this.anchorGas.inc(Number(a.gasUsed));
      this.lastAnchoredRound.set(Number(a.round));
      this.lastAnchorTime.set(now / 1000);
    });
  }

  /** Voting weights of a federation's nodes (static per epoch). */
  weights(federation: string, nodes: readonly { node: string; weight: bigint }[]): void {
    observe(() => {
      for (const n of nodes) this.governanceWeight.set({ federation, node: n.node }, Number(n.weight));
    });
  }

  /** For src/drift: one detection pass, its findings and alerts by cause, a node's clock offset. */
  driftDetection(federation: string, seconds: number): void {
    observe(() => this.driftDetectionSeconds.observe({ federation }, seconds));
  }
  driftFinding(cause: string): void {
    observe(() => this.driftFindings.inc({ cause }));
  }
  driftAlert(cause: string): void {
    observe(() => this.driftAlerts.inc({ cause }));
  }
  clockOffsetOf(node: string, seconds: number): void {
    observe(() => this.clockOffset.set({ node }, seconds));
  }

  /** For src/credits: one allocation and how long it took. */
  allocated(seconds: number): void {
    observe(() => {
      this.allocationSeconds.observe(seconds);
      this.allocations.inc();
    });
  }
}
