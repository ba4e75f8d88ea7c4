/**
 * Durable, idempotent storage of encoded events: the fast path is one transaction of prepared
 * inserts; only if an id already exists (resubmission after a lost acknowledgement, or a duplicate
 * inside the call) does the slow path look ids up one by one.
 */
import { AmpError } from "../util/errors";
import type { Archive, EventRecord } from "../archive/archive";
import type { EncodedEvent } from "./encode";
import { payloadCommitment } from "../events/validate";

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
  return {
    seq,
    eventId: e.eventId,
    canonical: e.canonical,
    leafHash: e.leafHash,
    payload: e.payload,
    salt: e.salt,
  };
}

/** What a resubmission is compared with: the archived (or earlier in this call) form of the id. */
export interface Prior {
  readonly canonical: Uint8Array;
  readonly seq: bigint;
  readonly payload: Uint8Array | null | undefined;
  readonly salt: Uint8Array | null | undefined;
  readonly erased: boolean;
}

/**
 * Is `e` the event archived as `prior`? Equal bytes, or (inline payloads get a fresh salt each time)
 * the same payload bytes and the same canonical bytes once e's commitment is recomputed with the
 * archived salt. An erased payload cannot be compared: its resubmission is a conflict.
 */
export function sameEvent(prior: Prior, e: EncodedEvent): boolean {
  if (sameBytes(prior.canonical, e.canonical)) return true;
  if (!prior.payload || !prior.salt || !e.payload || !e.salt) return false;
  if (!sameBytes(prior.payload, e.payload)) return false;
  const mine = `"payload_commitment":"${payloadCommitment(e.salt, e.payload)}"`;
  const theirs = `"payload_commitment":"${payloadCommitment(prior.salt, prior.payload)}"`;
  const text = Buffer.from(e.canonical).toString("utf8");
  return sameBytes(Buffer.from(text.replace(mine, theirs), "utf8"), prior.canonical);
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
  const seen = new Map<string, Prior>();
  let duplicates = 0;
  for (const e of encoded) {
    const prior = seen.get(e.eventId) ?? existing(archive, federation, e.eventId);
    if (prior) {
      if (!sameEvent(prior, e)) {
        throw new EventConflictError(e.eventId, prior.erased ? "archived, its payload erased," : "archived");
      }
      indices.push(prior.seq);
      duplicates++;
      continue;
    }
    const seq = nextSeq + BigInt(fresh.length);
    fresh.push(e);
    indices.push(seq);
    seen.set(e.eventId, { canonical: e.canonical, seq, payload: e.payload, salt: e.salt, erased: false });
  }
  archive.insertEvents(
    federation,
    fresh.map((e, i) => toRecord(e, nextSeq + BigInt(i))),
  );
  return { stored: fresh, indices, duplicates };
}

function existing(archive: Archive, federation: string, eventId: string): Prior | undefined {
  const ev = archive.getEvent(eventId);
  if (!ev) return undefined;
  if (ev.federation !== federation)
    throw new EventConflictError(eventId, `archived in federation ${ev.federation}`);
  return { canonical: ev.canonical, seq: ev.seq, payload: ev.payload, salt: ev.salt, erased: ev.erased };
}
