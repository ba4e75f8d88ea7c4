/**
 * Event encoding for ingest: a raw event becomes its canonical bytes (the leaf data), its RFC 9162
 * leaf hash and, when it carried an inline payload, the payload's JCS bytes for the erasable table.
 */
import { randomFillSync } from "node:crypto";
import { InvalidInputError } from "../util/errors";
import { leafHash } from "../merkle/hash";
import { canonicalBytes } from "../events/canonical";
import { PAYLOAD_SALT_BYTES, payloadCommitment, prepareEvent, validateEvent } from "../events/validate";
import type { EventLimits } from "../events/types";

export interface EncodedEvent {
  readonly eventId: string;
  /** The federation named in the event's federation context. */
  readonly federation: string;
  /** JCS bytes of the event in digest/commitment form: the leaf data, never holding a raw payload. */
  readonly canonical: Uint8Array;
  readonly leafHash: Uint8Array;
  /** JCS bytes of the inline payload, if the event had one (stored erasably, outside the leaf). */
  readonly payload?: Uint8Array | undefined;
  /** The 32-byte secret salt of `payload_commitment` (stored and erased with the payload). */
  readonly salt?: Uint8Array | undefined;
}

/** Source of 32-byte payload salts; the default draws from the OS CSPRNG (pooled). */
export type SaltSource = () => Uint8Array;

const POOL_SALTS = 128;
let pool = new Uint8Array(0);
let poolAt = 0;

/** 32 fresh random bytes from node:crypto, refilled 4 KiB at a time (one syscall per 128 salts). */
export function randomSalt(): Uint8Array {
  if (poolAt >= pool.length) {
    pool = randomFillSync(new Uint8Array(POOL_SALTS * PAYLOAD_SALT_BYTES));
    poolAt = 0;
  }
  const salt = pool.slice(poolAt, poolAt + PAYLOAD_SALT_BYTES);
  pool.fill(0, poolAt, poolAt + PAYLOAD_SALT_BYTES); // no second copy of a handed-out salt
  poolAt += PAYLOAD_SALT_BYTES;
  return salt;
}

/** Validates and encodes one raw event; throws InvalidInputError naming the field and rule. */
export type EventEncoder = (raw: unknown) => EncodedEvent;

/**
 * Encodes every event or throws for the first invalid one, prefixing `events[i]` to the message.
 * With `federationId`, an event of another federation is refused too.
 */
export function encodeAll(
  encoder: EventEncoder,
  events: readonly unknown[],
  federationId?: string,
): EncodedEvent[] {
  if (!Array.isArray(events)) throw new InvalidInputError("ingest expects an array of events");
  const out: EncodedEvent[] = new Array<EncodedEvent>(events.length);
  for (let i = 0; i < events.length; i++) {
    let e: EncodedEvent;
    try {
      e = encoder(events[i]);
    } catch (err) {
      if (!(err instanceof InvalidInputError)) throw err;
      throw new InvalidInputError(`events[${i}]: ${err.shortMessage}`, {
        ...(err.details === undefined ? {} : { details: err.details }),
        meta: { ...err.meta, index: i },
        cause: err,
      });
    }
    if (federationId !== undefined && e.federation !== federationId) {
      throw new InvalidInputError(
        `events[${i}]: federation "${e.federation}" is not this log's federation "${federationId}"`,
        { meta: { index: i, federation: e.federation, expected: federationId } },
      );
    }
    out[i] = e;
  }
  return out;
}

/**
 * The default encoder for `federation_event`: schema + size limits (events/validate), then the
 * erasable leaf form. The leaf NEVER covers a raw payload: an inline `payload` is replaced by
 * `payload_commitment` = hex SHA-256(salt ‖ JCS(payload)) with 32 fresh secret random bytes of
 * salt, and the payload's JCS bytes and the salt are returned for the erasable payload table.
 * Erasing both leaves nothing that confirms a guessed payload, and every proof stays valid. An event
 * that already carries `payload_digest` or `payload_commitment` is hashed as given.
 *
 * The salt is chosen once, by the node that accepts the event: the same raw event accepted twice
 * (or by two nodes) gets two different commitments; resubmission to the same archive is still
 * recognised as a duplicate (store-events.ts compares with the stored salt).
 */
export function federationEventEncoder(
  limits?: Partial<EventLimits>,
  salts: SaltSource = randomSalt,
): EventEncoder {
  return (raw) => {
    if (!hasInlinePayload(raw)) {
      const { event, canonical, leaf } = prepareEvent(raw, limits);
      return {
        eventId: event.event_id,
        federation: event.federation_context.federation_id,
        canonical,
        leafHash: leaf,
      };
    }
    const event = validateEvent(raw, limits);
    const federation = event.federation_context.federation_id;
    if (event.payload === undefined) {
      // `payload: undefined` passes as a digest/commitment event: hash it exactly like one.
      const { canonical, leaf } = prepareEvent(event, limits);
      return { eventId: event.event_id, federation, canonical, leafHash: leaf };
    }
    const { payload, ...rest } = event;
    const payloadBytes = canonicalBytes(payload);
    const salt = salts();
    const committed = canonicalBytes({ ...rest, payload_commitment: payloadCommitment(salt, payloadBytes) });
    return {
      eventId: event.event_id,
      federation,
      canonical: committed,
      leafHash: leafHash(committed),
      payload: payloadBytes,
      salt,
    };
  };
}

function hasInlinePayload(raw: unknown): boolean {
  return typeof raw === "object" && raw !== null && "payload" in raw;
}
