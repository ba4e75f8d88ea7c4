import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { connectEmbedded } from "../chain/connect";
import { writeDeployment } from "../chain/deployment";
import { AnchoringRunner } from "../chain/runner";
import { FaultInjector } from "../consensus/fault-injector";
import type { FaultKind } from "../consensus/evidence";
import { buildProofFile } from "../proof/build";
import { publicClientFor, verifyProof } from "../proof/verify";
import type { TrustRoot } from "../proof/verify";
import { trustPolicyFromChain } from "../trust/policy";
import { deployAndRegister, printDeployment } from "./deploy";
import { note, reporter, short } from "./output";
import { runProcessDemo } from "./demo-processes";
import { DEMO_DRIFT_NODE } from "./alerts";
import { driftNodeArgs } from "../drift/node-injection";
import { InvalidInputError } from "../util/errors";
import { UsageError } from "./exit";
import {
  METRICS_LISTEN_HELP,
  WORKERS_HELP,
  evidenceInRound,
  metricsListenOption,
  parseCount,
  runRounds,
} from "./run";
import { startMetrics } from "../telemetry";
import type { RoundReport } from "../chain/runner";
import type { DeploymentRecord } from "../chain/deployment";
import type { EpochAllocation } from "../credits/scheduler";
import { defaultMlDsaWorkers } from "../crypto/mldsa";
import { runnerFederationsFor } from "./session";
import { demoCredits } from "./credits-demo";
import { demoDriftInjector, demoDriftSummary } from "./alerts";

export interface DemoOptions {
  rounds: number;
  /** Events per federation per round. */
  events: number;
  /** Keep the data dir here (default: a temp dir removed afterwards). */
  data?: string;
  /** Make one ssid node Byzantine in rounds 3..5 (default true). */
  byzantine?: boolean;
  /** ML-DSA worker threads (0: main thread only); the runner's default when omitted. */
  workers?: number;
  /** Credit allocation epoch in seconds (default: the manifest's credit.epoch_seconds). */
  epochSeconds?: number;
  /** Serve Prometheus metrics at http://HOST:PORT/metrics during the run. */
  metricsListen?: string;
  /** Make one ssid node drift this way (a drift cause) instead of the Byzantine rounds. */
  drift?: string;
}

/** `amp node` flags making DEMO_DRIFT_NODE drift (`cause`) in the first 3 rounds with events. */
function demoDriftArgs(cause: string): (nodeId: string) => string[] {
  try {
    return driftNodeArgs({ cause, node: DEMO_DRIFT_NODE, rounds: 3 });
  } catch (e) {
    if (e instanceof InvalidInputError) throw new UsageError(`--drift: ${e.shortMessage}`, { cause: e });
    throw e;
  }
}

/** Rounds of `amp demo --processes` when --rounds is not given. */
const PROCESS_DEMO_ROUNDS = 5;

const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

const BYZANTINE_NODE = "ssid-apac-1";
const BYZANTINE_ROUNDS: [bigint, FaultKind][] = [
  [3n, "wrong-root"],
  [4n, "equivocation"],
  [5n, "invalid-signature"],
];

function demoFaults(say: (l: string) => void): FaultInjector {
  const faults = new FaultInjector();
  for (const [round, kind] of BYZANTINE_ROUNDS) faults.add({ nodeId: BYZANTINE_NODE, kind, rounds: [round] });
  say(
    `Byzantine: ${BYZANTINE_NODE} (25% of ssid's weight) misbehaves in rounds ` +
      BYZANTINE_ROUNDS.map(([r, k]) => `${r} (${k})`).join(", "),
  );
  return faults;
}

/** Verify proofs of a few archived events (first, middle, last) against the pinned deployment. */
async function verifySamples(
  runner: AnchoringRunner,
  client: ReturnType<typeof publicClientFor>,
  trust: TrustRoot,
  originOf: (n: string) => string,
  say: (l: string) => void,
): Promise<DemoVerified[]> {
  const out: DemoVerified[] = [];
  const anchored = runner.anchors.all();
  const last = anchored[anchored.length - 1];
  if (!last) return out;
  for (const cp of last.checkpoints) {
    const name = runner.nameOf(cp.origin);
    const size = BigInt(cp.treeSize);
    for (const seq of [0n, size / 2n, size - 1n]) {
      const [ev] = runner.archive.eventsInRange(name, seq, seq + 1n);
      if (!ev) continue;
      const proof = buildProofFile({
        archive: runner.archive,
        anchors: runner.anchors,
        eventId: ev.eventId,
        originOf,
      });
      const v = await verifyProof(proof, client, trust);
      out.push({ eventId: v.eventId, origin: v.origin, index: v.index, round: v.round, txHash: v.txHash });
      say(
        `VALID event ${v.eventId} ${v.origin}#${v.index} in round ${v.round} (tree ${v.treeSize}), ` +
          `quorum ${v.signedWeight}/${v.totalWeight}, anchored in ${short(v.txHash)} at the pinned anchor ${short(v.trust.anchor)}`,
      );
    }
  }
  return out;
}

/** A sample proof the demo verified. */
export interface DemoVerified {
  eventId: string;
  origin: string;
  index: bigint | number | string;
  round: bigint | number | string;
  txHash: string;
}

/** What `amp demo --json` reports. */
export interface DemoSummary {
  deployment: DeploymentRecord;
  rounds: (RoundReport & { evidence: string[] })[];
  verified: DemoVerified[];
  /** Credit epochs allocated at the end of the demo (receipts on-chain). */
  credits: { epoch: bigint; nodes: number; txHash: string; block: number }[];
}

/**
 * The demo on Hardhat's in-process network: deploy via Ignition, register the default federations
 * (throwaway keys), run rounds with generated events and a Byzantine node, anchor every round,
 * verify sample proofs against the chain, allocate credits for every closed epoch.
 */
export async function runDemo(
  opts: DemoOptions,
  say: (line: string) => void = (l) => console.log(l),
): Promise<DemoSummary> {
  const telemetry = await startMetrics(opts.metricsListen, say);
  const injector = opts.drift !== undefined ? demoDriftInjector(opts.drift, say) : undefined;
  const conn = await connectEmbedded();
  const dataDir = opts.data ?? fs.mkdtempSync(path.join(os.tmpdir(), "amp-demo-"));
  try {
    const record = await deployAndRegister(conn, {}, say);
    writeDeployment(dataDir, record);
    printDeployment(record, say);
    const client = publicClientFor(conn.eip1193);
    // Pinned right after deploying, as a verifier would receive it out of band (trust.json).
    const policy = await trustPolicyFromChain(client, record.contracts.globalProofAnchor, record.federations);
    say(`trust policy: chain ${policy.chainId}, anchor ${policy.anchor}, registry ${policy.registry}`);
    const { manifest, feds } = await runnerFederationsFor(record, {}, () => undefined);
    const faults = opts.byzantine === false || injector ? undefined : demoFaults(say);
    const runner = await AnchoringRunner.open({
      dataDir,
      conn,
      record,
      federations: feds,
      voteTimeoutMs: 250,
      ...(faults ? { faults } : {}),
      ...(injector ? { drift: { injector } } : {}),
      ...(opts.workers !== undefined ? { mldsaWorkers: opts.workers } : {}),
      ...(telemetry.metrics ? { metrics: telemetry.metrics } : {}),
    });
    let rounds: DemoSummary["rounds"];
    let verified: DemoVerified[];
    let allocations: EpochAllocation[];
    try {
      const credits = await demoCredits({
        dataDir,
        runner,
        conn,
        record,
        manifest,
        epochSeconds: opts.epochSeconds,
        metrics: telemetry.metrics,
      });
      const reports = await runRounds(
        runner,
        manifest,
        {
          rounds: opts.rounds,
          generate: opts.events,
          salt: "amp-demo",
          dataDir,
          afterRound: credits.afterRound,
        },
        say,
      );
      rounds = reports.map((r) => ({ ...r, evidence: evidenceInRound(dataDir, r.round) }));
      const originOf = (name: string) => manifest.find((f) => f.name === name)!.origin;
      verified = await verifySamples(runner, client, { policy }, originOf, say);
      allocations = await credits.finish(say);
      await runner.drift.idle();
      if (injector) say(demoDriftSummary(runner.drift.store, opts.data));
    } finally {
      runner.close();
    }
    return {
      deployment: record,
      rounds,
      verified,
      credits: allocations.map((a) => ({
        epoch: a.epoch,
        nodes: a.nodes,
        txHash: a.txHash,
        block: a.blockNumber,
      })),
    };
  } finally {
    await telemetry.close();
    if (opts.data === undefined) fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export function addDemoCommand(program: Command): void {
  program
    .command("demo")
    .description("run AMP end to end on Hardhat's in-process network (no node needed)")
    .option("--rounds <n>", "rounds to run", "10")
    .option("--events <n>", "generated events per federation per round", "25")
    .option("--data <dir>", "keep the data dir here (default: a temp dir, removed afterwards)")
    .option("--no-byzantine", "run without the Byzantine node")
    .option("--workers <n>", WORKERS_HELP, String(defaultMlDsaWorkers()))
    .option("--epoch-seconds <n>", "credit allocation epoch in seconds (default: the manifest's, 3600)")
    .option("--metrics-listen <host:port>", METRICS_LISTEN_HELP)
    .option("--drift <cause>", "make ssid-apac-1 drift this way in rounds 2-4 (see amp alerts --help)")
    .option(
      "--processes",
      "run on the multi-process layout (what `npm start` runs): a child hardhat node and one `amp node` process per node",
    )
    .option(
      "--json",
      'print {"ok":true,"command":"demo","result":{"deployment","rounds","verified","credits"}} on stdout',
    )
    .addHelpText(
      "after",
      `
Deploys through the Ignition module, registers ssid (4 nodes) and opencore (3 nodes) with
THROWAWAY DEMO KEYS (derived from a public label: never reuse them), runs the rounds with one
ssid node Byzantine in rounds 3-5, prints a legend and one line per round (rounds with Byzantine
evidence end in "evidence: <node> <fault>"), then verifies sample proofs. Log lines go to stderr.

With --processes (what \`npm start\` runs) the demo starts a local federation as \`amp up\` does: a
child \`hardhat node\`, the deployment, and seven \`amp node\` processes on loopback, each with only
its own keys; ssid-apac-1 is started with \`--fault\` (test only) in rounds 2, 4 and 5. Events go in
over HTTP until --rounds rounds (default 5) are anchored; sample proofs are fetched over HTTP and
verified against the pinned trust.json; every child is stopped; then the round table, the evidence
and the proofs are printed. --workers, --epoch-seconds, --metrics-listen and --drift are in-process
only for now.

Examples:
  $ amp demo
  $ amp demo --rounds 3 --events 100 --data ./demo-data
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
        if (opts.processes === true) {
          const inProcessOnly = ["workers", "metricsListen"];
          const given = inProcessOnly.find((o) => cmd.getOptionValueSource(o) === "cli");
          if (given !== undefined)
            throw new UsageError(`--${kebab(given)} is not available with --processes yet`);
          const fromCli = cmd.getOptionValueSource("rounds") === "cli";
          // --drift: DEMO_DRIFT_NODE drifts in the first rounds with events (amp node --drift) and is
          // then not also made Byzantine; --epoch-seconds: every node's credit epoch.
          const drift = opts.drift === undefined ? undefined : demoDriftArgs(opts.drift);
          const epoch =
            opts.epochSeconds === undefined
              ? []
              : ["--epoch-seconds", String(parseCount(opts.epochSeconds, "--epoch-seconds", 1))];
          const summary = await runProcessDemo(
            {
              rounds: fromCli ? parseCount(opts.rounds, "--rounds", 1) : PROCESS_DEMO_ROUNDS,
              events: parseCount(opts.events, "--events", 1),
              byzantine: opts.byzantine && drift === undefined,
              ...(opts.data !== undefined ? { data: opts.data } : {}),
              nodeArgs: (id) => [...(drift?.(id) ?? []), ...epoch],
            },
            out.say,
            note,
          );
          out.done(summary);
          return;
        }
        const metricsListen = metricsListenOption(opts.metricsListen);
        const summary = await runDemo(
          {
            rounds: parseCount(opts.rounds, "--rounds", 1),
            events: parseCount(opts.events, "--events", 1),
            byzantine: opts.byzantine,
            workers: parseCount(opts.workers, "--workers"),
            ...(opts.data !== undefined ? { data: opts.data } : {}),
            ...(opts.epochSeconds !== undefined
              ? { epochSeconds: parseCount(opts.epochSeconds, "--epoch-seconds", 1) }
              : {}),
            ...(metricsListen !== undefined ? { metricsListen } : {}),
            ...(opts.drift !== undefined ? { drift: opts.drift } : {}),
          },
          out.say,
        );
        out.done(summary);
      },
    );
}
