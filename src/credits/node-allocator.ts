/**
 * Credits on the node layout (src/node): one allocation per closed epoch for every node of the
 * roster, all hashes in one `recordAllocations` transaction, sent by ONE node and adopted
 * byte-for-byte by all the others.
 *
 * - Epochs are in chain time: a round belongs to the epoch of its anchor block's timestamp, and an
 *   epoch is closed once the latest block's timestamp reaches its end (later anchors cannot fall
 *   into it). The first epoch is round 1's.
 * - Allocator of epoch E: the node at position E mod N of the roster (manifest order, like the
 *   round proposer). The node at distance d after it may take over once it has seen the epoch
 *   closed for d·takeoverMs with nothing on-chain: a stopped allocator is replaced, rounds never wait.
 * - The allocator gathers every node's ledger (`votes.jsonl`, `evidence.jsonl` of the rounds it
 *   coordinated; `GET /v1/credits/ledger`), keeps only the lines whose final checkpoint is the one
 *   the chain anchored for that round, assigns each round to the epoch of its anchor block's
 *   timestamp (chain time; the first epoch is round 1's), measures (measure.ts), asks a node of each federation for
 *   the bytes of its log (`GET /v1/credits/storage`), builds the records with a fresh random salt,
 *   writes them to `<data>/credits/pending.json` (atomic) and sends them. A restart re-sends the
 *   SAME pending bytes; a hash already on-chain is "found", never sent twice.
 * - Records enter the archive (AllocationStore) only once their hashes are on-chain. Every other
 *   node reads the epochs recorded on-chain (events of the roster's first node), fetches the records
 *   from any peer (`GET /v1/credits/epochs/E`), checks each one (format, derived fields, hash equal
 *   to the on-chain receipt of that node in that epoch) and stores them: identical bytes everywhere.
 * - Two allocators at once (a takeover racing a slow allocator): both build on the same chain heads,
 *   so the contract accepts the first and refuses the second (`ReceiptChainBroken`); the loser
 *   drops its pending records and adopts the winner's. An epoch is never allocated twice.
 */
import fs from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "../consensus/atomic-file";
import type { Evidence, RoundVotes } from "../consensus/evidence";
import { parseCheckpointBody } from "../crypto/note";
import type { AnchorDomain } from "../consensus/types";
import type { AnchorView } from "../node/node";
import type { Roster } from "../node/roster";
import type { PeerClient } from "../transport/client";
import { canonicalJson } from "../merkle";
import { AmpError, oneLine } from "../util/errors";
import type { Logger } from "../util/log";
import type { ReceiptEvent, ReceiptsClient } from "./chain";
import { epochOf, epochWindow, measureEpoch, noteBody, type DriftFindingsProvider } from "./measure";
import {
  ZERO_HASH,
  allocationHash,
  buildRecord,
  checkRecord,
  nodeRefOf,
  type AllocationRecord,
} from "./record";
import type { CreditParams } from "./score";
import { readJsonLines } from "./sources";
import type { AllocationStore } from "./store";
import { LedgerVoteChecker, type RefusedVote } from "./vote-verify";

/** What a node's ledger route serves: the settled rounds it coordinated and their evidence. */
export interface Ledger {
  readonly rounds: readonly RoundVotes[];
  readonly evidence: readonly Evidence[];
}

/** The chain reads and the transaction the allocator needs (tests may wrap them). */
export interface NodeReceipts extends ReceiptsClient {
  eventsOfNode(nodeRef: string): Promise<ReceiptEvent[]>;
}

export interface NodeAllocatorConfig {
  readonly nodeId: string;
  readonly roster: Roster;
  readonly dataDir: string;
  readonly store: AllocationStore;
  readonly receipts: NodeReceipts;
  readonly chain: AnchorView;
  /** The anchor's EIP-712 domain: every ledger vote's signatures are re-verified against it. */
  readonly domain: AnchorDomain;
  /** Unix ms of the block that anchored `round` (undefined: not anchored): assigns rounds to epochs. */
  readonly roundTimeMs: (round: bigint) => Promise<number | undefined>;
  readonly client: PeerClient;
  readonly params: CreditParams;
  readonly epochSeconds: number;
  /** Bytes of this node's federation log at `size` entries (undefined: the archive is shorter). */
  readonly ownStorage: (size: bigint) => bigint | undefined;
  /** Delay per position before a later node takes over a closed epoch (default 5000 ms). */
  readonly takeoverMs?: number;
  readonly drift?: DriftFindingsProvider | undefined;
  /** Wall clock in ms (takeover delays). */
  readonly now?: () => number;
  /** Chain time in ms: the latest block's timestamp. An epoch is closed once chain time reaches its end. */
  readonly chainNowMs: () => Promise<number>;
  readonly logger: Logger;
}

export type AllocatorStep =
  | { kind: "idle" }
  | { kind: "adopted"; epoch: bigint }
  | { kind: "recorded" | "found"; epoch: bigint; txHash: string }
  | { kind: "lost-race"; epoch: bigint };

interface Pending {
  epoch: string;
  records: AllocationRecord[];
}

/** The ledger a node keeps (the rounds it coordinated), read from `<data>/evidence/`. */
export function ownLedger(dataDir: string, toMs?: number): Ledger {
  const dir = path.join(dataDir, "evidence");
  const rounds = readJsonLines<RoundVotes>(path.join(dir, "votes.jsonl")).filter(
    (r) => toMs === undefined || r.settledAt < toMs,
  );
  const keep = new Set(rounds.map((r) => `${r.origin}\n${r.round}`));
  const evidence = readJsonLines<Evidence>(path.join(dir, "evidence.jsonl")).filter((e) =>
    keep.has(`${e.origin}\n${e.round}`),
  );
  return { rounds, evidence };
}

export class NodeAllocator {
  private readonly pendingFile: string;
  private readonly votes: LedgerVoteChecker;
  /** Votes refused while re-verifying the ledgers (kept for tests and status; also logged). */
  readonly refusedVotes: RefusedVote[] = [];

  constructor(private readonly cfg: NodeAllocatorConfig) {
    this.pendingFile = path.join(cfg.dataDir, "credits", "pending.json");
    this.votes = new LedgerVoteChecker(cfg.roster, cfg.domain, cfg.logger);
  }

  private now(): number {
    return (this.cfg.now ?? Date.now)();
  }

  get nodeId(): string {
    return this.cfg.nodeId;
  }

  /** The node at position E mod N allocates epoch E; who may act now for `epoch`. */
  allocatorOf(epoch: bigint): string {
    const nodes = this.cfg.roster.nodes;
    return nodes[Number(epoch % BigInt(nodes.length))]!.id;
  }

  /** When this node first saw each epoch closed (wall ms): the takeover clock. */
  private readonly closedSeen = new Map<bigint, number>();

  private mayAllocate(epoch: bigint): boolean {
    const nodes = this.cfg.roster.nodes;
    const first = Number(epoch % BigInt(nodes.length));
    const me = nodes.findIndex((n) => n.id === this.cfg.nodeId);
    const distance = (me - first + nodes.length) % nodes.length;
    const seen = this.closedSeen.get(epoch) ?? this.now();
    this.closedSeen.set(epoch, seen);
    return this.now() >= seen + distance * (this.cfg.takeoverMs ?? 5000);
  }

  /** Epochs recorded on-chain, ascending (every allocation covers every node: the first node's). */
  private async recordedEpochs(): Promise<Map<bigint, ReceiptEvent>> {
    const first = this.cfg.roster.nodes[0]!;
    const events = await this.cfg.receipts.eventsOfNode(nodeRefOf(first.origin, first.id));
    return new Map(events.map((e) => [e.epoch, e]));
  }

  /**
   * One step: adopt the oldest epoch recorded on-chain but not stored here; else allocate the next
   * closed epoch if this node may. Never more than one epoch per step (callers loop).
   */
  async step(): Promise<AllocatorStep> {
    await this.repairReceipts();
    const recorded = await this.recordedEpochs();
    const last = this.cfg.store.lastEpoch();
    const missing = [...recorded.keys()]
      .filter((e) => last === undefined || e > last)
      .sort((a, b) => (a < b ? -1 : 1));
    if (missing.length > 0) return this.adopt(missing[0]!, recorded.get(missing[0]!)!);
    const next = last !== undefined ? last + 1n : await this.firstEpoch();
    if (next === undefined) return { kind: "idle" };
    // Closed by chain time: every later anchor block has a timestamp ≥ the latest one's.
    if (next >= epochOf(await this.cfg.chainNowMs(), this.cfg.epochSeconds) || !this.mayAllocate(next))
      return { kind: "idle" };
    return this.allocate(next);
  }

  /**
   * Before records and receipt were stored in one transaction, a crash between the two left an
   * epoch's records without their receipt row: this node skipped the epoch as stored while its
   * route for it failed, so no other node could adopt it (nor any later epoch). Such an epoch gets
   * its receipt from the chain (the records are on-chain: the node layout stores nothing else).
   */
  private async repairReceipts(): Promise<void> {
    for (const epoch of this.cfg.store.epochsWithoutReceipt()) {
      const first = this.cfg.store.epoch(epoch)[0]!;
      const ev = await this.cfg.receipts.eventOf(first.allocationHash);
      if (!ev || ev.epoch !== epoch) {
        this.cfg.logger.warn("credits: stored epoch without receipt is not on-chain", { epoch });
        continue;
      }
      this.cfg.store.markRecorded({ epoch, txHash: ev.txHash, blockNumber: ev.blockNumber });
      this.cfg.logger.warn("credits: receipt of a stored epoch restored from the chain", { epoch });
    }
  }

  /** The first epoch: that of round 1's anchor block (chain time: every node agrees on it). */
  private async firstEpoch(): Promise<bigint | undefined> {
    const pending = this.loadPending();
    if (pending) return BigInt(pending.epoch);
    const t = await this.cfg.roundTimeMs(1n);
    return t === undefined ? undefined : epochOf(t, this.cfg.epochSeconds);
  }

  // --- adopting what another node recorded -------------------------------------------------------

  private async adopt(epoch: bigint, event: ReceiptEvent): Promise<AllocatorStep> {
    const pending = this.loadPending();
    let records: AllocationRecord[] | undefined;
    if (pending && BigInt(pending.epoch) === epoch && (await this.onChain(epoch, pending.records))) {
      records = pending.records;
    }
    for (const peer of this.cfg.roster.nodes) {
      if (records || peer.id === this.cfg.nodeId) continue;
      try {
        const o = await this.cfg.client.json<{ records?: unknown }>(peer.url, {
          method: "GET",
          path: `/v1/credits/epochs/${epoch}`,
          timeoutMs: 5000,
          tries: 1,
        });
        const got = Array.isArray(o.records) ? o.records.map((r) => checkRecord(r)) : [];
        if (await this.onChain(epoch, got)) records = got;
      } catch (e) {
        this.cfg.logger.debug("credits: peer has no records", { peer: peer.id, epoch, error: oneLine(e) });
      }
    }
    if (!records) return { kind: "idle" };
    this.storeRecorded(epoch, records, event);
    return { kind: "adopted", epoch };
  }

  /** Every roster node has exactly one record, each of epoch E with its hash recorded on-chain for it. */
  private async onChain(epoch: bigint, records: readonly AllocationRecord[]): Promise<boolean> {
    const nodes = this.cfg.roster.nodes;
    if (records.length !== nodes.length) return false;
    for (const n of nodes) {
      const r = records.find((x) => x.node === n.id && x.origin === n.origin);
      if (!r || r.epoch !== epoch.toString()) return false;
      const ev = await this.cfg.receipts.eventOf(allocationHash(r));
      if (!ev || ev.epoch !== epoch || ev.nodeRef.toLowerCase() !== r.node_ref.toLowerCase()) return false;
    }
    return true;
  }

  private storeRecorded(
    epoch: bigint,
    records: readonly AllocationRecord[],
    tx: { txHash: string; blockNumber: number },
  ): void {
    const sorted = [...records].sort((a, b) =>
      a.origin === b.origin ? (a.node < b.node ? -1 : 1) : a.origin < b.origin ? -1 : 1,
    );
    // One transaction: records without their receipt would be counted here but never served.
    this.cfg.store.insertRecordedEpoch(epoch, sorted, {
      epoch,
      txHash: tx.txHash,
      blockNumber: tx.blockNumber,
    });
    const pending = this.loadPending();
    if (pending && BigInt(pending.epoch) <= epoch) fs.rmSync(this.pendingFile, { force: true });
  }

  // --- allocating -----------------------------------------------------------------------------------

  private loadPending(): Pending | undefined {
    if (!fs.existsSync(this.pendingFile)) return undefined;
    return JSON.parse(fs.readFileSync(this.pendingFile, "utf8")) as Pending;
  }

  private async allocate(epoch: bigint): Promise<AllocatorStep> {
    let pending = this.loadPending();
    if (!pending || BigInt(pending.epoch) !== epoch) {
      pending = { epoch: epoch.toString(), records: await this.build(epoch) };
      fs.mkdirSync(path.dirname(this.pendingFile), { recursive: true });
      writeFileAtomic(this.pendingFile, canonicalJson(pending));
    }
    const records = pending.records;
    const found = await this.cfg.receipts.eventOf(allocationHash(records[0]!));
    if (found) {
      this.storeRecorded(epoch, records, found);
      return { kind: "found", epoch, txHash: found.txHash };
    }
    if ((await this.recordedEpochs()).has(epoch)) return { kind: "lost-race", epoch }; // adopted next step
    try {
      const sent = await this.cfg.receipts.recordAllocations(
        epoch,
        records.map((r) => ({
          nodeRef: r.node_ref,
          allocationHash: allocationHash(r),
          prevAllocationHash: r.prev_allocation_hash,
        })),
      );
      this.storeRecorded(epoch, records, sent);
      this.cfg.logger.info("credit receipts recorded", { epoch, nodes: records.length, txHash: sent.txHash });
      return { kind: "recorded", epoch, txHash: sent.txHash };
    } catch (e) {
      // Another relay recorded the epoch first (the contract refuses our chain link): adopt theirs.
      if ((await this.recordedEpochs()).has(epoch)) return { kind: "lost-race", epoch };
      throw e;
    }
  }

  /**
   * Every node's ledger lines whose final checkpoint is what the chain anchored for that round,
   * each vote re-verified against the roster's pinned keys (forged votes dropped and logged).
   */
  async gather(toMs?: number): Promise<Ledger> {
    const lists = await Promise.all(
      this.cfg.roster.nodes.map(async (n): Promise<Ledger & { peer: string }> => ({
        peer: n.id,
        ...(await this.ledgerOf(n, toMs)),
      })),
    );
    return this.keepAnchored(lists);
  }

  private async ledgerOf(n: { id: string; url: string }, toMs?: number): Promise<Ledger> {
    if (n.id === this.cfg.nodeId) return ownLedger(this.cfg.dataDir, toMs);
    try {
      return await this.cfg.client.json<Ledger>(n.url, {
        method: "GET",
        path: `/v1/credits/ledger${toMs === undefined ? "" : `?to_ms=${toMs}`}`,
        timeoutMs: 5000,
        tries: 1,
      });
    } catch (e) {
      this.cfg.logger.warn("credits: ledger unavailable", { peer: n.id, error: oneLine(e) });
      return { rounds: [], evidence: [] };
    }
  }

  private async keepAnchored(lists: readonly (Ledger & { peer: string })[]): Promise<Ledger> {
    const anchored = new Map<string, boolean>();
    const matches = async (r: RoundVotes): Promise<boolean> => {
      if (r.final === null) return false;
      const key = `${r.origin}\n${r.round}\n${r.final}`;
      const known = anchored.get(key);
      if (known !== undefined) return known;
      let ok = false;
      try {
        const body = parseCheckpointBody(r.final);
        const cp = await this.cfg.chain.checkpointOf(BigInt(r.round), r.origin);
        ok =
          cp !== undefined &&
          body.origin === r.origin &&
          cp.treeSize === body.treeSize &&
          Buffer.from(cp.rootHash).equals(Buffer.from(body.rootHash));
      } catch {
        ok = false;
      }
      anchored.set(key, ok);
      return ok;
    };
    const rounds: RoundVotes[] = [];
    const seen = new Set<string>();
    for (const { peer, r } of lists.flatMap((l) => l.rounds.map((r) => ({ peer: l.peer, r })))) {
      if (!(await matches(r))) continue;
      const id = `${r.origin}\n${r.round}`;
      if (seen.has(id)) continue; // the same final round coordinated twice (a re-proposal): once
      const anchoredAt = await this.cfg.roundTimeMs(BigInt(r.round));
      if (anchoredAt === undefined) continue;
      seen.add(id);
      // Only votes whose ML-DSA note and EIP-712 signature verify under the pinned keys count.
      const checked = await this.votes.verify(peer, r, this.refusedVotes);
      // A round belongs to the epoch of its anchor block (chain time, the same for every node),
      // not to its coordinator's clock.
      rounds.push({ ...checked, settledAt: anchoredAt });
    }
    const ids = new Set(rounds.map((r) => `${r.origin}\n${r.round}`));
    const evidence = lists.flatMap((l) => l.evidence).filter((e) => ids.has(`${e.origin}\n${e.round}`));
    return { rounds, evidence };
  }

  private async storageOf(origin: string, size: bigint): Promise<bigint> {
    const fed = this.cfg.roster.federations.find((f) => f.config.origin === origin);
    if (!fed) throw new AmpError(`unknown federation ${origin}`, { kind: "bug" });
    if (fed.nodes.some((n) => n.id === this.cfg.nodeId)) {
      const own = this.cfg.ownStorage(size);
      if (own !== undefined) return own;
    }
    for (const n of fed.nodes) {
      if (n.id === this.cfg.nodeId) continue;
      try {
        const o = await this.cfg.client.json<{ bytes?: string }>(n.url, {
          method: "GET",
          path: `/v1/credits/storage?size=${size}`,
          timeoutMs: 5000,
          tries: 1,
        });
        if (typeof o.bytes === "string" && /^\d+$/.test(o.bytes)) return BigInt(o.bytes);
      } catch {
        // next node of that federation
      }
    }
    throw new AmpError(`no node of ${origin} told the bytes of its log at size ${size}`, {
      kind: "retry-later",
    });
  }

  private async build(epoch: bigint): Promise<AllocationRecord[]> {
    const window = epochWindow(epoch, this.cfg.epochSeconds);
    // Every line: a round's coordinator clock may run ahead of chain time (the epoch is by chain time).
    const ledger = await this.gather();
    // measure.ts asks for the bytes at each node's largest final size signed up to the epoch's end.
    const sizes = new Map<string, bigint>();
    for (const n of this.cfg.roster.nodes) {
      const origin = n.origin;
      let max = 0n;
      for (const r of ledger.rounds) {
        if (r.origin !== origin || r.settledAt >= window.endMs) continue;
        if (!r.votes.some((v) => v.nodeId === n.id && noteBody(v.note) === r.final)) continue;
        const size = parseCheckpointBody(r.final!).treeSize;
        if (size > max) max = size;
      }
      const key = `${origin}\n${max}`;
      if (max > 0n && !sizes.has(key)) sizes.set(key, await this.storageOf(origin, max));
    }
    const federations = this.cfg.roster.federations.map((f) => ({
      origin: f.config.origin,
      nodeIds: f.nodes.map((n) => n.id),
    }));
    const measured = measureEpoch(window, federations, {
      rounds: ledger.rounds,
      evidence: ledger.evidence,
      storageBytes: (origin, size) => {
        const b = sizes.get(`${origin}\n${size}`);
        if (b === undefined) throw new AmpError(`no byte count of ${origin} at ${size}`, { kind: "bug" });
        return b;
      },
      drift: this.cfg.drift,
    });
    return measured.map((m) =>
      buildRecord(m, {
        epoch,
        epochSeconds: this.cfg.epochSeconds,
        params: this.cfg.params,
        prevAllocationHash: this.cfg.store.lastHash(m.origin, m.nodeId) ?? ZERO_HASH,
      }),
    );
  }
}
