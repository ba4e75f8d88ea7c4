/**
 * The `amp` command. Each subcommand lives in its own file; this one wires them into commander,
 * prints one line on failure and sets the exit code (see ./exit.ts: 0 ok, 1 invalid, 2 usage, 3 could not check).
 */
import { Command, CommanderError } from "commander";
import type { OutputConfiguration } from "commander";
import { oneLine } from "../util/errors";
import { addDemoCommand } from "./demo";
import { exitCodeFor } from "./exit";
import { addDeployCommand } from "./deploy";
import { addEventsCommand, addIngestCommand } from "./events";
import { addKeysCommand } from "./keys";
import { addNodeCommand } from "./node";
import { addUpCommand } from "./up";
import { addFederationCommands } from "./federation";
import { addProofCommand } from "./proof";
import { addRunCommand } from "./run";
import { addVerifyCommand } from "./verify";

export function buildProgram(output?: OutputConfiguration): Command {
  const program = new Command("amp")
    .description(
      "AMP, the audit-mesh anchoring suite: federated audit logs, quorum checkpoints, anchored global roots",
    )
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText(
      "after",
      `
Examples:
  $ amp demo                                        # embedded chain, 10 rounds, verify samples
  $ amp deploy --rpc http://127.0.0.1:8545 --data ./amp-data
  $ amp run --rpc http://127.0.0.1:8545 --data ./amp-data --rounds 3 --generate 100
  $ amp proof <EVENT_ID> --data ./amp-data --out proof.json
  $ amp verify proof.json --rpc http://127.0.0.1:8545`,
    );
  program.exitOverride();
  if (output) program.configureOutput(output);
  addDemoCommand(program);
  addDeployCommand(program);
  addRunCommand(program);
  addIngestCommand(program);
  addEventsCommand(program);
  addProofCommand(program);
  addVerifyCommand(program);
  addKeysCommand(program);
  addNodeCommand(program);
  addUpCommand(program);
  addFederationCommands(program);
  return program;
}

/**
 * Run the CLI; resolves to the exit code. Commands signal "failed without an error" (an invalid
 * proof) through process.exitCode; it is read here and restored, so callers (tests) are unaffected.
 */
export async function run(argv: readonly string[], output?: OutputConfiguration): Promise<number> {
  const program = buildProgram(output);
  const before = process.exitCode;
  process.exitCode = undefined;
  let code = 0;
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) {
      code = err.exitCode === 0 ? 0 : 2; // help/version exit 0; usage errors 2 (already printed)
    } else {
      const write = (s: string) => (output?.writeErr ? output.writeErr(s) : process.stderr.write(s));
      write(`amp: ${oneLine(err)}\n`);
      if (process.env.AMP_DEBUG && err instanceof Error) write(`${err.stack ?? ""}\n`);
      code = exitCodeFor(err);
    }
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
