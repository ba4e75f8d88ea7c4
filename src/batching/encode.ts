/**
 * Event encoding for ingest: a raw event becomes its canonical bytes (the leaf data), its RFC 9162
 * leaf hash and, when it carried an inline payload, the payload's JCS bytes for the erasable table.
 */
import { InvalidInputError } from "../util/errors";
import { leafHash, sha256 } from "../merkle/hash";
import { canonicalBytes } from "../events/canonical";
import { prepareEvent, validateEvent } from "../events/validate";
import type { EventLimits } from "../events/types";

export interface EncodedEvent {
  readonly eventId: string;
  /** The federation named in the event's federation context. */
  readonly federation: string;
  /** JCS bytes of the event in digest form: the leaf data, never holding a raw payload. */
  readonly canonical: Uint8Array;
  readonly leafHash: Uint8Array;
  /** JCS bytes of the inline payload, if the event had one (stored erasably, outside the leaf). */
  readonly payload?: Uint8Array | undefined;
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
 * GDPR digest form. The leaf is ALWAYS over the digest form: an inline payload is replaced by
 * `payload_digest` = hex SHA-256(JCS(payload)) before canonicalisation, and its JCS bytes are
 * returned separately for the erasable payload table. An event that already carries
 * `payload_digest` is hashed as given (its canonical bytes are the digest form).
 */
export function federationEventEncoder(limits?: Partial<EventLimits>): EventEncoder {
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
    const { payload, ...rest } = event;
    // `payload: undefined` passes as a digest event: hash it exactly like one.
    const payloadBytes = payload === undefined ? undefined : canonicalBytes(payload);
    const digest =
      payloadBytes === undefined ? event.payload_digest : Buffer.from(sha256(payloadBytes)).toString("hex");
    const digestCanonical = canonicalBytes({ ...rest, payload_digest: digest });
    return {
      eventId: event.event_id,
      federation,
      canonical: digestCanonical,
      leafHash: leafHash(digestCanonical),
      ...(payloadBytes === undefined ? {} : { payload: payloadBytes }),
    };
  };
}

function hasInlinePayload(raw: unknown): boolean {
  return typeof raw === "object" && raw !== null && "payload" in raw;
}
