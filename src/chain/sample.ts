/**
 * A sample anchored round, built from real parts (real leaf hashes,
 * the global-root encoding, validators' EIP-712 signatures): what the run command shows before
 * the round engine drives anchoring, and a smoke test of a fresh deployment.
 */
import { sha256, toUtf8Bytes } from "ethers";
import { signCheckpoint, sortBySigner } from "../consensus/anchor-signature";
import type { Checkpoint } from "../crypto/note";
import type { AnchorDomain } from "../consensus/types";
import { AmpError } from "../util/errors";
import type { NodeKeys } from "../crypto/keys";
import { canonicalJson, leafHash } from "../merkle";
import { computeGlobalRoot } from "../nexus/global-root";
import { AnchorSubmitter } from "./anchor";
import type { AnchorResult, AnchorRoundInput } from "./anchor";
import type { ChainConnection } from "./connect";
import type { DeploymentRecord } from "./deployment";
import { federationIdOf } from "./ids";

const hex = (b: Uint8Array): string => "0x" + Buffer.from(b).toString("hex");

export interface SampleFederation {
  origin: string;
  epoch: bigint;
  keys: NodeKeys[];
}

export interface RoundCheckpoint extends SampleFederation {
  treeSize: bigint;
  rootHash: Uint8Array;
  consistencyProof?: Uint8Array[];
}

/**
 * The anchor input for `round`: federations in ascending federationId order, each checkpoint signed
 * (EIP-712) by the given keys with signatures sorted by signer, and the global root over them.
 */
export function signedRoundInput(
  domain: AnchorDomain,
  round: bigint,
  federations: RoundCheckpoint[],
): AnchorRoundInput {
  const sorted = [...federations].sort((a, b) =>
    BigInt(federationIdOf(a.origin)) < BigInt(federationIdOf(b.origin)) ? -1 : 1,
  );
  const checkpoints = sorted.map((f) => {
    const cp: Checkpoint = {
      origin: f.origin,
      treeSize: f.treeSize,
      rootHash: f.rootHash,
      round,
      epoch: f.epoch,
    };
    const signed = f.keys.map((k) => ({
      address: k.wallet.address,
      signature: signCheckpoint(k.wallet, domain, cp),
    }));
    return {
      federationId: federationIdOf(f.origin),
      epoch: f.epoch,
      treeSize: f.treeSize,
      rootHash: hex(f.rootHash),
      consistencyProof: (f.consistencyProof ?? []).map(hex),
      signatures: sortBySigner(signed),
    };
  });
  const globalRoot = hex(computeGlobalRoot(round, sorted));
  return { round, globalRoot, checkpoints };
}

/** A one-event tree per federation for `round` (leaf = JCS of a small sample event). */
export function sampleCheckpoints(round: bigint, federations: SampleFederation[]): RoundCheckpoint[] {
  return federations.map((f) => {
    const event = { sample: true, origin: f.origin, round: round.toString() };
    return { ...f, treeSize: 1n, rootHash: leafHash(new TextEncoder().encode(canonicalJson(event))) };
  });
}

/** Anchor round 1 of a fresh deployment with one sample event per federation. */
export async function anchorSampleRound(
  conn: ChainConnection,
  record: DeploymentRecord,
  federations: SampleFederation[],
): Promise<AnchorResult> {
  const submitter = await AnchorSubmitter.create(conn, record.contracts.globalProofAnchor, {
    fromBlock: record.deployBlock,
  });
  const round = await submitter.nextRound();
  if (round !== 1n)
    throw new AmpError("the sample round only fits a fresh deployment (round 1)", { kind: "conflict" });
  const domain = { chainId: conn.chainId, anchor: record.contracts.globalProofAnchor };
  return submitter.submit(signedRoundInput(domain, round, sampleCheckpoints(round, federations)));
}

/** nodeRef per docs/interfaces.md: SHA-256("amp/node/v1\n" + origin + "\n" + nodeId) (src/credits/record.ts has the same). */
export function nodeRefOf(origin: string, nodeId: string): string {
  return sha256(toUtf8Bytes(`amp/node/v1\n${origin}\n${nodeId}`));
}
