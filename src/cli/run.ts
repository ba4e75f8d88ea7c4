import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import type { AnchoringRunner, RoundReport } from "../chain/runner";
import { EvidenceStore } from "../consensus/evidence";
import { defaultMlDsaWorkers } from "../crypto/mldsa";
import type { ManifestFederation } from "./context";
import { UsageError } from "./exit";
import { generateEvents } from "./generate";
import { note, progress, reporter, short } from "./output";
import { parseListen } from "../telemetry";
import { oneLine } from "../util/errors";

export const METRICS_LISTEN_HELP =
  "serve Prometheus metrics at http://HOST:PORT/metrics while running (port 0: a free port; the URL is printed)";

/** Printed once above the round table: what each part of a round line means. */
export const ROUND_LEGEND =
  "legend: round N  <federation> +<events added>=<tree size> <root> q=<signed>/<total weight>  " +
  "global <global root>  witness <bytes of cosignatures>  tx <anchoring tx> gas <gas>  " +
  "ms quorum|witness|anchor = ms from sealing to quorum, to witnessed, to anchored  evidence: <node> <fault>";

/**
 * One line per round: round, sizes, roots, quorum weight, witness bytes, tx, gas, latency, and
 * the Byzantine evidence recorded in the round (`evidence: ssid-apac-1 wrong-root`).
 */
export function formatRound(r: RoundReport, evidence: readonly string[] = []): string {
  const marks = evidence.length > 0 ? `  evidence: ${evidence.join(", ")}` : "";
  if (r.status === "failed") {
    return `round ${r.round}  FAILED (${r.reason}); ${r.carriedEntries} events carried to the next attempt${marks}`;
  }
  const feds = r.federations
    .map(
      (f) =>
        `${f.origin.split("/").pop()} +${f.batchEntries}=${f.treeSize} ${short(f.rootHash)} q=${f.signedWeight}/${f.totalWeight}`,
    )
    .join("  ");
  const l = r.latencies;
  const tag = r.status === "already-anchored" ? " (already anchored)" : "";
  return (
    `round ${r.round}  ${feds}  global ${short(r.globalRoot)}  witness ${r.witnessBytes} B  ` +
    `tx ${short(r.txHash)} gas ${r.gasUsed}  ms quorum ${l.sealToQuorumMs.toFixed(0)} witness ${l.quorumToWitnessedMs.toFixed(0)} anchor ${l.witnessedToAnchoredMs.toFixed(0)}${tag}${marks}`
  );
}

export const WORKERS_HELP =
  "worker threads for the nodes' ML-DSA signing and checking (0: all in the main thread)";

/** A `--metrics-listen` value checked before anything starts (exit 2 when malformed). */
export function metricsListenOption(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    parseListen(value);
  } catch (e) {
    throw new UsageError(oneLine(e));
  }
  return value;
}

/** Byzantine evidence recorded in `round`, as `<node> <fault>` (read from the engine's evidence stores). */
export function evidenceInRound(dataDir: string, round: bigint): string[] {
  const engine = path.join(dataDir, "engine");
  if (!fs.existsSync(engine)) return [];
  const out: string[] = [];
  for (const fed of fs.readdirSync(engine).sort()) {
    if (!fs.existsSync(path.join(engine, fed, "evidence", "evidence.jsonl"))) continue;
    for (const e of new EvidenceStore(path.join(engine, fed, "evidence")).all()) {
      const mark = `${e.nodeId} ${e.kind}`;
      if (e.round === round.toString() && !out.includes(mark)) out.push(mark);
    }
  }
  return out;
}

export function parseCount(value: string, what: string, min = 0): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min)
    throw new UsageError(`${what} must be an integer ≥ ${min}, got "${value}"`);
  return n;
}

/**
 * Generate events (optional) and run rounds until `rounds` are done or nothing is pending. With
 * `dataDir`, each round line names the Byzantine evidence recorded in that round.
 */
export async function runRounds(
  runner: AnchoringRunner,
  manifest: ManifestFederation[],
  opts: { rounds: number; generate: number; salt: string; dataDir?: string; afterRound?: () => void },
  say: (l: string) => void,
): Promise<RoundReport[]> {
  const bar = progress("rounds", opts.rounds);
  say(ROUND_LEGEND);
  const out: RoundReport[] = [];
  try {
    for (let i = 0; i < opts.rounds; i++) {
      if (opts.generate > 0) {
        for (const f of manifest) {
          runner.ingest(generateEvents(f, runner.archive.nextSeq(f.name), opts.generate, opts.salt));
        }
      }
      if (runner.pending() === 0n && out.every((r) => r.status !== "failed")) {
        say(`no queued events: stopping after ${i} rounds`);
        break;
      }
      const report = await runner.runRound();
      out.push(report);
      opts.afterRound?.();
      bar.tick();
      say(formatRound(report, opts.dataDir ? evidenceInRound(opts.dataDir, report.round) : []));
    }
  } finally {
    bar.stop();
  }
  return out;
}

export function addRunCommand(program: Command): void {
  program
    .command("run")
    .description(
      "run the manifest's nodes (in this process, the `amp node` code) on the queued events until they are anchored",
    )
    .requiredOption("--rpc <url>", "JSON-RPC endpoint of the chain")
    .requiredOption("--data <dir>", "data dir (node layout: DIR/nodes/<id>); deployed on first use")
    .option(
      "--rounds <n>",
      "anchored rounds to reach at most (with --generate: one submission after another)",
      "1",
    )
    .option("--generate <n>", "post N synthetic events per federation per submission (trials)", "0")
    .option(
      "--max-batch <n>",
      "largest batch per federation per round (default: the manifest's batch.max_size)",
    )
    .option("--manifest <file>", "federation manifest (default: the shipped default manifest)")
    .option("--keys <dir>", "node key files (default: THROWAWAY DEMO KEYS, as deployed)")
    .option("--workers <n>", WORKERS_HELP, String(defaultMlDsaWorkers()))
    .option(
      "--epoch-seconds <n>",
      "every node's credit allocation epoch in seconds (default: the manifest's, 3600)",
    )
    .option("--metrics-listen <host:port>", METRICS_LISTEN_HELP)
    .option(
      "--json",
      'print {"ok":true,"command":"run","result":{"startRound","pending","rounds":[…],"credits":[…]}} on stdout',
    )
    .addHelpText(
      "after",
      `
Starts every manifest node as a NodeService in this process — the same code and extensions as
\`amp node\`, each with only its own keys (DIR/keys, or --keys), talking over loopback HTTP — with
its data dir DIR/nodes/<id>; deploys first when DIR has no deployment.json. Posts the events
\`amp ingest\` queued (then removes the delivered queue) and the --generate events to the nodes'
POST /v1/events, waits until every node has them anchored, stops the nodes and prints the round
table. The nodes decide the rounds (a submission may take more than one). Resumes where the chain
is. Closed credit epochs are allocated by the nodes while they run.

Examples:
  $ amp ingest events.ndjson --data ./amp-data
  $ amp run --rpc http://127.0.0.1:8545 --data ./amp-data
  $ amp run --rpc http://127.0.0.1:8545 --data ./amp-data --rounds 3 --generate 100
  $ amp run --rpc http://127.0.0.1:8545 --data ./amp-data --rounds 5 --generate 100 --metrics-listen 127.0.0.1:9464`,
    )
    .action(
      async (opts: {
        rpc: string;
        data: string;
        rounds: string;
        generate: string;
        maxBatch?: string;
        manifest?: string;
        keys?: string;
        workers: string;
        epochSeconds?: string;
        metricsListen?: string;
        json?: boolean;
      }) => {
        const out = reporter("run", opts.json);
        const rounds = parseCount(opts.rounds, "--rounds", 1);
        const generate = parseCount(opts.generate, "--generate");
        const maxBatch =
          opts.maxBatch === undefined ? undefined : parseCount(opts.maxBatch, "--max-batch", 1);
        const workers = parseCount(opts.workers, "--workers");
        const epochSeconds =
          opts.epochSeconds === undefined ? undefined : parseCount(opts.epochSeconds, "--epoch-seconds", 1);
        const metricsListen = metricsListenOption(opts.metricsListen);
        const { runOnNodes } = await import("./run-nodes");
        const result = await runOnNodes(
          {
            rpc: opts.rpc,
            data: opts.data,
            rounds,
            generate,
            maxBatch,
            manifest: opts.manifest,
            keys: opts.keys,
            workers,
            epochSeconds,
            metricsListen,
          },
          out.say,
          note,
        );
        out.done(result);
      },
    );
}
