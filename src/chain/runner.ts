/**
 * AnchoringRunner: archive → RoundEngine → archive log → anchor, one nexus round at a time, durable
 * across restarts. The chain is the source of truth for what is anchored:
 *
 * - On open, each federation's archived log is replayed into the engine's logs up to the size the
 *   anchor holds (its root must match the anchored root), and the engine starts at `nextRound()`.
 * - A witnessed round's entries are sealed into the archive log BEFORE the anchor transaction; a
 *   crash in between leaves sealed-but-unanchored entries, which the next run re-proposes as the
 *   same batch for the same round number (validators re-sign the same checkpoint).
 * - Consistency proofs are computed from the size the anchor holds, never from local memory.
 * - An anchored round is recorded in `anchors.sqlite` only after its receipt (or when the chain
 *   shows it already anchored with the same root): never two anchors for one round.
 */
import path from "node:path";
import fs from "node:fs";
import { performance } from "node:perf_hooks";
import { Archive, SqliteLogStore, appendRound } from "../archive";
import { encodeAll, federationEventEncoder } from "../batching/encode";
import { storeEvents } from "../batching/store-events";
import type { FaultInjector } from "../consensus/fault-injector";
import { FederationLog } from "../log";
import { RoundEngine } from "../rounds/round-engine";
import type { RoundResult } from "../rounds/round-engine";
import { RoundMetricsStore } from "../rounds/metrics-store";
import { SealedProposalStore, batchRootHex, type SealedRange } from "../rounds/sealed-proposal";
import { AmpError, InvalidInputError } from "../util/errors";
import { GlobalProofAnchor__factory } from "../../typechain-types";
import type { GlobalProofAnchor } from "../../typechain-types";
import { AnchoredRounds } from "./anchored-rounds";
import type { AnchoredCheckpoint } from "./anchored-rounds";
import { AnchorSubmitter } from "./anchor";
import { withChainRetry } from "./chain-retry";
import { reanchorLostRounds } from "./rollback";
import type { AnchorRoundInput } from "./anchor";
import type { ChainConnection } from "./connect";
import type { DeploymentRecord } from "./deployment";
import { federationIdOf } from "./ids";
import type { NodeKeys } from "../crypto/keys";
import { MlDsaWorkerPool, defaultMlDsaWorkers } from "../crypto/mldsa";
import type { AmpMetrics } from "../telemetry/metrics";
import { observeIngest, observeRunnerOpen } from "../telemetry/runner-hooks";
import { DriftRuntime, type DriftOptions } from "../drift/runtime";

export const ARCHIVE_FILE = "archive.sqlite";
const hex = (b: Uint8Array): string => "0x" + Buffer.from(b).toString("hex");
type Witnessed = Extract<RoundResult, { status: "witnessed" }>;

export interface RunnerFederation {
  /** Manifest name; events name it in `federation_context.federation_id`; the archive key. */
  name: string;
  origin: string;
  nodes: { keys: NodeKeys; weight: bigint }[];
}

export interface RunnerConfig {
  dataDir: string;
  conn: ChainConnection;
  record: DeploymentRecord;
  federations: RunnerFederation[];
  faults?: FaultInjector;
  maxBatch?: number;
  voteTimeoutMs?: number;
  /**
   * Worker threads for the nodes' ML-DSA work (default: one per core, at least 2; 0 runs it all
   * in the main thread). The runner owns the pool and ends it in `close()`.
   */
  mldsaWorkers?: number;
  /** Prometheus metrics (src/telemetry): rounds, votes, evidence, ingest, anchors, queue depth. */
  metrics?: AmpMetrics;
  /** Drift monitor settings (manifest `drift`) and, for the demo, a drift injector. */
  drift?: DriftOptions;
  /**
   * How long a round waits for an unreachable RPC endpoint before `runRound` gives up (default
   * 10 min). The round is sealed in the archive first and submission is idempotent, so waiting
   * loses nothing (chain-retry.ts).
   */
  rpcOutageToleranceMs?: number;
}

export interface FederationReport {
  origin: string;
  treeSize: bigint;
  rootHash: string;
  batchEntries: number;
  signedWeight: bigint;
  totalWeight: bigint;
}

export type RoundReport =
  | {
      status: "anchored" | "already-anchored";
      round: bigint;
      globalRoot: string;
      federations: FederationReport[];
      witnessBytes: number;
      payloadBytes: number;
      txHash: string;
      blockNumber: number;
      gasUsed: bigint;
      latencies: { sealToQuorumMs: number; quorumToWitnessedMs: number; witnessedToAnchoredMs: number };
    }
  | { status: "failed"; round: bigint; reason: string; carriedEntries: number };

interface FedState {
  fed: RunnerFederation;
  archiveLog: FederationLog;
  /** Next archive seq to hand to the engine. */
  queued: bigint;
}

export class AnchoringRunner {
  private carrying = false;
  /** Times a round waited for an unreachable chain (observability and tests). */
  chainRetries = 0;
  /** Rounds anchored again after the chain lost them (rollback.ts), in order. */
  readonly reanchored: bigint[] = [];
  private readonly proposals: SealedProposalStore;

  private constructor(
    private readonly cfg: RunnerConfig,
    readonly archive: Archive,
    readonly anchors: AnchoredRounds,
    private readonly metrics: RoundMetricsStore,
    private readonly engine: RoundEngine,
    private readonly submitter: AnchorSubmitter,
    private readonly anchor: GlobalProofAnchor,
    private readonly feds: Map<string, FedState>,
    private readonly pool: MlDsaWorkerPool | undefined,
    /** The proof-drift monitor (`<data>/drift.sqlite`); see src/drift. */
    readonly drift: DriftRuntime,
  ) {
    this.proposals = new SealedProposalStore(cfg.dataDir);
  }

  static async open(cfg: RunnerConfig): Promise<AnchoringRunner> {
    fs.mkdirSync(cfg.dataDir, { recursive: true });
    // Everything opened so far is closed again if a later step fails.
    const opened: { close(): unknown }[] = [];
    try {
      const archive = Archive.open(path.join(cfg.dataDir, ARCHIVE_FILE));
      opened.push(archive);
      const anchors = AnchoredRounds.open(cfg.dataDir);
      opened.push(anchors);
      const metrics = new RoundMetricsStore(path.join(cfg.dataDir, "metrics.sqlite"));
      opened.push(metrics);
      const anchorAddress = cfg.record.contracts.globalProofAnchor;
      const anchor = GlobalProofAnchor__factory.connect(anchorAddress, cfg.conn.provider);
      const submitter = await AnchorSubmitter.create(cfg.conn, anchorAddress, {
        fromBlock: cfg.record.deployBlock,
      });
      const feds = new Map<string, FedState>();
      for (const fed of cfg.federations) {
        const archiveLog = new FederationLog(fed.origin, new SqliteLogStore(archive, fed.name));
        feds.set(fed.origin, { fed, archiveLog, queued: 0n });
      }
      // Rounds the chain lost while we were down (rollback) are anchored again before replaying.
      const lost = await reanchorLostRounds({
        anchor,
        anchors,
        submitter,
        logOf: (origin) => feds.get(origin)!.archiveLog,
      });
      const workers = cfg.mldsaWorkers ?? defaultMlDsaWorkers();
      const pool = workers > 0 ? new MlDsaWorkerPool(workers) : undefined;
      if (pool) opened.push(pool);
      await pool?.warmUp();
      const drift = new DriftRuntime(cfg.dataDir, {
        ...cfg.drift,
        ...(cfg.metrics ? { metrics: cfg.metrics } : {}),
      });
      opened.push(drift);
      const engine = new RoundEngine({
        ...(pool ? { mldsa: pool } : {}),
        dataDir: path.join(cfg.dataDir, "engine"),
        domain: { chainId: cfg.conn.chainId, anchor: anchorAddress },
        federations: cfg.federations.map((f) => ({
          origin: f.origin,
          epoch: BigInt(cfg.record.federations.find((r) => r.origin === f.origin)?.epoch ?? 1),
          nodes: f.nodes,
        })),
        metrics,
        firstRound: await anchor.nextRound(),
        ...(cfg.faults ? { faults: cfg.faults } : {}),
        ...(cfg.maxBatch !== undefined ? { maxBatch: cfg.maxBatch } : {}),
        ...(cfg.voteTimeoutMs !== undefined ? { voteTimeoutMs: cfg.voteTimeoutMs } : {}),
        ...(cfg.metrics ? { observer: cfg.metrics } : {}),
        onVotes: drift.monitor.observer,
        ...(drift.injector ? { drift: drift.injector } : {}),
      });
      for (const rt of engine.runtimes.values()) drift.register(rt.nodes);
      const runner = new AnchoringRunner(
        cfg,
        archive,
        anchors,
        metrics,
        engine,
        submitter,
        anchor,
        feds,
        pool,
        drift,
      );
      runner.reanchored.push(...lost);
      await runner.replay();
      if (cfg.metrics) {
        observeRunnerOpen(
          cfg.metrics,
          cfg.federations,
          (f) => archive.nextSeq(f.name) - feds.get(f.origin)!.queued,
        );
      }
      return runner;
    } catch (e) {
      for (const r of opened.reverse()) void r.close();
      throw e;
    }
  }

  close(): void {
    // Workers are unref'd and hold no state; ending them needs no wait.
    void this.pool?.close();
    void this.drift.close();
    this.metrics.close();
    this.anchors.close();
    this.archive.close();
  }

  /** The round the next {@link runRound} works on. */
  get nextRound(): bigint {
    return this.engine.nextRound;
  }

  /** Bring the engine's logs to what the chain holds (see file comment). */
  private async replay(): Promise<void> {
    for (const st of this.feds.values()) {
      const { treeSize: anchoredSize, rootHash: anchoredRoot } = await this.submitter.reader.latestCheckpoint(
        federationIdOf(st.fed.origin),
      );
      if (anchoredSize > st.archiveLog.size) {
        throw new AmpError(
          `${st.fed.origin}: the anchor holds ${anchoredSize} entries but the archive only ${st.archiveLog.size}: wrong --data dir for this deployment?`,
          { kind: "conflict" },
        );
      }
      if (anchoredSize > 0n && hex(st.archiveLog.rootAt(anchoredSize)) !== anchoredRoot) {
        throw new AmpError(
          `${st.fed.origin}: archived log root at ${anchoredSize} differs from the anchored root`,
          {
            kind: "conflict",
          },
        );
      }
      const leaves = this.archive.leafHashes(st.fed.name, 0n, anchoredSize);
      const rt = this.engine.runtimes.get(st.fed.origin)!;
      if (leaves.length > 0) {
        rt.log.append(leaves);
        for (const node of rt.nodes) node.log.append(leaves);
      }
      st.queued = anchoredSize;
    }
  }

  /** Validate and durably archive raw events (routed by `federation_context.federation_id`). */
  ingest(raw: readonly unknown[]): IngestResult {
    const feds = this.cfg.federations;
    const run = () =>
      ingestEvents(
        this.archive,
        feds.map((f) => f.name),
        raw,
      );
    const m = this.cfg.metrics;
    return m ? observeIngest(m, feds, (n) => this.archive.nextSeq(n), raw.length, run) : run();
  }

  /** Archived events not yet in an anchored round. */
  pending(): bigint {
    let n = 0n;
    for (const st of this.feds.values()) n += this.archive.nextSeq(st.fed.name) - st.queued;
    return n;
  }

  /**
   * Hand the engine the next round's batches. The ranges and batch roots are persisted before any
   * vote is asked for (see rounds/sealed-proposal.ts): after a crash the same round re-proposes
   * exactly the batch the validators voted for, whatever arrived meanwhile.
   */
  private enqueueNext(): void {
    if (this.carrying) return; // the engine re-proposes its carried batch
    const round = this.engine.nextRound;
    const stored = this.proposals.load(round);
    const ranges = stored ? stored.ranges : this.sealRanges();
    if (!stored) this.proposals.save({ round, ranges });
    for (const r of ranges) {
      const st = [...this.feds.values()].find((s) => s.fed.name === r.federation);
      if (!st)
        throw new AmpError(`sealed proposal names unknown federation ${r.federation}`, { kind: "bug" });
      if (
        r.from !== st.queued ||
        batchRootHex(this.archive.leafHashes(r.federation, r.from, r.to)) !== r.batchRootHex
      ) {
        throw new AmpError(`${r.federation}: sealed proposal of round ${round} does not match the archive`, {
          kind: "conflict",
        });
      }
      const events = this.archive.eventsInRange(r.federation, r.from, r.to);
      this.engine.enqueue(
        st.fed.origin,
        events.map((e) => e.canonical),
      );
      st.queued = r.to;
    }
  }

  private sealRanges(): SealedRange[] {
    const max = BigInt(this.cfg.maxBatch ?? 1000);
    return [...this.feds.values()].map((st) => {
      const sealed = st.archiveLog.size;
      const name = st.fed.name;
      const to = st.queued < sealed ? sealed : minBig(st.queued + max, this.archive.nextSeq(name));
      const batchRoot = batchRootHex(this.archive.leafHashes(name, st.queued, to));
      return { federation: name, from: st.queued, to, batchRootHex: batchRoot };
    });
  }

  /** Run one nexus round and anchor it. */
  async runRound(): Promise<RoundReport> {
    const lost = await withChainRetry(
      () =>
        reanchorLostRounds({
          anchor: this.anchor,
          anchors: this.anchors,
          submitter: this.submitter,
          logOf: (origin) => this.feds.get(origin)!.archiveLog,
        }),
      {
        what: "check for rounds lost by a rollback",
        toleranceMs: this.cfg.rpcOutageToleranceMs ?? 600_000,
        onRetry: () => void this.chainRetries++,
      },
    );
    this.reanchored.push(...lost);
    this.enqueueNext();
    const result = await this.engine.runRound();
    if (result.status === "failed") {
      this.carrying = true;
      return result;
    }
    this.carrying = false;
    const witnessedAt = performance.now();
    this.sealIntoArchive(result);
    const { input, anchored } = await withChainRetry(
      async () => {
        const input = await this.anchorInput(result);
        return { input, anchored: await this.submitter.submit(input) };
      },
      {
        what: `anchor round ${result.round}`,
        toleranceMs: this.cfg.rpcOutageToleranceMs ?? 600_000,
        onRetry: () => void this.chainRetries++,
      },
    );
    const witnessedToAnchoredMs = performance.now() - witnessedAt;
    this.engine.markAnchored(result);
    this.anchors.record({
      round: result.round,
      globalRoot: input.globalRoot,
      chainId: this.cfg.conn.chainId.toString(),
      contract: this.cfg.record.contracts.globalProofAnchor,
      txHash: anchored.txHash,
      blockNumber: anchored.blockNumber,
      gasUsed: anchored.gasUsed,
      checkpoints: this.anchoredCheckpoints(result),
      metrics: {
        witnessBytes: result.witnessBytes,
        payloadBytes: result.payloadBytes,
        witnessedToAnchoredMs,
      },
    });
    this.metrics.recordAnchored(result.round, {
      witnessedToAnchoredMs,
      gasUsed: anchored.gasUsed,
      txHash: anchored.txHash,
    });
    this.cfg.metrics?.anchored({ ...anchored, round: result.round, witnessedToAnchoredMs });
    const seal = Object.values(result.latencies.sealToQuorumMs);
    return {
      status: anchored.status,
      round: result.round,
      globalRoot: input.globalRoot,
      federations: result.federations.map((f) => ({
        origin: f.origin,
        treeSize: f.checkpoint.treeSize,
        rootHash: hex(f.checkpoint.rootHash),
        batchEntries: f.batchEntries,
        signedWeight: f.qc.signedWeight,
        totalWeight: f.qc.totalWeight,
      })),
      witnessBytes: result.witnessBytes,
      payloadBytes: result.payloadBytes,
      txHash: anchored.txHash,
      blockNumber: anchored.blockNumber,
      gasUsed: anchored.gasUsed,
      latencies: {
        sealToQuorumMs: seal.length > 0 ? Math.max(...seal) : 0,
        quorumToWitnessedMs: result.latencies.quorumToWitnessedMs,
        witnessedToAnchoredMs,
      },
    };
  }

  /** Append the round's new entries to the archive log; its root must equal the final checkpoint. */
  private sealIntoArchive(result: Witnessed): void {
    for (const f of result.federations) {
      const st = this.feds.get(f.origin)!;
      const size = f.checkpoint.treeSize;
      if (st.archiveLog.size < size) {
        // Batch number = the round (one number for archive batches and anchored rounds).
        appendRound(
          st.archiveLog,
          this.archive.leafHashes(st.fed.name, st.archiveLog.size, size),
          result.round,
        );
      }
      if (hex(st.archiveLog.rootAt(size)) !== hex(f.checkpoint.rootHash)) {
        throw new AmpError(`${f.origin}: archive root at ${size} differs from the final checkpoint`, {
          kind: "bug",
        });
      }
    }
  }

  private async anchorInput(result: Witnessed): Promise<AnchorRoundInput> {
    const checkpoints = [];
    for (const f of result.federations) {
      const id = federationIdOf(f.origin);
      const { treeSize: from } = await this.submitter.reader.latestCheckpoint(id);
      const size = f.checkpoint.treeSize;
      const rt = this.engine.runtimes.get(f.origin)!;
      const proof = from === 0n || from === size ? [] : rt.log.consistencyProof(from, size);
      checkpoints.push({
        federationId: id,
        epoch: f.checkpoint.epoch,
        treeSize: size,
        rootHash: hex(f.checkpoint.rootHash),
        consistencyProof: proof.map(hex),
        signatures: [...f.eip712Signatures],
      });
    }
    checkpoints.sort((a, b) => (BigInt(a.federationId) < BigInt(b.federationId) ? -1 : 1));
    return { round: result.round, globalRoot: hex(result.globalRoot), checkpoints };
  }

  private anchoredCheckpoints(result: Witnessed): AnchoredCheckpoint[] {
    // Voters of a federation and the witnesses of the others sign its cosigned note.
    const noteKeys = [...this.engine.runtimes.values()].flatMap((rt) =>
      rt.config.members.map((m) => ({
        keyName: m.keyName,
        publicKey: Buffer.from(m.mldsaPublicKey).toString("base64"),
      })),
    );
    return result.federations
      .map((f) => {
        return {
          origin: f.origin,
          federationId: federationIdOf(f.origin),
          epoch: f.checkpoint.epoch.toString(),
          treeSize: f.checkpoint.treeSize.toString(),
          rootHash: hex(f.checkpoint.rootHash),
          signedNote: f.cosignedNote,
          noteKeys,
          signatures: [...f.eip712Signatures],
        };
      })
      .sort((a, b) => (BigInt(a.federationId) < BigInt(b.federationId) ? -1 : 1));
  }

  /** The archive federation key for an origin (for proof building). */
  nameOf(origin: string): string {
    const st = this.feds.get(origin);
    if (!st) throw new InvalidInputError(`unknown federation ${origin}`);
    return st.fed.name;
  }
}

function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

export interface IngestResult {
  stored: number;
  duplicates: number;
}

/**
 * Validate every event, then archive them all in one transaction (all or nothing: one invalid
 * event, or one of an unknown federation, stores none). Re-ingesting an identical event is a
 * counted duplicate; the same id with other content is refused.
 */
export function ingestEvents(
  archive: Archive,
  federationNames: readonly string[],
  raw: readonly unknown[],
): IngestResult {
  const encoded = encodeAll(federationEventEncoder(), raw);
  const byFed = new Map<string, typeof encoded>();
  for (const [i, e] of encoded.entries()) {
    if (!federationNames.includes(e.federation)) {
      throw new InvalidInputError(`events[${i}]: unknown federation "${e.federation}"`, {
        meta: { index: i },
      });
    }
    const list = byFed.get(e.federation) ?? [];
    list.push(e);
    byFed.set(e.federation, list);
  }
  let stored = 0;
  let duplicates = 0;
  archive.transaction(() => {
    for (const [name, list] of byFed) {
      const r = storeEvents(archive, name, list, archive.nextSeq(name));
      stored += r.stored.length;
      duplicates += r.duplicates;
    }
  });
  return { stored, duplicates };
}
