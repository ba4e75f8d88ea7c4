import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { startProgress } from "./progress";
import { CannotCheckError } from "./exit";
import { Archive } from "../archive";
import type { StoredEvent } from "../archive";
import { AnchoredRounds } from "../chain/anchored-rounds";
import { ARCHIVE_FILE } from "../chain/runner";
import { parseIJson } from "../events/ijson";
import { ingestNdjsonFile } from "./ingest-file";
import { InvalidInputError } from "../util/errors";
import { loadManifestFederations } from "./context";
import type { ManifestFederation } from "./context";
import { reporter } from "./output";
import { describeDataDir, fullestNodeOf, hasAnchors, manifestFor, resolveDataDir } from "./data-dir";

/**
 * Parse NDJSON text (small inputs, tests); a bad line is refused naming `file:line` (1-based) and
 * the field, like `amp ingest`, which streams files instead (ingest-file.ts).
 */
export function parseNdjson(text: string, file: string): unknown[] {
  const out: unknown[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    out.push(parseIJson(line, { source: file, line: i + 1 }));
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
stores nothing and names it as file:line (1-based), the field and the rule. Lines must be UTF-8
I-JSON (RFC 7493: no duplicate member names, lone surrogates or inexact numbers), at most 1 MiB
each. The file is streamed: any size is ingested in bounded memory, in one transaction.
Re-ingesting the same event is counted as a duplicate; the same event_id with other content is
refused.

Examples:
  $ amp ingest events.ndjson --data ./amp-data
  $ amp run --rpc http://127.0.0.1:8545 --data ./amp-data`,
    )
    .action((file: string, opts: { data: string; manifest?: string; json?: boolean }) => {
      if (!fs.existsSync(file)) throw new CannotCheckError(`no such file: ${file} (check the path)`);
      if (!fs.statSync(file).isFile()) throw new InvalidInputError(`not a regular file: ${file}`);
      const names = loadManifestFederations(opts.manifest).map((f) => f.name);
      const created = fs.existsSync(opts.data) ? undefined : fs.mkdirSync(opts.data, { recursive: true });
      const archiveFile = path.join(opts.data, ARCHIVE_FILE);
      const existed = fs.existsSync(archiveFile);
      const archive = Archive.open(archiveFile);
      let ok = false;
      try {
        // Large files (≥ 1 MiB) show progress on stderr, every 1000 events stored.
        const bar =
          fs.statSync(file).size >= 1 << 20
            ? startProgress("ingest", undefined, { unit: "lines" })
            : undefined;
        const r = ingestNdjsonFile(archive, names, file, (g) => bar?.update(g.lines, `${g.stored} stored`));
        bar?.update(r.lines); // the last group of < 1000 lines: the final line counts every line
        bar?.stop(`${r.stored} stored`);
        ok = true;
        const out = reporter("ingest", opts.json);
        out.say(`queued ${r.stored} events (${r.duplicates} duplicates ignored) in ${opts.data}`);
        out.done({ stored: r.stored, duplicates: r.duplicates });
      } finally {
        archive.close();
        // A refused file leaves no trace: not even the empty archive (or data dir) it opened.
        if (!ok && !existed) {
          for (const f of [archiveFile, `${archiveFile}-wal`, `${archiveFile}-shm`])
            fs.rmSync(f, { force: true });
          if (created !== undefined) fs.rmSync(created, { recursive: true, force: true });
        }
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
      const feds = loadManifestFederations(manifestFor(opts.data, opts.manifest));
      const layout = resolveDataDir(opts.data, feds);
      const rows: EventRow[] = [];
      for (const fed of feds) {
        // RoundEngine: the one archive; node layout: the fullest log among this federation's nodes.
        const dir = layout.kind === "engine" ? layout.dir : fullestNodeOf(layout, fed.name)?.dir;
        if (dir === undefined) continue;
        const archive = Archive.open(path.join(dir, ARCHIVE_FILE));
        const anchors = hasAnchors(dir) ? AnchoredRounds.open(dir) : undefined;
        try {
          let events: StoredEvent[];
          if (opts.id !== undefined) {
            const e = archive.getEvent(opts.id);
            events = e && e.federation === fed.name ? [e] : [];
          } else {
            events = archive.eventsInRange(fed.name, 0n, archive.nextSeq(fed.name));
          }
          rows.push(...rowsOf(archive, anchors, fed, events));
        } finally {
          anchors?.close();
          archive.close();
        }
      }
      const selected = opts.leaf ? rows.filter((r) => r.leaf === opts.leaf!.toLowerCase()) : rows;
      if ((opts.id || opts.leaf) && selected.length === 0) {
        throw new InvalidInputError(
          `no archived event matches ${opts.id ? `id ${opts.id}` : `leaf ${opts.leaf}`} in the ${describeDataDir(layout)}`,
        );
      }
      const out = reporter("events", opts.json);
      if (out.json) out.done({ events: selected });
      else {
        out.say("event_id\tfederation\tround\tindex\tleaf_hash");
        for (const r of selected) out.say(`${r.id}\t${r.federation}\t${r.round}\t${r.index}\t${r.leaf}`);
      }
    });
}
