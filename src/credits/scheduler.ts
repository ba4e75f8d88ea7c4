/**
 * CreditScheduler: one allocation per closed epoch, all nodes of the epoch in one
 * `recordAllocations` transaction, in epoch order, exactly once across restarts.
 *
 * Per epoch E (oldest first, only once E's window has ended):
 *   1. no records of E in the archive → measure, build every node's record (prev = the node's last
 *      allocation hash, fresh salt) and store them all in ONE SQLite transaction;
 *   2. E not marked recorded → if its first allocation is already on-chain (a crash after the
 *      transaction), mark it from the event; else send the STORED records (same hashes) and mark.
 * A restart at any point therefore repeats step 2 with the same bytes; it never builds a second
 * set of records for E, and the contract refuses a duplicate hash anyway.
 */
import type { Archive } from "../archive";
import { createLogger, type Logger } from "../util/log";
import type { ReceiptsClient } from "./chain";
import { epochOf, epochWindow, measureEpoch, type CreditFederation, type CreditSources } from "./measure";
import { ZERO_HASH, allocationHash, buildRecord } from "./record";
import type { CreditParams } from "./score";
import { parseFixed } from "./score";
import { proposeWeights } from "./adaptive";
import { AllocationStore } from "./store";

export interface SchedulerConfig {
  readonly archive: Archive;
  readonly receipts: ReceiptsClient;
  readonly federations: readonly CreditFederation[];
  /** Read afresh for every epoch. */
  readonly sources: () => CreditSources;
  readonly params: CreditParams;
  readonly epochSeconds: number;
  /** Wall clock in ms (tests pass their own). */
  readonly now?: () => number;
  /** Salt source (tests may pass a deterministic one). */
  readonly salt?: () => Uint8Array;
  readonly logger?: Logger;
  /**
   * `credit.adaptive_weights`: each allocated epoch proposes the next validator epoch's weights
   * per federation from the current (registered) weights and the epoch's governance weights.
   * Proposals are reported, not applied (that needs the outgoing quorum's rotation).
   */
  readonly adaptive?: {
    readonly weights: ReadonlyMap<string, ReadonlyMap<string, bigint>>;
    readonly maxChangeBp?: bigint;
  };
}

/** Proposed next validator weights of one federation (adaptive governance). */
export interface WeightsProposal {
  readonly origin: string;
  readonly weights: Readonly<Record<string, string>>;
  readonly changed: boolean;
  readonly reason?: string;
}

export interface EpochAllocation {
  readonly epoch: bigint;
  readonly nodes: number;
  readonly txHash: string;
  readonly blockNumber: number;
  /** "recorded": sent now; "found": already on-chain (a restart after the transaction). */
  readonly status: "recorded" | "found";
  /** With `adaptive`: the next validator epoch's proposed weights per federation. */
  readonly proposals?: readonly WeightsProposal[];
}

export class CreditScheduler {
  readonly store: AllocationStore;
  private readonly log: Logger;
  private running: Promise<EpochAllocation[]> | undefined;

  constructor(private readonly cfg: SchedulerConfig) {
    this.store = new AllocationStore(cfg.archive);
    this.log = cfg.logger ?? createLogger("credits");
  }

  private now(): number {
    return (this.cfg.now ?? Date.now)();
  }

  /** The first epoch to allocate: after the last stored one, else the first settled round's. */
  private firstEpoch(sources: CreditSources): bigint | undefined {
    const last = this.store.lastEpoch();
    if (last !== undefined) {
      return this.store.receipt(last) ? last + 1n : last;
    }
    if (sources.rounds.length === 0) return undefined;
    const first = sources.rounds.reduce((m, r) => Math.min(m, r.settledAt), Infinity);
    return epochOf(first, this.cfg.epochSeconds);
  }

  /**
   * Allocates every closed epoch not allocated yet, in order. Concurrent calls share one run.
   * Returns what this call allocated.
   */
  tick(): Promise<EpochAllocation[]> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<EpochAllocation[]> {
    const done: EpochAllocation[] = [];
    let sources = this.cfg.sources();
    let epoch = this.firstEpoch(sources);
    if (epoch === undefined) return done;
    const current = epochOf(this.now(), this.cfg.epochSeconds);
    for (; epoch < current; epoch++) {
      if (this.store.epoch(epoch).length === 0) this.allocate(epoch, sources);
      if (!this.store.receipt(epoch)) {
        const a = await this.record(epoch);
        done.push(this.cfg.adaptive ? { ...a, proposals: this.propose(epoch) } : a);
      }
      sources = this.cfg.sources();
    }
    return done;
  }

  private allocate(epoch: bigint, sources: CreditSources): void {
    const window = epochWindow(epoch, this.cfg.epochSeconds);
    const records = measureEpoch(window, this.cfg.federations, sources).map((m) =>
      buildRecord(m, {
        epoch,
        epochSeconds: this.cfg.epochSeconds,
        params: this.cfg.params,
        prevAllocationHash: this.store.lastHash(m.origin, m.nodeId) ?? ZERO_HASH,
        ...(this.cfg.salt ? { salt: this.cfg.salt() } : {}),
      }),
    );
    this.store.insertEpoch(epoch, records);
    this.log.info("credit epoch allocated", { epoch, nodes: records.length });
  }

  /** Adaptive governance proposals from the stored records of `epoch`. */
  propose(epoch: bigint): WeightsProposal[] {
    const adaptive = this.cfg.adaptive;
    if (!adaptive) return [];
    const rows = this.store.epoch(epoch);
    return [...adaptive.weights].map(([origin, current]) => {
      const g = new Map(
        rows
          .filter((r) => r.origin === origin)
          .map((r) => [r.node, parseFixed(r.record.governance_weight, 6, "governance_weight")]),
      );
      const p = proposeWeights(
        current,
        g,
        adaptive.maxChangeBp === undefined ? {} : { maxChangeBp: adaptive.maxChangeBp },
      );
      const out: WeightsProposal = {
        origin,
        weights: Object.fromEntries([...p.weights].map(([k, v]) => [k, v.toString()])),
        changed: p.changed,
        ...(p.reason !== undefined ? { reason: p.reason } : {}),
      };
      this.log.info("validator weights proposed", { epoch, ...out });
      return out;
    });
  }

  private async record(epoch: bigint): Promise<EpochAllocation> {
    const rows = this.store.epoch(epoch);
    const found = await this.cfg.receipts.eventOf(rows[0]!.allocationHash);
    if (found) {
      this.store.markRecorded({ epoch, txHash: found.txHash, blockNumber: found.blockNumber });
      return {
        epoch,
        nodes: rows.length,
        txHash: found.txHash,
        blockNumber: found.blockNumber,
        status: "found",
      };
    }
    const sent = await this.cfg.receipts.recordAllocations(
      epoch,
      rows.map((r) => ({
        nodeRef: r.record.node_ref,
        allocationHash: allocationHash(r.record),
        prevAllocationHash: r.record.prev_allocation_hash,
      })),
    );
    this.store.markRecorded({ epoch, ...sent });
    this.log.info("credit receipts recorded", { epoch, nodes: rows.length, txHash: sent.txHash });
    return { epoch, nodes: rows.length, ...sent, status: "recorded" };
  }
}
