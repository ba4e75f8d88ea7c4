/**
 * `amp ingest FILE`: NDJSON read in bounded memory. The file is read in 1 MiB chunks and split
 * on "\n" as bytes; every line is decoded as strict UTF-8, parsed as I-JSON and validated on its
 * own, and events are archived 1000 at a time — all inside ONE SQLite transaction, so one bad line
 * anywhere still stores nothing (all or nothing) while memory stays bounded by the chunk, the
 * longest line and one group of events, whatever the file size. Errors name `file:line` (1-based)
 * and the field.
 */
import fs from "node:fs";
import type { Archive } from "../archive";
import { federationEventEncoder, type EncodedEvent } from "../batching/encode";
import { EventConflictError, storeEvents } from "../batching/store-events";
import { decodeUtf8Strict, IJsonError, parseIJson } from "../events/ijson";
import { AmpError, InvalidInputError } from "../util/errors";

/** Longest NDJSON line accepted, in bytes (an event is at most 64 KiB canonical; headroom for spacing). */
export const MAX_NDJSON_LINE_BYTES = 1024 * 1024;
/** Bytes read from the file at a time. */
const READ_CHUNK_BYTES = 1024 * 1024;
/** Events encoded before they are written to the (still open) transaction. */
const STORE_GROUP = 1000;

export interface NdjsonLine {
  /** 1-based line number. */
  readonly line: number;
  readonly bytes: Buffer;
}

function lineError(file: string, line: number, rule: string, field = "/"): InvalidInputError {
  return new InvalidInputError(`${file}:${line}: ${field === "/" ? "" : `${field}: `}${rule}`, {
    meta: { file, line, field, rule },
  });
}

/**
 * Non-blank lines of an NDJSON file, streamed (sync) in bounded memory. A line longer than
 * `maxLineBytes` is refused as soon as it is seen, without buffering the rest of it.
 */
export function* ndjsonLines(file: string, maxLineBytes = MAX_NDJSON_LINE_BYTES): Generator<NdjsonLine> {
  const fd = fs.openSync(file, "r");
  try {
    const chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    let carry: Buffer = Buffer.alloc(0);
    let line = 1;
    for (;;) {
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      const data = n === 0 ? carry : Buffer.concat([carry, chunk.subarray(0, n)]);
      let start = 0;
      for (let nl = data.indexOf(0x0a); nl !== -1; nl = data.indexOf(0x0a, start)) {
        if (nl - start > maxLineBytes) throw tooLong(file, line, maxLineBytes);
        const bytes = data.subarray(start, nl);
        if (!blank(bytes)) yield { line, bytes: Buffer.from(bytes) };
        line++;
        start = nl + 1;
      }
      carry = Buffer.from(data.subarray(start));
      if (carry.length > maxLineBytes) throw tooLong(file, line, maxLineBytes);
      if (n === 0) {
        if (!blank(carry)) yield { line, bytes: carry };
        return;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

function tooLong(file: string, line: number, max: number): InvalidInputError {
  return lineError(file, line, `line is longer than ${max} bytes (the NDJSON line limit)`);
}

function blank(b: Uint8Array): boolean {
  for (const c of b) if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  return true;
}

/** Parse one NDJSON line as I-JSON; errors are IJsonError naming file:line:column and field. */
export function parseNdjsonLine(file: string, l: NdjsonLine): unknown {
  const origin = { source: file, line: l.line };
  return parseIJson(decodeUtf8Strict(l.bytes, origin), origin);
}

export interface IngestResult {
  stored: number;
  duplicates: number;
  /** Non-blank lines read. */
  lines: number;
}

interface Group {
  readonly events: Map<string, EncodedEvent[]>;
  readonly lineOf: Map<string, number>;
}

/**
 * Validate and archive every event of an NDJSON file in one transaction (all or nothing). Events
 * are routed by federation_context.federation_id; an id not in `federationNames` is refused.
 */
export function ingestNdjsonFile(
  archive: Archive,
  federationNames: readonly string[],
  file: string,
  onGroup?: (result: Readonly<IngestResult>) => void,
): IngestResult {
  const encode = federationEventEncoder();
  const result: IngestResult = { stored: 0, duplicates: 0, lines: 0 };
  const group: Group = { events: new Map(), lineOf: new Map() };
  archive.transaction(() => {
    for (const l of ndjsonLines(file)) {
      result.lines++;
      const e = encodeLine(encode, file, l);
      if (!federationNames.includes(e.federation)) {
        throw lineError(
          file,
          l.line,
          `unknown federation "${e.federation}" (the manifest has ${federationNames.join(", ")})`,
          "/federation_context/federation_id",
        );
      }
      const list = group.events.get(e.federation) ?? [];
      list.push(e);
      group.events.set(e.federation, list);
      group.lineOf.set(e.eventId, l.line);
      if (group.lineOf.size >= STORE_GROUP) {
        store(archive, file, group, result);
        onGroup?.(result);
      }
    }
    store(archive, file, group, result);
  });
  return result;
}

function encodeLine(
  encode: ReturnType<typeof federationEventEncoder>,
  file: string,
  l: NdjsonLine,
): EncodedEvent {
  try {
    return encode(parseNdjsonLine(file, l));
  } catch (err) {
    if (err instanceof IJsonError) throw err;
    if (!(err instanceof InvalidInputError)) throw err;
    throw new InvalidInputError(`${file}:${l.line}: ${err.shortMessage}`, {
      cause: err,
      meta: { ...err.meta, file, line: l.line },
    });
  }
}

function store(archive: Archive, file: string, group: Group, result: IngestResult): void {
  try {
    for (const [name, list] of group.events) {
      const r = storeEvents(archive, name, list, archive.nextSeq(name));
      result.stored += r.stored.length;
      result.duplicates += r.duplicates;
    }
  } catch (err) {
    if (!(err instanceof EventConflictError)) throw err;
    const line = group.lineOf.get(String(err.meta.eventId));
    throw new AmpError(`${file}:${line ?? "?"}: ${err.shortMessage}`, {
      kind: "conflict",
      cause: err,
      meta: { ...err.meta, file, line },
    });
  }
  group.events.clear();
  group.lineOf.clear();
}
