import { expect } from "chai";
import hre from "hardhat";
import fc from "fast-check";
import { hexlify } from "ethers";
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
import type { RFC9162Harness } from "../../typechain-types";
import { CT_CONSISTENCY, CT_INCLUSION, CT_LEAF_DATA, CT_ROOTS as CT_ROOT_HEX } from "../helpers/ct-vectors";

const hex = (h: Uint8Array) => hexlify(h);
const hexAll = (hs: Uint8Array[]) => hs.map(hex);
const unhex = (s: string) => Uint8Array.from(Buffer.from(s, "hex"));

const CT_ROOTS = CT_ROOT_HEX.map((h) => "0x" + h);
const CT_LEAVES = CT_LEAF_DATA.map((d) => leafHash(unhex(d)));

/** A pool of leaves; trees in the property tests are prefixes of it. */
const POOL = Array.from({ length: 3000 }, (_, i) => leafHash(new TextEncoder().encode(`pool/${i}`)));
const roots = new Map<number, string>();
const rootOf = (n: number): string => {
  let r = roots.get(n);
  if (r === undefined) roots.set(n, (r = hex(rootHash(POOL.slice(0, n)))));
  return r;
};
const RUNS = 40;

/** `proof` with one bit of one hash inverted. */
function flipped(proof: Uint8Array[], seed: number): Uint8Array[] {
  const out = proof.map((h) => Uint8Array.from(h));
  out[seed % out.length]![seed % 32]! ^= 1 << (seed % 8);
  return out;
}

describe("RFC9162 library (through RFC9162Harness)", function () {
  let lib: RFC9162Harness;

  before(async function () {
    lib = await (await hre.ethers.getContractFactory("RFC9162Harness")).deploy();
  });

  describe("certificate-transparency reference tree", function () {
    it("proves every leaf of every size 1..8 against the published roots, and nothing for size 0", async function () {
      for (let n = 1; n <= 8; n++) {
        for (let i = 0; i < n; i++) {
          const proof = hexAll(inclusionProof(CT_LEAVES.slice(0, n), i));
          expect(await lib.verifyInclusion(CT_LEAVES[i]!, i, n, proof, CT_ROOTS[n]!), `${i}/${n}`).to.equal(
            true,
          );
        }
      }
      expect(await lib.verifyInclusion(CT_LEAVES[0]!, 0, 0, [], CT_ROOTS[0]!)).to.equal(false);
      expect(await lib.hashNode(CT_LEAVES[0]!, CT_LEAVES[1]!)).to.equal(CT_ROOTS[2]);
    });

    it("accepts the published inclusion and consistency proofs", async function () {
      for (const v of CT_INCLUSION) {
        const proof = v.path.map((h) => "0x" + h);
        expect(
          await lib.verifyInclusion(CT_LEAVES[v.index]!, v.index, v.size, proof, CT_ROOTS[v.size]!),
        ).to.equal(true);
      }
      for (const v of CT_CONSISTENCY) {
        const proof = v.path.map((h) => "0x" + h);
        expect(
          await lib.verifyConsistency(
            v.oldSize,
            v.newSize,
            proof,
            CT_ROOTS[v.oldSize]!,
            CT_ROOTS[v.newSize]!,
          ),
        ).to.equal(true);
      }
    });

    it("proves every pair of sizes 1 <= m <= n <= 8 consistent against the published roots", async function () {
      for (let n = 1; n <= 8; n++) {
        for (let m = 1; m <= n; m++) {
          const proof = hexAll(consistencyProof(CT_LEAVES, m, n));
          expect(await lib.verifyConsistency(m, n, proof, CT_ROOTS[m]!, CT_ROOTS[n]!), `${m}->${n}`).to.equal(
            true,
          );
        }
      }
    });
  });

  describe("properties against the TypeScript reference (src/merkle), trees up to 3000 leaves", function () {
    it("accepts every honest inclusion proof", async function () {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 3000 }), fc.nat(), async (n, seed) => {
          const i = seed % n;
          const proof = hexAll(inclusionProof(POOL.slice(0, n), i));
          expect(await lib.verifyInclusion(POOL[i]!, i, n, proof, rootOf(n))).to.equal(true);
        }),
        { numRuns: RUNS },
      );
    });

    it("accepts every honest consistency proof", async function () {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 3000 }), fc.nat(), async (n, seed) => {
          const m = 1 + (seed % n);
          const proof = hexAll(consistencyProof(POOL, m, n));
          expect(await lib.verifyConsistency(m, n, proof, rootOf(m), rootOf(n))).to.equal(true);
        }),
        { numRuns: RUNS },
      );
    });

    it("agrees with the reference on mangled inclusion proofs (truncated, extended, flipped, wrong index)", async function () {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 3000 }),
          fc.nat(),
          fc.constantFrom("truncate", "extend", "flip", "index", "size"),
          async (n, seed, how) => {
            const i = seed % n;
            let proof = inclusionProof(POOL.slice(0, n), i);
            let index = i;
            let size = n;
            if (how === "truncate") proof = proof.slice(0, -1);
            if (how === "extend") proof = [...proof, POOL[seed % 3000]!];
            if (how === "flip" && proof.length > 0) proof = flipped(proof, seed);
            if (how === "index") index = (i + 1 + (seed % 7)) % (n + 1);
            if (how === "size") size = n + 1 + (seed % 5);
            const expected = verifyInclusion(POOL[i]!, index, size, proof, unhex(rootOf(n).slice(2)));
            expect(await lib.verifyInclusion(POOL[i]!, index, size, hexAll(proof), rootOf(n))).to.equal(
              expected,
            );
          },
        ),
        { numRuns: RUNS },
      );
    });

    it("agrees with the reference on mangled consistency proofs and swapped sizes", async function () {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 2, max: 3000 }),
          fc.nat(),
          fc.constantFrom("truncate", "extend", "flip", "swap", "old-zero"),
          async (n, seed, how) => {
            let m = 1 + (seed % (n - 1));
            let size = n;
            let proof = consistencyProof(POOL, m, n);
            if (how === "truncate") proof = proof.slice(0, -1);
            if (how === "extend") proof = [...proof, POOL[seed % 3000]!];
            if (how === "flip" && proof.length > 0) proof = flipped(proof, seed);
            if (how === "swap") [m, size] = [n, m];
            if (how === "old-zero") m = 0;
            const [oldRoot, newRoot] = [rootOf(m), rootOf(size)];
            const expected = verifyConsistency(
              m,
              size,
              proof,
              unhex(oldRoot.slice(2)),
              unhex(newRoot.slice(2)),
            );
            expect(await lib.verifyConsistency(m, size, hexAll(proof), oldRoot, newRoot)).to.equal(expected);
            if (how !== "swap" && how !== "old-zero")
              expect(expected).to.equal(how === "flip" && proof.length === 0);
          },
        ),
        { numRuns: RUNS },
      );
    });
  });

  describe("malformed input returns false without reverting", function () {
    it("handles empty, oversized and out-of-range inputs", async function () {
      const r8 = CT_ROOTS[8]!;
      const proof = hexAll(inclusionProof(CT_LEAVES, 5));
      expect(await lib.verifyInclusion(CT_LEAVES[5]!, 8, 8, proof, r8)).to.equal(false);
      expect(await lib.verifyInclusion(CT_LEAVES[5]!, 5, 8, [], r8)).to.equal(false);
      const huge = Array.from({ length: 300 }, () => proof[0]!);
      expect(await lib.verifyInclusion(CT_LEAVES[5]!, 5, 8, huge, r8)).to.equal(false);
      expect(await lib.verifyConsistency(6, 8, huge, CT_ROOTS[6]!, r8)).to.equal(false);
      expect(await lib.verifyConsistency(8, 6, [], r8, CT_ROOTS[6]!)).to.equal(false);
      expect(await lib.verifyConsistency(0, 8, [], CT_ROOTS[0]!, r8)).to.equal(false);
      expect(await lib.verifyConsistency(0, 0, [], CT_ROOTS[0]!, CT_ROOTS[0]!)).to.equal(false);
      expect(await lib.verifyConsistency(4, 4, [], CT_ROOTS[4]!, CT_ROOTS[4]!)).to.equal(true);
      expect(await lib.verifyConsistency(4, 4, [], CT_ROOTS[4]!, CT_ROOTS[5]!)).to.equal(false);
      expect(await lib.verifyConsistency(4, 4, [r8], CT_ROOTS[4]!, CT_ROOTS[4]!)).to.equal(false);
      const max = (1n << 256n) - 1n;
      expect(await lib.verifyInclusion(CT_LEAVES[0]!, max - 1n, max, proof, r8)).to.equal(false);
      expect(await lib.verifyConsistency(max - 1n, max, proof, r8, r8)).to.equal(false);
    });
  });

  describe("64-bit tree sizes", function () {
    // Virtual tree: every leaf is LEAF except `special`; subtrees without it hash by size alone.
    const LEAF = leafHash(new TextEncoder().encode("amp"));
    const MARK = leafHash(new TextEncoder().encode("mark"));
    const memo = new Map<bigint, Uint8Array>([[1n, LEAF]]);
    const split = (n: bigint) => {
      let k = 1n;
      while (k * 2n < n) k *= 2n;
      return k;
    };
    const bySize = (n: bigint): Uint8Array => {
      let h = memo.get(n);
      if (h === undefined) memo.set(n, (h = nodeHash(bySize(split(n)), bySize(n - split(n)))));
      return h;
    };
    const tree = (special: bigint): SubtreeRoot => {
      const mth = (start: bigint, end: bigint): Uint8Array => {
        if (special < start || special >= end) return bySize(end - start);
        if (end - start === 1n) return MARK;
        const k = split(end - start);
        return nodeHash(mth(start, start + k), mth(start + k, end));
      };
      return mth;
    };

    it("verifies inclusion and consistency in trees of up to 2^64 - 1 leaves", async function () {
      for (const size of [(1n << 32n) + 7n, (1n << 53n) + 3n, (1n << 64n) - 1n]) {
        const special = size - 3n;
        const mth = tree(special);
        const root = hex(mth(0n, size));
        const proof = hexAll(inclusionProofFrom(special, size, mth));
        expect(await lib.verifyInclusion(MARK, special, size, proof, root)).to.equal(true);
        expect(await lib.verifyInclusion(LEAF, special, size, proof, root)).to.equal(false);
        const old = size - (1n << 31n) - 5n;
        const cproof = hexAll(consistencyProofFrom(old, size, mth));
        expect(await lib.verifyConsistency(old, size, cproof, hex(mth(0n, old)), root)).to.equal(true);
        expect(await lib.verifyConsistency(old + 1n, size, cproof, hex(mth(0n, old)), root)).to.equal(false);
      }
    });
  });
});
