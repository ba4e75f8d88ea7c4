/**
 * `amp up`: a whole local federation on this machine — the chain (a child `hardhat node` unless
 * --rpc is given), the deployment (first start), and every manifest node as its own child process
 * (`amp node`) on loopback, supervised (restart with backoff, stop all on SIGINT/SIGTERM).
 * `<data>/federation.json` describes what runs (read by `amp status`). The work is in
 * src/node/local.ts; this file parses options and prints.
 */
import type { Command } from "commander";
import { startLocalFederation } from "../node/local";
import { THROWAWAY_BANNER } from "./context";
import { parseEpochSeconds } from "./node";

export { FEDERATION_FILE, freePort, type FederationFile } from "../node/local";

interface UpOpts {
  data: string;
  rpc?: string;
  manifest?: string;
  keys?: string;
  epochSeconds?: string;
}

export function addUpCommand(program: Command): void {
  program
    .command("up")
    .description("start a local federation: chain, deployment, one process per manifest node on loopback")
    .option("--data <dir>", "data dir for the federation", "amp-local")
    .option("--rpc <url>", "use this chain instead of starting a child `hardhat node`")
    .option("--manifest <file>", "federation manifest (default: the shipped default manifest)")
    .option("--keys <dir>", "node key files (password: AMP_KEYSTORE_PASSWORD); default: THROWAWAY DEMO KEYS")
    .option("--epoch-seconds <n>", "credit allocation epoch of every node (default: the manifest's, 3600)")
    .addHelpText(
      "after",
      `
Prints the chain's RPC URL, the trust policy's path and every node's URL; <data>/federation.json
describes what runs (see amp status), <data>/logs/ holds every child's output. Ctrl-C stops all.

Examples:
  $ amp up                                   # throwaway keys, own hardhat node, ./amp-local
  $ amp up --data ./fed --rpc http://127.0.0.1:8545
  $ amp up --epoch-seconds 30                # credit receipts every 30 s (amp credits show --url …)
  $ AMP_KEYSTORE_PASSWORD=... amp up --manifest m.yaml --keys ~/.amp/keys`,
    )
    .action(async (opts: UpOpts) => {
      const say = (l: string) => console.log(l);
      const epochSeconds = parseEpochSeconds(opts.epochSeconds);
      if (!opts.keys) say(THROWAWAY_BANNER);
      const fed = await startLocalFederation({
        data: opts.data,
        ...(opts.rpc ? { rpc: opts.rpc } : {}),
        ...(opts.manifest ? { manifest: opts.manifest } : {}),
        ...(opts.keys ? { keys: opts.keys } : {}),
        ...(epochSeconds !== undefined ? { nodeArgs: () => ["--epoch-seconds", String(epochSeconds)] } : {}),
        say,
      });
      try {
        say(`chain RPC      ${fed.rpc}`);
        say(`trust policy   ${fed.state.trustPolicy}`);
        for (const n of fed.state.nodes) say(`node ${n.id.padEnd(16)} ${n.url}  pid ${n.pid ?? "-"}`);
        say(`logs in ${fed.logs}; stop with Ctrl-C`);
        await new Promise<void>((resolve) => {
          process.once("SIGINT", resolve);
          process.once("SIGTERM", resolve);
        });
      } finally {
        await fed.stop();
      }
    });
}
