/**
 * Deploy the AMP contracts through the project's Ignition module (`ignition/modules/Amp.ts`) with
 * ignition-core's programmatic API, then register federations in the validator registry.
 * The same path serves the embedded network (in-memory journal) and a JSON-RPC node (journal in
 * the data dir, so a re-run resumes rather than deploying twice).
 */
import path from "node:path";
import { deploy, DeploymentResultType } from "@nomicfoundation/ignition-core";
import type { DeploymentResult } from "@nomicfoundation/ignition-core";
import { getAddress } from "ethers";
import AmpModule from "../../ignition/modules/Amp";
import { ValidatorRegistry__factory } from "../../typechain-types";
import { AmpError, InvalidInputError } from "../util/errors";
import { FileArtifactResolver } from "./artifacts";
import { waitForReceipt } from "./connect";
import type { ChainConnection } from "./connect";
import { DEPLOYMENT_VERSION } from "./deployment";
import type { DeploymentRecord, FederationRecord } from "./deployment";
import { federationIdOf } from "./ids";

export class DeployFailedError extends AmpError {
  override name = "DeployFailedError";
  constructor(shortMessage: string, details?: string) {
    super(shortMessage, { kind: "bug", ...(details ? { details } : {}) });
  }
}

export interface DeployOptions {
  /** Where Ignition keeps its journal; omit for an in-memory deployment (embedded network). */
  journalDir?: string;
  /** The registry's recovery delay in seconds (Ignition parameter `recoveryDelay`; default 7 days). */
  recoveryDelaySeconds?: bigint;
}

function describeFailure(
  result: Exclude<DeploymentResult, { type: DeploymentResultType.SUCCESSFUL_DEPLOYMENT }>,
) {
  return JSON.stringify(result, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

function contractAddress(result: DeploymentResult, contractName: string): string {
  if (result.type !== DeploymentResultType.SUCCESSFUL_DEPLOYMENT) throw new Error("unreachable");
  const found = Object.values(result.contracts).find((c) => c.contractName === contractName);
  if (!found) throw new DeployFailedError(`the Ignition module Amp did not deploy ${contractName}`);
  return getAddress(found.address);
}

/** Deploy (or resume deploying) the three contracts; returns a record with no federations yet. */
export async function deployContracts(
  conn: ChainConnection,
  opts: DeployOptions = {},
): Promise<DeploymentRecord> {
  const accounts = (await conn.eip1193.request({ method: "eth_accounts" })) as string[];
  const deployer = accounts[0];
  if (!deployer) {
    throw new InvalidInputError(
      `${conn.label} has no unlocked account to deploy from: give a funded deployer key (AMP_DEPLOYER_KEY or amp deploy --keystore FILE)`,
    );
  }
  const startBlock = await conn.provider.getBlockNumber();
  const result = await deploy({
    config: { requiredConfirmations: 1, blockPollingInterval: 200 },
    artifactResolver: new FileArtifactResolver(),
    provider: conn.eip1193,
    ...(opts.journalDir ? { deploymentDir: path.resolve(opts.journalDir) } : {}),
    ignitionModule: AmpModule,
    deploymentParameters:
      opts.recoveryDelaySeconds === undefined ? {} : { Amp: { recoveryDelay: opts.recoveryDelaySeconds } },
    accounts,
    defaultSender: deployer,
  });
  if (result.type !== DeploymentResultType.SUCCESSFUL_DEPLOYMENT) {
    throw new DeployFailedError(`Ignition deployment failed: ${result.type}`, describeFailure(result));
  }
  return {
    version: DEPLOYMENT_VERSION,
    chainId: conn.chainId.toString(),
    contracts: {
      validatorRegistry: contractAddress(result, "ValidatorRegistry"),
      globalProofAnchor: contractAddress(result, "GlobalProofAnchor"),
      proofCreditReceipts: contractAddress(result, "ProofCreditReceipts"),
    },
    deployBlock: startBlock + 1,
    deployer: getAddress(deployer),
    federations: [],
  };
}

export interface FederationSpec {
  origin: string;
  validators: string[];
  weights: bigint[];
  /** SHA-256 of each validator's ML-DSA-65 public key (0x-prefixed bytes32), same order as `validators`. */
  keyCommitments: string[];
}

/**
 * Register federations not yet in the registry (idempotent: an origin already registered is read
 * back, not registered twice; its registered validators and key commitments must be the spec's).
 * Returns the records in registry order.
 */
export async function registerFederations(
  conn: ChainConnection,
  record: DeploymentRecord,
  specs: FederationSpec[],
): Promise<FederationRecord[]> {
  const registry = ValidatorRegistry__factory.connect(
    record.contracts.validatorRegistry,
    await conn.signer(),
  );
  const known = new Set((await registry.federationIds()).map((id) => id.toLowerCase()));
  const out: FederationRecord[] = [];
  for (const spec of specs) {
    const id = federationIdOf(spec.origin);
    if (!known.has(id.toLowerCase())) {
      const tx = await registry.registerFederation(
        spec.origin,
        spec.validators,
        spec.weights,
        spec.keyCommitments,
      );
      await waitForReceipt(conn.provider, tx.hash);
    }
    const epoch = await registry.currentEpoch(id);
    const [validators, weights] = await registry.validatorsOf(id, epoch);
    const commitments = await registry.keyCommitmentsOf(id, epoch);
    const mine = new Map(
      spec.validators.map((v, i) => [getAddress(v), spec.keyCommitments[i]?.toLowerCase()]),
    );
    for (const [i, v] of validators.entries()) {
      if (mine.get(getAddress(v)) !== commitments[i]?.toLowerCase()) {
        throw new DeployFailedError(
          `federation ${spec.origin} is registered with other validators or ML-DSA keys than the given key files`,
        );
      }
    }
    out.push({
      origin: spec.origin,
      federationId: id,
      epoch: Number(epoch),
      validators: validators.map((v) => getAddress(v)),
      weights: weights.map((w) => w.toString()),
      keyCommitments: commitments.map((c) => c.toLowerCase()),
    });
  }
  return out;
}
