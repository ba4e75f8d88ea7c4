/** `amp erase` (GDPR erasure of one event's payload) and `amp erasures` (the erasure log). */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { Archive, checkErasureRequest, eraseEvent, type ErasureRecord } from "../archive";
import { ARCHIVE_FILE } from "../chain/runner";
import { InvalidInputError } from "../util/errors";
import { UsageError } from "./exit";

function openArchive(data: string): Archive {
  const file = path.join(data, ARCHIVE_FILE);
  if (!fs.existsSync(file)) throw new InvalidInputError(`no archive at ${file}`);
  return Archive.open(file);
}

function defaultBy(): string {
  try {
    return os.userInfo().username;
  } catch {
    return "";
  }
}

const KEPT: Record<ErasureRecord["commitment"], string> = {
  salted: "the leaf keeps only a salted commitment, which no longer confirms any guessed payload",
  digest:
    "WARNING: this event was archived before salted commitments (archive v1); its leaf keeps the unsalted SHA-256 of the payload, which still confirms a guessed payload",
  none: "the event was ingested in digest form; no payload was stored",
};

export function addEraseCommand(program: Command): void {
  program
    .command("erase")
    .argument("<eventId>", "id of the archived event whose payload to erase")
    .description("erase an event's payload and commitment salt (GDPR); proofs stay valid; logged")
    .requiredOption("--data <dir>", "data dir holding the archive")
    .requiredOption("--reason <text>", "why (recorded in the erasure log), e.g. a request number")
    .option("--by <who>", "who asked for or performed it (default: the OS user name)")
    .addHelpText(
      "after",
      `
Deletes the payload and its secret salt from the archive file and its WAL. The event's leaf holds
only SHA-256(salt || payload), so its proofs still verify and nothing kept confirms a guessed
payload. Each erasure is appended to the erasure log (amp erasures). Erasing twice changes nothing.

Examples:
  $ amp erase 3f2a9c1e-0000-4000-8000-000000000001 --data ./amp-data --reason "GDPR request 4711" --by dpo@example.org
  $ amp erasures --data ./amp-data`,
    )
    .action((eventId: string, opts: { data: string; reason: string; by?: string }) => {
      const request = { eventId, reason: opts.reason, by: opts.by ?? defaultBy() };
      try {
        checkErasureRequest(request);
      } catch (err) {
        if (err instanceof InvalidInputError) throw new UsageError(err.shortMessage, { cause: err });
        throw err;
      }
      const archive = openArchive(opts.data);
      try {
        const { erased, record } = eraseEvent(archive, request);
        const when = new Date(record.erasedAt).toISOString();
        console.log(
          erased
            ? `erased the payload of ${eventId} at ${when}; ${KEPT[record.commitment]}`
            : `the payload of ${eventId} was already erased at ${when} (nothing changed)`,
        );
      } finally {
        archive.close();
      }
    });
}

export function addErasuresCommand(program: Command): void {
  program
    .command("erasures")
    .description("list the append-only erasure log: event id, when, by whom, commitment kind, reason")
    .requiredOption("--data <dir>", "data dir holding the archive")
    .addHelpText(
      "after",
      `
Examples:
  $ amp erasures --data ./amp-data`,
    )
    .action((opts: { data: string }) => {
      const archive = openArchive(opts.data);
      try {
        console.log("event_id\terased_at\tby\tcommitment\treason");
        for (const r of archive.erasures()) {
          const when = new Date(r.erasedAt).toISOString();
          console.log(`${r.eventId}\t${when}\t${r.by}\t${r.commitment}\t${r.reason}`);
        }
      } finally {
        archive.close();
      }
    });
}
