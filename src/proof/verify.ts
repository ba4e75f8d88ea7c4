/**
 * Verify an `amp-proof/v1` file with nothing but the file and an RPC endpoint.
 *
 * Order: the file's own consistency and leaf; then the chain authenticates the root (chain id,
 * contract code, anchored global root and checkpoint, the anchoring transaction, the quorum of
 * registered EIP-712 signers); then the global root is recomputed and the signed note checked;
 * last the inclusion path, locally and by the contract. The first failure is returned as a
 * {@link ProofInvalidError} naming the field.
 */
import { createPublicClient, custom, http } from "viem";
import type { PublicClient } from "viem";
import type { Eip1193 } from "../chain/connect";
import { isCompact, parseProofFile } from "./format";
import type { ProofFile } from "./format";
import {
  checkAnchoredState,
  checkAnchorTx,
  checkChainAndContract,
  checkInclusionOnChain,
  checkQuorum,
  registryOf,
} from "./verify-chain";
import {
  checkConsistency,
  checkEvent,
  checkGlobalRoot,
  checkInclusionLocally,
  checkSignedNote,
} from "./verify-local";

export { ProofInvalidError } from "./errors";

export interface VerifiedProof {
  eventId: string;
  origin: string;
  index: bigint;
  treeSize: bigint;
  round: bigint;
  chainId: bigint;
  txHash: string;
  blockNumber: bigint;
  signers: string[];
  signedWeight: bigint;
  totalWeight: bigint;
  /** ML-DSA signatures on the cosigned note: the federation's votes and the other federations' witnesses. */
  noteVotes: number;
  noteCosignatures: number;
  /** The layers checked: the on-chain EIP-712 quorum always; the ML-DSA note unless the proof is compact. */
  layers: { onChainQuorum: true; postQuantumNote: boolean };
}

/** A read-only viem client for an RPC URL or an EIP-1193 provider. */
export function publicClientFor(target: string | Eip1193): PublicClient {
  const transport = typeof target === "string" ? http(target, { retryCount: 1 }) : custom(target);
  return createPublicClient({ transport });
}

/** Verify a parsed proof; throws ProofInvalidError (field + reason) on the first failure. */
export async function verifyProof(p: ProofFile, client: PublicClient): Promise<VerifiedProof> {
  checkConsistency(p);
  checkEvent(p);
  await checkChainAndContract(client, p);
  await checkAnchoredState(client, p);
  await checkAnchorTx(client, p);
  const quorum = await checkQuorum(client, p, await registryOf(client, p));
  checkGlobalRoot(p);
  const note = isCompact(p) ? { votes: 0, cosignatures: 0 } : checkSignedNote(p);
  checkInclusionLocally(p);
  await checkInclusionOnChain(client, p);
  return {
    eventId: p.event.id,
    origin: p.federation.origin,
    index: BigInt(p.inclusion.index),
    treeSize: BigInt(p.inclusion.treeSize),
    round: BigInt(p.anchor.round),
    chainId: BigInt(p.anchor.chainId),
    txHash: p.anchor.txHash,
    blockNumber: BigInt(p.anchor.blockNumber),
    ...quorum,
    noteVotes: note.votes,
    noteCosignatures: note.cosignatures,
    layers: { onChainQuorum: true, postQuantumNote: !isCompact(p) },
  };
}

/** Parse then verify proof-file text. */
export async function verifyProofText(text: string, client: PublicClient): Promise<VerifiedProof> {
  return verifyProof(parseProofFile(text), client);
}
