/** TypeScript view of federation_event.schema.json (schema_version "1.0"). */
export interface FederationContext {
  federation_id: string;
  node_id: string;
  region: string;
}

interface EventBase {
  schema_version: "1.0";
  event_id: string;
  event_type: string;
  source_module: string;
  /** RFC 3339 UTC, ending in Z. */
  timestamp: string;
  federation_context: FederationContext;
}

/** An event carrying its payload. */
export interface EventWithPayload extends EventBase {
  payload: Record<string, unknown>;
  payload_digest?: never;
  payload_commitment?: never;
}

/** An event carrying only the payload's digest (hex SHA-256 of JCS(payload)). */
export interface EventWithDigest extends EventBase {
  payload_digest: string;
  payload?: never;
  payload_commitment?: never;
}

/**
 * An event carrying a salted commitment to its payload: hex SHA-256(salt ‖ JCS(payload)) with a
 * 32-byte secret salt. The archive's leaf form of an inline payload; erasing the payload and the
 * salt leaves nothing that confirms a guessed payload.
 */
export interface EventWithCommitment extends EventBase {
  payload_commitment: string;
  payload?: never;
  payload_digest?: never;
}

export type FederationEvent = EventWithPayload | EventWithDigest | EventWithCommitment;

/** Size limits, checked on canonical (RFC 8785) UTF-8 bytes. */
export interface EventLimits {
  /** Largest canonical event, in bytes. */
  maxEventBytes: number;
  /** Largest canonical payload, in bytes. */
  maxPayloadBytes: number;
  /** Largest JSON text accepted by parseEventJson before parsing, in UTF-16 code units. */
  maxTextLength: number;
}

export const DEFAULT_EVENT_LIMITS: Readonly<EventLimits> = Object.freeze({
  maxEventBytes: 64 * 1024,
  maxPayloadBytes: 32 * 1024,
  maxTextLength: 256 * 1024,
});

export const SCHEMA_VERSION = "1.0";
