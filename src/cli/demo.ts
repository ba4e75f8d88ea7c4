import type { Command } from "commander";
import { connectEmbedded } from "../chain/connect";
import { anchorSampleRound, recordSampleReceipt } from "../chain/sample";
import { deployAndRegister, printDeployment } from "./deploy";
import { loadFederationKeys, loadManifestFederations } from "./context";

export interface DemoOptions {
  rounds: number;
}

/**
 * The demo on Hardhat's in-process network: deploy via Ignition, register the default
 * federations with throwaway keys, anchor a sample round and record a sample credit receipt.
 */
export async function runDemo(
  _opts: DemoOptions,
  say: (line: string) => void = (l) => console.log(l),
): Promise<void> {
  const conn = await connectEmbedded();
  const record = await deployAndRegister(conn, {}, say);
  printDeployment(record, say);
  const federations = loadManifestFederations();
  const keys = await loadFederationKeys(federations, undefined);
  const anchored = await anchorSampleRound(
    conn,
    record,
    keys.map((k) => ({ origin: k.federation.origin, epoch: 1n, keys: k.keys })),
  );
  say(
    `sample round ${anchored.round}: global root ${anchored.globalRoot} anchored in tx ${anchored.txHash} ` +
      `(block ${anchored.blockNumber}, gas ${anchored.gasUsed})`,
  );
  const first = federations[0]!;
  const node = first.nodes[0]!;
  const receipt = await recordSampleReceipt(conn, record, first.origin, node.id);
  say(
    `sample credit receipt for ${node.id}: allocation ${receipt.allocationHash} in tx ${receipt.txHash} (gas ${receipt.gasUsed})`,
  );
}

export function addDemoCommand(program: Command): void {
  program
    .command("demo")
    .description("run AMP end to end on Hardhat's in-process network (no node needed)")
    .option("--rounds <n>", "rounds to run", "10")
    .addHelpText(
      "after",
      `
Uses THROWAWAY DEMO KEYS derived from a public label: never reuse them.

Examples:
  $ amp demo
  $ amp demo --rounds 3`,
    )
    .action(async (opts: { rounds: string }) => {
      await runDemo({ rounds: Number(opts.rounds) });
    });
}
