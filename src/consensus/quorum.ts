/**
 * Weighted quorum arithmetic (PROTOCOL §5.4): pure, exact integer functions. Weights are
 * non-negative integers (basis points of governance weight); a checkpoint is final when the signed
 * weight is strictly more than 2/3 of the federation total: `3·signed > 2·total`.
 */
import { InvalidInputError } from "../util/errors";

export function requireWeight(w: bigint, what: string): bigint {
  if (typeof w !== "bigint" || w < 0n) throw new InvalidInputError(`${what} must be a non-negative integer`);
  return w;
}

/** True iff `signed` is strictly more than two thirds of `total` (total > 0, 0 ≤ signed ≤ total). */
export function hasQuorum(signed: bigint, total: bigint): boolean {
  requireWeight(signed, "signed weight");
  requireWeight(total, "total weight");
  if (total === 0n) throw new InvalidInputError("total weight must be positive");
  if (signed > total) throw new InvalidInputError(`signed weight ${signed} exceeds total ${total}`);
  return 3n * signed > 2n * total;
}

/** True iff `weight` is strictly below one third of `total` (the Byzantine weight BFT tolerates). */
export function belowOneThird(weight: bigint, total: bigint): boolean {
  requireWeight(weight, "weight");
  if (total <= 0n) throw new InvalidInputError("total weight must be positive");
  return 3n * weight < total;
}

/** Smallest signed weight that reaches quorum: floor(2·total / 3) + 1. */
export function quorumThreshold(total: bigint): bigint {
  if (requireWeight(total, "total weight") === 0n)
    throw new InvalidInputError("total weight must be positive");
  return (2n * total) / 3n + 1n;
}

/** Sum of the weights of the given members (each counted once). */
export function weightOf(members: Iterable<string>, weights: ReadonlyMap<string, bigint>): bigint {
  let sum = 0n;
  for (const id of new Set(members)) {
    const w = weights.get(id);
    if (w === undefined) throw new InvalidInputError(`unknown member ${id}`);
    sum += w;
  }
  return sum;
}

export function totalWeight(weights: ReadonlyMap<string, bigint>): bigint {
  let sum = 0n;
  for (const [id, w] of weights) sum += requireWeight(w, `weight of ${id}`);
  return sum;
}
