/**
 * EIP-712 signatures over the anchor data (docs/interfaces.md "EIP-712"): what validators' secp256k1
 * keys sign and what GlobalProofAnchor checks. The digest comes from src/chain/eip712.ts.
 */
import { Signature, getAddress, recoverAddress, type Wallet } from "ethers";
import { checkpointTypedDataHash } from "../chain/eip712";
import { federationIdOf } from "../chain/ids";
import type { Checkpoint } from "../crypto/note";
import type { AnchorDomain } from "./types";

const HALF_N = BigInt("0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0");

/** Recent digests: every vote of a round signs and checks the same checkpoint. */
const digestCache = new Map<string, string>();

/** The EIP-712 digest the anchor recomputes (`checkpointDigest`). */
export function checkpointDigest(domain: AnchorDomain, cp: Checkpoint): string {
  const root = Buffer.from(cp.rootHash).toString("hex");
  const key = `${domain.chainId}/${domain.anchor}/${cp.origin}/${cp.epoch}/${cp.round}/${cp.treeSize}/${root}`;
  const hit = digestCache.get(key);
  if (hit !== undefined) return hit;
  const digest = computeDigest(domain, cp);
  if (digestCache.size >= 64) digestCache.delete(digestCache.keys().next().value!);
  digestCache.set(key, digest);
  return digest;
}

function computeDigest(domain: AnchorDomain, cp: Checkpoint): string {
  return checkpointTypedDataHash(domain.chainId, domain.anchor, {
    federationId: federationIdOf(cp.origin),
    epoch: cp.epoch,
    round: cp.round,
    treeSize: cp.treeSize,
    rootHash: "0x" + Buffer.from(cp.rootHash).toString("hex"),
  });
}

/** 65-byte r ‖ s ‖ v signature (v ∈ {27, 28}, low s), 0x-hex. */
export function signCheckpoint(wallet: Wallet, domain: AnchorDomain, cp: Checkpoint): string {
  return wallet.signingKey.sign(checkpointDigest(domain, cp)).serialized;
}

/** Recovered signer address, or undefined for a malformed or non-canonical signature. */
export function recoverCheckpointSigner(
  domain: AnchorDomain,
  cp: Checkpoint,
  sig: string,
): string | undefined {
  try {
    if (!/^0x[0-9a-fA-F]{130}$/.test(sig)) return undefined;
    const v = parseInt(sig.slice(130), 16);
    if ((v !== 27 && v !== 28) || BigInt("0x" + sig.slice(66, 130)) > HALF_N) return undefined;
    const s = Signature.from(sig);
    return getAddress(recoverAddress(checkpointDigest(domain, cp), s));
  } catch {
    return undefined;
  }
}

/** Sort signatures by their signer address ascending (as the anchor requires). */
export function sortBySigner(entries: readonly { address: string; signature: string }[]): string[] {
  return [...entries]
    .sort((a, b) => {
      const x = BigInt(a.address);
      const y = BigInt(b.address);
      return x < y ? -1 : x > y ? 1 : 0;
    })
    .map((e) => e.signature);
}
