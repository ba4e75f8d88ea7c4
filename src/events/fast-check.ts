/**
 * A hand-written sufficient condition for federation_event validity, run before Ajv on the ingest
 * hot path. `surelyValid(x)` returning true MUST imply that the compiled schema accepts `x`; when it
 * returns false nothing is decided and Ajv gives the verdict (and the error message). So the set of
 * accepted and refused events, and every error, is exactly Ajv's; only the common valid case is
 * cheaper (no per-event error objects for the losing oneOf branch, no code-point counting, no
 * format parsing through split/exec). Property-tested against Ajv (test/events/fast-check.test.ts).
 *
 * Change this together with federation_event.schema.json: a rule added to the schema and missing
 * here would let events through that Ajv refuses.
 */

// The schema's patterns without the `u` flag; a string they match is ASCII, so `.length` counts
// exactly the code points that maxLength limits.
const EVENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const EVENT_TYPE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;
const SOURCE_MODULE = /^[a-z][a-z0-9]*([._-][a-z0-9]+)*$/;
const TIMESTAMP = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$/;
const FEDERATION_ID = /^[a-z][a-z0-9_-]*$/;
const NODE_ID = /^[a-z0-9][a-z0-9_-]*$/;
const REGION = /^[A-Z][A-Z0-9-]*$/;
const DIGEST = /^[0-9a-f]{64}$/;

const EVENT_KEYS = new Set([
  "schema_version",
  "event_id",
  "event_type",
  "source_module",
  "timestamp",
  "federation_context",
  "payload",
  "payload_digest",
  "payload_commitment",
]);
const CONTEXT_KEYS = new Set(["federation_id", "node_id", "region"]);
const DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

function onlyKeys(o: Record<string, unknown>, allowed: ReadonlySet<string>): boolean {
  for (const k in o) if (!allowed.has(k)) return false;
  return true;
}

function matches(v: unknown, re: RegExp, maxLength: number): boolean {
  return typeof v === "string" && v.length <= maxLength && re.test(v);
}

/** Two decimal digits at `at` (the caller has matched TIMESTAMP, so they are digits). */
function num2(s: string, at: number): number {
  return (s.charCodeAt(at) - 48) * 10 + (s.charCodeAt(at + 1) - 48);
}

/**
 * The `date-time` calendar check for a TIMESTAMP-shaped string, conservatively: a real calendar day
 * and 00:00:00-23:59:59. Leap seconds (…:60, which the format also allows) fall back to Ajv.
 */
function plausibleInstant(s: string): boolean {
  const year = num2(s, 0) * 100 + num2(s, 2);
  const month = num2(s, 5);
  const day = num2(s, 8);
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 && leap ? 29 : DAYS[month]!;
  return day <= days && num2(s, 11) <= 23 && num2(s, 14) <= 59 && num2(s, 17) <= 59;
}

function contextValid(c: unknown): boolean {
  return (
    isPlainObject(c) &&
    onlyKeys(c, CONTEXT_KEYS) &&
    matches(c.federation_id, FEDERATION_ID, 64) &&
    matches(c.node_id, NODE_ID, 64) &&
    matches(c.region, REGION, 16)
  );
}

/** Exactly one of payload / payload_digest / payload_commitment (the schema's oneOf). */
function bodyValid(e: Record<string, unknown>): boolean {
  const payload = e.payload;
  const digest = e.payload_digest;
  const commitment = e.payload_commitment;
  if (payload !== undefined) {
    return (
      digest === undefined &&
      commitment === undefined &&
      typeof payload === "object" &&
      payload !== null &&
      !Array.isArray(payload)
    );
  }
  if (digest !== undefined) return commitment === undefined && matches(digest, DIGEST, 64);
  return matches(commitment, DIGEST, 64);
}

/** True only if `input` is certainly a valid federation_event (false: ask Ajv). */
export function surelyValid(input: unknown): boolean {
  if (!isPlainObject(input) || !onlyKeys(input, EVENT_KEYS)) return false;
  const ts = input.timestamp;
  return (
    input.schema_version === "1.0" &&
    matches(input.event_id, EVENT_ID, 36) &&
    matches(input.event_type, EVENT_TYPE, 128) &&
    matches(input.source_module, SOURCE_MODULE, 128) &&
    matches(ts, TIMESTAMP, 40) &&
    plausibleInstant(ts as string) &&
    contextValid(input.federation_context) &&
    bodyValid(input)
  );
}
