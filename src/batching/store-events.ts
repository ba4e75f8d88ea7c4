/**
 * Durable, idempotent storage of encoded events: the fast path is one transaction of prepared
 * inserts; only if an id already exists (resubmission after a lost acknowledgement, or a duplicate
 * inside the call) does the slow path look ids up one by one.
 */
import { AmpError } from "../util/errors";
import type { Archive, EventRecord } from "../archive/archive";
import type { EncodedEvent } from "./encode";

/** An event id already archived (or repeated in one call) with different canonical bytes. */
export class EventConflictError extends AmpError {
  override name = "EventConflictError";
  constructor(eventId: string, where: string) {
    super(`event id ${eventId} is already ${where} with different content`, {
      kind: "conflict",
      meta: { eventId },
    });
  }
}

export interface StoreResult {
  /** Newly archived events, in seq order starting at the given nextSeq. */
  readonly stored: readonly EncodedEvent[];
  /** Leaf index of every input event, in input order. */
  readonly indices: bigint[];
  readonly duplicates: number;
}

function toRecord(e: EncodedEvent, seq: bigint): EventRecord {
  return { seq, eventId: e.eventId, canonical: e.canonical, leafHash: e.leafHash, payload: e.payload };
}

function isConstraintError(err: unknown): boolean {
  return (
    typeof (err as { code?: unknown }).code === "string" &&
    (err as { code: string }).code.startsWith("SQLITE_CONSTRAINT")
  );
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

export function storeEvents(
  archive: Archive,
  federation: string,
  encoded: readonly EncodedEvent[],
  nextSeq: bigint,
): StoreResult {
  const indices = encoded.map((_, i) => nextSeq + BigInt(i));
  try {
    archive.insertEvents(
      federation,
      encoded.map((e, i) => toRecord(e, indices[i]!)),
    );
    return { stored: encoded, indices, duplicates: 0 };
  } catch (err) {
    if (!isConstraintError(err)) throw err;
  }
  return storeDeduplicated(archive, federation, encoded, nextSeq);
}

function storeDeduplicated(
  archive: Archive,
  federation: string,
  encoded: readonly EncodedEvent[],
  nextSeq: bigint,
): StoreResult {
  const fresh: EncodedEvent[] = [];
  const indices: bigint[] = [];
  const seen = new Map<string, { canonical: Uint8Array; seq: bigint }>();
  let duplicates = 0;
  for (const e of encoded) {
    const prior = seen.get(e.eventId) ?? existing(archive, federation, e.eventId);
    if (prior) {
      if (!sameBytes(prior.canonical, e.canonical)) throw new EventConflictError(e.eventId, "archived");
      indices.push(prior.seq);
      duplicates++;
      continue;
    }
    const seq = nextSeq + BigInt(fresh.length);
    fresh.push(e);
    indices.push(seq);
    seen.set(e.eventId, { canonical: e.canonical, seq });
  }
  archive.insertEvents(
    federation,
    fresh.map((e, i) => toRecord(e, nextSeq + BigInt(i))),
  );
  return { stored: fresh, indices, duplicates };
}

function existing(archive: Archive, federation: string, eventId: string) {
  const ev = archive.getEvent(eventId);
  if (!ev) return undefined;
  if (ev.federation !== federation)
    throw new EventConflictError(eventId, `archived in federation ${ev.federation}`);
  return { canonical: ev.canonical, seq: ev.seq };
}
