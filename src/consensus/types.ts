/**
 * Shared consensus types: federation members, votes, quorum certificates and the Transport that
 * carries batches and vote requests between the round's coordinator and the validators.
 */
import type { Checkpoint } from "../crypto/note";
import type { ClockStamp } from "./clock-stamp";

/** One validator of a federation in one epoch (from the manifest / ValidatorRegistry). */
export interface FederationMember {
  readonly nodeId: string;
  /** C2SP key name used in signed notes: `<origin>/<nodeId>`. */
  readonly keyName: string;
  readonly mldsaPublicKey: Uint8Array;
  /** EVM address of the node's secp256k1 key (checksummed). */
  readonly address: string;
  /** Integer governance weight (basis points). */
  readonly weight: bigint;
}

export interface FederationConfig {
  readonly origin: string;
  readonly epoch: bigint;
  readonly members: readonly FederationMember[];
}

/** EIP-712 domain the anchor contract uses. */
export interface AnchorDomain {
  readonly chainId: bigint;
  readonly anchor: string;
}

/** A validator's vote: the signed note (one ML-DSA signature) and the EIP-712 signature. */
export interface Vote {
  readonly nodeId: string;
  /** C2SP signed note text over the checkpoint body (context `amp/vote/v1`). */
  readonly note: string;
  /** 65-byte EIP-712 secp256k1 signature, 0x-hex (r ‖ s ‖ v). */
  readonly eip712Signature: string;
  /** The node's signed wall clock when it answered (optional: older nodes send none). */
  readonly clock?: ClockStamp;
}

/** What the coordinator asks a validator to vote on. */
export interface VoteRequest {
  readonly origin: string;
  readonly epoch: bigint;
  readonly round: bigint;
  /** Log size before this round's batch (the last final checkpoint). */
  readonly baseSize: bigint;
  /** Root at `baseSize` (the last final checkpoint): a node one round behind catches up to it. */
  readonly baseRoot: Uint8Array;
  /** Number of entries in the batch. */
  readonly batchSize: number;
  /**
   * RFC 9162 root of the batch's leaf hashes (from the sealed proposal). A node checks its batch
   * reproduces it before signing, and keys its signed state by (round, baseSize, batchRoot): a
   * re-proposal of the same batch gets the stored vote again, another batch for a signed round is
   * refused. Optional only for callers that predate sealed proposals.
   */
  readonly batchRoot?: Uint8Array;
  /** 1-based attempt number (≤ 3). */
  readonly attempt: number;
  /**
   * The coordinator's ballot for this round (node layout: prepare/promise, see ValidatorNode.promise).
   * A validator that promised a higher ballot for the round refuses the request. Absent = 0.
   */
  readonly ballot?: bigint;
  /** Peers to fetch missing batch entries from (resync). */
  readonly peers: readonly string[];
}

export type VoteResponse =
  | { readonly kind: "vote"; readonly votes: readonly Vote[] }
  | { readonly kind: "missing"; readonly have: number }
  | { readonly kind: "refused"; readonly reason: string };

/** A batch as delivered to validators: canonical (JCS) event bytes in log order. */
export interface BatchDelivery {
  readonly origin: string;
  readonly round: bigint;
  readonly entries: readonly Uint8Array[];
  /** The coordinator's ballot (see VoteRequest.ballot); refused under a higher promise. Absent = 0. */
  readonly ballot?: bigint;
}

/**
 * How the coordinator and validators talk. `InProcessTransport` calls nodes directly; an HTTP
 * transport implements the same three calls between processes.
 */
export interface Transport {
  deliverBatch(nodeId: string, batch: BatchDelivery): Promise<void>;
  requestVote(nodeId: string, request: VoteRequest): Promise<VoteResponse>;
  /** Entries [from, from+count) of the round's batch as held by `peerId`. */
  fetchEntries(
    peerId: string,
    origin: string,
    round: bigint,
    from: number,
    count: number,
  ): Promise<Uint8Array[]>;
}

/** A final checkpoint with the quorum's signatures. */
export interface QuorumCertificate {
  readonly checkpoint: Checkpoint;
  /** Signed note with the ML-DSA vote signatures of the quorum (context `amp/vote/v1`). */
  readonly note: string;
  readonly signers: readonly string[];
  readonly signedWeight: bigint;
  readonly totalWeight: bigint;
  /** EIP-712 signatures of the quorum, sorted by signer address ascending (for the anchor). */
  readonly eip712Signatures: readonly string[];
}

/**
 * Test/demo hook that makes a node drift (src/drift/injector.ts implements it): the node votes on
 * altered entries and/or reports a skewed wall clock. Honest nodes have none.
 */
export interface DriftHook {
  /** Entries the node votes on instead of the delivered ones (undefined: honest this round). */
  driftedEntries(
    nodeId: string,
    round: bigint,
    entries: readonly Uint8Array[],
  ): { readonly entries: Uint8Array[]; readonly equivocate: boolean } | undefined;
  /** Milliseconds added to the node's wall clock in this round (0: none). */
  clockSkewMs(nodeId: string, round: bigint): number;
}
