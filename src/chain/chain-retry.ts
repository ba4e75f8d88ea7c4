/**
 * Waiting out an unreachable chain. The anchoring runner seals a round into its archive before it
 * talks to the chain, and anchor submission is idempotent (anchor.ts), so when the RPC endpoint is
 * down or answers with transient errors the runner waits and retries the same round instead of
 * failing it: nothing sealed is lost and no round is anchored twice.
 */
import { isError } from "ethers";
import { AmpError } from "../util/errors";
import { createLogger } from "../util/log";

const log = createLogger("chain/retry");

const TRANSIENT_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EPIPE",
  "UND_ERR_SOCKET",
]);

/** Is `err` a failure to reach the chain (worth waiting for), rather than a refusal or a bug? */
export function isTransientChainError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 6; depth++) {
    if (e instanceof AmpError) return e.kind === "retry-later";
    if (isError(e, "NETWORK_ERROR") || isError(e, "TIMEOUT") || isError(e, "SERVER_ERROR")) return true;
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === "string" && TRANSIENT_CODES.has(code)) return true;
    if (/fetch failed|socket hang up|ECONNREFUSED/.test(e.message)) return true;
    e = e.cause;
  }
  return false;
}

export interface ChainWaitOptions {
  /** Give up (rethrow) once the chain has been unreachable this long (ms). */
  readonly toleranceMs: number;
  /** Largest pause between attempts (ms); pauses double from 100 ms. */
  readonly maxPauseMs?: number;
  /** Called before each pause (metrics, tests). */
  readonly onRetry?: (attempt: number, err: unknown) => void;
  /** Context for the warning log line. */
  readonly what: string;
}

/** Run `fn`, retrying transient chain failures with capped exponential pauses up to the tolerance. */
export async function withChainRetry<T>(fn: () => Promise<T>, o: ChainWaitOptions): Promise<T> {
  const deadline = Date.now() + o.toleranceMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransientChainError(err) || Date.now() >= deadline) throw err;
      const pauseMs = Math.min(o.maxPauseMs ?? 5_000, 100 * 2 ** Math.min(attempt - 1, 10));
      log.warn("chain unreachable; waiting, then retrying", { what: o.what, attempt, pauseMs, err });
      o.onRetry?.(attempt, err);
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
}
