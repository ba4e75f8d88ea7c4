/**
 * `amp up`: a whole local federation on this machine — the chain (a child `hardhat node` unless
 * --rpc is given), the deployment (first start), and every manifest node as its own child process
 * (`amp node`) on loopback, supervised (restart with backoff, stop all on SIGINT/SIGTERM).
 * `<data>/federation.json` describes what runs (read by `amp status`). The work is in
 * src/node/local.ts; this file parses options and prints.
 */
import type { Command } from "commander";
import path from "node:path";
import { writeFileAtomic } from "../consensus/atomic-file";
import { serveDashboard, type DashboardServer } from "../dashboard/server";
import { FEDERATION_FILE, startLocalFederation, type LocalFederation } from "../node/local";
import { PeerClient } from "../transport/client";
import { parseListen } from "../telemetry/http";
import { InvalidInputError, oneLine } from "../util/errors";
import { driftNodeArgs } from "../drift/node-injection";
import { DEMO_DRIFT_NODE } from "./alerts";
import { THROWAWAY_BANNER } from "./context";
import { localDashboardOptions } from "./dashboard";
import { UsageError } from "./exit";
import { startProgress } from "./progress";
import { parseEpochSeconds } from "./node";

export { FEDERATION_FILE, freePort, type FederationFile } from "../node/local";

interface UpOpts {
  data: string;
  rpc?: string;
  manifest?: string;
  keys?: string;
  dashboard: boolean;
  dashboardListen: string;
  drift?: string;
  driftNode?: string;
  driftRounds?: string;
  epochSeconds?: string;
}

/** Poll every node's /v1/status until all answer (progress on stderr); false after `deadlineMs`. */
async function waitForNodes(fed: LocalFederation, deadlineMs: number): Promise<boolean> {
  const client = new PeerClient({ timeoutMs: 1000, tries: 1 });
  const bar = startProgress("up", fed.state.nodes.length, { unit: "nodes" });
  const end = Date.now() + deadlineMs;
  for (;;) {
    const up = await Promise.all(
      fed.state.nodes.map((n) =>
        client.request(n.url, { method: "GET", path: "/v1/status" }).then(
          () => true,
          () => false,
        ),
      ),
    );
    const n = up.filter(Boolean).length;
    bar.update(n, "listening");
    if (n === up.length) {
      bar.stop("listening");
      return true;
    }
    if (Date.now() > end) {
      bar.stop(
        `listening; still down: ${fed.state.nodes
          .filter((_, i) => !up[i])
          .map((x) => x.id)
          .join(", ")}`,
      );
      return false;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** `--drift CAUSE [--drift-node ID] [--drift-rounds N]` as per-node `amp node` arguments. */
function driftArgs(o: UpOpts): ((id: string) => string[]) | undefined {
  if (o.drift === undefined) {
    if (o.driftNode !== undefined || o.driftRounds !== undefined) {
      throw new UsageError("--drift-node and --drift-rounds need --drift CAUSE");
    }
    return undefined;
  }
  const rounds = o.driftRounds === undefined ? undefined : Number(o.driftRounds);
  if (rounds !== undefined && !(Number.isSafeInteger(rounds) && rounds > 0)) {
    throw new UsageError(`--drift-rounds must be a positive integer, got "${o.driftRounds}"`);
  }
  try {
    return driftNodeArgs({
      cause: o.drift,
      node: o.driftNode ?? DEMO_DRIFT_NODE,
      ...(rounds !== undefined ? { rounds } : {}),
    });
  } catch (e) {
    if (e instanceof InvalidInputError) throw new UsageError(`--drift: ${e.shortMessage}`, { cause: e });
    throw e;
  }
}

export function addUpCommand(program: Command): void {
  program
    .command("up")
    .description("start a local federation: chain, deployment, one process per manifest node on loopback")
    .option("--data <dir>", "data dir for the federation", "amp-local")
    .option("--rpc <url>", "use this chain instead of starting a child `hardhat node`")
    .option("--manifest <file>", "federation manifest (default: the shipped default manifest)")
    .option("--keys <dir>", "node key files (password: AMP_KEYSTORE_PASSWORD); default: THROWAWAY DEMO KEYS")
    .option(
      "--dashboard-listen <host:port>",
      "where the dashboard listens (port 0: a free port)",
      "127.0.0.1:0",
    )
    .option("--no-dashboard", "do not serve the dashboard")
    .option("--drift <cause>", "TEST/DEMO ONLY: one node's votes drift that way (amp node --drift)")
    .option("--drift-node <id>", `the drifting node (default ${DEMO_DRIFT_NODE})`)
    .option("--drift-rounds <n>", "drift in the first N rounds with events only (default: every round)")
    .option("--epoch-seconds <n>", "credit allocation epoch of every node (default: the manifest's, 3600)")
    .addHelpText(
      "after",
      `
Prints the chain's RPC URL, the trust policy's path, every node's URL (each serves GET /metrics) and
the dashboard's URL (live from the nodes; amp status --json carries it); <data>/federation.json
describes what runs (see amp status), <data>/logs/ holds every child's output. Ctrl-C stops all.

Examples:
  $ amp up                                   # throwaway keys, own hardhat node, ./amp-local
  $ amp up --data ./fed --rpc http://127.0.0.1:8545
  $ AMP_KEYSTORE_PASSWORD=... amp up --manifest m.yaml --keys ~/.amp/keys
  $ amp up --drift serialization_divergence --drift-rounds 3   # then: amp alerts list --data amp-local
  $ amp up --epoch-seconds 30                # credit receipts every 30 s (amp credits show --url …)`,
    )
    .action(async (opts: UpOpts) => {
      const say = (l: string) => console.log(l);
      if (opts.dashboard) {
        try {
          parseListen(opts.dashboardListen, "--dashboard-listen");
        } catch (e) {
          throw new UsageError(oneLine(e));
        }
      }
      const driftNode = driftArgs(opts);
      const epochSeconds = parseEpochSeconds(opts.epochSeconds);
      const epochArgs = epochSeconds === undefined ? [] : ["--epoch-seconds", String(epochSeconds)];
      const nodeArgs = (id: string): string[] => [...(driftNode?.(id) ?? []), ...epochArgs];
      if (!opts.keys) say(THROWAWAY_BANNER);
      const fed = await startLocalFederation({
        data: opts.data,
        ...(opts.rpc ? { rpc: opts.rpc } : {}),
        ...(opts.manifest ? { manifest: opts.manifest } : {}),
        ...(opts.keys ? { keys: opts.keys } : {}),
        nodeArgs,
        say,
      });
      let dashboard: DashboardServer | undefined;
      try {
        await waitForNodes(fed, 120_000);
        if (opts.dashboard) {
          dashboard = await serveDashboard(
            fed.data,
            opts.dashboardListen,
            localDashboardOptions(fed.data, fed.state),
          );
          fed.state.dashboard = dashboard.url;
          writeFileAtomic(path.join(fed.data, FEDERATION_FILE), JSON.stringify(fed.state, null, 2));
        }
        say(`chain RPC      ${fed.rpc}`);
        say(`trust policy   ${fed.state.trustPolicy}`);
        for (const n of fed.state.nodes) say(`node ${n.id.padEnd(16)} ${n.url}  pid ${n.pid ?? "-"}`);
        if (dashboard) say(`dashboard      ${dashboard.url}`);
        say(`logs in ${fed.logs}; stop with Ctrl-C`);
        await new Promise<void>((resolve) => {
          process.once("SIGINT", resolve);
          process.once("SIGTERM", resolve);
        });
      } finally {
        await dashboard?.close();
        await fed.stop();
      }
    });
}
