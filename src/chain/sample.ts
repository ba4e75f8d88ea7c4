/**
 * A sample anchored round and a sample credit receipt, built from real parts (real leaf hashes,
 * the global-root encoding, validators' EIP-712 signatures): what the run command shows before
 * the round engine drives anchoring, and a smoke test of a fresh deployment.
 */
import { ZeroHash, sha256, toUtf8Bytes } from "ethers";
import { ProofCreditReceipts__factory } from "../../typechain-types";
import { signCheckpoint, sortBySigner } from "../consensus/anchor-signature";
import type { Checkpoint } from "../crypto/note";
import type { NodeKeys } from "../crypto/keys";
import { canonicalJson, leafHash } from "../merkle";
import { computeGlobalRoot } from "../nexus/global-root";
import { AnchorSubmitter } from "./anchor";
import type { AnchorResult, CheckpointSubmissionInput } from "./anchor";
import { waitForReceipt } from "./connect";
import type { ChainConnection } from "./connect";
import type { DeploymentRecord } from "./deployment";
import { federationIdOf } from "./ids";

const hex = (b: Uint8Array): string => "0x" + Buffer.from(b).toString("hex");

export interface SampleFederation {
  origin: string;
  epoch: bigint;
  keys: NodeKeys[];
}

/** Anchor the next round with one sample event per federation (tree size grows by one). */
export async function anchorSampleRound(
  conn: ChainConnection,
  record: DeploymentRecord,
  federations: SampleFederation[],
): Promise<AnchorResult> {
  const submitter = await AnchorSubmitter.create(conn, record.contracts.globalProofAnchor);
  const round = await submitter.nextRound();
  const domain = { chainId: conn.chainId, anchor: record.contracts.globalProofAnchor };
  const sorted = [...federations].sort((a, b) =>
    BigInt(federationIdOf(a.origin)) < BigInt(federationIdOf(b.origin)) ? -1 : 1,
  );
  const checkpoints: Checkpoint[] = sorted.map((f) => {
    const event = { sample: true, origin: f.origin, round: round.toString() };
    const root = leafHash(new TextEncoder().encode(canonicalJson(event)));
    return { origin: f.origin, treeSize: 1n, rootHash: root, round, epoch: f.epoch };
  });
  if (round !== 1n) throw new Error("the sample round only fits a fresh deployment (round 1)");
  const submissions: CheckpointSubmissionInput[] = checkpoints.map((cp, i) => ({
    federationId: federationIdOf(cp.origin),
    epoch: cp.epoch,
    treeSize: cp.treeSize,
    rootHash: hex(cp.rootHash),
    consistencyProof: [],
    signatures: sortBySigner(
      sorted[i]!.keys.map((k) => ({
        address: k.wallet.address,
        signature: signCheckpoint(k.wallet, domain, cp),
      })),
    ),
  }));
  const globalRoot = hex(
    computeGlobalRoot(
      round,
      checkpoints.map((c) => ({ origin: c.origin, treeSize: c.treeSize, rootHash: c.rootHash })),
    ),
  );
  return submitter.submit({ round, globalRoot, checkpoints: submissions });
}

/** nodeRef per docs/interfaces.md: SHA-256("amp/node/v1\n" + origin + "\n" + nodeId). */
export function nodeRefOf(origin: string, nodeId: string): string {
  return sha256(toUtf8Bytes(`amp/node/v1\n${origin}\n${nodeId}`));
}

export interface SampleReceipt {
  allocationHash: string;
  nodeRef: string;
  txHash: string;
  gasUsed: bigint;
}

/** Record one sample allocation receipt (hash-only) for a node. */
export async function recordSampleReceipt(
  conn: ChainConnection,
  record: DeploymentRecord,
  origin: string,
  nodeId: string,
): Promise<SampleReceipt> {
  const receipts = ProofCreditReceipts__factory.connect(
    record.contracts.proofCreditReceipts,
    await conn.signer(),
  );
  const nodeRef = nodeRefOf(origin, nodeId);
  const allocation = { epoch: 1, node: nodeId, origin, prev_allocation_hash: ZeroHash, sample: true };
  const allocationHash = sha256(toUtf8Bytes(canonicalJson(allocation)));
  const tx = await receipts.recordAllocation(1n, nodeRef, allocationHash, ZeroHash);
  const r = await waitForReceipt(conn.provider, tx.hash);
  return { allocationHash, nodeRef, txHash: r.hash, gasUsed: r.gasUsed };
}
