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

const hex = (h: Uint8Array) => hexlify(h);
const hexAll = (hs: Uint8Array[]) => hs.map(hex);
const unhex = (s: string) => Uint8Array.from(Buffer.from(s, "hex"));

// certificate-transparency-go / trillian merkle test data (RFC 6962 = RFC 9162 §2.1 hashing).
const CT_DATA = [
  "",
  "00",
  "10",
  "2021",
  "3031",
  "40414243",
  "5051525354555657",
  "606162636465666768696a6b6c6d6e6f",
];
const CT_ROOTS = [
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
].map((h) => "0x" + h);
const CT_INCLUSION = [
  {
    index: 0,
    size: 8,
    proof: [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
];
const CT_CONSISTENCY = [
  {
    first: 2,
    second: 8,
    proof: [
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  {
    first: 6,
    second: 8,
    proof: [
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
];
const CT_LEAVES = CT_DATA.map((d) => leafHash(unhex(d)));

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
        const proof = v.proof.map((h) => "0x" + h);
        expect(
          await lib.verifyInclusion(CT_LEAVES[v.index]!, v.index, v.size, proof, CT_ROOTS[v.size]!),
        ).to.equal(true);
      }
      for (const v of CT_CONSISTENCY) {
        const proof = v.proof.map((h) => "0x" + h);
        expect(
          await lib.verifyConsistency(v.first, v.second, proof, CT_ROOTS[v.first]!, CT_ROOTS[v.second]!),
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
