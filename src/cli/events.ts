import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { Archive } from "../archive";
import type { StoredEvent } from "../archive";
import { AnchoredRounds, ANCHORS_FILE } from "../chain/anchored-rounds";
import { ARCHIVE_FILE, ingestEvents } from "../chain/runner";
import { InvalidInputError } from "../util/errors";
import { loadManifestFederations } from "./context";
import type { ManifestFederation } from "./context";
import { reporter } from "./output";

/** Parse NDJSON text; a bad line is refused naming its line number (nothing is stored). */
export function parseNdjson(text: string, file: string): unknown[] {
  const out: unknown[] = [];
  const lines = text.split("\n");
  for (const [i, line] of lines.entries()) {
    if (line.trim() === "") continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      throw new InvalidInputError(`${file}:${i + 1}: not a JSON object`);
    }
  }
  return out;
}

export function addIngestCommand(program: Command): void {
  program
    .command("ingest")
    .argument("<file>", "NDJSON file, one federation_event per line")
    .description("validate events and queue them durably in the data dir's archive (all or nothing)")
    .requiredOption("--data <dir>", "data dir (created if missing)")
    .option("--manifest <file>", "federation manifest (default: the shipped default manifest)")
    .option("--json", 'print {"ok":true,"command":"ingest","result":{"stored","duplicates"}}')
    .addHelpText(
      "after",
      `
Each event is routed to its federation by federation_context.federation_id. One invalid line
stores nothing and names the line, the field and the rule. Re-ingesting the same event is
counted as a duplicate; the same event_id with other content is refused.

Examples:
  $ amp ingest events.ndjson --data ./amp-data
  $ amp run --rpc http://127.0.0.1:8545 --data ./amp-data`,
    )
    .action((file: string, opts: { data: string; manifest?: string; json?: boolean }) => {
      if (!fs.existsSync(file)) throw new InvalidInputError(`no such file: ${file}`);
      const raw = parseNdjson(fs.readFileSync(file, "utf8"), file);
      const names = loadManifestFederations(opts.manifest).map((f) => f.name);
      fs.mkdirSync(opts.data, { recursive: true });
      const archive = Archive.open(path.join(opts.data, ARCHIVE_FILE));
      try {
        const r = ingestEvents(archive, names, raw);
        const out = reporter("ingest", opts.json);
        out.say(`queued ${r.stored} events (${r.duplicates} duplicates ignored) in ${opts.data}`);
        out.done({ stored: r.stored, duplicates: r.duplicates });
      } finally {
        archive.close();
      }
    });
}

interface EventRow {
  id: string;
  federation: string;
  round: string;
  index: bigint;
  leaf: string;
}

function rowsOf(
  archive: Archive,
  anchors: AnchoredRounds | undefined,
  fed: ManifestFederation,
  events: StoredEvent[],
): EventRow[] {
  const rounds = anchors?.all() ?? [];
  return events.map((e) => {
    const r = rounds.find((a) => {
      const cp = a.checkpoints.find((c) => c.origin === fed.origin);
      return cp !== undefined && BigInt(cp.treeSize) > e.seq;
    });
    return {
      id: e.eventId,
      federation: fed.name,
      round: r ? r.round.toString() : "pending",
      index: e.seq,
      leaf: "0x" + Buffer.from(e.leafHash).toString("hex"),
    };
  });
}

export function addEventsCommand(program: Command): void {
  program
    .command("events")
    .description("list archived events: id, federation, anchored round (or pending), leaf index, leaf hash")
    .requiredOption("--data <dir>", "data dir")
    .option("--id <eventId>", "only this event")
    .option("--leaf <hash>", "only the event with this leaf hash (0x-hex)")
    .option("--manifest <file>", "federation manifest (default: the shipped default manifest)")
    .option(
      "--json",
      'print {"ok":true,"command":"events","result":{"events":[{id,federation,round,index,leaf}]}}',
    )
    .addHelpText(
      "after",
      `
Examples:
  $ amp events --data ./amp-data | head
  $ amp events --data ./amp-data --id 3f2a9c1e-…
  $ amp events --data ./amp-data --leaf 0x5d1f…`,
    )
    .action((opts: { data: string; id?: string; leaf?: string; manifest?: string; json?: boolean }) => {
      const file = path.join(opts.data, ARCHIVE_FILE);
      if (!fs.existsSync(file)) throw new InvalidInputError(`no archive at ${file}`);
      const archive = Archive.open(file);
      const anchors = fs.existsSync(path.join(opts.data, ANCHORS_FILE))
        ? AnchoredRounds.open(opts.data)
        : undefined;
      try {
        const rows: EventRow[] = [];
        for (const fed of loadManifestFederations(opts.manifest)) {
          let events: StoredEvent[];
          if (opts.id !== undefined) {
            const e = archive.getEvent(opts.id);
            events = e && e.federation === fed.name ? [e] : [];
          } else {
            events = archive.eventsInRange(fed.name, 0n, archive.nextSeq(fed.name));
          }
          rows.push(...rowsOf(archive, anchors, fed, events));
        }
        const selected = opts.leaf ? rows.filter((r) => r.leaf === opts.leaf!.toLowerCase()) : rows;
        if ((opts.id || opts.leaf) && selected.length === 0) {
          throw new InvalidInputError(
            `no archived event matches ${opts.id ? `id ${opts.id}` : `leaf ${opts.leaf}`}`,
          );
        }
        const out = reporter("events", opts.json);
        if (out.json) out.done({ events: selected });
        else {
          out.say("event_id\tfederation\tround\tindex\tleaf_hash");
          for (const r of selected) out.say(`${r.id}\t${r.federation}\t${r.round}\t${r.index}\t${r.leaf}`);
        }
      } finally {
        anchors?.close();
        archive.close();
      }
    });
}
