/**
 * Operator erasure (GDPR art. 17) as one library call, shared by `amp erase` and the node's HTTP
 * API: check the request, erase the payload and its commitment salt, append to the erasure log.
 */
import { InvalidInputError } from "../util/errors";
import { stringProblem } from "../events/canonical";
import type { Archive, ErasureRecord } from "./archive";

/** Longest erasure reason, in characters. */
export const MAX_ERASURE_REASON = 1000;
/** Longest `by` (who asked for or performed the erasure), in characters. */
export const MAX_ERASURE_BY = 200;

export interface ErasureRequest {
  readonly eventId: string;
  /** Why (e.g. "GDPR art. 17 request #4711"); required, recorded in the erasure log. */
  readonly reason: string;
  /** Who asked for or performed it; recorded in the erasure log. */
  readonly by?: string;
}

export interface ErasureResult {
  /** True if this call erased the payload; false if it had been erased before. */
  readonly erased: boolean;
  /** The erasure-log row (the earlier one when `erased` is false). */
  readonly record: ErasureRecord;
}

function text(value: unknown, field: string, min: number, max: number): string {
  if (typeof value !== "string") throw refuse(field, "must be a string");
  if (value.length < min) throw refuse(field, "must not be empty");
  if (value.length > max) throw refuse(field, `is ${value.length} characters, limit ${max}`);
  // Control characters would forge extra lines in logs and listings; I-JSON rules for the rest.
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f)
      throw refuse(
        field,
        `must not contain control characters (U+${c.toString(16).padStart(4, "0").toUpperCase()} at ${i})`,
      );
  }
  const problem = stringProblem(value);
  if (problem !== undefined) throw refuse(field, problem);
  return value;
}

function refuse(field: string, rule: string): InvalidInputError {
  return new InvalidInputError(`erasure request: ${field}: ${rule}`, { meta: { field, rule } });
}

/** Validate an erasure request; throws InvalidInputError naming the field (nothing is changed). */
export function checkErasureRequest(request: unknown): Required<ErasureRequest> {
  if (typeof request !== "object" || request === null) throw refuse("/", "must be an object");
  const r = request as Record<string, unknown>;
  return {
    eventId: text(r.eventId, "eventId", 1, 128),
    reason: text(r.reason, "reason", 1, MAX_ERASURE_REASON),
    by: r.by === undefined ? "" : text(r.by, "by", 0, MAX_ERASURE_BY),
  };
}

/**
 * Erase the payload (and salt) of one archived event and log when, why and by whom. Idempotent:
 * erasing again returns the first record with `erased: false`. Unknown event: InvalidInputError.
 */
export function eraseEvent(archive: Archive, request: ErasureRequest, now = Date.now()): ErasureResult {
  const r = checkErasureRequest(request);
  const record = archive.erase(r.eventId, r.reason, r.by, now);
  if (record) return { erased: true, record };
  const earlier = archive.erasures().find((e) => e.eventId === r.eventId);
  if (!earlier) throw new InvalidInputError(`erasure of ${r.eventId} is not in the erasure log`);
  return { erased: false, record: earlier };
}
