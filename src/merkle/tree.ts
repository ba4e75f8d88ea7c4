/**
 * Array-based RFC 9162 functions: the whole list of leaf hashes is in memory.
 */
import { InvalidInputError } from "../util/errors";
import { EMPTY_ROOT, hashChildren, requireHash } from "./hash";
import { consistencyProofFrom, inclusionProofFrom, type SubtreeRoot } from "./build";
import { toTreeSize } from "./size";

function checkLeaves(leafHashes: Uint8Array[]): void {
  if (!Array.isArray(leafHashes))
    throw new InvalidInputError("leafHashes must be an array of 32-byte hashes");
  for (let i = 0; i < leafHashes.length; i++) requireHash(leafHashes[i], `leafHashes[${i}]`);
}

/**
 * MTH of leafHashes[start:end] (validated 32-byte hashes). Bottom-up level pairing that carries an
 * odd last node up unchanged; this yields exactly RFC 9162's largest-power-of-two split tree.
 */
function rootOfRange(leafHashes: Uint8Array[], start: number, end: number): Uint8Array {
  if (end === start) return EMPTY_ROOT;
  let level: Uint8Array[] = leafHashes.slice(start, end);
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(hashChildren(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}

function arraySource(leafHashes: Uint8Array[]): SubtreeRoot {
  return (start, end) => rootOfRange(leafHashes, Number(start), Number(end));
}

/** RFC 9162 Merkle Tree Hash of the given leaf hashes; SHA-256("") for an empty list. */
export function rootHash(leafHashes: Uint8Array[]): Uint8Array {
  checkLeaves(leafHashes);
  return rootOfRange(leafHashes, 0, leafHashes.length);
}

/** Inclusion proof for leafHashes[index] in the tree of all leafHashes. */
export function inclusionProof(leafHashes: Uint8Array[], index: number | bigint): Uint8Array[] {
  checkLeaves(leafHashes);
  return inclusionProofFrom(index, leafHashes.length, arraySource(leafHashes));
}

/** Consistency proof from the tree of the first oldSize leaves to the first newSize leaves. */
export function consistencyProof(
  leafHashes: Uint8Array[],
  oldSize: number | bigint,
  newSize: number | bigint,
): Uint8Array[] {
  checkLeaves(leafHashes);
  const n = toTreeSize(newSize);
  if (n !== undefined && n > BigInt(leafHashes.length)) {
    throw new InvalidInputError(
      `new tree size ${String(newSize)} exceeds the ${leafHashes.length} leaves given`,
    );
  }
  return consistencyProofFrom(oldSize, newSize, arraySource(leafHashes));
}
