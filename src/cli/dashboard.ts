import fs from "node:fs";
import type { Command } from "commander";
import { serveDashboard } from "../dashboard/server";
import { parseListen } from "../telemetry/http";
import { oneLine } from "../util/errors";
import { DEFAULT_MANIFEST_PATH, loadManifest } from "../manifest";
import { loadManifestFederations } from "./context";
import { UsageError } from "./exit";

export function addDashboardCommand(program: Command): void {
  program
    .command("dashboard")
    .description(
      "serve the operator dashboard (Rounds, Nodes, Drift, Credits) of a data dir; live while `amp run` writes it",
    )
    .requiredOption("--data <dir>", "data dir written by `amp deploy` / `amp run` / `amp demo --data`")
    .option(
      "--listen <host:port>",
      "where to listen (port 0: a free port; the URL is printed)",
      "127.0.0.1:8080",
    )
    .addHelpText(
      "after",
      `
Rounds: the anchored rounds, their checkpoints, quorum weight (recomputed from the
anchored signatures), transactions, gas and stage latencies. Nodes: federations, each node's
weight and participation, Byzantine evidence. Drift: alerts (acknowledge / resolve with a note:
the only writes, same-origin JSON POSTs), findings, drift score and clock offset per round.
Credits: per-epoch scores, weights, ranking and on-chain receipts with verification. Pages poll the data dir every 2 s.
Stop with Ctrl-C.

Examples:
  $ amp dashboard --data ./amp-data
  $ amp dashboard --data ./amp-data --listen 127.0.0.1:0`,
    )
    .action(async (opts: { data: string; listen: string; manifest?: string }) => {
      try {
        parseListen(opts.listen, "--listen");
      } catch (e) {
        throw new UsageError(oneLine(e));
      }
      if (!fs.existsSync(opts.data)) throw new UsageError(`--data ${opts.data}: no such directory`);
      const manifest = loadManifestFederations(opts.manifest);
      const webhooks = loadManifest(opts.manifest ?? DEFAULT_MANIFEST_PATH).drift.webhooks;
      const server = await serveDashboard(opts.data, opts.listen, { manifest, webhooks });
      console.log(`dashboard: ${server.url}`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          void server.close().then(resolve);
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
    });
}
