import { expect } from "chai";
import fc from "fast-check";
import {
  consistencyProof,
  consistencyProofFrom,
  inclusionProof,
  inclusionProofFrom,
  leafHash,
  nodeHash,
  rootHash,
  verifyConsistency,
  verifyInclusion,
  type SubtreeRoot,
} from "../../src/merkle";
import { consistencyShape, hex, pathShape, refConsistency, refLeaf, refMth, refPath } from "./reference";

const MAX = 300;
/** Distinct leaves (data = the 2-byte big-endian index), so no two subtrees share a hash. */
const LEAVES = Array.from({ length: MAX }, (_, i) => leafHash(Uint8Array.of(i >> 8, i & 0xff)));

/** Memoised SubtreeRoot over LEAVES: each node hash is computed once for the whole file. */
function memoSource(): SubtreeRoot {
  const memo = new Map<string, Uint8Array>();
  const mth = (s: bigint, e: bigint): Uint8Array => {
    if (e - s === 1n) return LEAVES[Number(s)]!;
    const key = `${s}:${e}`;
    let h = memo.get(key);
    if (h === undefined) {
      let k = 1n;
      while (k * 2n < e - s) k *= 2n;
      h = nodeHash(mth(s, s + k), mth(s + k, e));
      memo.set(key, h);
    }
    return h;
  };
  return mth;
}
const source = memoSource();
const rootOf = (n: number) => source(0n, BigInt(n));

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
}

describe("merkle: properties", () => {
  it("agrees with a literal transcription of RFC 9162 on random trees", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.nat(), fc.nat(), (n, a, b) => {
        const data = LEAVES.slice(0, n);
        const [m, old] = [a % n, (b % n) + 1];
        expect(hex(rootHash(data))).to.equal(hex(refMth(data)));
        expect(inclusionProof(data, m).map(hex)).to.deep.equal(refPath(m, data).map(hex));
        expect(consistencyProof(data, old, n).map(hex)).to.deep.equal(refConsistency(old, data).map(hex));
      }),
    );
    expect(hex(refLeaf(Uint8Array.of(0, 7)))).to.equal(hex(LEAVES[7]!));
  });

  it("array and callback builders give identical proofs", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX }), fc.nat(), fc.nat(), (n, a, b) => {
        const data = LEAVES.slice(0, n);
        const [m, old] = [a % n, (b % n) + 1];
        expect(rootHash(data)).to.deep.equal(rootOf(n));
        expect(inclusionProof(data, m)).to.deep.equal(inclusionProofFrom(m, n, source));
        expect(consistencyProof(data, old, n)).to.deep.equal(consistencyProofFrom(old, n, source));
      }),
      { numRuns: 200 },
    );
  });

  it(`verifies the inclusion proof of every leaf in every tree of 1..${MAX} leaves`, () => {
    let checked = 0;
    for (let n = 1; n <= MAX; n++) {
      const root = rootOf(n);
      for (let m = 0; m < n; m++) {
        const proof = inclusionProofFrom(m, n, source);
        if (!verifyInclusion(LEAVES[m]!, m, n, proof, root)) expect.fail(`inclusion ${m} of ${n}`);
        checked++;
      }
    }
    expect(checked).to.equal((MAX * (MAX + 1)) / 2);
  });

  it(`verifies the consistency proof of every size pair 1 <= old <= new <= ${MAX}`, () => {
    let checked = 0;
    for (let n = 1; n <= MAX; n++) {
      const newRoot = rootOf(n);
      for (let m = 1; m <= n; m++) {
        const proof = consistencyProofFrom(m, n, source);
        if (!verifyConsistency(m, n, proof, rootOf(m), newRoot)) expect.fail(`consistency ${m} -> ${n}`);
        checked++;
      }
    }
    expect(checked).to.equal((MAX * (MAX + 1)) / 2);
  });
});

describe("merkle: tampered proofs fail", () => {
  const incl = fc
    .tuple(fc.integer({ min: 1, max: MAX }), fc.nat())
    .map(([n, a]) => ({ n, m: a % n, proof: inclusionProofFrom(a % n, n, source) }));
  const cons = fc.tuple(fc.integer({ min: 2, max: MAX }), fc.nat()).map(([n, a]) => ({
    n,
    m: (a % (n - 1)) + 1,
    proof: consistencyProofFrom((a % (n - 1)) + 1, n, source),
  }));

  it("any single bit flip in the leaf, a proof hash or the root breaks an inclusion proof", () => {
    fc.assert(
      fc.property(incl, fc.nat(), fc.nat({ max: 255 }), ({ n, m, proof }, which, bit) => {
        const target = which % (proof.length + 2);
        const p = proof.slice();
        let [leaf, root] = [LEAVES[m]!, rootOf(n)];
        if (target === 0) leaf = flipBit(leaf, bit);
        else if (target === 1) root = flipBit(root, bit);
        else p[target - 2] = flipBit(p[target - 2]!, bit);
        expect(verifyInclusion(leaf, m, n, p, root)).to.equal(false);
      }),
      { numRuns: 500 },
    );
  });

  it("any single bit flip in a proof hash or either root breaks a consistency proof", () => {
    fc.assert(
      fc.property(cons, fc.nat(), fc.nat({ max: 255 }), ({ n, m, proof }, which, bit) => {
        const target = which % (proof.length + 2);
        const p = proof.slice();
        let [oldRoot, newRoot] = [rootOf(m), rootOf(n)];
        if (target === 0) oldRoot = flipBit(oldRoot, bit);
        else if (target === 1) newRoot = flipBit(newRoot, bit);
        else p[target - 2] = flipBit(p[target - 2]!, bit);
        expect(verifyConsistency(m, n, p, oldRoot, newRoot)).to.equal(false);
      }),
      { numRuns: 500 },
    );
  });

  it("a different leaf index never verifies", () => {
    fc.assert(
      fc.property(incl, fc.nat(), ({ n, m, proof }, other) => {
        const m2 = other % (n + 2);
        fc.pre(m2 !== m);
        expect(verifyInclusion(LEAVES[m]!, m2, n, proof, rootOf(n))).to.equal(false);
      }),
      { numRuns: 500 },
    );
  });

  // A tree size is bound by the signed checkpoint, not by the proof: RFC 9162 verification accepts
  // a changed size exactly when the audit path has the same shape (e.g. leaf 0 of 3 and of 4).
  it("a different tree size verifies only when the audit path has the same shape", () => {
    const seen = { same: 0, different: 0 };
    fc.assert(
      fc.property(incl, fc.integer({ min: 0, max: 2 * MAX }), ({ n, m, proof }, n2) => {
        fc.pre(n2 !== n);
        const same = m < n2 && pathShape(BigInt(m), BigInt(n)) === pathShape(BigInt(m), BigInt(n2));
        seen[same ? "same" : "different"]++;
        expect(verifyInclusion(LEAVES[m]!, m, n2, proof, rootOf(n))).to.equal(same);
      }),
      { numRuns: 1000 },
    );
    expect(seen.same, "some changed sizes share the shape").to.be.greaterThan(0);
    expect(seen.different, "most changed sizes do not").to.be.greaterThan(seen.same);
  });

  it("changed consistency sizes verify only when the proof has the same shape", () => {
    const seen = { same: 0, different: 0 };
    fc.assert(
      fc.property(
        cons,
        fc.integer({ min: 0, max: MAX }),
        fc.integer({ min: 0, max: 2 * MAX }),
        (c, m2, n2) => {
          fc.pre(m2 !== c.m || n2 !== c.n);
          const shaped = m2 > 0 && m2 < n2;
          const same =
            shaped && consistencyShape(BigInt(c.m), BigInt(c.n)) === consistencyShape(BigInt(m2), BigInt(n2));
          seen[same ? "same" : "different"]++;
          expect(verifyConsistency(m2, n2, c.proof, rootOf(c.m), rootOf(c.n))).to.equal(same);
        },
      ),
      { numRuns: 1000 },
    );
    expect(seen.different).to.be.greaterThan(seen.same);
  });

  it("size changes x2, /2, +1 and -1 break the published-style proofs where the shape differs", () => {
    for (const [m, n] of [
      [5, 8],
      [1, 5],
      [2, 3],
      [7, 300],
    ] as const) {
      const proof = inclusionProofFrom(m, n, source);
      for (const n2 of [n * 2, Math.floor(n / 2), n + 1, n - 1]) {
        const same = m < n2 && pathShape(BigInt(m), BigInt(n)) === pathShape(BigInt(m), BigInt(n2));
        expect(verifyInclusion(LEAVES[m]!, m, n2, proof, rootOf(n)), `${m}/${n} as ${n2}`).to.equal(same);
      }
    }
    expect(verifyInclusion(LEAVES[5]!, 5, 16, inclusionProofFrom(5, 8, source), rootOf(8))).to.equal(false);
  });

  it("an added, removed or duplicated proof hash never verifies", () => {
    fc.assert(
      fc.property(incl, cons, fc.nat(), ({ n, m, proof }, c, pos) => {
        const variants = (p: Uint8Array[]): Uint8Array[][] => [
          [...p, rootOf(n)],
          [p[0] ?? rootOf(n), ...p],
          ...(p.length > 0 ? [p.slice(0, -1), p.filter((_, i) => i !== pos % p.length)] : []),
        ];
        for (const v of variants(proof))
          expect(verifyInclusion(LEAVES[m]!, m, n, v, rootOf(n))).to.equal(false);
        for (const v of variants(c.proof)) {
          expect(verifyConsistency(c.m, c.n, v, rootOf(c.m), rootOf(c.n))).to.equal(false);
        }
      }),
      { numRuns: 300 },
    );
  });
});
