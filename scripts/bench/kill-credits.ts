/**
 * Credit allocation in the kill campaign (scripts/bench/kills.ts): the triggers of the two
 * allocation stages and the end check "no allocation recorded twice".
 *
 * The federation runs with short credit epochs (`amp up --epoch-seconds N`). The allocator of epoch
 * E (roster node E mod N) writes `<data>/credits/pending.json` before its `recordAllocations`
 * transaction; the other nodes adopt the records once the hashes are on-chain.
 *
 * - allocation-before-tx: a node wrote pending.json for an epoch not yet on-chain → kill it at once
 *   (where the kill actually landed — tx not yet mined, mined but records not stored — is read from
 *   the chain right after the kill and reported in `allocationKillPoints`).
 * - allocation-after-tx: a new epoch appeared on-chain → kill the node that sent it (the one still
 *   holding pending.json for it, else the epoch's allocator) before it stores the records.
 *
 * End check: every epoch on-chain exactly once per roster node, all in one transaction, no gap
 * between the first and the last epoch; every node stores every recorded epoch, byte-identical
 * records on every node, each stored hash = SHA-256(JCS(record)) = the hash on-chain for that node
 * and epoch.
 */
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { ReceiptsReader } from "../../src/credits/chain";
import { allocationHash, nodeRefOf, type AllocationRecord } from "../../src/credits/record";
import type { KillWorld } from "./kill-world";
import { until } from "./kill-world";

export interface AllocationReport {
  /** Epochs with receipts on-chain. */
  epochsRecorded: number;
  /** ProofCreditAllocated events. */
  allocationReceipts: number;
  /** (epoch, node) pairs with more than one receipt, plus epochs recorded by more than one tx. */
  allocationsRecordedTwice: number;
  /** Epochs without a receipt for every roster node, plus gaps between the first and last epoch. */
  epochsIncomplete: number;
  /** Stored records (node × epoch × roster node) missing, different, or without a receipt row: the sum of the three below. */
  storedAllocationMismatches: number;
  /** Records of a recorded epoch a node does not store. */
  storedAllocationsMissing: number;
  /** Stored records whose hash is not SHA-256(JCS(record)), not the chain's, or whose bytes differ from another node's. */
  storedAllocationsDifferent: number;
  /** Stored epochs without their receipt row (`credit_receipts`). */
  storedEpochsWithoutReceipt: number;
  /** What was wrong where (node, epoch, record), first 30 lines. */
  storedAllocationProblems: string[];
}

interface Stored {
  epoch: bigint;
  node: string;
  hash: string;
  record: string;
}

/** A node's stored records and the epochs with a receipt row (read-only; empty before migration 11). */
function storedAllocations(dataDir: string): { rows: Stored[]; receipts: Set<bigint> } {
  const db = new Database(path.join(dataDir, "archive.sqlite"), { readonly: true, fileMustExist: true });
  try {
    const has = db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'credit_allocations'")
      .get();
    if (!has) return { rows: [], receipts: new Set() };
    const rows = (
      db
        .prepare("SELECT epoch, origin, node, allocation_hash AS hash, record FROM credit_allocations")
        .all() as { epoch: number; origin: string; node: string; hash: string; record: string }[]
    ).map((r) => ({ epoch: BigInt(r.epoch), node: `${r.origin}/${r.node}`, hash: r.hash, record: r.record }));
    const receipts = (db.prepare("SELECT epoch FROM credit_receipts").all() as { epoch: number }[]).map((r) =>
      BigInt(r.epoch),
    );
    return { rows, receipts: new Set(receipts) };
  } finally {
    db.close();
  }
}

export class CreditsWatch {
  readonly reader: ReceiptsReader;
  private origins: Map<string, string> | undefined;

  constructor(private readonly w: KillWorld) {
    const record = JSON.parse(fs.readFileSync(w.fed.deployment, "utf8")) as {
      contracts: { proofCreditReceipts: string };
    };
    this.reader = new ReceiptsReader(record.contracts.proofCreditReceipts, w.provider, 0);
  }

  /** Node id -> origin (from /v1/status, once). */
  async originOf(id: string): Promise<string> {
    if (!this.origins) {
      const m = new Map<string, string>();
      for (const n of this.w.fed.nodes) {
        const st = await until(`${n.id} status`, () => this.w.status(n.url), 120_000);
        m.set(n.id, st.origin);
      }
      this.origins = m;
    }
    return this.origins.get(id)!;
  }

  /** Epochs recorded on-chain (every batch covers every node: those of the roster's first node). */
  async recordedEpochs(): Promise<Set<bigint>> {
    const first = this.w.fed.nodes[0]!;
    const events = await this.reader.eventsOfNode(nodeRefOf(await this.originOf(first.id), first.id));
    return new Set(events.map((e) => e.epoch));
  }

  /** The epoch in `<data>/credits/pending.json`, with its mtime (absent: no allocation in progress). */
  pendingOf(dataDir: string): { epoch: bigint; mtimeMs: number } | undefined {
    const f = path.join(dataDir, "credits", "pending.json");
    try {
      const st = fs.statSync(f);
      const p = JSON.parse(fs.readFileSync(f, "utf8")) as { epoch: string };
      return { epoch: BigInt(p.epoch), mtimeMs: st.mtimeMs };
    } catch {
      return undefined; // absent or being replaced
    }
  }

  /** Allocator of epoch E: the roster node at position E mod N (manifest order). */
  allocatorOf(epoch: bigint): string {
    const nodes = this.w.fed.nodes;
    return nodes[Number(epoch % BigInt(nodes.length))]!.id;
  }

  /** allocation-before-tx: a node that wrote pending.json since `since` for an epoch not on-chain. */
  async beforeTx(since: number): Promise<{ victim: string; epoch: bigint } | undefined> {
    for (const n of this.w.fed.nodes) {
      const p = this.pendingOf(n.dataDir);
      if (p && p.mtimeMs >= since && !(await this.recordedEpochs()).has(p.epoch))
        return { victim: n.id, epoch: p.epoch };
    }
    return undefined;
  }

  /** allocation-after-tx: an epoch on-chain that was not in `before`, and who sent it. */
  async afterTx(before: Set<bigint>): Promise<{ victim: string; epoch: bigint } | undefined> {
    const now = await this.recordedEpochs();
    const fresh = [...now].filter((e) => !before.has(e));
    if (fresh.length === 0) return undefined;
    const epoch = fresh.reduce((a, b) => (a > b ? a : b));
    const sender = this.w.fed.nodes.find((n) => this.pendingOf(n.dataDir)?.epoch === epoch);
    return { victim: sender?.id ?? this.allocatorOf(epoch), epoch };
  }

  /** Where a kill during allocation of `epoch` landed, read right after the kill. */
  async killPoint(victimDataDir: string, epoch: bigint): Promise<string> {
    if (!(await this.recordedEpochs()).has(epoch)) return "pending written, tx not mined";
    return this.pendingOf(victimDataDir)?.epoch === epoch
      ? "tx mined, records not stored"
      : "tx mined, records stored";
  }

  /**
   * After the load stopped: wait until every node stores every epoch recorded on-chain (a snapshot
   * taken first; allocation goes on while blocks come), then check the chain and the stored bytes.
   */
  async check(timeoutMs: number): Promise<AllocationReport> {
    const ids = this.w.fed.nodes.map((n) => n.id);
    const keyOf = new Map<string, string>(); // nodeRef -> origin/id
    for (const id of ids)
      keyOf.set(nodeRefOf(await this.originOf(id), id).toLowerCase(), `${await this.originOf(id)}/${id}`);
    const recorded = await this.recordedEpochs();
    await until(
      "every node storing every recorded allocation epoch",
      () => {
        for (const n of this.w.fed.nodes) {
          let have: Set<bigint>;
          try {
            have = new Set(storedAllocations(n.dataDir).rows.map((s) => s.epoch));
          } catch {
            return undefined; // a transient read failure (busy, being checkpointed): poll again
          }
          for (const e of recorded) if (!have.has(e)) return undefined;
        }
        return true;
      },
      timeoutMs,
    ).catch(() => undefined); // what is still missing then counts below, by node and epoch
    const logs = await this.reader.contract.queryFilter(
      this.reader.contract.filters.ProofCreditAllocated(),
      0,
      "latest",
    );
    const perPair = new Map<string, number>();
    const txsOfEpoch = new Map<bigint, Set<string>>();
    const chainHash = new Map<string, string>(); // `${epoch}/${origin/id}` -> hash
    for (const l of logs) {
      const epoch = l.args.epoch;
      const node = keyOf.get(l.args.nodeRef.toLowerCase()) ?? `unknown ${l.args.nodeRef}`;
      const k = `${epoch}/${node}`;
      perPair.set(k, (perPair.get(k) ?? 0) + 1);
      chainHash.set(k, l.args.allocationHash.toLowerCase());
      const txs = txsOfEpoch.get(epoch) ?? new Set<string>();
      txs.add(l.transactionHash);
      txsOfEpoch.set(epoch, txs);
    }
    let twice = [...perPair.values()].filter((c) => c > 1).length;
    twice += [...txsOfEpoch.values()].filter((s) => s.size > 1).length;
    const epochs = [...txsOfEpoch.keys()].sort((a, b) => (a < b ? -1 : 1));
    let incomplete = 0;
    for (const e of epochs) {
      const nodesOfEpoch = [...perPair.keys()].filter((k) => k.startsWith(`${e}/`)).length;
      if (nodesOfEpoch !== ids.length) incomplete++;
    }
    if (epochs.length > 0) incomplete += Number(epochs.at(-1)! - epochs[0]! + 1n) - epochs.length;
    // Stored bytes: identical on every node, hash = SHA-256(JCS(record)) = the chain's.
    const stored = this.storedCheck(recorded, chainHash);
    return {
      epochsRecorded: epochs.length,
      allocationReceipts: logs.length,
      allocationsRecordedTwice: twice,
      epochsIncomplete: incomplete,
      storedAllocationMismatches: stored.missing + stored.different + stored.noReceipt,
      storedAllocationsMissing: stored.missing,
      storedAllocationsDifferent: stored.different,
      storedEpochsWithoutReceipt: stored.noReceipt,
      storedAllocationProblems: stored.problems.slice(0, 30),
    };
  }

  /** Every node's stored records of the recorded epochs: missing, different, receipt row absent. */
  private storedCheck(recorded: Set<bigint>, chainHash: Map<string, string>) {
    let missing = 0;
    let different = 0;
    let noReceipt = 0;
    const problems: string[] = [];
    const reference = new Map<string, { text: string; from: string }>(); // `${epoch}/${node}` -> record
    const ids = this.w.fed.nodes.map((n) => n.id);
    for (const n of this.w.fed.nodes) {
      const { rows, receipts } = storedAllocations(n.dataDir);
      const mine = new Map(rows.filter((s) => recorded.has(s.epoch)).map((s) => [`${s.epoch}/${s.node}`, s]));
      for (const e of [...recorded].sort((a, b) => (a < b ? -1 : 1))) {
        if (!rows.some((s) => s.epoch === e)) {
          missing += ids.length;
          problems.push(`${n.id}: epoch ${e} not stored`);
          continue;
        }
        if (!receipts.has(e)) {
          noReceipt++;
          problems.push(`${n.id}: epoch ${e} stored without its receipt row`);
        }
        for (const id of ids) {
          const k = `${e}/${this.origins!.get(id)!}/${id}`;
          const s = mine.get(k);
          if (!s) {
            missing++;
            problems.push(`${n.id}: epoch ${e}: record of ${id} missing`);
            continue;
          }
          const ref = reference.get(k) ?? { text: s.record, from: n.id };
          reference.set(k, ref);
          const why =
            allocationHash(JSON.parse(s.record) as AllocationRecord) !== s.hash.toLowerCase()
              ? "stored hash is not SHA-256(JCS(record))"
              : chainHash.get(k) !== s.hash.toLowerCase()
                ? "hash is not the one on-chain"
                : ref.text !== s.record
                  ? `bytes differ from ${ref.from}'s`
                  : undefined;
          if (why) {
            different++;
            problems.push(`${n.id}: epoch ${e}: record of ${id}: ${why}`);
          }
        }
      }
    }
    return { missing, different, noReceipt, problems };
  }
}
