/**
 * EIP-712 constants of GlobalProofAnchor and ValidatorRegistry (docs/interfaces.md "EIP-712") and typed-data builders for
 * ethers' `Wallet.signTypedData` / `TypedDataEncoder`. Validators sign `Checkpoint` with their
 * secp256k1 key; the anchor recomputes the same digest (`checkpointDigest`).
 */
import { AbiCoder, getAddress, keccak256, TypedDataEncoder, ZeroHash } from "ethers";
import type { TypedDataDomain, TypedDataField } from "ethers";

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

/** EIP-712 domain name of ValidatorRegistry (rotations signed by the outgoing validators). */
export const REGISTRY_DOMAIN_NAME = "AMP ValidatorRegistry";
/** EIP-712 domain version of ValidatorRegistry. */
export const REGISTRY_DOMAIN_VERSION = "1";

/** The signed type: Rotation(bytes32 federationId,uint64 epoch,bytes32 setHash). */
export const ROTATION_TYPES: Record<string, TypedDataField[]> = {
  Rotation: [
    { name: "federationId", type: "bytes32" },
    { name: "epoch", type: "uint64" },
    { name: "setHash", type: "bytes32" },
  ],
};

/** A validator set as the registry takes it: addresses, weights and ML-DSA key commitments, in any order. */
export interface ValidatorSetSpec {
  validators: readonly string[];
  weights: readonly bigint[];
  /** SHA-256 of each validator's ML-DSA-65 public key, 0x-prefixed bytes32. */
  keyCommitments: readonly string[];
}

/**
 * The registry's `setHash`: keccak256(abi.encode(address[], uint96[], bytes32[])) of the set sorted by
 * ascending validator address, weights and commitments moved along.
 */
export function validatorSetHash(set: ValidatorSetSpec): string {
  const rows = set.validators.map((v, i) => ({
    v: getAddress(v),
    w: set.weights[i] ?? 0n,
    c: set.keyCommitments[i] ?? ZeroHash,
  }));
  rows.sort((a, b) => (BigInt(a.v) < BigInt(b.v) ? -1 : BigInt(a.v) > BigInt(b.v) ? 1 : 0));
  const encoded = AbiCoder.defaultAbiCoder().encode(
    ["address[]", "uint96[]", "bytes32[]"],
    [rows.map((r) => r.v), rows.map((r) => r.w), rows.map((r) => r.c)],
  );
  return keccak256(encoded);
}

/** The registry's EIP-712 domain on chain `chainId` at address `registry`. */
export function registryDomain(chainId: bigint, registry: string): TypedDataDomain {
  return {
    name: REGISTRY_DOMAIN_NAME,
    version: REGISTRY_DOMAIN_VERSION,
    chainId,
    verifyingContract: registry,
  };
}

/** The EIP-712 digest of a rotation, equal to the registry's `rotationDigest(federationId, epoch, setHash)`. */
export function rotationTypedDataHash(
  chainId: bigint,
  registry: string,
  message: { federationId: string; epoch: bigint; setHash: string },
): string {
  return TypedDataEncoder.hash(registryDomain(chainId, registry), ROTATION_TYPES, message);
}
