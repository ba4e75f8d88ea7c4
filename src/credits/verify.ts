/**
 * Receipt verification (`amp receipt verify`): an allocation record against the pinned
 * ProofCreditReceipts contract. Recomputes every derived field and the allocation hash, checks
 * the on-chain receipt (node reference in storage; epoch, previous hash and block in its event),
 * then walks the node's chain of previous hashes back to its first receipt (or `depth` links).
 * A tampered record fails with ReceiptInvalidError naming the field.
 */
import { AmpError } from "../util/errors";
import type { ReceiptEvent, ReceiptsReader } from "./chain";
import { AllocationRecordError, ZERO_HASH, allocationHash, checkRecord } from "./record";

/** The record does not match the chain (or itself); `field` names what was changed. */
export class ReceiptInvalidError extends AmpError {
  override name = "ReceiptInvalidError";
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`, { kind: "invalid-input", meta: { field } });
  }
}

export interface VerifiedReceipt {
  readonly allocationHash: string;
  readonly origin: string;
  readonly node: string;
  readonly nodeRef: string;
  readonly epoch: bigint;
  readonly blockNumber: number;
  readonly txHash: string;
  /** The receipts walked, newest first (this one included). */
  readonly chain: readonly ReceiptEvent[];
  /** True when the walk reached the node's first receipt (previous hash zero). */
  readonly reachedFirst: boolean;
}

/** Names the field of a record whose hash has no receipt, from the node's receipts. */
async function diagnose(
  reader: ReceiptsReader,
  r: { node_ref: string; origin: string; node: string; epoch: string; prev_allocation_hash: string },
  hash: string,
): Promise<never> {
  const events = await reader.eventsOfNode(r.node_ref);
  if (events.length === 0) {
    throw new ReceiptInvalidError(
      "node",
      `no receipt exists for node ${r.origin}/${r.node} (node_ref ${r.node_ref})`,
    );
  }
  // A node's receipt after a given previous hash is unique (the chain is enforced on-chain).
  const byPrev = events.find((e) => e.prevAllocationHash === r.prev_allocation_hash);
  if (byPrev && byPrev.epoch.toString() !== r.epoch) {
    throw new ReceiptInvalidError(
      "epoch",
      `the node's receipt after this previous hash is of epoch ${byPrev.epoch}`,
    );
  }
  if (byPrev) {
    throw new ReceiptInvalidError(
      "salt, rounds, counts, evidence or params",
      `the record hashes to ${hash} but the node's receipt of epoch ${r.epoch} is ${byPrev.allocationHash}`,
    );
  }
  const sameEpoch = events.find((e) => e.epoch.toString() === r.epoch);
  if (sameEpoch) {
    throw new ReceiptInvalidError(
      "prev_allocation_hash",
      `the node's receipt of epoch ${r.epoch} chains on ${sameEpoch.prevAllocationHash}`,
    );
  }
  throw new ReceiptInvalidError(
    "epoch and prev_allocation_hash",
    `the node has no receipt of epoch ${r.epoch} nor one chaining on this previous hash`,
  );
}

export async function verifyReceipt(
  raw: unknown,
  reader: ReceiptsReader,
  opts: { depth?: number } = {},
): Promise<VerifiedReceipt> {
  let r;
  try {
    r = checkRecord(raw);
  } catch (e) {
    if (e instanceof AllocationRecordError) throw new ReceiptInvalidError(e.field, e.shortMessage);
    throw e;
  }
  const hash = allocationHash(r);
  const stored = await reader.nodeOf(hash);
  if (stored === ZERO_HASH) return diagnose(reader, r, hash);
  if (stored !== r.node_ref) throw new ReceiptInvalidError("node_ref", `the receipt is of node ${stored}`);
  const event = await reader.eventOf(hash);
  if (!event) throw new ReceiptInvalidError("allocation_hash", "stored on-chain but its event was not found");
  if (event.epoch.toString() !== r.epoch) {
    throw new ReceiptInvalidError("epoch", `the receipt's epoch is ${event.epoch}`);
  }
  if (event.prevAllocationHash !== r.prev_allocation_hash) {
    throw new ReceiptInvalidError(
      "prev_allocation_hash",
      `the receipt chains on ${event.prevAllocationHash}`,
    );
  }
  const chain: ReceiptEvent[] = [event];
  let cur = event;
  while (cur.prevAllocationHash !== ZERO_HASH && (opts.depth === undefined || chain.length <= opts.depth)) {
    const prev = await reader.eventOf(cur.prevAllocationHash);
    const node = await reader.nodeOf(cur.prevAllocationHash);
    if (!prev || node !== r.node_ref || prev.nodeRef !== r.node_ref) {
      throw new ReceiptInvalidError(
        "prev_allocation_hash",
        `chain broken at ${cur.prevAllocationHash}: no receipt of this node`,
      );
    }
    if (prev.epoch > cur.epoch) {
      throw new ReceiptInvalidError(
        "prev_allocation_hash",
        `chain goes forward in epochs at ${prev.allocationHash}`,
      );
    }
    chain.push(prev);
    cur = prev;
  }
  return {
    allocationHash: hash,
    origin: r.origin,
    node: r.node,
    nodeRef: r.node_ref,
    epoch: event.epoch,
    blockNumber: event.blockNumber,
    txHash: event.txHash,
    chain,
    reachedFirst: cur.prevAllocationHash === ZERO_HASH,
  };
}
