/**
 * `amp node`: run ONE federation node in this process, with only its own keys (src/node).
 */
import path from "node:path";
import type { Command } from "commander";
import { connectRpc } from "../chain/connect";
import { assertDeploymentLive, readDeployment } from "../chain/deployment";
import { loadNodeKeys, publicIdentity } from "../crypto/keys";
import { loadManifest } from "../manifest";
import { Roster, readPublicIdentity } from "../node/roster";
import { NodeService } from "../node/service";
import { CreditsExtension } from "../credits/node-extension";
import { InvalidInputError } from "../util/errors";
import { UsageError } from "./exit";

interface NodeOpts {
  manifest: string;
  node: string;
  data: string;
  keys: string;
  listen?: string;
  rpc: string;
  deployment?: string;
  epochSeconds?: string;
}

function parseListen(v: string): { host: string; port: number } {
  const m = /^([^:]+):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) > 65535) throw new UsageError(`--listen must be HOST:PORT, got "${v}"`);
  return { host: m[1]!, port: Number(m[2]) };
}

/** `--epoch-seconds N`: a positive integer (undefined: the manifest's credit.epoch_seconds). */
export function parseEpochSeconds(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[1-9][0-9]{0,8}$/.test(v))
    throw new UsageError(`--epoch-seconds must be a positive integer, got "${v}"`);
  return Number(v);
}

export function addNodeCommand(program: Command): void {
  program
    .command("node")
    .description("run one federation node (archive, inbox, validator, witness, HTTP) with only its own keys")
    .requiredOption("--manifest <file>", "federation manifest (every node's url, weight, federation)")
    .requiredOption("--node <id>", "this node's id in the manifest")
    .requiredOption("--data <dir>", "this node's own data dir (archive, inbox, validator and witness state)")
    .requiredOption("--keys <dir>", "key dir: this node's key files, and the peers' PUBLIC <id>.pub.json")
    .option("--listen <host:port>", "address to serve HTTP on (default: the node's url in the manifest)")
    .option(
      "--rpc <url>",
      "JSON-RPC endpoint of the chain",
      process.env.AMP_RPC_URL ?? "http://127.0.0.1:8545",
    )
    .option("--deployment <file>", "deployment record (default: <data>/deployment.json)")
    .option(
      "--epoch-seconds <n>",
      "credit allocation epoch in seconds (overrides the manifest's credit.epoch_seconds)",
    )
    .addHelpText(
      "after",
      `
The keystore password comes from AMP_KEYSTORE_PASSWORD. Only this node's secret keys are read;
peers are known by their public identity (<id>.pub.json, or the public fields of their key files).
HTTP paths: docs/http.md. Stops cleanly on SIGINT/SIGTERM.

Examples:
  $ AMP_KEYSTORE_PASSWORD=... amp node --manifest m.yaml --node ssid-eu-1 --data ./n1 --keys ./keys`,
    )
    .action(async (opts: NodeOpts) => {
      const epochSeconds = parseEpochSeconds(opts.epochSeconds);
      const password = process.env.AMP_KEYSTORE_PASSWORD;
      if (!password) throw new InvalidInputError("set AMP_KEYSTORE_PASSWORD to read this node's keystore");
      const manifest = loadManifest(opts.manifest);
      const me = manifest.federations.flatMap((f) => f.nodes).find((n) => n.id === opts.node);
      if (!me) throw new UsageError(`--node ${opts.node} is not in ${opts.manifest}`);
      const keys = await loadNodeKeys(path.resolve(opts.keys), opts.node, password);
      const record = readDeployment(opts.deployment ? path.dirname(opts.deployment) : opts.data);
      const roster = new Roster(
        manifest,
        (id) => (id === opts.node ? publicIdentity(keys) : readPublicIdentity(path.resolve(opts.keys), id)),
        (origin) => BigInt(record.federations.find((f) => f.origin === origin)?.epoch ?? 1),
      );
      const conn = await connectRpc(opts.rpc);
      await assertDeploymentLive(conn, record);
      const service = await NodeService.create({
        roster,
        keys,
        dataDir: opts.data,
        conn,
        record,
        maxBatch: manifest.batch.maxSize,
        tickMs: manifest.batch.maxAgeMs,
        extensions: [new CreditsExtension({ credit: manifest.credit, epochSeconds })],
      });
      const url = new URL(me.url);
      const { host, port } = opts.listen
        ? parseListen(opts.listen)
        : { host: url.hostname, port: Number(url.port || 80) };
      const bound = await service.listen(host, port);
      await service.start();
      console.log(JSON.stringify({ node: opts.node, url: bound, pid: process.pid, status: "listening" }));
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      await service.close();
      conn.close();
    });
}
