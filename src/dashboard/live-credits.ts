/**
 * The Credits page live from running nodes (`amp up`, `amp dashboard --nodes`): the allocation
 * records come from the nodes' credits routes (src/credits/node-extension.ts: `GET
 * /v1/credits/epochs`, `GET /v1/credits/epochs/:epoch`), everything shown is derived from the
 * records themselves (checkRecord, the allocation hash recomputed here, the ranking by rankNodes),
 * and each record is verified against the PINNED ProofCreditReceipts (the deployment record the
 * dashboard was started with, on its own RPC connection) — never against an address, hash or
 * transaction a node sends. A valid record shows the chain's transaction, not the node's.
 *
 * When nothing is allocated yet the answer says when the next epoch closes (chain time: epochs
 * are by anchor block timestamps, and blocks come with anchored rounds), so the page is never
 * silently empty.
 */
import type { AbstractProvider } from "ethers";
import { epochOf } from "../credits/measure";
import { allocationHash, checkRecord, AllocationRecordError, type AllocationRecord } from "../credits/record";
import type { PeerClient } from "../transport/client";
import { oneLine } from "../util/errors";
import {
  allocationView,
  rankingView,
  type CreditAllocationView,
  type CreditsSnapshot,
  type ReceiptChecker,
} from "./credits";
import type { LiveNode, Unavailable } from "./live";

export interface NextAllocation {
  /** The epoch whose allocation comes next (decimal), null before round 1 is anchored. */
  readonly epoch: string | null;
  /** When that epoch closes, ISO 8601 in chain time (null when unknown). */
  readonly closesAt: string | null;
  /** The chain's latest block time, ISO 8601 (null without a pinned chain). */
  readonly chainNow: string | null;
  /** One sentence for the page. */
  readonly message: string;
}

export interface LiveCreditsSnapshot extends CreditsSnapshot {
  readonly source: string;
  readonly epochSeconds: number;
  readonly next: NextAllocation;
}

interface EpochsAnswer {
  epochSeconds: number;
  epochs: { epoch: string; txHash: string | null; blockNumber: number | null }[];
}

interface EpochAnswer {
  epoch: string;
  txHash: string;
  blockNumber: number;
  records: unknown[];
}

export interface LiveCreditsOptions {
  readonly client: PeerClient;
  readonly nodes: readonly LiveNode[];
  readonly checker: ReceiptChecker;
  /** The pinned chain (`amp up`'s RPC, `--rpc`): chain time for "next allocation at". */
  readonly provider?: AbstractProvider | undefined;
  /** Block number of round 1's anchor (undefined: not anchored yet or unknown). */
  readonly firstRoundBlock: () => Promise<number | undefined>;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

export class LiveCredits {
  /** Epoch → its records as a node sent them (complete epochs only: immutable once recorded). */
  private readonly epochs = new Map<string, EpochAnswer>();

  constructor(private readonly o: LiveCreditsOptions) {}

  private async get<T>(n: LiveNode, path: string): Promise<T> {
    return this.o.client.json<T>(n.url, { method: "GET", path });
  }

  private async epochOf(epoch: string, nodes: readonly LiveNode[]): Promise<EpochAnswer | undefined> {
    const cached = this.epochs.get(epoch);
    if (cached) return cached;
    for (const n of nodes) {
      try {
        const a = await this.get<EpochAnswer>(n, `/v1/credits/epochs/${encodeURIComponent(epoch)}`);
        if (!Array.isArray(a.records) || a.epoch !== epoch) continue;
        this.epochs.set(epoch, a);
        return a;
      } catch {
        // the next node
      }
    }
    return undefined;
  }

  async snapshot(): Promise<LiveCreditsSnapshot | Unavailable> {
    let list: EpochsAnswer | undefined;
    let source: LiveNode | undefined;
    for (const n of this.o.nodes) {
      try {
        list = await this.get<EpochsAnswer>(n, "/v1/credits/epochs");
        source = n;
        break;
      } catch {
        // the next node
      }
    }
    if (!list || !source || !Array.isArray(list.epochs)) {
      return {
        available: false,
        reason: "no node serves /v1/credits/epochs (credits not enabled on these nodes, or none is up)",
      };
    }
    const others = [source, ...this.o.nodes.filter((n) => n !== source)];
    const allocations: CreditAllocationView[] = [];
    const records: AllocationRecord[] = [];
    const epochs = list.epochs.map((e) => e.epoch).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    for (const epoch of epochs) {
      const a = await this.epochOf(epoch, others);
      if (!a) continue;
      for (const raw of a.records) {
        let rec: AllocationRecord;
        try {
          rec = checkRecord(raw);
        } catch (e) {
          allocations.push(malformed(epoch, raw, e));
          continue;
        }
        const hash = allocationHash(rec);
        const v = await this.o.checker.check(hash, rec, true);
        // Valid: the chain's transaction; otherwise what the node claims (shown, not trusted).
        const tx = v.tx ?? { txHash: String(a.txHash), blockNumber: Number(a.blockNumber) };
        allocations.push(allocationView(rec, hash, tx, v));
        records.push(rec);
      }
    }
    allocations.sort((x, y) =>
      x.epoch === y.epoch
        ? `${x.origin}/${x.node}`.localeCompare(`${y.origin}/${y.node}`)
        : BigInt(x.epoch) < BigInt(y.epoch)
          ? -1
          : 1,
    );
    const last = epochs.at(-1);
    return {
      receipts: this.o.checker.reader?.address ?? null,
      allocations,
      ranking: rankingView(records),
      source: source.id ?? source.url,
      epochSeconds: list.epochSeconds,
      next: await this.next(list.epochSeconds, last),
    };
  }

  /** When the next allocation can come (chain time), as one sentence for the page. */
  private async next(epochSeconds: number, last: string | undefined): Promise<NextAllocation> {
    const short = `Epochs are ${epochSeconds} s of chain time (amp up --epoch-seconds N for short epochs).`;
    const provider = this.o.provider;
    let chainNowMs: number | undefined;
    let epoch: bigint | undefined = last === undefined ? undefined : BigInt(last) + 1n;
    try {
      chainNowMs = provider ? ((await provider.getBlock("latest"))?.timestamp ?? 0) * 1000 : undefined;
      if (epoch === undefined && provider) {
        const block = await this.o.firstRoundBlock();
        const ts = block === undefined ? undefined : (await provider.getBlock(block))?.timestamp;
        if (ts !== undefined) epoch = epochOf(ts * 1000, epochSeconds);
      }
    } catch {
      // chain unreachable: the message without times
    }
    const chainNow = chainNowMs === undefined ? null : iso(chainNowMs);
    if (epoch === undefined) {
      return {
        epoch: null,
        closesAt: null,
        chainNow,
        message:
          last === undefined
            ? `No allocation yet: the first epoch is that of round 1's anchor; submit events (amp submit). ${short}`
            : `Next allocation: epoch ${BigInt(last) + 1n}. ${short}`,
      };
    }
    const closesMs = Number((epoch + 1n) * BigInt(epochSeconds) * 1000n);
    const when = iso(closesMs);
    const waiting =
      chainNowMs !== undefined && chainNowMs >= closesMs
        ? "it is closed; the allocation follows within a few seconds"
        : "the chain's clock moves with its blocks, which come with anchored rounds: keep submitting events";
    return {
      epoch: epoch.toString(),
      closesAt: when,
      chainNow,
      message: `${last === undefined ? "No allocation yet. " : ""}Next allocation: epoch ${epoch}, which closes at ${when} (chain time${chainNow ? `, now ${chainNow}` : ""}); ${waiting}. ${short}`,
    };
  }
}

/** A record a node sent that is not an allocation record: shown as invalid, naming the field. */
function malformed(epoch: string, raw: unknown, e: unknown): CreditAllocationView {
  const o = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === "string" ? v : "?");
  return {
    epoch,
    origin: text(o.origin),
    node: text(o.node),
    allocationHash: "—",
    score: "?",
    weight: "?",
    accuracy: "?",
    participation: "?",
    proofsValidated: "?",
    driftFindings: 0,
    txHash: null,
    blockNumber: null,
    verification: {
      status: "invalid",
      detail: e instanceof AllocationRecordError ? e.shortMessage : `not a record: ${oneLine(e)}`,
    },
  };
}
