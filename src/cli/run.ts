import type { Command } from "commander";
import { AmpError } from "../util/errors";

export function addRunCommand(program: Command): void {
  program
    .command("run")
    .description("process queued events in rounds and anchor each round (not available yet)")
    .requiredOption("--rpc <url>", "JSON-RPC endpoint")
    .requiredOption("--data <dir>", "data dir written by `amp deploy`")
    .action(() => {
      throw new AmpError("amp run is not available yet");
    });
}
