/**
 * EIP-712 constants of GlobalProofAnchor (docs/interfaces.md "EIP-712") and a typed-data builder for
 * ethers' `Wallet.signTypedData` / `TypedDataEncoder`. Validators sign `Checkpoint` with their
 * secp256k1 key; the anchor recomputes the same digest (`checkpointDigest`).
 */
import { TypedDataEncoder, type TypedDataDomain, type TypedDataField } from "ethers";

/** EIP-712 domain name of GlobalProofAnchor. */
export const ANCHOR_DOMAIN_NAME = "AMP GlobalProofAnchor";
/** EIP-712 domain version of GlobalProofAnchor. */
export const ANCHOR_DOMAIN_VERSION = "1";

/** The signed type: Checkpoint(bytes32 federationId,uint64 epoch,uint64 round,uint64 treeSize,bytes32 rootHash). */
export const CHECKPOINT_TYPES: Record<string, TypedDataField[]> = {
  Checkpoint: [
    { name: "federationId", type: "bytes32" },
    { name: "epoch", type: "uint64" },
    { name: "round", type: "uint64" },
    { name: "treeSize", type: "uint64" },
    { name: "rootHash", type: "bytes32" },
  ],
};

/** The values a validator signs for one federation's checkpoint of one round. */
export interface CheckpointMessage {
  /** 0x-prefixed bytes32, SHA-256(utf8(origin)). */
  federationId: string;
  epoch: bigint;
  round: bigint;
  treeSize: bigint;
  /** 0x-prefixed bytes32. */
  rootHash: string;
}

/** Everything `Wallet.signTypedData(domain, types, message)` needs. */
export interface CheckpointTypedData {
  domain: TypedDataDomain;
  types: Record<string, TypedDataField[]>;
  primaryType: "Checkpoint";
  message: CheckpointMessage;
}

/** The anchor's EIP-712 domain on chain `chainId` at address `anchor`. */
export function anchorDomain(chainId: bigint, anchor: string): TypedDataDomain {
  return { name: ANCHOR_DOMAIN_NAME, version: ANCHOR_DOMAIN_VERSION, chainId, verifyingContract: anchor };
}

/** Typed data of a checkpoint for the anchor at `anchor` on chain `chainId`. */
export function checkpointTypedData(
  chainId: bigint,
  anchor: string,
  message: CheckpointMessage,
): CheckpointTypedData {
  return {
    domain: anchorDomain(chainId, anchor),
    types: CHECKPOINT_TYPES,
    primaryType: "Checkpoint",
    message,
  };
}

/** The EIP-712 digest of a checkpoint, equal to the anchor's `checkpointDigest(...)`. */
export function checkpointTypedDataHash(chainId: bigint, anchor: string, message: CheckpointMessage): string {
  return TypedDataEncoder.hash(anchorDomain(chainId, anchor), CHECKPOINT_TYPES, message);
}
