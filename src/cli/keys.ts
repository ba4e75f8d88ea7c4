import type { Command } from "commander";
import { generateNodeKeys } from "../crypto/keys";
import { UsageError } from "./exit";
import { reporter } from "./output";
import { loadManifestFederations } from "./context";

export function addKeysCommand(program: Command): void {
  const keys = program
    .command("keys")
    .description("node key files (ML-DSA-65 seed + encrypted secp256k1 keystore)");
  keys
    .command("generate")
    .description("generate fresh keys for every node of the manifest (or the nodes given)")
    .requiredOption(
      "--out <dir>",
      "folder for the key files (created 0700; existing files are never overwritten)",
    )
    .option("--manifest <file>", "manifest whose nodes get keys (default: the shipped default manifest)")
    .option("--nodes <ids>", "comma-separated node ids instead of the manifest's")
    .option(
      "--json",
      'print {"ok":true,"command":"keys generate","result":{"dir","nodes":[{nodeId,address}]}}',
    )
    .addHelpText(
      "after",
      `
The keystore password comes from the AMP_KEYSTORE_PASSWORD environment variable.
Writes <node>.mldsa.json (ML-DSA-65 seed, mode 0600) and <node>.keystore.json (scrypt keystore).

Examples:
  $ AMP_KEYSTORE_PASSWORD=... amp keys generate --out ~/.amp/keys
  $ AMP_KEYSTORE_PASSWORD=... amp keys generate --out ./keys --nodes ssid-eu-1,ssid-us-1`,
    )
    .action(async (opts: { out: string; manifest?: string; nodes?: string; json?: boolean }) => {
      const report = reporter("keys generate", opts.json);
      const password = process.env.AMP_KEYSTORE_PASSWORD;
      if (!password) {
        throw new UsageError("set AMP_KEYSTORE_PASSWORD to the password that will encrypt the keystores");
      }
      const ids = opts.nodes
        ? opts.nodes.split(",").map((s) => s.trim())
        : loadManifestFederations(opts.manifest).flatMap((f) => f.nodes.map((n) => n.id));
      const out = await generateNodeKeys(opts.out, ids, password);
      for (const id of out) report.say(`${id.nodeId}\t${id.address}`);
      report.say(`wrote keys for ${out.length} nodes to ${opts.out}`);
      report.done({ dir: opts.out, nodes: out.map((k) => ({ nodeId: k.nodeId, address: k.address })) });
    });
}
