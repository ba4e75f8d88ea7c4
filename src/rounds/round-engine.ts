/**
 * RoundEngine: one nexus round for all federations, in process:
 *   seal batch → votes → quorum certificate (per federation) → cross-federation witnessing →
 *   global root.
 * It returns everything the anchoring step needs and records per-stage latencies. A round that
 * fails (no quorum after 3 attempts, or not witnessed) keeps its number; its sealed batches are
 * re-proposed unchanged by the next `runRound`, and newly queued events wait behind them.
 */
import path from "node:path";
import { performance } from "node:perf_hooks";
import type { RoundAlert } from "../consensus/consensus-validator";
import type { FaultInjector } from "../consensus/fault-injector";
import type { AnchorDomain, DriftHook, QuorumCertificate } from "../consensus/types";
import type { VoteObserver } from "../consensus/observer";
import {
  GlobalProofNexus,
  type FederationFinal,
  type NexusRound,
  type WitnessedCheckpoint,
} from "../nexus/global-proof-nexus";
import { Witness } from "../nexus/witness";
import type { MlDsaBackend } from "../crypto/mldsa";
import { InvalidInputError } from "../util/errors";
import { buildFederation, type FederationRuntime, type FederationSpec } from "./federation";
import type { RoundMetricsStore } from "./metrics-store";
import { observe, type RoundObserver } from "./observer";

export interface RoundEngineConfig {
  readonly dataDir: string;
  readonly domain: AnchorDomain;
  readonly federations: readonly FederationSpec[];
  /** Largest batch per federation per round (default 1000). */
  readonly maxBatch?: number;
  readonly faults?: FaultInjector;
  readonly voteTimeoutMs?: number;
  readonly onAlert?: (alert: RoundAlert) => void;
  readonly metrics?: RoundMetricsStore;
  /** First round number (default 1; a restarted engine passes the anchor's nextRound()). */
  readonly firstRound?: bigint;
  /**
   * Where the in-process nodes run ML-DSA. Default: this thread. An `MlDsaWorkerPool` spreads it
   * over the machine's cores, as separate machines would; its owner closes it.
   */
  readonly mldsa?: MlDsaBackend;
  /** Told of each round, vote request and evidence (src/telemetry metrics); MUST NOT throw. */
  readonly observer?: RoundObserver;
  /** Makes chosen nodes drift (src/drift injector). */
  readonly drift?: DriftHook;
  /** Sees every node's checkpoint before each federation's round finalises (drift monitor). */
  readonly onVotes?: VoteObserver;
}

/** Per-federation data for the anchor submission. */
export interface FederationRoundResult {
  readonly origin: string;
  readonly checkpoint: QuorumCertificate["checkpoint"];
  readonly qc: QuorumCertificate;
  /** The cosigned checkpoint note (QC signatures + other federations' witness cosignatures). */
  readonly cosignedNote: string;
  /** EIP-712 signatures sorted by signer address ascending, for `CheckpointSubmission.signatures`. */
  readonly eip712Signatures: readonly string[];
  /** RFC 9162 consistency proof from the last anchored size (empty for the first anchor). */
  readonly consistencyProof: readonly Uint8Array[];
  readonly anchoredFromSize: bigint;
  readonly batchEntries: number;
}

export interface RoundLatencies {
  /** Per federation: seal → quorum (ms). */
  readonly sealToQuorumMs: Readonly<Record<string, number>>;
  /**
   * Last quorum → every checkpoint cosigned by witnesses holding > 2/3 of each other federation's
   * weight (ms). In process all nodes share this machine's cores.
   */
  readonly quorumToWitnessedMs: number;
  /** Process CPU time of each stage, all threads (ms): the work behind the latencies. */
  readonly cpuMs: { readonly consensus: Readonly<Record<string, number>>; readonly witness: number };
}

export type RoundResult =
  | {
      readonly status: "witnessed";
      readonly round: bigint;
      readonly federations: readonly FederationRoundResult[];
      readonly globalRoot: Uint8Array;
      readonly witnessBytes: number;
      readonly witnessBytesBreakdown: NexusRound["witnessBytesBreakdown"];
      readonly witnessBytesPerNode: number;
      readonly payloadBytes: number;
      readonly latencies: RoundLatencies;
    }
  | {
      readonly status: "failed";
      readonly round: bigint;
      readonly reason: string;
      readonly carriedEntries: number;
    };

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

export class RoundEngine {
  readonly runtimes: ReadonlyMap<string, FederationRuntime>;
  private readonly nexus: GlobalProofNexus;
  private round: bigint;
  private readonly queues = new Map<string, Uint8Array[]>();
  private carried: Map<string, Uint8Array[]> | undefined;
  private readonly anchoredSize = new Map<string, bigint>();

  constructor(private readonly cfg: RoundEngineConfig) {
    const origins = cfg.federations.map((f) => f.origin);
    if (new Set(origins).size !== origins.length) throw new InvalidInputError("duplicate federation origin");
    const runtimes = new Map<string, FederationRuntime>();
    for (const spec of cfg.federations) {
      const rt = buildFederation(spec, {
        dataDir: cfg.dataDir,
        domain: cfg.domain,
        ...(cfg.faults ? { faults: cfg.faults } : {}),
        ...(cfg.voteTimeoutMs !== undefined ? { voteTimeoutMs: cfg.voteTimeoutMs } : {}),
        ...(cfg.onAlert ? { onAlert: cfg.onAlert } : {}),
        ...(cfg.mldsa ? { mldsa: cfg.mldsa } : {}),
        ...(cfg.observer ? { observer: cfg.observer } : {}),
        ...(cfg.drift ? { drift: cfg.drift } : {}),
        ...(cfg.onVotes ? { onVotes: cfg.onVotes } : {}),
      });
      runtimes.set(spec.origin, rt);
      this.queues.set(spec.origin, []);
      this.anchoredSize.set(spec.origin, 0n);
    }
    this.runtimes = runtimes;
    this.nexus = new GlobalProofNexus(
      cfg.federations.map((spec) => this.witnessFederation(spec, runtimes)),
      cfg.mldsa ? { mldsa: cfg.mldsa } : {},
    );
    this.round = cfg.firstRound ?? 1n;
  }

  private witnessFederation(spec: FederationSpec, runtimes: Map<string, FederationRuntime>) {
    const watched = [...runtimes.values()]
      .filter((r) => r.config.origin !== spec.origin)
      .map((r) => r.config);
    const dir = path.join(this.cfg.dataDir, "witness", spec.origin.replace(/[^A-Za-z0-9._-]/g, "_"));
    return {
      config: runtimes.get(spec.origin)!.config,
      witnesses: spec.nodes.map(
        ({ keys }) => new Witness({ witnessOrigin: spec.origin, keys, watched, dataDir: dir }),
      ),
    };
  }

  /** The round number the next `runRound` will use. */
  get nextRound(): bigint {
    return this.round;
  }

  /** Queue canonical event bytes for a federation (log order). */
  enqueue(origin: string, entries: readonly Uint8Array[]): void {
    const q = this.queues.get(origin);
    if (!q) throw new InvalidInputError(`unknown federation ${origin}`);
    q.push(...entries);
  }

  /** The anchoring step reports success: later consistency proofs start from these sizes. */
  markAnchored(result: Extract<RoundResult, { status: "witnessed" }>): void {
    for (const f of result.federations) this.anchoredSize.set(f.origin, f.checkpoint.treeSize);
  }

  private seal(): Map<string, Uint8Array[]> {
    if (this.carried) return this.carried;
    const max = this.cfg.maxBatch ?? 1000;
    const batches = new Map<string, Uint8Array[]>();
    for (const [origin, q] of this.queues) batches.set(origin, q.splice(0, max));
    return batches;
  }

  async runRound(): Promise<RoundResult> {
    const round = this.round;
    const batches = this.seal();
    this.carried = batches;
    const finals = new Map<string, FederationFinal>();
    const sealToQuorum: Record<string, number> = {};
    let lastQuorum = 0;
    const cpuConsensus: Record<string, number> = {};
    let cpuWitness = 0;
    for (const [origin, rt] of this.runtimes) {
      const sealedAt = performance.now();
      const cpu0 = process.cpuUsage();
      const out = await rt.coordinator.runRound(round, batches.get(origin)!);
      if (out.status !== "final")
        return this.failed(round, batches, `${origin}: ${out.reason}`, sealToQuorum);
      sealToQuorum[origin] = out.quorumAt - sealedAt;
      cpuConsensus[origin] = cpuMsSince(cpu0);
      lastQuorum = Math.max(lastQuorum, performance.now());
      finals.set(origin, { qc: out.qc, consistencyProof: (a, b) => rt.log.consistencyProof(a, b) });
    }
    let nexus;
    try {
      const cpu0 = process.cpuUsage();
      nexus = await this.nexus.witnessRound(round, finals);
      cpuWitness = cpuMsSince(cpu0);
    } catch (e) {
      return this.failed(round, batches, `witnessing: ${(e as Error).message}`, sealToQuorum);
    }
    const quorumToWitnessed = Math.max(...nexus.witnessedAt.values()) - lastQuorum;
    this.carried = undefined;
    this.round = round + 1n;
    const payloadBytes = [...batches.values()].flat().reduce((a, e) => a + e.length, 0);
    const result: RoundResult = {
      status: "witnessed",
      round,
      federations: nexus.witnessed.map((w) => this.federationResult(w, batches)),
      globalRoot: nexus.globalRoot,
      witnessBytes: nexus.witnessBytes,
      witnessBytesBreakdown: nexus.witnessBytesBreakdown,
      witnessBytesPerNode: nexus.witnessBytesPerNode,
      payloadBytes,
      latencies: {
        sealToQuorumMs: sealToQuorum,
        quorumToWitnessedMs: quorumToWitnessed,
        cpuMs: { consensus: cpuConsensus, witness: cpuWitness },
      },
    };
    this.cfg.metrics?.record({
      round,
      status: "witnessed",
      sealToQuorumMs: sealToQuorum,
      quorumToWitnessedMs: quorumToWitnessed,
      witnessBytes: nexus.witnessBytes,
      payloadBytes,
      globalRoot: Buffer.from(nexus.globalRoot).toString("hex"),
      detail: "",
    });
    this.notify(result);
    return result;
  }

  private federationResult(
    w: WitnessedCheckpoint,
    batches: Map<string, Uint8Array[]>,
  ): FederationRoundResult {
    const rt = this.runtimes.get(w.origin)!;
    const from = this.anchoredSize.get(w.origin) ?? 0n;
    const size = w.qc.checkpoint.treeSize;
    return {
      origin: w.origin,
      checkpoint: w.qc.checkpoint,
      qc: w.qc,
      cosignedNote: w.cosignedNote,
      eip712Signatures: w.qc.eip712Signatures,
      consistencyProof: from === 0n || from === size ? [] : rt.log.consistencyProof(from, size),
      anchoredFromSize: from,
      batchEntries: batches.get(w.origin)!.length,
    };
  }

  private failed(
    round: bigint,
    batches: Map<string, Uint8Array[]>,
    reason: string,
    sealToQuorum: Record<string, number>,
  ): RoundResult {
    const carriedEntries = [...batches.values()].reduce((a, b) => a + b.length, 0);
    const payloadBytes = [...batches.values()].flat().reduce((a, e) => a + e.length, 0);
    this.cfg.metrics?.record({
      round,
      status: "failed",
      sealToQuorumMs: sealToQuorum,
      quorumToWitnessedMs: null,
      witnessBytes: 0,
      payloadBytes,
      globalRoot: null,
      detail: reason,
    });
    return this.notify({ status: "failed", round, reason, carriedEntries });
  }

  private notify(result: RoundResult): RoundResult {
    const obs = this.cfg.observer;
    if (obs) observe(() => obs.round(result));
    return result;
  }
}
