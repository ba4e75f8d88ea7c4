/** Hand-made deployment records for tests that read a record but talk to no chain (THROWAWAY keys). */
import type { DeploymentRecord, FederationRecord } from "../../src/chain/deployment";
import { federationIdOf } from "../../src/chain/ids";
import { mlDsaKeyCommitment, type NodeKeys } from "../../src/crypto/keys";

/** One federation of a record: `keys` are its validators (addresses, ML-DSA key commitments), in order. */
export function federationRecord(
  origin: string,
  keys: NodeKeys[],
  weights: bigint[],
  epoch = 1,
): FederationRecord {
  return {
    origin,
    federationId: federationIdOf(origin),
    epoch,
    validators: keys.map((k) => k.wallet.address),
    weights: weights.map(String),
    keyCommitments: keys.map((k) => mlDsaKeyCommitment(k.mldsa.publicKey)),
  };
}

/** A record on chain 31337 with placeholder contract and deployer addresses (0x…01 to 0x…04). */
export function placeholderRecord(federations: FederationRecord[]): DeploymentRecord {
  return {
    version: 1,
    chainId: "31337",
    contracts: {
      validatorRegistry: "0x0000000000000000000000000000000000000001",
      globalProofAnchor: "0x0000000000000000000000000000000000000002",
      proofCreditReceipts: "0x0000000000000000000000000000000000000003",
    },
    deployBlock: 1,
    deployer: "0x0000000000000000000000000000000000000004",
    federations,
  };
}
