/**
 * RFC 9162 §2.1.3.1 (PATH) and §2.1.4.1 (PROOF / SUBPROOF) proof builders over any source of
 * subtree hashes. The federation log serves proofs from stored subtree hashes by passing its own
 * `SubtreeRoot`; the array-based helpers in ./tree.ts pass one that hashes leaves in memory.
 */
import { AmpError, InvalidInputError } from "../util/errors";
import { isHash } from "./hash";
import { requireTreeSize, splitPoint } from "./size";

/**
 * Returns MTH(D[start:end]), the RFC 9162 hash of leaves start (inclusive) to end (exclusive).
 * Builders only ask for ranges that are nodes of the tree being proven (end - start ≥ 1).
 */
export type SubtreeRoot = (start: bigint, end: bigint) => Uint8Array;

function fetch(subtreeRoot: SubtreeRoot, start: bigint, end: bigint): Uint8Array {
  const h = subtreeRoot(start, end);
  if (!isHash(h)) {
    throw new AmpError(`subtreeRoot(${start}, ${end}) did not return a 32-byte Uint8Array`, { kind: "bug" });
  }
  return h;
}

/**
 * Inclusion proof (audit path) for leaf `index` in a tree of `size` leaves, innermost hash first.
 * Throws InvalidInputError unless 0 ≤ index < size ≤ 2^64 - 1.
 */
export function inclusionProofFrom(
  index: number | bigint,
  size: number | bigint,
  subtreeRoot: SubtreeRoot,
): Uint8Array[] {
  const m = requireTreeSize(index, "leaf index");
  const n = requireTreeSize(size, "tree size");
  if (m >= n) throw new InvalidInputError(`leaf index ${m} is not below tree size ${n}`);
  const outerFirst: Uint8Array[] = [];
  let lo = 0n;
  let hi = n;
  while (hi - lo > 1n) {
    const k = splitPoint(hi - lo);
    if (m < lo + k) {
      outerFirst.push(fetch(subtreeRoot, lo + k, hi));
      hi = lo + k;
    } else {
      outerFirst.push(fetch(subtreeRoot, lo, lo + k));
      lo += k;
    }
  }
  return outerFirst.reverse();
}

/**
 * Consistency proof between tree sizes `oldSize` and `newSize` (RFC 9162 §2.1.4.1).
 * Throws InvalidInputError unless 0 < oldSize ≤ newSize ≤ 2^64 - 1. Equal sizes give [].
 */
export function consistencyProofFrom(
  oldSize: number | bigint,
  newSize: number | bigint,
  subtreeRoot: SubtreeRoot,
): Uint8Array[] {
  const m = requireTreeSize(oldSize, "old tree size");
  const n = requireTreeSize(newSize, "new tree size");
  if (m === 0n) throw new InvalidInputError("old tree size must be > 0 for a consistency proof");
  if (m > n) throw new InvalidInputError(`old tree size ${m} exceeds new tree size ${n}`);
  const outerFirst: Uint8Array[] = [];
  let lo = 0n;
  let hi = n;
  let startFromOldRoot = true; // SUBPROOF's flag b: the old tree is a complete subtree here
  while (m !== hi) {
    const k = splitPoint(hi - lo);
    if (m - lo <= k) {
      outerFirst.push(fetch(subtreeRoot, lo + k, hi));
      hi = lo + k;
    } else {
      outerFirst.push(fetch(subtreeRoot, lo, lo + k));
      lo += k;
      startFromOldRoot = false;
    }
  }
  if (!startFromOldRoot) outerFirst.push(fetch(subtreeRoot, lo, hi));
  return outerFirst.reverse();
}
