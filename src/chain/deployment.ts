/**
 * The deployment record: which chain, which contract addresses, from which block, which federations.
 * Written as `deployment.json` in the data dir by `amp deploy`; every later command checks it
 * against the chain first so a restarted dev chain is reported, not silently mis-used.
 */
import fs from "node:fs";
import path from "node:path";
import { getAddress, isHexString } from "ethers";
import { AmpError, InvalidInputError } from "../util/errors";
import type { ChainConnection } from "./connect";

export const DEPLOYMENT_FILE = "deployment.json";
export const DEPLOYMENT_VERSION = 1;

export interface FederationRecord {
  origin: string;
  federationId: string;
  epoch: number;
  validators: string[];
  weights: string[];
  /** SHA-256 of each validator's ML-DSA-65 public key, in the order of `validators`. */
  keyCommitments: string[];
}

export interface DeploymentRecord {
  version: typeof DEPLOYMENT_VERSION;
  chainId: string;
  contracts: { validatorRegistry: string; globalProofAnchor: string; proofCreditReceipts: string };
  deployBlock: number;
  deployer: string;
  federations: FederationRecord[];
}

/** The chain no longer matches the record (restarted dev chain, other network). */
export class DeploymentMismatchError extends AmpError {
  override name = "DeploymentMismatchError";
  constructor(shortMessage: string) {
    super(shortMessage, { kind: "conflict" });
  }
}

export function deploymentPath(dataDir: string): string {
  return path.join(dataDir, DEPLOYMENT_FILE);
}

/** Atomically write the record (temp file + rename). */
export function writeDeployment(dataDir: string, record: DeploymentRecord): void {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = deploymentPath(dataDir);
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(record, null, 2) + "\n");
  fs.renameSync(tmp, file);
}

function checkAddress(value: unknown, field: string): string {
  if (typeof value !== "string" || !isHexString(value, 20)) {
    throw new InvalidInputError(`deployment record: ${field} is not an address`);
  }
  return getAddress(value);
}

/** Read and shape-check the record; a missing file says to run `amp deploy`. */
export function readDeployment(dataDir: string): DeploymentRecord {
  const file = deploymentPath(dataDir);
  if (!fs.existsSync(file)) {
    throw new InvalidInputError(
      `no deployment record at ${file}: run "amp deploy --rpc URL --data ${dataDir}" first`,
    );
  }
  let raw: Partial<DeploymentRecord>;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<DeploymentRecord>;
  } catch (err) {
    throw new InvalidInputError(`deployment record ${file} is not JSON`, { cause: err });
  }
  if (raw.version !== DEPLOYMENT_VERSION) {
    throw new InvalidInputError(`deployment record: unsupported version ${String(raw.version)}`);
  }
  if (typeof raw.chainId !== "string" || !/^\d+$/.test(raw.chainId)) {
    throw new InvalidInputError("deployment record: chainId is not a decimal string");
  }
  const c = raw.contracts ?? ({} as Partial<DeploymentRecord["contracts"]>);
  return {
    version: DEPLOYMENT_VERSION,
    chainId: raw.chainId,
    contracts: {
      validatorRegistry: checkAddress(c.validatorRegistry, "contracts.validatorRegistry"),
      globalProofAnchor: checkAddress(c.globalProofAnchor, "contracts.globalProofAnchor"),
      proofCreditReceipts: checkAddress(c.proofCreditReceipts, "contracts.proofCreditReceipts"),
    },
    deployBlock: Number(raw.deployBlock ?? 0),
    deployer: checkAddress(raw.deployer, "deployer"),
    federations: Array.isArray(raw.federations) ? raw.federations : [],
  };
}

/**
 * Check the record against the live chain: same chain id, code at every address.
 * A restarted `npx hardhat node` keeps chain id 31337 but loses the contracts — that is the
 * "no code" case.
 */
export async function assertDeploymentLive(conn: ChainConnection, record: DeploymentRecord): Promise<void> {
  if (conn.chainId.toString() !== record.chainId) {
    throw new DeploymentMismatchError(
      `chain id mismatch: the deployment record is for chain ${record.chainId}, ${conn.label} is chain ${conn.chainId}`,
    );
  }
  for (const [name, address] of Object.entries(record.contracts)) {
    const code = await conn.provider.getCode(address);
    if (code === "0x") {
      throw new DeploymentMismatchError(
        `no contract code for ${name} at ${address} on ${conn.label}: the chain was restarted or reset; run "amp deploy" again with a fresh --data dir`,
      );
    }
  }
}
