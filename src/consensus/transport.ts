/** InProcessTransport: the Transport for one process (embedded default, tests, benchmark). */
import { AmpError } from "../util/errors";
import type { BatchDelivery, Transport, VoteRequest, VoteResponse } from "./types";

/** What a validator exposes to a transport. */
export interface TransportEndpoint {
  readonly nodeId: string;
  receiveBatch(batch: BatchDelivery): void;
  handleVoteRequest(request: VoteRequest): Promise<VoteResponse>;
  entries(origin: string, round: bigint, from: number, count: number): Uint8Array[];
}

export class InProcessTransport implements Transport {
  private readonly nodes = new Map<string, TransportEndpoint>();

  register(node: TransportEndpoint): void {
    this.nodes.set(node.nodeId, node);
  }

  private node(nodeId: string): TransportEndpoint {
    const n = this.nodes.get(nodeId);
    if (!n) throw new AmpError(`no node ${nodeId} on this transport`, { kind: "not-found" });
    return n;
  }

  deliverBatch(nodeId: string, batch: BatchDelivery): Promise<void> {
    this.node(nodeId).receiveBatch(batch);
    return Promise.resolve();
  }

  /** Each node answers in its own macrotask, so the coordinator checks a vote as soon as it exists. */
  async requestVote(nodeId: string, request: VoteRequest): Promise<VoteResponse> {
    const node = this.node(nodeId);
    await new Promise<void>((resolve) => setImmediate(resolve));
    return node.handleVoteRequest(request);
  }

  fetchEntries(
    peerId: string,
    origin: string,
    round: bigint,
    from: number,
    count: number,
  ): Promise<Uint8Array[]> {
    return Promise.resolve(this.node(peerId).entries(origin, round, from, count));
  }
}
