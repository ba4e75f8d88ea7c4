import type { Command } from "commander";
import { MlDsaWorkerPool, defaultMlDsaWorkers } from "../crypto/mldsa";
import { CountedDrift, driftNodeArgs } from "../drift/node-injection";
import { loadManifest } from "../manifest";
import { InvalidInputError } from "../util/errors";
import { DEMO_DRIFT_NODE } from "./alerts";
import { runProcessDemo, type ProcessDemoSummary } from "./demo-processes";
import { UsageError } from "./exit";
import { nodeExtensions } from "./node-extensions";
import { note, reporter } from "./output";
import { METRICS_LISTEN_HELP, WORKERS_HELP, metricsListenOption, parseCount } from "./run";
import { DEFAULT_MANIFEST_PATH } from "../manifest";

export interface DemoOptions {
  rounds: number;
  /** Events per federation per submission. */
  events: number;
  /** Keep the data dir here (default: a temp dir removed afterwards). */
  data?: string;
  /** Make ssid-apac-1 Byzantine in rounds 2, 4, 5 (default true; not with `drift`). */
  byzantine?: boolean;
  /** ML-DSA worker threads shared by the in-process nodes (0 or omitted: main thread only). */
  workers?: number;
  /** Credit allocation epoch in seconds: every node's; the demo waits for the first allocation. */
  epochSeconds?: number;
  /** Make ssid-apac-1 drift this way (a drift cause) in its first 3 rounds with events. */
  drift?: string;
  /** Serve every node's metrics, merged, at http://HOST:PORT/metrics during the run. */
  metricsListen?: string;
}

/** Share of each batch the demo's drifting node changes. */
const DEMO_DRIFT_FRACTION = 0.2;
/** Rounds with events in which the demo's drifting node drifts. */
const DEMO_DRIFT_ROUNDS = 3;

/** Refuse an unknown drift cause before anything starts (usage error, exit 2). */
function checkedDrift(cause: string): CountedDrift {
  try {
    return new CountedDrift({
      nodeId: DEMO_DRIFT_NODE,
      cause,
      rounds: DEMO_DRIFT_ROUNDS,
      fraction: DEMO_DRIFT_FRACTION,
    });
  } catch (e) {
    if (e instanceof InvalidInputError) throw new UsageError(`--drift: ${e.shortMessage}`, { cause: e });
    throw e;
  }
}

/** `amp node` flags making DEMO_DRIFT_NODE drift (`cause`) in the first 3 rounds with events. */
function demoDriftArgs(cause: string): (nodeId: string) => string[] {
  checkedDrift(cause);
  return driftNodeArgs({
    cause,
    node: DEMO_DRIFT_NODE,
    rounds: DEMO_DRIFT_ROUNDS,
    fraction: DEMO_DRIFT_FRACTION,
  });
}

function driftLine(cause: string): string {
  const what = cause === "clock_skew" ? "clock +2 s" : `${DEMO_DRIFT_FRACTION * 100} % of each batch`;
  return `drift: ${DEMO_DRIFT_NODE} drifts (${cause}, ${what}) in its first ${DEMO_DRIFT_ROUNDS} rounds with events; no Byzantine rounds`;
}

const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** A sample proof the demo verified. */
export interface DemoVerified {
  eventId: string;
  origin: string;
  index: bigint | number | string;
  round: bigint | number | string;
  txHash: string;
}

/**
 * The in-process demo: the node layout's code (NodeService, the extensions `amp node` runs,
 * loopback HTTP between nodes, each node with only its own THROWAWAY keys) with every node in THIS
 * process, on a child `hardhat node`; events posted to the nodes' `POST /v1/events`; sample proofs
 * fetched over HTTP and verified against the pinned trust policy. `say`: the table (stdout);
 * `log`: progress (stderr).
 */
export async function runDemo(
  opts: DemoOptions,
  say: (line: string) => void = (l) => console.log(l),
  log: (line: string) => void = note,
): Promise<ProcessDemoSummary> {
  const drift = opts.drift !== undefined ? checkedDrift(opts.drift) : undefined;
  if (opts.drift !== undefined) log(driftLine(opts.drift));
  const manifest = loadManifest(DEFAULT_MANIFEST_PATH);
  const pool = opts.workers ? new MlDsaWorkerPool(opts.workers) : undefined;
  try {
    return await runProcessDemo(
      {
        rounds: opts.rounds,
        events: opts.events,
        byzantine: opts.byzantine !== false && drift === undefined,
        timeoutMs: 120_000 + opts.rounds * 15_000,
        ...(opts.data !== undefined ? { data: opts.data } : {}),
        ...(opts.epochSeconds !== undefined ? { epochSeconds: opts.epochSeconds } : {}),
        ...(opts.metricsListen !== undefined ? { metricsListen: opts.metricsListen } : {}),
        drift: drift !== undefined,
        inProcess: (id) => ({
          // The same list `amp node` runs; several nodes share this process.
          extensions: nodeExtensions(manifest, { epochSeconds: opts.epochSeconds, processMetrics: false }),
          ...(drift && id === DEMO_DRIFT_NODE ? { drift } : {}),
          ...(pool ? { mldsa: pool } : {}),
        }),
      },
      say,
      log,
    );
  } finally {
    await pool?.close();
  }
}

export function addDemoCommand(program: Command): void {
  program
    .command("demo")
    .description(
      "run AMP end to end on one machine: a child hardhat node and the seven nodes (in this process, or --processes)",
    )
    .option("--rounds <n>", "anchored rounds to reach", "5")
    .option("--events <n>", "generated events per federation per submission", "25")
    .option("--data <dir>", "keep the data dir here (default: a temp dir, removed afterwards)")
    .option("--no-byzantine", "run without the Byzantine node")
    .option("--workers <n>", WORKERS_HELP, String(defaultMlDsaWorkers()))
    .option(
      "--epoch-seconds <n>",
      "every node's credit epoch in seconds; the demo waits for the first allocation",
    )
    .option("--metrics-listen <host:port>", METRICS_LISTEN_HELP)
    .option(
      "--drift <cause>",
      "make ssid-apac-1 drift this way in its first 3 rounds with events (see amp alerts --help)",
    )
    .option(
      "--processes",
      "run on the multi-process layout (what `npm start` runs): one `amp node` process per node",
    )
    .option(
      "--json",
      'print {"ok":true,"command":"demo","result":{"rpc","trustPolicy","rounds","verified","evidence","processes","credits"}} on stdout',
    )
    .addHelpText(
      "after",
      `
Starts a local federation as \`amp up\` does: a child \`hardhat node\`, the deployment through the
Ignition module, ssid (4 nodes) and opencore (3 nodes) with THROWAWAY DEMO KEYS (derived from a
public label: never reuse them). By default the seven nodes run in THIS process (the same node
code as \`amp node\`, each with only its own keys, talking over loopback HTTP); with --processes
(what \`npm start\` runs) each is its own \`amp node\` process. ssid-apac-1 is Byzantine (test only)
in rounds 2, 4 and 5. Generated events go in over HTTP (POST /v1/events) until --rounds rounds
are anchored; sample proofs are fetched over HTTP and verified against the pinned trust.json;
everything is stopped; then the round table, the evidence and the proofs are printed (stdout;
progress on stderr). --metrics-listen serves every node's metrics merged at one /metrics.
--workers is in-process only (ML-DSA worker threads shared by the nodes).

Examples:
  $ amp demo
  $ amp demo --rounds 3 --events 100 --data ./demo-data
  $ amp demo --drift serialization_divergence --data ./d && amp alerts list --data ./d
  $ amp demo --processes --rounds 4 --data ./demo-processes`,
    )
    .action(
      async (
        opts: {
          rounds: string;
          events: string;
          data?: string;
          byzantine: boolean;
          workers: string;
          epochSeconds?: string;
          metricsListen?: string;
          drift?: string;
          json?: boolean;
          processes?: boolean;
        },
        cmd: Command,
      ) => {
        const out = reporter("demo", opts.json);
        const rounds = parseCount(opts.rounds, "--rounds", 1);
        const events = parseCount(opts.events, "--events", 1);
        const epochSeconds =
          opts.epochSeconds === undefined ? undefined : parseCount(opts.epochSeconds, "--epoch-seconds", 1);
        const metricsListen = metricsListenOption(opts.metricsListen);
        if (opts.processes === true) {
          if (cmd.getOptionValueSource("workers") === "cli")
            throw new UsageError(`--${kebab("workers")} is not available with --processes yet`);
          // --drift: DEMO_DRIFT_NODE drifts in the first rounds with events (amp node --drift) and is
          // then not also made Byzantine; --epoch-seconds: every node's credit epoch.
          const drift = opts.drift === undefined ? undefined : demoDriftArgs(opts.drift);
          if (opts.drift !== undefined) note(driftLine(opts.drift));
          const epoch = epochSeconds === undefined ? [] : ["--epoch-seconds", String(epochSeconds)];
          const summary = await runProcessDemo(
            {
              rounds,
              events,
              byzantine: opts.byzantine && drift === undefined,
              ...(opts.data !== undefined ? { data: opts.data } : {}),
              ...(epochSeconds !== undefined ? { epochSeconds } : {}),
              ...(metricsListen !== undefined ? { metricsListen } : {}),
              drift: drift !== undefined,
              nodeArgs: (id) => [...(drift?.(id) ?? []), ...epoch],
            },
            out.say,
            note,
          );
          out.done(summary);
          return;
        }
        const summary = await runDemo(
          {
            rounds,
            events,
            byzantine: opts.byzantine,
            workers: parseCount(opts.workers, "--workers"),
            ...(opts.data !== undefined ? { data: opts.data } : {}),
            ...(epochSeconds !== undefined ? { epochSeconds } : {}),
            ...(metricsListen !== undefined ? { metricsListen } : {}),
            ...(opts.drift !== undefined ? { drift: opts.drift } : {}),
          },
          out.say,
        );
        out.done(summary);
      },
    );
}
