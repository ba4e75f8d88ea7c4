/**
 * `amp trust export`: write the trust policy (`amp-trust/v1`) of a deployment again, from its
 * deployment record, after checking the record against the chain.
 */
import path from "node:path";
import type { Command } from "commander";
import { connectRpc } from "../chain/connect";
import { assertDeploymentLive, DeploymentMismatchError, readDeployment } from "../chain/deployment";
import { TRUST_FILE, writeTrustPolicy } from "../trust/policy";
import type { TrustPolicy } from "../trust/policy";
import { trustPolicyOf } from "./deploy";

/** Check the deployment record in `dataDir` against the chain at `rpc` and return its trust policy. */
export async function exportTrustPolicy(rpc: string, dataDir: string): Promise<TrustPolicy> {
  const record = readDeployment(dataDir);
  const conn = await connectRpc(rpc);
  try {
    await assertDeploymentLive(conn, record);
    const policy = await trustPolicyOf(conn, record);
    if (policy.registry !== record.contracts.validatorRegistry) {
      throw new DeploymentMismatchError(
        `the anchor ${policy.anchor} reads registry ${policy.registry}, the deployment record says ${record.contracts.validatorRegistry}`,
      );
    }
    return policy;
  } finally {
    conn.close();
  }
}

export function addTrustCommand(program: Command): void {
  const trust = program.command("trust").description("trust policies (amp-trust/v1) that verifiers pin");
  trust
    .command("export")
    .description("write a deployment's trust policy after checking the deployment record against the chain")
    .requiredOption("--rpc <url>", "JSON-RPC endpoint of the deployment's chain")
    .requiredOption("--data <dir>", "data dir holding deployment.json (from `amp deploy`)")
    .option("--out <file>", `where to write the policy (default: DIR/${TRUST_FILE})`)
    .addHelpText(
      "after",
      `
Reads chain id, the anchor's registry and both contracts' runtime code hashes from the chain, checks
that every federation of the record is registered under its origin, and writes the policy.
Give the file to verifiers out of band: amp verify proof.json --rpc URL --trust FILE.

Examples:
  $ amp trust export --rpc http://127.0.0.1:8545 --data ./amp-data --out trust.json`,
    )
    .action(async (opts: { rpc: string; data: string; out?: string }) => {
      const policy = await exportTrustPolicy(opts.rpc, opts.data);
      const out = opts.out ?? path.join(opts.data, TRUST_FILE);
      writeTrustPolicy(out, policy);
      console.log(
        `wrote ${out}: chain ${policy.chainId}, anchor ${policy.anchor}, registry ${policy.registry}, ` +
          `federations ${policy.federations.map((f) => f.origin).join(", ")}`,
      );
    });
}
