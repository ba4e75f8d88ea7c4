/**
 * Verify an `amp-proof/v1` file against a deployment the verifier pinned (a trust policy or an
 * anchor address) through an RPC endpoint. Nothing that decides validity is taken from the file:
 * the anchor and chain must be the pinned ones, the registry is the one the pinned anchor reads,
 * and ML-DSA keys count only when their commitment is registered.
 *
 * Order: the file's own consistency and leaf; the trust root (chain id, anchor, code hashes,
 * registry, federation); the anchored state and the anchoring transaction (with confirmations);
 * the EIP-712 quorum; the recomputed global root; the ML-DSA cosigned note (> 2/3 votes, > 2/3 of
 * each witnessing federation); optionally no recovery epochs; last the inclusion path, locally and
 * by the contract. The first failure is thrown as a {@link ProofInvalidError} naming the field.
 */
import { createPublicClient, custom, http } from "viem";
import type { Hex, PublicClient } from "viem";
import type { Eip1193 } from "../chain/connect";
import { ProofInvalidError } from "./errors";
import { isCompact, parseProofFile } from "./format";
import type { ProofFile } from "./format";
import {
  checkAnchoredState,
  checkAnchorTx,
  checkInclusionOnChain,
  checkNoRecoveryEpochs,
  checkQuorum,
} from "./verify-chain";
import { checkConsistency, checkEvent, checkGlobalRoot, checkInclusionLocally } from "./verify-local";
import { checkSignedNote } from "./verify-note";
import type { NoteWeight } from "./verify-note";
import { checkTrust } from "./verify-trust";
import type { PinnedTrust, TrustRoot } from "./verify-trust";

export { ProofInvalidError } from "./errors";
export type { PinnedTrust, TrustRoot } from "./verify-trust";
export type { NoteWeight } from "./verify-note";

/** Largest proof file `verifyProofText` accepts (bytes; the note and its keys are most of it). */
export const MAX_PROOF_BYTES = 2 * 1024 * 1024;

export interface VerifyOptions {
  /** Blocks the anchoring transaction's block must have on top, itself included (default 1). */
  confirmations?: number;
  /** Refuse checkpoints whose epoch (or a witnessing federation's) was created by a recovery rotation. */
  noRecoveryEpochs?: boolean;
}

export interface VerifiedProof {
  eventId: string;
  /** False for a digest-only proof: the leaf hash is proven, the event id is only a claim of the file. */
  eventIdChecked: boolean;
  leafHash: string;
  origin: string;
  index: bigint;
  treeSize: bigint;
  round: bigint;
  chainId: bigint;
  txHash: string;
  blockNumber: bigint;
  /** EIP-712 signers the anchor checked, with their weight in the checkpoint's epoch. */
  signers: string[];
  signedWeight: bigint;
  totalWeight: bigint;
  /** ML-DSA weight on the cosigned note under registered keys: votes, and each witnessing federation. */
  /** Absent for a compact proof (no ML-DSA note). */
  noteVotes: NoteWeight | undefined;
  noteWitnesses: NoteWeight[];
  /** What was trusted. */
  trust: PinnedTrust;
  /** The layers checked: the on-chain EIP-712 quorum always; the ML-DSA note unless the proof is compact. */
  layers: { onChainQuorum: true; postQuantumNote: boolean };
}

/** A read-only viem client for an RPC URL or an EIP-1193 provider. */
export function publicClientFor(target: string | Eip1193): PublicClient {
  const transport = typeof target === "string" ? http(target, { retryCount: 1 }) : custom(target);
  return createPublicClient({ transport });
}

/** Verify a parsed proof against the trust root; throws ProofInvalidError (field + reason) on the first failure. */
export async function verifyProof(
  p: ProofFile,
  client: PublicClient,
  root: TrustRoot,
  opts: VerifyOptions = {},
): Promise<VerifiedProof> {
  checkConsistency(p);
  checkEvent(p);
  const trust = await checkTrust(client, p, root);
  const registry = trust.registry as Hex;
  await checkAnchoredState(client, p);
  await checkAnchorTx(client, p, opts.confirmations ?? 1);
  const quorum = await checkQuorum(client, p, registry);
  checkGlobalRoot(p);
  const compact = isCompact(p);
  const note = compact ? undefined : await checkSignedNote(client, p, registry);
  if (opts.noRecoveryEpochs) {
    // A compact proof has no note: only the federation's own epoch of the checkpoint is known.
    const own = {
      origin: p.federation.origin,
      epoch: BigInt(p.checkpoint.epoch),
      signatures: 0,
      signedWeight: 0n,
      totalWeight: 0n,
    };
    await checkNoRecoveryEpochs(client, p, registry, note ? [note.votes, ...note.witnesses] : [own]);
  }
  checkInclusionLocally(p);
  await checkInclusionOnChain(client, p);
  return {
    eventId: p.event.id,
    eventIdChecked: p.event.canonical !== undefined,
    leafHash: p.event.leafHash,
    origin: p.federation.origin,
    index: BigInt(p.inclusion.index),
    treeSize: BigInt(p.inclusion.treeSize),
    round: BigInt(p.anchor.round),
    chainId: BigInt(p.anchor.chainId),
    txHash: p.anchor.txHash,
    blockNumber: BigInt(p.anchor.blockNumber),
    ...quorum,
    noteVotes: note?.votes,
    noteWitnesses: note?.witnesses ?? [],
    trust,
    layers: { onChainQuorum: true, postQuantumNote: !compact },
  };
}

/** Parse then verify proof-file text (at most {@link MAX_PROOF_BYTES} UTF-8 bytes). */
export async function verifyProofText(
  text: string,
  client: PublicClient,
  root: TrustRoot,
  opts: VerifyOptions = {},
): Promise<VerifiedProof> {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > MAX_PROOF_BYTES) {
    throw new ProofInvalidError(
      "file",
      `is ${bytes} bytes, more than the ${MAX_PROOF_BYTES} a proof may have`,
    );
  }
  return verifyProof(parseProofFile(text), client, root, opts);
}
