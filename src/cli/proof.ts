import type { Command } from "commander";
import { AmpError } from "../util/errors";

export function addProofCommand(program: Command): void {
  program
    .command("proof")
    .argument("<eventId>")
    .description("write a proof file for an anchored event (not available yet)")
    .action(() => {
      throw new AmpError("amp proof is not available yet");
    });
}
