/**
 * Exit codes of the `amp` command, for scripts (documented in docs/cli.md):
 *
 * - 0 success / proof valid
 * - 1 checked and found invalid (a forged or tampered proof), or a command that failed on its input
 * - 2 usage error: unknown flag, missing option, bad flag value, a refused combination
 * - 3 could not check: chain or node unreachable, file unreadable, other I/O
 */
import { AmpError } from "../util/errors";
import type { AmpErrorOptions } from "../util/errors";
import { storageCause } from "../util/storage";

export const ExitCode = { ok: 0, invalid: 1, usage: 2, cannotCheck: 3 } as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** A bad flag, flag value or combination of flags: exit 2. */
export class UsageError extends AmpError {
  override name = "UsageError";
  constructor(shortMessage: string, options: Omit<AmpErrorOptions, "kind"> = {}) {
    super(shortMessage, { ...options, kind: "invalid-input" });
  }
}

/** The check could not be made (RPC down, file unreadable, I/O): exit 3. */
export class CannotCheckError extends AmpError {
  override name = "CannotCheckError";
  constructor(shortMessage: string, options: Omit<AmpErrorOptions, "kind"> = {}) {
    super(shortMessage, { ...options, kind: "retry-later" });
  }
}

const IO_CODES = new Set([
  "ENOENT",
  "EACCES",
  "EPERM",
  "EISDIR",
  "ENOTDIR",
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOSPC",
  "EROFS",
]);

/**
 * A clear one-line message for a failed write to storage (disk full, RLIMIT_FSIZE, read-only data
 * dir: src/util/storage.ts `storageCause`), or undefined for any other error. The write was a
 * transaction or an atomic file replacement: it was rolled back.
 */
export function storageProblem(err: unknown): string | undefined {
  const c = storageCause(err);
  if (!c) return undefined;
  const at = c.file === undefined ? "" : ` — ${c.file}`;
  return `cannot write to storage: ${c.what} (${c.message})${at}; the write was rolled back, nothing half-written is kept — free space or make the data dir writable, then run it again`;
}

/** Map anything a command threw to its exit code. */
export function exitCodeFor(err: unknown): ExitCodeValue {
  if (err instanceof UsageError) return ExitCode.usage;
  if (storageProblem(err) !== undefined) return ExitCode.cannotCheck;
  if (err instanceof CannotCheckError) return ExitCode.cannotCheck;
  if (err instanceof AmpError && err.kind === "retry-later") return ExitCode.cannotCheck;
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e instanceof Error; depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === "string" && IO_CODES.has(code)) return ExitCode.cannotCheck;
    e = e.cause;
  }
  return ExitCode.invalid;
}
