import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { connectRpc } from "../chain/connect";
import type { AnchoringRunner, RoundReport } from "../chain/runner";
import { EvidenceStore } from "../consensus/evidence";
import { defaultMlDsaWorkers } from "../crypto/mldsa";
import type { ManifestFederation } from "./context";
import { UsageError } from "./exit";
import { generateEvents } from "./generate";
import { progress, reporter, short } from "./output";
import { openSession } from "./session";
import { attachCredits } from "../credits/attach";
import { driftFindingsProvider } from "../credits/drift-findings";
import { parseListen, startMetrics } from "../telemetry";
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
    .description("run nexus rounds over the queued events and anchor each round (one transaction per round)")
    .requiredOption("--rpc <url>", "JSON-RPC endpoint of the chain in the deployment record")
    .requiredOption("--data <dir>", "data dir written by `amp deploy`")
    .option("--rounds <n>", "rounds to run at most", "1")
    .option("--generate <n>", "add N synthetic events per federation before each round (trials)", "0")
    .option("--max-batch <n>", "largest batch per federation per round", "1000")
    .option("--manifest <file>", "federation manifest (default: the shipped default manifest)")
    .option("--keys <dir>", "node key files (default: THROWAWAY DEMO KEYS, as deployed)")
    .option("--workers <n>", WORKERS_HELP, String(defaultMlDsaWorkers()))
    .option("--epoch-seconds <n>", "credit allocation epoch in seconds (default: the manifest's, 3600)")
    .option("--metrics-listen <host:port>", METRICS_LISTEN_HELP)
    .option(
      "--json",
      'print {"ok":true,"command":"run","result":{"startRound","pending","rounds":[…]}} on stdout',
    )
    .addHelpText(
      "after",
      `
Allocates credits for every closed epoch after each round (one transaction per epoch).
Resumes where the chain is: a restarted run continues at the anchor's next round and never
anchors a round twice. Stops early when no events are queued.

Examples:
  $ amp ingest events.ndjson --data ./amp-data
  $ amp run --rpc http://127.0.0.1:8545 --data ./amp-data --rounds 5
  $ amp run --rpc http://127.0.0.1:8545 --data ./amp-data --rounds 3 --generate 100
  $ amp run --rpc http://127.0.0.1:8545 --data ./amp-data --rounds 100 --metrics-listen 127.0.0.1:9464`,
    )
    .action(
      async (opts: {
        rpc: string;
        data: string;
        rounds: string;
        generate: string;
        maxBatch: string;
        manifest?: string;
        keys?: string;
        workers: string;
        epochSeconds?: string;
        metricsListen?: string;
        json?: boolean;
      }) => {
        const out = reporter("run", opts.json);
        const say = out.say;
        const rounds = parseCount(opts.rounds, "--rounds", 1);
        const generate = parseCount(opts.generate, "--generate");
        const maxBatch = parseCount(opts.maxBatch, "--max-batch", 1);
        const mldsaWorkers = parseCount(opts.workers, "--workers");
        const epochSeconds =
          opts.epochSeconds === undefined ? undefined : parseCount(opts.epochSeconds, "--epoch-seconds", 1);
        const telemetry = await startMetrics(metricsListenOption(opts.metricsListen), say);
        const conn = await connectRpc(opts.rpc).catch(async (e: unknown) => {
          await telemetry.close();
          throw e;
        });
        try {
          const session = { ...opts, maxBatch, mldsaWorkers, metrics: telemetry.metrics };
          const { runner, manifest, record } = await openSession(conn, opts.data, session, say);
          try {
            const startRound = runner.nextRound;
            const pending = runner.pending();
            say(`starting at round ${startRound}; ${pending} events queued`);
            const credits = await attachCredits({
              dataDir: opts.data,
              archive: runner.archive,
              conn,
              record,
              federations: manifest.map((f) => ({
                ...f,
                nodeIds: f.nodes.map((n) => n.id),
                nodeWeights: f.nodes.map((n) => n.weight),
              })),
              manifest: opts.manifest,
              epochSeconds,
              drift: driftFindingsProvider(runner.drift.store),
              metrics: telemetry.metrics,
            });
            const reports = await runRounds(
              runner,
              manifest,
              { rounds, generate, salt: opts.data, dataDir: opts.data, afterRound: credits.afterRound },
              say,
            );
            const allocated = await credits.settle();
            for (const a of allocated) {
              say(`credits: epoch ${a.epoch} allocated to ${a.nodes} nodes in tx ${short(a.txHash)}`);
              for (const p of a.proposals ?? []) {
                say(
                  `credits: proposed next validator weights of ${p.origin}: ${JSON.stringify(p.weights)}${p.reason ? ` (${p.reason})` : ""}`,
                );
              }
            }
            out.done({
              startRound,
              pending,
              rounds: reports.map((r) => ({ ...r, evidence: evidenceInRound(opts.data, r.round) })),
              credits: allocated.map((a) => ({
                epoch: a.epoch,
                nodes: a.nodes,
                txHash: a.txHash,
                block: a.blockNumber,
              })),
            });
          } finally {
            runner.close();
          }
        } finally {
          conn.close();
          await telemetry.close();
        }
      },
    );
}
