/**
 * The `amp` command. Each subcommand lives in its own file and is loaded only when it runs (so
 * `amp --help` and `amp --version` start without ethers, viem, Ignition or SQLite); this file wires
 * them into commander, prints one line on failure and sets the exit code (see ./exit.ts: 0 ok,
 * 1 invalid, 2 usage, 3 could not check). With `--json` a failure is also one JSON object on stdout.
 */
import { CommanderError } from "commander";
import type { Command } from "commander";
import type { OutputConfiguration } from "commander";
import { oneLine } from "../util/errors";
import { exitCodeFor, storageProblem } from "./exit";
import { AmpCommand, errorJson, setOutput, wantsJson } from "./output";
import { packageVersion } from "./version";

/** A command: its name, the one-line summary `amp --help` lists, and how to load it. */
export interface CommandEntry {
  name: string;
  summary: string;
  add(program: Command): Promise<void>;
}

/** Every command, in help order. A new command is added here (and nowhere else in this file). */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "demo",
    summary: "run AMP end to end on Hardhat's in-process network (no node needed)",
    add: async (p) => (await import("./demo")).addDemoCommand(p),
  },
  {
    name: "deploy",
    summary: "deploy the AMP contracts and register the manifest's federations",
    add: async (p) => (await import("./deploy")).addDeployCommand(p),
  },
  {
    name: "run",
    summary: "run nexus rounds over the queued events and anchor each round",
    add: async (p) => (await import("./run")).addRunCommand(p),
  },
  {
    name: "ingest",
    summary: "validate events and queue them durably in the data dir's archive",
    add: async (p) => (await import("./events")).addIngestCommand(p),
  },
  {
    name: "events",
    summary: "list archived events and the round that anchored each",
    add: async (p) => (await import("./events")).addEventsCommand(p),
  },
  {
    name: "proof",
    summary: "write a self-contained proof file for an anchored event",
    add: async (p) => (await import("./proof")).addProofCommand(p),
  },
  {
    name: "verify",
    summary: "verify a proof file against the chain",
    add: async (p) => (await import("./verify")).addVerifyCommand(p),
  },
  {
    name: "up",
    summary: "start a local federation: a chain, the contracts and one process per node",
    add: async (p) => (await import("./up")).addUpCommand(p),
  },
  {
    name: "node",
    summary: "run one federation node (only its own keys) with its HTTP service",
    add: async (p) => (await import("./node")).addNodeCommand(p),
  },
  {
    name: "status",
    summary: "what runs in a data dir: nodes, chain, last anchored round, pending events",
    add: async (p) => (await import("./federation")).addStatusCommand(p),
  },
  {
    name: "submit",
    summary: "send events to a node over HTTP and print what it acknowledged",
    add: async (p) => (await import("./federation")).addSubmitCommand(p),
  },
  {
    name: "consistency",
    summary: "check every node's log extends the anchored root consistently",
    add: async (p) => (await import("./federation")).addConsistencyCommand(p),
  },
  {
    name: "trust",
    summary: "trust policies (amp-trust/v1): export a deployment's policy for verifiers",
    add: async (p) => (await import("./trust")).addTrustCommand(p),
  },
  {
    name: "keys",
    summary: "node key files (ML-DSA-65 seed + encrypted secp256k1 keystore)",
    add: async (p) => (await import("./keys")).addKeysCommand(p),
  },
  {
    name: "erase",
    summary: "GDPR erasure of an event's payload (proofs stay valid; logged)",
    add: async (p) => (await import("./erase")).addEraseCommand(p),
  },
  {
    name: "erasures",
    summary: "list the erasure log: event, when, by whom, reason",
    add: async (p) => (await import("./erase")).addErasuresCommand(p),
  },
  {
    name: "credits",
    summary: "proof credits: rankings and allocation records",
    add: async (p) => (await import("./credits")).addCreditsCommand(p),
  },
  {
    name: "receipt",
    summary: "credit receipts on-chain: verify an allocation record",
    add: async (p) => (await import("./credits")).addReceiptCommand(p),
  },
  {
    name: "alerts",
    summary: "drift alerts: list, show, acknowledge, resolve",
    add: async (p) => (await import("./alerts")).addAlertsCommand(p),
  },
  {
    name: "dashboard",
    summary: "serve the operator dashboard for a data dir",
    add: async (p) => (await import("./dashboard")).addDashboardCommand(p),
  },
];

/** The command argv names (`amp [--flags] NAME …`, `amp help NAME`), if any. */
export function commandNamed(argv: readonly string[]): string | undefined {
  const args = argv.slice(2);
  const first = args.findIndex((a) => !a.startsWith("-"));
  if (first < 0) return undefined;
  const name = args[first] === "help" ? args[first + 1] : args[first];
  return COMMANDS.some((c) => c.name === name) ? name : undefined;
}

/**
 * The program. `only` loads that one command and lists the others by summary (what the CLI does
 * at startup); without it every command is loaded (tests walk them all).
 */
export async function buildProgram(output?: OutputConfiguration, only?: string): Promise<Command> {
  const program = new AmpCommand("amp")
    .description(
      "AMP, the audit-mesh anchoring suite: federated audit logs, quorum checkpoints, anchored global roots",
    )
    .version(packageVersion(), "-V, --version", "print the version of amp")
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText(
      "after",
      `
Environment: AMP_DATA_DIR (default --data), AMP_RPC_URL (default --rpc), AMP_DEPLOYER_KEY,
AMP_KEYSTORE_PASSWORD. Exit codes: 0 ok/valid, 1 invalid, 2 usage error, 3 could not check.

Examples:
  $ amp demo                                        # embedded chain, 10 rounds, verify samples
  $ export AMP_RPC_URL=http://127.0.0.1:8545 AMP_DATA_DIR=~/amp-data
  $ amp deploy
  $ amp run --rounds 3 --generate 100
  $ amp proof <EVENT_ID> --out proof.json
  $ amp verify proof.json --trust ~/amp-data/trust.json`,
    );
  program.exitOverride();
  if (output) program.configureOutput(output);
  for (const entry of COMMANDS) {
    if (only === undefined || entry.name === only) await entry.add(program);
    else program.command(entry.name).description(entry.summary);
  }
  return program;
}

/**
 * Run the CLI; resolves to the exit code. Commands signal "failed without an error" (an invalid
 * proof) through process.exitCode; it is read here and restored, so callers (tests) are unaffected.
 */
export async function run(argv: readonly string[], output?: OutputConfiguration): Promise<number> {
  const before = process.exitCode;
  process.exitCode = undefined;
  const restoreOutput = setOutput(output);
  const json = wantsJson(argv);
  const command = commandNamed(argv);
  const writeErr = (s: string) => (output?.writeErr ? output.writeErr(s) : process.stderr.write(s));
  const writeOut = (s: string) => (output?.writeOut ? output.writeOut(s) : process.stdout.write(s));
  let code = 0;
  try {
    const program = await buildProgram(output, command ?? "");
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) {
      code = err.exitCode === 0 ? 0 : 2; // help/version exit 0; usage errors 2 (already printed)
      if (code !== 0 && json) writeOut(errorJson(command, err, code));
    } else {
      writeErr(`amp: ${storageProblem(err) ?? oneLine(err)}\n`);
      if (process.env.AMP_DEBUG && err instanceof Error) writeErr(`${err.stack ?? ""}\n`);
      code = exitCodeFor(err);
      if (json) writeOut(errorJson(command, err, code));
    }
  } finally {
    restoreOutput();
  }
  if (code === 0 && typeof process.exitCode === "number" && process.exitCode !== 0) code = process.exitCode;
  process.exitCode = before;
  return code;
}

/** Entry point used by bin/amp.js. */
export function main(argv: readonly string[]): void {
  void run(argv).then((code) => {
    // Hardhat's in-process network and RPC sockets can keep the loop alive: exit explicitly.
    process.exit(code);
  });
}
