/**
 * `amp node`: run ONE federation node in this process, with only its own keys (src/node).
 */
import path from "node:path";
import type { Command } from "commander";
import { connectRpc } from "../chain/connect";
import { assertDeploymentLive, readDeployment } from "../chain/deployment";
import { loadNodeKeys, publicIdentity } from "../crypto/keys";
import { CountedDrift } from "../drift/node-injection";
import { loadManifest } from "../manifest";
import { Roster, readPublicIdentity } from "../node/roster";
import { faultHelp, faultsFromSpecs } from "../node/faults";
import { NodeService } from "../node/service";
import { InvalidInputError } from "../util/errors";
import { UsageError } from "./exit";
import { nodeExtensions } from "./node-extensions";

interface NodeOpts {
  manifest: string;
  node: string;
  data: string;
  keys: string;
  listen?: string;
  rpc: string;
  deployment?: string;
  fault: string[];
  drift?: string;
  driftRounds?: string;
  driftSkip?: string;
  driftFraction?: string;
  epochSeconds?: string;
}

/** `--drift CAUSE [--drift-rounds N] [--drift-fraction F]`: TEST-ONLY injection (src/drift/node-injection.ts). */
function driftHook(opts: NodeOpts): CountedDrift | undefined {
  if (opts.drift === undefined) {
    if (opts.driftRounds !== undefined || opts.driftSkip !== undefined || opts.driftFraction !== undefined) {
      throw new UsageError("--drift-rounds, --drift-skip and --drift-fraction need --drift CAUSE");
    }
    return undefined;
  }
  const rounds = opts.driftRounds === undefined ? undefined : Number(opts.driftRounds);
  if (rounds !== undefined && !(Number.isSafeInteger(rounds) && rounds > 0)) {
    throw new UsageError(`--drift-rounds must be a positive integer, got "${opts.driftRounds}"`);
  }
  const skip = opts.driftSkip === undefined ? undefined : Number(opts.driftSkip);
  if (skip !== undefined && !(Number.isSafeInteger(skip) && skip >= 0)) {
    throw new UsageError(`--drift-skip must be a non-negative integer, got "${opts.driftSkip}"`);
  }
  const fraction = opts.driftFraction === undefined ? undefined : Number(opts.driftFraction);
  if (fraction !== undefined && !(fraction > 0 && fraction <= 1)) {
    throw new UsageError(`--drift-fraction must be in (0, 1], got "${opts.driftFraction}"`);
  }
  try {
    return new CountedDrift({
      nodeId: opts.node,
      cause: opts.drift,
      ...(rounds !== undefined ? { rounds } : {}),
      ...(skip !== undefined ? { skip } : {}),
      ...(fraction !== undefined ? { fraction } : {}),
    });
  } catch (e) {
    if (e instanceof InvalidInputError) throw new UsageError(`--drift: ${e.shortMessage}`, { cause: e });
    throw e;
  }
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
      "--fault <kind[:rounds]>",
      "TEST/DEMO ONLY: make this node Byzantine (repeatable; rounds like 3, 3-5 or 3,5; all rounds when omitted)",
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option(
      "--drift <cause>",
      "TEST ONLY: make this node's votes drift (serialization_divergence, timestamp_drift, data_inconsistency, equivocation, clock_skew, unknown)",
    )
    .option(
      "--drift-rounds <n>",
      "TEST ONLY: drift in the first N rounds with events only (default: every round)",
    )
    .option("--drift-skip <k>", "TEST ONLY: vote honestly in the first K rounds with events (default 0)")
    .option("--drift-fraction <f>", "TEST ONLY: share of each batch that drifts, in (0, 1] (default 0.15)")
    .option(
      "--epoch-seconds <n>",
      "credit allocation epoch in seconds (overrides the manifest's credit.epoch_seconds)",
    )
    .addHelpText(
      "after",
      `
The keystore password comes from AMP_KEYSTORE_PASSWORD. Only this node's secret keys are read;
peers are known by their public identity (<id>.pub.json, or the public fields of their key files).
HTTP paths: docs/http.md; GET /metrics: Prometheus metrics (docs/operations.md). Stops cleanly on SIGINT/SIGTERM.
The drift monitor runs on every node (alerts in <data>/drift.sqlite, GET /v1/drift/alerts).

--fault is for tests and the demo ONLY: the node keeps its honest signed state and sends a
Byzantine vote instead; the round's coordinator records evidence (<its data>/evidence/), the
round stays final with the honest weight. Kinds:
${faultHelp()}

Examples:
  $ AMP_KEYSTORE_PASSWORD=... amp node --manifest m.yaml --node ssid-eu-1 --data ./n1 --keys ./keys
  $ amp node ... --node ssid-apac-1 --fault wrong-root:3 --fault equivocation:4-5   # test only
  $ amp node ... --node ssid-apac-1 --drift serialization_divergence --drift-rounds 3   # TEST ONLY`,
    )
    .action(async (opts: NodeOpts) => {
      const faults = faultsFromSpecs(opts.fault, opts.node);
      const drift = driftHook(opts);
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
        ...(faults ? { faults } : {}),
        extensions: nodeExtensions(manifest, { epochSeconds }),
        ...(drift ? { drift } : {}),
      });
      if (drift) console.error(`TEST ONLY: ${opts.node} drifts (${opts.drift}) as asked by --drift`);
      const url = new URL(me.url);
      const { host, port } = opts.listen
        ? parseListen(opts.listen)
        : { host: url.hostname, port: Number(url.port || 80) };
      const bound = await service.listen(host, port);
      await service.start();
      const byzantine = opts.fault.length > 0 ? { faults: opts.fault, testOnly: true } : {};
      console.log(
        JSON.stringify({ node: opts.node, url: bound, pid: process.pid, status: "listening", ...byzantine }),
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      await service.close();
      conn.close();
    });
}
