/**
 * The Credits page's data: every allocation record in the data dir's archive (`credit_allocations`,
 * `credit_receipts`, read-only), per epoch and node the score, governance weight and inputs, the
 * ranking over all epochs (src/credits/rank.ts), and each record's receipt verification
 * (src/credits/verify.ts `verifyReceipt`: the allocation hash recomputed, the on-chain receipt and
 * its event checked) against a pinned ProofCreditReceipts reader when one is given. A record once
 * VALID stays valid (receipts are immutable): its result is cached; others are re-checked.
 * On a node-layout data dir the records are read from the node storing the most of them, as
 * `amp credits --data` does (src/cli/data-dir.ts `mostAllocationsNode`).
 */
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { ARCHIVE_FILE } from "../chain/runner";
import type { ReceiptsReader } from "../credits/chain";
import { rankNodes } from "../credits/rank";
import type { AllocationRecord } from "../credits/record";
import { ReceiptInvalidError, verifyReceipt } from "../credits/verify";
import { oneLine } from "../util/errors";
import { mostAllocationsNode, type DataDirLayout } from "../cli/data-dir";

export interface ReceiptCheck {
  /** valid / invalid (naming the field) / pending (no transaction yet) / unchecked (no chain pinned) / error (chain unreachable). */
  readonly status: "valid" | "invalid" | "pending" | "unchecked" | "error";
  readonly detail: string;
}

export interface CreditAllocationView {
  readonly epoch: string;
  readonly origin: string;
  readonly node: string;
  readonly allocationHash: string;
  readonly score: string;
  readonly weight: string;
  readonly accuracy: string;
  readonly participation: string;
  readonly proofsValidated: string;
  readonly driftFindings: number;
  readonly txHash: string | null;
  readonly blockNumber: number | null;
  readonly verification: ReceiptCheck;
}

export interface CreditRankView {
  readonly rank: number;
  readonly origin: string;
  readonly node: string;
  readonly epochs: number;
  readonly score: string;
  readonly accuracyPpm: string;
  readonly participationPpm: string;
}

export interface CreditsSnapshot {
  readonly receipts: string | null;
  /** Oldest epoch first, nodes by origin and id within an epoch. */
  readonly allocations: readonly CreditAllocationView[];
  readonly ranking: readonly CreditRankView[];
  /** The node whose records are shown (node-layout data dir). */
  readonly source?: string;
}

interface Row {
  epoch: number | bigint;
  origin: string;
  node: string;
  allocation_hash: string;
  record: string;
  tx_hash: string | null;
  block_number: number | bigint | null;
}

function readRows(dataDir: string): Row[] {
  const file = path.join(dataDir, ARCHIVE_FILE);
  if (!fs.existsSync(file)) return [];
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare(
        `SELECT a.epoch, a.origin, a.node, a.allocation_hash, a.record, r.tx_hash, r.block_number
         FROM credit_allocations a LEFT JOIN credit_receipts r ON r.epoch = a.epoch
         ORDER BY a.epoch, a.origin, a.node`,
      )
      .all() as Row[];
  } catch (e) {
    if (e instanceof Error && /no such table/.test(e.message)) return [];
    throw e;
  } finally {
    db.close();
  }
}

/** Receipt checks against one pinned reader; a VALID result is cached (receipts are immutable). */
export class ReceiptChecker {
  private readonly valid = new Map<string, ReceiptCheck>();

  constructor(
    readonly reader: ReceiptsReader | undefined,
    private readonly noChain = "no chain pinned (amp dashboard --rpc)",
  ) {}

  /** `record` (untrusted JSON) against the pinned contract; `recorded`: a transaction is claimed. */
  async check(hash: string, record: unknown, recorded: boolean): Promise<ReceiptCheck & { tx?: TxRef }> {
    const cached = this.valid.get(hash);
    if (cached) return cached;
    if (!this.reader) return { status: "unchecked", detail: this.noChain };
    if (!recorded) return { status: "pending", detail: "stored; its transaction is not confirmed yet" };
    try {
      const v = await verifyReceipt(record, this.reader, { depth: 1 });
      const ok = {
        status: "valid" as const,
        detail: `receipt in block ${v.blockNumber}, tx ${v.txHash}; hash recomputed`,
        tx: { txHash: v.txHash, blockNumber: v.blockNumber },
      };
      this.valid.set(hash, ok);
      return ok;
    } catch (e) {
      if (e instanceof ReceiptInvalidError) return { status: "invalid", detail: e.shortMessage };
      return { status: "error", detail: `cannot check: ${oneLine(e)}` };
    }
  }
}

export interface TxRef {
  readonly txHash: string;
  readonly blockNumber: number;
}

/** One allocation as the page shows it (the record already checked by checkRecord). */
export function allocationView(
  rec: AllocationRecord,
  hash: string,
  tx: TxRef | null,
  verification: ReceiptCheck,
): CreditAllocationView {
  return {
    epoch: rec.epoch,
    origin: rec.origin,
    node: rec.node,
    allocationHash: hash,
    score: rec.credit_score,
    weight: rec.governance_weight,
    accuracy: rec.inputs.validation_accuracy,
    participation: rec.inputs.consensus_participation,
    proofsValidated: rec.inputs.proofs_validated,
    driftFindings: rec.counts.drift_findings,
    txHash: tx?.txHash ?? null,
    blockNumber: tx?.blockNumber ?? null,
    verification: { status: verification.status, detail: verification.detail },
  };
}

/** The ranking over all epochs of `records` (src/credits/rank.ts) as the page shows it. */
export function rankingView(records: readonly AllocationRecord[]): CreditRankView[] {
  return rankNodes(records).map((n) => ({
    rank: n.rank,
    origin: n.origin,
    node: n.node,
    epochs: n.epochs,
    score: n.score,
    accuracyPpm: n.accuracyPpm.toString(),
    participationPpm: n.participationPpm.toString(),
  }));
}

export class CreditsData {
  private readonly checker: ReceiptChecker;

  /** `nodes`: a node-layout data dir's nodes (read from the one storing the most records). */
  constructor(
    readonly dataDir: string,
    private readonly reader?: ReceiptsReader,
    private readonly nodes: () => (DataDirLayout & { kind: "nodes" }) | undefined = () => undefined,
  ) {
    this.checker = new ReceiptChecker(reader);
  }

  async snapshot(): Promise<CreditsSnapshot> {
    const layout = this.nodes();
    const from = layout ? mostAllocationsNode(layout).node : undefined;
    const rows = readRows(from ? from.dir : this.dataDir);
    const records = rows.map((r) => JSON.parse(r.record) as AllocationRecord);
    const allocations = await Promise.all(
      rows.map(async (r, i): Promise<CreditAllocationView> => {
        const rec = records[i]!;
        const tx =
          r.tx_hash === null ? null : { txHash: r.tx_hash, blockNumber: Number(r.block_number ?? 0) };
        return allocationView(
          rec,
          r.allocation_hash,
          tx,
          await this.checker.check(r.allocation_hash, rec, r.tx_hash !== null),
        );
      }),
    );
    return {
      receipts: this.reader?.address ?? null,
      allocations,
      ranking: rankingView(records),
      ...(from ? { source: `${from.id}'s archive` } : {}),
    };
  }
}
