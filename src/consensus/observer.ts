/**
 * What the coordinator shows an observer (the drift monitor) after each vote collection, before
 * the round finalises: every node's validly signed checkpoint(s), when its answer arrived, and the
 * round's batch. Observers MUST NOT block or throw into the round: they are called synchronously,
 * any exception is logged and dropped, and their work continues asynchronously.
 */
import type { Checkpoint } from "../crypto/note";
import type { Vote } from "./types";

export interface ObservedCheckpoint {
  readonly body: string;
  readonly checkpoint: Checkpoint;
  readonly vote: Vote;
}

export interface ObservedProposal {
  readonly nodeId: string;
  readonly weight: bigint;
  /** The node's registered EVM address (its clock stamps recover to it). */
  readonly address: string;
  /** Validly signed checkpoints of this node for the round (more than one: equivocation). */
  readonly checkpoints: readonly ObservedCheckpoint[];
  /** Coordinator's Date.now() when this node's last answer arrived. */
  readonly receivedAtMs: number;
  /**
   * Coordinator's Date.now() when the request behind that answer was sent: the stamp was taken
   * between the two, so half the round trip bounds the error of a clock-offset estimate.
   */
  readonly askedAtMs?: number;
}

export interface VoteCollection {
  readonly origin: string;
  readonly epoch: bigint;
  readonly round: bigint;
  readonly attempt: number;
  readonly baseSize: bigint;
  /** The batch as proposed (canonical event bytes, log order). */
  readonly entries: readonly Uint8Array[];
  /** RFC 9162 leaf hashes of `entries` (optional: computed by the observer when absent). */
  readonly leafHashes?: readonly Uint8Array[];
  /** The coordinator's own checkpoint for the batch. */
  readonly expected: { readonly treeSize: bigint; readonly rootHash: Uint8Array };
  /** Nodes with at least one validly signed vote so far this round. */
  readonly proposals: readonly ObservedProposal[];
  /** Members without a valid vote in this collection. */
  readonly silent: readonly string[];
  /** performance.now() when the last vote of this collection was checked. */
  readonly lastVoteAt: number;
}

export type VoteObserver = (collection: VoteCollection) => void;
