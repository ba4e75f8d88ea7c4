import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { connectRpc } from "../chain/connect";
import type { ChainConnection } from "../chain/connect";
import { deployContracts, registerFederations } from "../chain/deploy";
import { assertDeploymentLive, deploymentPath, readDeployment, writeDeployment } from "../chain/deployment";
import type { DeploymentRecord } from "../chain/deployment";
import { publicClientFor } from "../proof/verify";
import { TRUST_FILE, trustPolicyFromChain, writeTrustPolicy } from "../trust/policy";
import type { TrustPolicy } from "../trust/policy";
import { federationSpecs, loadFederationKeys, loadManifestFederations, THROWAWAY_BANNER } from "./context";
import { assertFunded, deployerWallet } from "./deployer";
import { reporter } from "./output";
import { UsageError } from "./exit";

/** The only chain id on which THROWAWAY DEMO KEYS are registered without `--throwaway-keys` (Hardhat's). */
export const DEV_CHAIN_ID = 31337n;

export interface DeployCommandOptions {
  manifest?: string;
  keys?: string;
  /** Where Ignition keeps its journal (persistent chains); omit for in-memory. */
  journalDir?: string;
  /** Allow THROWAWAY DEMO KEYS on a chain other than 31337. */
  throwawayKeys?: boolean;
}

/** Refuse registering THROWAWAY DEMO KEYS (no --keys) on any chain but 31337 unless explicitly allowed. */
export function checkThrowawayAllowed(chainId: bigint, opts: DeployCommandOptions): void {
  if (opts.keys !== undefined || chainId === DEV_CHAIN_ID || opts.throwawayKeys) return;
  throw new UsageError(
    `refusing to register THROWAWAY DEMO KEYS on chain ${chainId} (anyone can sign with them): give --keys DIR from "amp keys generate", or --throwaway-keys to insist`,
  );
}

/** Deploy via Ignition, register the manifest's federations, return the record (not yet written). */
export async function deployAndRegister(
  conn: ChainConnection,
  opts: DeployCommandOptions,
  say: (line: string) => void,
): Promise<DeploymentRecord> {
  checkThrowawayAllowed(conn.chainId, opts);
  const federations = loadManifestFederations(opts.manifest);
  const keys = await loadFederationKeys(federations, opts.keys, () => say(THROWAWAY_BANNER));
  const record = await deployContracts(conn, opts.journalDir ? { journalDir: opts.journalDir } : {});
  record.federations = await registerFederations(conn, record, federationSpecs(keys));
  return record;
}

/** The trust policy of a deployment as the chain shows it (what a verifier pins; `trust.json`). */
export async function trustPolicyOf(conn: ChainConnection, record: DeploymentRecord): Promise<TrustPolicy> {
  return trustPolicyFromChain(
    publicClientFor(conn.eip1193),
    record.contracts.globalProofAnchor,
    record.federations.map((f) => ({ origin: f.origin, federationId: f.federationId })),
  );
}

export function printDeployment(record: DeploymentRecord, say: (line: string) => void): void {
  say(`chain ${record.chainId}, deployed from block ${record.deployBlock} by ${record.deployer}`);
  say(`  ValidatorRegistry    ${record.contracts.validatorRegistry}`);
  say(`  GlobalProofAnchor    ${record.contracts.globalProofAnchor}`);
  say(`  ProofCreditReceipts  ${record.contracts.proofCreditReceipts}`);
  for (const f of record.federations) {
    say(
      `  federation ${f.origin} (${f.federationId.slice(0, 10)}…) epoch ${f.epoch}: ${f.validators.length} validators`,
    );
  }
}

export function addDeployCommand(program: Command): void {
  program
    .command("deploy")
    .description("deploy the AMP contracts (Ignition module Amp) and register the manifest's federations")
    .requiredOption("--rpc <url>", "JSON-RPC endpoint of the chain, e.g. a running `npx hardhat node`")
    .requiredOption(
      "--data <dir>",
      "data dir: the deployment record (deployment.json) and the Ignition journal go here",
    )
    .option("--manifest <file>", "federation manifest (default: the shipped default manifest)")
    .option("--keys <dir>", "node key files from `amp keys generate` (default: THROWAWAY DEMO KEYS)")
    .option("--keystore <file>", "deployer key: encrypted JSON keystore, password from AMP_DEPLOYER_PASSWORD")
    .option("--throwaway-keys", "allow THROWAWAY DEMO KEYS on a chain other than 31337")
    .option(
      "--json",
      'print {"ok":true,"command":"deploy","result":{"alreadyDeployed","deployment","trustPolicy"}}',
    )
    .addHelpText(
      "after",
      `
Signs with the deployer key from --keystore or AMP_DEPLOYER_KEY (0x… hex) when given, else with
the node's first unlocked account (a dev node). The deployer becomes the registry's governance.
Registers each node's EVM address, weight and ML-DSA key commitment, and writes the trust policy
DIR/${TRUST_FILE} that verifiers pin (amp verify --trust). Re-running with the same --data dir is
safe: a live deployment is reported, not repeated; a record whose chain was restarted is refused.
Without --keys, THROWAWAY DEMO KEYS are used, and only on chain 31337 unless --throwaway-keys is given.

Examples:
  $ npx hardhat node &
  $ amp deploy --rpc http://127.0.0.1:8545 --data ./amp-data
  $ AMP_KEYSTORE_PASSWORD=... amp deploy --rpc http://127.0.0.1:8545 --data ./amp-data --keys ~/.amp/keys
  $ AMP_DEPLOYER_PASSWORD=... amp deploy --rpc https://rpc.example --data ./amp-data --keystore deployer.json`,
    )
    .action(
      async (opts: {
        rpc: string;
        data: string;
        manifest?: string;
        keys?: string;
        keystore?: string;
        json?: boolean;
        throwawayKeys?: boolean;
      }) => {
        const out = reporter("deploy", opts.json);
        const say = out.say;
        const localSigner = await deployerWallet(opts);
        const conn = await connectRpc(opts.rpc, localSigner ? { localSigner } : {});
        try {
          if (localSigner) await assertFunded(conn.provider, conn.chainId, localSigner);
          if (fs.existsSync(deploymentPath(opts.data))) {
            const existing = readDeployment(opts.data);
            await assertDeploymentLive(conn, existing);
            say(`already deployed (${deploymentPath(opts.data)}):`);
            printDeployment(existing, say);
            const trustFile = path.join(opts.data, TRUST_FILE);
            if (!fs.existsSync(trustFile)) {
              writeTrustPolicy(trustFile, await trustPolicyOf(conn, existing));
              say(`wrote ${trustFile} (trust policy: give it to verifiers out of band; amp verify --trust)`);
            }
            out.done({ alreadyDeployed: true, deployment: existing, trustPolicy: trustFile });
            return;
          }
          const record = await deployAndRegister(
            conn,
            { ...opts, journalDir: path.join(opts.data, "ignition") },
            say,
          );
          writeDeployment(opts.data, record);
          const trustFile = path.join(opts.data, TRUST_FILE);
          writeTrustPolicy(trustFile, await trustPolicyOf(conn, record));
          printDeployment(record, say);
          say(`wrote ${deploymentPath(opts.data)}`);
          say(`wrote ${trustFile} (trust policy: give it to verifiers out of band; amp verify --trust)`);
          out.done({ alreadyDeployed: false, deployment: record, trustPolicy: trustFile });
        } finally {
          conn.close();
        }
      },
    );
}
