import fs from "node:fs";
import path from "node:path";
import { JsonRpcProvider, Network, isAddress } from "ethers";
import { connectRpc } from "../chain/connect";
import { DEPLOYMENT_FILE } from "../chain/deployment";
import type { DeploymentRecord } from "../chain/deployment";
import { ReceiptsReader } from "../credits/chain";
import { publicClientFor } from "../proof/verify";
import type { Command } from "commander";
import { serveDashboard, type DashboardOptions } from "../dashboard/server";
import { LiveNodes, type LiveNode } from "../dashboard/live";
import { readDeployment } from "../chain/deployment";
import { readAdminToken } from "../node/admin";
import type { FederationFile } from "../node/local";
import { readFederation } from "./federation";
import { parseListen } from "../telemetry/http";
import { InvalidInputError, oneLine } from "../util/errors";
import { DEFAULT_MANIFEST_PATH, loadManifest } from "../manifest";
import { loadManifestFederations } from "./context";
import { CannotCheckError, UsageError } from "./exit";
import { NODES_DIR, manifestFor, resolveDataDir } from "./data-dir";
import { TRUST_FILE, readTrustPolicy } from "../trust/policy";

interface DashboardFlags {
  data?: string;
  nodes?: string;
  deployment?: string;
  listen: string;
  manifest?: string;
  rpc?: string;
  receipts?: string;
  trust?: string;
}

/** The pinned receipts contract on `--rpc`, or none (the Credits page then shows "unchecked"). */
async function receiptsReader(
  opts: DashboardFlags,
): Promise<{ reader: ReceiptsReader; rpc: string; close: () => void } | undefined> {
  if (opts.rpc === undefined) {
    if (opts.receipts !== undefined) throw new UsageError("--receipts needs --rpc");
    return undefined;
  }
  let address = opts.receipts;
  if (address === undefined) {
    const file = path.join(opts.data ?? ".", DEPLOYMENT_FILE);
    if (!fs.existsSync(file)) {
      throw new UsageError(`--rpc: no ${file} to take the receipts contract from; pass --receipts ADDRESS`);
    }
    address = (JSON.parse(fs.readFileSync(file, "utf8")) as DeploymentRecord).contracts.proofCreditReceipts;
  }
  if (!isAddress(address)) throw new UsageError(`--receipts must be an address, got "${String(address)}"`);
  let conn;
  try {
    conn = await connectRpc(opts.rpc);
  } catch (e) {
    if (e instanceof InvalidInputError) throw new UsageError(e.shortMessage);
    throw new CannotCheckError(`--rpc ${opts.rpc}: ${oneLine(e)}`, { cause: e });
  }
  return { reader: new ReceiptsReader(address, conn.provider), rpc: opts.rpc, close: () => conn.close() };
}

/** A provider of the pinned deployment's chain (no network detection: the record names it). */
function pinnedProvider(rpc: string, record: DeploymentRecord): JsonRpcProvider {
  const network = Network.from(BigInt(record.chainId));
  return new JsonRpcProvider(rpc, network, { staticNetwork: network, cacheTimeout: -1 });
}

/**
 * Dashboard options for a running local federation (`amp up`'s federation.json): live from the
 * nodes' HTTP APIs, each node's operator token from its data dir, proofs verified on the chain
 * against the data dir's own pinned trust policy.
 */
export function localDashboardOptions(data: string, fed: FederationFile): DashboardOptions {
  const nodes: LiveNode[] = fed.nodes.map((n) => {
    let token: string | undefined;
    try {
      token = readAdminToken(n.dataDir);
    } catch {
      token = undefined; // not started yet: acknowledge / resolve answer 403 until it is
    }
    return { id: n.id, url: n.url, ...(token ? { token } : {}) };
  });
  const record = fs.existsSync(fed.deployment) ? readDeployment(path.dirname(fed.deployment)) : undefined;
  const manifest = loadManifestFederations(fed.manifest);
  const trustFile = fs.existsSync(fed.trustPolicy) ? fed.trustPolicy : path.join(data, TRUST_FILE);
  const policy = fs.existsSync(trustFile) ? readTrustPolicy(trustFile) : undefined;
  return {
    manifest,
    live: new LiveNodes(nodes, record, manifest, record ? pinnedProvider(fed.rpc, record) : undefined),
    ...(policy ? { proofCheck: { client: publicClientFor(fed.rpc), trust: { policy } } } : {}),
  };
}

/** `--nodes URL,…`: live from those nodes; pinned deployment and trust policy when given. */
function nodesDashboardOptions(opts: DashboardFlags): DashboardOptions {
  const urls = (opts.nodes ?? "").split(",").map((u) => u.trim());
  for (const u of urls) {
    if (!/^https?:\/\/[^/]+\/?$/.test(u))
      throw new UsageError(`--nodes: "${u}" is not a node base URL (http://HOST:PORT)`);
  }
  if (opts.deployment !== undefined && !fs.existsSync(opts.deployment))
    throw new UsageError(`--deployment ${opts.deployment}: no such file`);
  const record = opts.deployment ? readDeployment(path.dirname(opts.deployment)) : undefined;
  if (opts.trust !== undefined && !fs.existsSync(opts.trust))
    throw new UsageError(`--trust ${opts.trust}: no such file`);
  if (opts.trust !== undefined && opts.rpc === undefined)
    throw new UsageError("--trust needs --rpc (the chain to verify on)");
  const policy = opts.trust !== undefined ? readTrustPolicy(opts.trust) : undefined;
  const manifest = opts.manifest !== undefined ? loadManifestFederations(opts.manifest) : [];
  return {
    manifest,
    live: new LiveNodes(
      urls.map((url) => ({ url: url.replace(/\/$/, "") })),
      record,
      manifest,
      record && opts.rpc !== undefined ? pinnedProvider(opts.rpc, record) : undefined,
    ),
    ...(policy && opts.rpc ? { proofCheck: { client: publicClientFor(opts.rpc), trust: { policy } } } : {}),
  };
}

export function addDashboardCommand(program: Command): void {
  program
    .command("dashboard")
    .description(
      "serve the operator dashboard (Rounds, Nodes, Drift, Credits) of a data dir; live while `amp run` writes it",
    )
    .option(
      "--data <dir>",
      "data dir of `amp up` (live from its running nodes) or of `amp deploy` / `amp run` / `amp demo --data`",
    )
    .option("--nodes <urls>", "comma-separated node base URLs: live from their HTTP APIs (no data dir)")
    .option(
      "--deployment <file>",
      "with --nodes: pinned deployment record (quorum weights; with --rpc, the receipts contract the Credits page verifies against)",
    )
    .option(
      "--listen <host:port>",
      "where to listen (port 0: a free port; the URL is printed)",
      "127.0.0.1:8080",
    )
    .option("--manifest <file>", "manifest: node weights and drift.webhooks (default: the shipped one)")
    .option(
      "--rpc <url>",
      "JSON-RPC endpoint: receipts (Credits) and proofs (Proof lookup) are verified on it",
    )
    .option(
      "--receipts <address>",
      "pinned ProofCreditReceipts address (default: the data dir's own deployment.json)",
    )
    .option(
      "--trust <file>",
      "trust policy (amp-trust/v1) the Proof lookup verifies against (default: the data dir's own trust.json)",
    )
    .addHelpText(
      "after",
      `
Rounds: the anchored rounds, their checkpoints, quorum weight (recomputed from the
anchored signatures), transactions, gas and stage latencies. Nodes: federations, each node's
weight and participation, Byzantine evidence. Drift: alerts (acknowledge / resolve with a note:
the only writes, same-origin JSON POSTs), findings, drift score and clock offset per round.
Credits: per-epoch scores, weights, ranking and on-chain receipts with verification. Proof
lookup: an event id's proof file and its verification (amp verify's checks). Pages poll the data dir every 2 s.
Stop with Ctrl-C.

Examples:
  $ amp dashboard --data ./amp-local          # a running amp up: live from its nodes
  $ amp dashboard --nodes http://127.0.0.1:7401,http://127.0.0.1:7402 --listen 127.0.0.1:0
  $ amp dashboard --data ./amp-data
  $ amp dashboard --data ./amp-data --listen 127.0.0.1:0
  $ amp dashboard --data ./amp-data --rpc http://127.0.0.1:8545`,
    )
    .action(async (opts: DashboardFlags) => {
      try {
        parseListen(opts.listen, "--listen");
      } catch (e) {
        throw new UsageError(oneLine(e));
      }
      if ((opts.data === undefined) === (opts.nodes === undefined))
        throw new UsageError("give exactly one of --data DIR or --nodes URL,…");
      const running = opts.data !== undefined ? readFederation(path.resolve(opts.data)) : undefined;
      if (opts.nodes !== undefined || running) {
        const live =
          running && opts.data !== undefined
            ? localDashboardOptions(path.resolve(opts.data), running)
            : nodesDashboardOptions(opts);
        const server = await serveDashboard(opts.data ?? ".", opts.listen, live);
        console.log(`dashboard: ${server.url}`);
        await untilSignal();
        await server.close();
        return;
      }
      if (opts.data === undefined) throw new UsageError("--data is required");
      const data = opts.data;
      if (!fs.existsSync(data)) throw new UsageError(`--data ${data}: no such directory`);
      // A node-layout dir keeps the manifest its nodes ran with (DIR/manifest.yaml).
      const manifestFile = manifestFor(data, opts.manifest);
      const manifest = loadManifestFederations(manifestFile);
      const webhooks = loadManifest(manifestFile ?? DEFAULT_MANIFEST_PATH).drift.webhooks;
      refuseMixedDataDir(data, manifest);
      const chain = await receiptsReader(opts);
      // Proofs are verified against a pinned policy: --trust, else the operator's own DIR/trust.json.
      const trustFile = opts.trust ?? path.join(data, TRUST_FILE);
      const policy = chain && fs.existsSync(trustFile) ? readTrustPolicy(trustFile) : undefined;
      if (opts.trust !== undefined && !fs.existsSync(opts.trust))
        throw new UsageError(`--trust ${opts.trust}: no such file`);
      if (chain && !policy)
        console.log(`dashboard: no trust policy at ${trustFile}: proofs are shown unchecked`);
      const server = await serveDashboard(data, opts.listen, {
        manifest,
        webhooks,
        ...(chain ? { receipts: chain.reader } : {}),
        ...(chain && policy ? { proofCheck: { client: publicClientFor(chain.rpc), trust: { policy } } } : {}),
      });
      console.log(`dashboard: ${server.url}`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          void server.close().then(() => {
            chain?.close();
            resolve();
          });
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
    });
}

/**
 * A node-layout dir the dashboard cannot read is refused before serving (exit 2): a node not in
 * the manifest (wrong --manifest), or both layouts in one dir. Nodes without an archive yet are fine.
 */
function refuseMixedDataDir(data: string, manifest: Parameters<typeof resolveDataDir>[1]): void {
  if (!fs.existsSync(path.join(data, NODES_DIR))) return;
  try {
    resolveDataDir(data, manifest);
  } catch (e) {
    if (e instanceof InvalidInputError && !/^no archive at /.test(e.shortMessage))
      throw new UsageError(`--data ${e.shortMessage}`);
    if (!(e instanceof InvalidInputError)) throw e;
  }
}

/** Resolves on SIGINT or SIGTERM. */
function untilSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
