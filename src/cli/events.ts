import type { Command } from "commander";
import { AmpError } from "../util/errors";

export function addIngestCommand(program: Command): void {
  program
    .command("ingest")
    .argument("<file>")
    .description("queue events from an NDJSON file (not available yet)")
    .action(() => {
      throw new AmpError("amp ingest is not available yet");
    });
}

export function addEventsCommand(program: Command): void {
  program
    .command("events")
    .description("list archived events (not available yet)")
    .action(() => {
      throw new AmpError("amp events is not available yet");
    });
}
