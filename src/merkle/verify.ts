/**
 * RFC 9162 §2.1.3.2 and §2.1.4.2 verifiers. They return false on any malformed input and never
 * throw; every loop is bounded by the proof length (≤ 64 hashes for a uint64 tree) or by the bit
 * length of a uint64.
 */
import { bytesEqual, hashChildren, isHash } from "./hash";
import { toTreeSize } from "./size";

/** A uint64 tree never needs more than 64 hashes in an inclusion proof (65 for consistency). */
const MAX_PROOF_LENGTH = 65;

function isProof(proof: unknown): proof is Uint8Array[] {
  return Array.isArray(proof) && proof.length <= MAX_PROOF_LENGTH && proof.every(isHash);
}

function isOdd(x: bigint): boolean {
  return x % 2n === 1n;
}

/** True iff `proof` proves that `leafHash` is leaf `index` of the tree of `treeSize` with `root`. */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number | bigint,
  treeSize: number | bigint,
  proof: Uint8Array[],
  root: Uint8Array,
): boolean {
  try {
    const m = toTreeSize(index);
    const n = toTreeSize(treeSize);
    if (m === undefined || n === undefined || m >= n) return false;
    if (!isHash(leafHash) || !isHash(root) || !isProof(proof)) return false;
    let fn = m;
    let sn = n - 1n;
    let r = leafHash;
    for (const p of proof) {
      if (sn === 0n) return false;
      if (isOdd(fn) || fn === sn) {
        r = hashChildren(p, r);
        while (!isOdd(fn) && fn !== 0n) {
          fn /= 2n;
          sn /= 2n;
        }
      } else {
        r = hashChildren(r, p);
      }
      fn /= 2n;
      sn /= 2n;
    }
    return sn === 0n && bytesEqual(r, root);
  } catch {
    return false;
  }
}

/**
 * True iff `proof` proves the tree of `newSize` with `newRoot` extends the tree of `oldSize` with
 * `oldRoot`. Requires 0 < oldSize ≤ newSize; equal sizes need an empty proof and equal roots.
 */
export function verifyConsistency(
  oldSize: number | bigint,
  newSize: number | bigint,
  proof: Uint8Array[],
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
): boolean {
  try {
    const m = toTreeSize(oldSize);
    const n = toTreeSize(newSize);
    if (m === undefined || n === undefined || m === 0n || m > n) return false;
    if (!isHash(oldRoot) || !isHash(newRoot) || !isProof(proof)) return false;
    if (m === n) return proof.length === 0 && bytesEqual(oldRoot, newRoot);
    if (proof.length === 0) return false;
    return foldConsistency(m, n, isPowerOfTwo(m) ? [oldRoot, ...proof] : proof, oldRoot, newRoot);
  } catch {
    return false;
  }
}

function isPowerOfTwo(x: bigint): boolean {
  return x > 0n && (x & (x - 1n)) === 0n;
}

function foldConsistency(m: bigint, n: bigint, path: Uint8Array[], oldRoot: Uint8Array, newRoot: Uint8Array) {
  let fn = m - 1n;
  let sn = n - 1n;
  while (isOdd(fn)) {
    fn /= 2n;
    sn /= 2n;
  }
  let fr = path[0]!;
  let sr = fr;
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0n) return false;
    if (isOdd(fn) || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      while (!isOdd(fn) && fn !== 0n) {
        fn /= 2n;
        sn /= 2n;
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn /= 2n;
    sn /= 2n;
  }
  return sn === 0n && bytesEqual(fr, oldRoot) && bytesEqual(sr, newRoot);
}
