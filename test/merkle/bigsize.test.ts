import { expect } from "chai";
import {
  consistencyProofFrom,
  inclusionProofFrom,
  leafHash,
  MAX_TREE_SIZE,
  nodeHash,
  verifyConsistency,
  verifyInclusion,
  type SubtreeRoot,
} from "../../src/merkle";
import { pathShape } from "./reference";

/**
 * A virtual tree whose leaves are all LEAF except leaf `special`, which is MARK. A subtree without
 * the special leaf hashes to a value that depends only on its size (≤ 64² memo entries), so MTH of
 * up to 2^64 - 1 leaves is computable; the subtree holding MARK differs from every sibling, so a
 * verifier that combines any sibling on the wrong side or at the wrong level fails.
 */
const LEAF = leafHash(new TextEncoder().encode("amp"));
const MARK = leafHash(new TextEncoder().encode("mark"));
const memo = new Map<bigint, Uint8Array>([[1n, LEAF]]);

function split(n: bigint): bigint {
  let k = 1n;
  while (k * 2n < n) k *= 2n;
  return k;
}

function mthOfSize(n: bigint): Uint8Array {
  let h = memo.get(n);
  if (h === undefined) {
    const k = split(n);
    h = nodeHash(mthOfSize(k), mthOfSize(n - k));
    memo.set(n, h);
  }
  return h;
}

function virtualTree(special: bigint): SubtreeRoot {
  const mth = (start: bigint, end: bigint): Uint8Array => {
    if (end <= start) throw new Error(`builder asked for the empty range ${start}..${end}`);
    if (special < start || special >= end) return mthOfSize(end - start);
    if (end - start === 1n) return MARK;
    const k = split(end - start);
    return nodeHash(mth(start, start + k), mth(start + k, end));
  };
  return mth;
}

const SIZES = [
  (1n << 32n) + 7n,
  (1n << 40n) + 12_345n,
  1n << 40n,
  (1n << 53n) + 3n,
  (1n << 63n) + 1n,
  MAX_TREE_SIZE,
];

describe("merkle: 64-bit tree sizes", () => {
  for (const n of SIZES) {
    it(`verifies inclusion proofs in a tree of ${n} leaves`, () => {
      for (const m of [0n, 1n, n / 2n, n - 2n, n - 1n, (1n << 32n) + 1n]) {
        const tree = virtualTree(m);
        const proof = inclusionProofFrom(m, n, tree);
        expect(proof.length).to.be.at.most(64);
        expect(verifyInclusion(MARK, m, n, proof, tree(0n, n)), `leaf ${m}`).to.equal(true);
      }
    });

    it(`refuses a shape-changing index or size in a tree of ${n} leaves`, () => {
      const m = n - 2n;
      const tree = virtualTree(m);
      const proof = inclusionProofFrom(m, n, tree);
      const root = tree(0n, n);
      expect(verifyInclusion(MARK, m, n, proof, root)).to.equal(true);
      for (const m2 of [0n, m - 1n, m + 1n, m ^ (1n << 31n), m - (1n << 32n), n]) {
        expect(verifyInclusion(MARK, m2, n, proof, root), `index ${m2}`).to.equal(false);
      }
      for (const n2 of [n * 2n, n / 2n, n - 1n, n + 1n]) {
        const same = m < n2 && n2 <= MAX_TREE_SIZE && pathShape(m, n2) === pathShape(m, n);
        expect(verifyInclusion(MARK, m, n2, proof, root), `size ${n2}`).to.equal(same);
      }
    });

    it(`verifies consistency proofs into a tree of ${n} leaves`, () => {
      for (const old of [1n, 3n, (1n << 32n) - 1n, (1n << 32n) + 1n, n / 3n, n - 1n, n]) {
        const tree = virtualTree(old - 1n);
        const proof = consistencyProofFrom(old, n, tree);
        const [oldRoot, newRoot] = [tree(0n, old), tree(0n, n)];
        expect(verifyConsistency(old, n, proof, oldRoot, newRoot), `${old} -> ${n}`).to.equal(true);
        if (old < n) expect(verifyConsistency(old, n, proof, newRoot, newRoot)).to.equal(false);
        if (old > 1n) expect(verifyConsistency(old - 1n, n, proof, oldRoot, newRoot)).to.equal(false);
      }
    });
  }

  it("rejects a size of 2^64 and numbers above 2^53 given as number", () => {
    const n = MAX_TREE_SIZE;
    const tree = virtualTree(n - 1n);
    const proof = inclusionProofFrom(n - 1n, n, tree);
    expect(verifyInclusion(MARK, n - 1n, n, proof, tree(0n, n))).to.equal(true);
    expect(verifyInclusion(MARK, n - 1n, n + 1n, proof, tree(0n, n))).to.equal(false);
    expect(verifyInclusion(LEAF, 0, 2 ** 53 + 2, [], LEAF)).to.equal(false);
    expect(verifyInclusion(LEAF, 0n, 1n, [], LEAF)).to.equal(true);
  });
});
