/**
 * Tree sizes and leaf indices are unsigned 64-bit integers (RFC 9162 uses uint64). Internally they
 * are always `bigint`; callers may pass a safe-integer `number` or a `bigint`.
 */
import { InvalidInputError } from "../util/errors";

/** Largest tree size (and one past the largest index) representable as uint64. */
export const MAX_TREE_SIZE = (1n << 64n) - 1n;

/** Normalise a size or index to bigint; `undefined` if it is not an integer in [0, 2^64 - 1]. */
export function toTreeSize(value: unknown): bigint | undefined {
  if (typeof value === "bigint") return value >= 0n && value <= MAX_TREE_SIZE ? value : undefined;
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  return undefined;
}

/** Like toTreeSize, but throws InvalidInputError naming `what` instead of returning undefined. */
export function requireTreeSize(value: unknown, what: string): bigint {
  const size = toTreeSize(value);
  if (size === undefined) {
    const shown = typeof value === "bigint" || typeof value === "number" ? String(value) : typeof value;
    throw new InvalidInputError(
      `${what} must be an integer in [0, 2^64 - 1] (number or bigint), got ${shown}`,
    );
  }
  return size;
}

/** Largest power of two strictly less than n (n ≥ 2): the RFC 9162 split point k. */
export function splitPoint(n: bigint): bigint {
  let k = 1n;
  while (k * 2n < n) k *= 2n;
  return k;
}
