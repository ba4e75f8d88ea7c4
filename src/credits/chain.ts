/**
 * The chain side of credits: recording an epoch's allocations in one `recordAllocations`
 * transaction, and reading receipts back (storage: node reference and chain head; the event:
 * epoch, previous hash, block).
 */
import { JsonRpcApiProvider, toQuantity } from "ethers";
import type { AbstractProvider, Signer } from "ethers";

interface RawLog {
  topics: string[];
  data: string;
  blockNumber: string;
  transactionHash: string;
}
import { ProofCreditReceipts__factory } from "../../typechain-types";
import type { ProofCreditReceipts } from "../../typechain-types";
import { waitForReceipt } from "../chain/connect";
import { AmpError } from "../util/errors";

export interface ReceiptAllocation {
  readonly nodeRef: string;
  readonly allocationHash: string;
  readonly prevAllocationHash: string;
}

/** One `ProofCreditAllocated` event. */
export interface ReceiptEvent {
  readonly allocationHash: string;
  readonly nodeRef: string;
  readonly epoch: bigint;
  readonly prevAllocationHash: string;
  readonly blockNumber: number;
  readonly txHash: string;
}

/** What the scheduler needs from the chain (the tests substitute failing variants). */
export interface ReceiptsClient {
  /** Sends the batch and waits for its receipt. */
  recordAllocations(
    epoch: bigint,
    allocations: readonly ReceiptAllocation[],
  ): Promise<{ txHash: string; blockNumber: number }>;
  /** The event of an allocation hash, if recorded. */
  eventOf(allocationHash: string): Promise<ReceiptEvent | undefined>;
}

export class ReceiptsReader {
  readonly contract: ProofCreditReceipts;

  constructor(
    readonly address: string,
    readonly provider: AbstractProvider,
    readonly fromBlock = 0,
  ) {
    this.contract = ProofCreditReceipts__factory.connect(address, provider);
  }

  /** The node stored for an allocation hash (zero hash: none). */
  async nodeOf(allocationHash: string): Promise<string> {
    return this.contract.receiptOf(allocationHash);
  }

  async lastAllocationOf(nodeRef: string): Promise<string> {
    return this.contract.lastAllocationOf(nodeRef);
  }

  /**
   * ProofCreditAllocated logs by topic. Straight eth_getLogs when the provider speaks JSON-RPC:
   * ethers caches identical requests for 250 ms, which would hide a receipt recorded meanwhile.
   */
  private async events(
    allocationHash: string | undefined,
    nodeRef: string | undefined,
  ): Promise<ReceiptEvent[]> {
    const topics = await this.contract.filters.ProofCreditAllocated(allocationHash, nodeRef).getTopicFilter();
    const filter = {
      address: this.address,
      topics,
      fromBlock: toQuantity(this.fromBlock),
      toBlock: "latest",
    };
    const logs =
      this.provider instanceof JsonRpcApiProvider
        ? ((await this.provider.send("eth_getLogs", [filter])) as RawLog[]).map((l) => ({
            topics: l.topics,
            data: l.data,
            blockNumber: Number(l.blockNumber),
            transactionHash: l.transactionHash,
          }))
        : await this.provider.getLogs(filter);
    return logs.map((l) => {
      const parsed = this.contract.interface.parseLog({ topics: [...l.topics], data: l.data });
      if (!parsed)
        throw new AmpError(`unparseable ProofCreditAllocated log in ${l.transactionHash}`, { kind: "bug" });
      return {
        allocationHash: parsed.args.allocationHash as string,
        nodeRef: parsed.args.nodeRef as string,
        epoch: parsed.args.epoch as bigint,
        prevAllocationHash: parsed.args.prevAllocationHash as string,
        blockNumber: l.blockNumber,
        txHash: l.transactionHash,
      };
    });
  }

  async eventOf(allocationHash: string): Promise<ReceiptEvent | undefined> {
    const found = await this.events(allocationHash, undefined);
    if (found.length > 1) {
      throw new AmpError(`${found.length} events for allocation ${allocationHash}`, { kind: "bug" });
    }
    return found[0];
  }

  /** Every receipt event of a node, in chain order. */
  async eventsOfNode(nodeRef: string): Promise<ReceiptEvent[]> {
    return this.events(undefined, nodeRef);
  }
}

/** ReceiptsClient over a signer with ALLOCATOR_ROLE. */
export class EthersReceiptsClient extends ReceiptsReader implements ReceiptsClient {
  constructor(
    address: string,
    provider: AbstractProvider,
    private readonly signer: Signer,
    fromBlock = 0,
  ) {
    super(address, provider, fromBlock);
  }

  async recordAllocations(
    epoch: bigint,
    allocations: readonly ReceiptAllocation[],
  ): Promise<{ txHash: string; blockNumber: number }> {
    const c = this.contract.connect(this.signer);
    const tx = await c.recordAllocations(epoch, [...allocations]);
    const r = await waitForReceipt(this.provider, tx.hash);
    if (r.status !== 1)
      throw new AmpError(`recordAllocations of epoch ${epoch} reverted`, { kind: "conflict" });
    return { txHash: r.hash, blockNumber: r.blockNumber };
  }
}
