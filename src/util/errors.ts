/**
 * Base error for everything AMP throws on purpose (after viem's `BaseError`).
 *
 * - `name` is a literal per class so callers can switch on it.
 * - `kind` tells a caller what to do: fix the input, try again later, or report a bug.
 * - `shortMessage` is one line; `details` holds the specifics; `cause` the underlying error.
 */
export type AmpErrorKind = "invalid-input" | "retry-later" | "conflict" | "not-found" | "bug";

export interface AmpErrorOptions {
  kind?: AmpErrorKind;
  details?: string;
  cause?: unknown;
  /** Structured context (field names, offending values) for logs and API responses. */
  meta?: Record<string, unknown>;
}

export class AmpError extends Error {
  override name: string = "AmpError";
  readonly shortMessage: string;
  readonly kind: AmpErrorKind;
  readonly details: string | undefined;
  readonly meta: Record<string, unknown>;

  constructor(shortMessage: string, options: AmpErrorOptions = {}) {
    const message = options.details ? `${shortMessage}\n\nDetails: ${options.details}` : shortMessage;
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.shortMessage = shortMessage;
    this.kind = options.kind ?? "bug";
    this.details = options.details;
    this.meta = options.meta ?? {};
  }
}

/** Input that can never be accepted as given (schema violation, wrong-length hash, bad JSON...). */
export class InvalidInputError extends AmpError {
  override name = "InvalidInputError";
  constructor(shortMessage: string, options: Omit<AmpErrorOptions, "kind"> = {}) {
    super(shortMessage, { ...options, kind: "invalid-input" });
  }
}

/** Temporary refusal (a full queue, a busy peer): the same call may succeed later. */
export class PushbackError extends AmpError {
  override name = "PushbackError";
  /** Suggested wait before retrying, in milliseconds. */
  readonly retryAfterMs: number;
  constructor(shortMessage: string, retryAfterMs: number, options: Omit<AmpErrorOptions, "kind"> = {}) {
    super(shortMessage, { ...options, kind: "retry-later" });
    this.retryAfterMs = retryAfterMs;
  }
}

/** Render any thrown value as one line, for CLI output and logs. */
export function oneLine(err: unknown): string {
  if (err instanceof AmpError) return `${err.name}: ${err.shortMessage}`;
  if (err instanceof Error) return `${err.name}: ${err.message.split("\n")[0] ?? ""}`;
  return String(err);
}
