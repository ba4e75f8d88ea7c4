import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { connectRpc } from "../chain/connect";
import type { ChainConnection } from "../chain/connect";
import { deployContracts, registerFederations } from "../chain/deploy";
import { assertDeploymentLive, deploymentPath, readDeployment, writeDeployment } from "../chain/deployment";
import type { DeploymentRecord } from "../chain/deployment";
import { federationSpecs, loadFederationKeys, loadManifestFederations, THROWAWAY_BANNER } from "./context";
import { assertFunded, deployerWallet } from "./deployer";
import { reporter } from "./output";

export interface DeployCommandOptions {
  manifest?: string;
  keys?: string;
  /** Where Ignition keeps its journal (persistent chains); omit for in-memory. */
  journalDir?: string;
}

/** Deploy via Ignition, register the manifest's federations, return the record (not yet written). */
export async function deployAndRegister(
  conn: ChainConnection,
  opts: DeployCommandOptions,
  say: (line: string) => void,
): Promise<DeploymentRecord> {
  const federations = loadManifestFederations(opts.manifest);
  const keys = await loadFederationKeys(federations, opts.keys, () => say(THROWAWAY_BANNER));
  const record = await deployContracts(conn, opts.journalDir ? { journalDir: opts.journalDir } : {});
  record.federations = await registerFederations(conn, record, federationSpecs(keys));
  return record;
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
    .option("--json", 'print {"ok":true,"command":"deploy","result":{"alreadyDeployed","deployment"}}')
    .addHelpText(
      "after",
      `
Signs with the deployer key from --keystore or AMP_DEPLOYER_KEY (0x… hex) when given, else with
the node's first unlocked account (a dev node). The deployer becomes the registry's governance.
Re-running with the same --data dir is safe: a
live deployment is reported, not repeated; a record whose chain was restarted is refused.

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
            out.done({ alreadyDeployed: true, deployment: existing });
            return;
          }
          const record = await deployAndRegister(
            conn,
            { ...opts, journalDir: path.join(opts.data, "ignition") },
            say,
          );
          writeDeployment(opts.data, record);
          printDeployment(record, say);
          say(`wrote ${deploymentPath(opts.data)}`);
          out.done({ alreadyDeployed: false, deployment: record });
        } finally {
          conn.close();
        }
      },
    );
}
