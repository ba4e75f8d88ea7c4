import { expect } from "chai";
import fc from "fast-check";
import {
  consistencyProof,
  consistencyProofFrom,
  inclusionProof,
  inclusionProofFrom,
  InvalidInputError,
  leafHash,
  nodeHash,
  rootHash,
  verifyConsistency,
  verifyInclusion,
} from "../../src";

const leaves = Array.from({ length: 13 }, (_, i) => leafHash(Uint8Array.of(i)));
const root13 = rootHash(leaves);
const root6 = rootHash(leaves.slice(0, 6));
const proof = inclusionProof(leaves, 6);
const cproof = consistencyProof(leaves, 6, 13);

const badHashes: unknown[] = [
  undefined,
  null,
  "00".repeat(32),
  new Uint8Array(31),
  new Uint8Array(33),
  new Uint8Array(0),
  Array.from({ length: 32 }, () => 0),
  new Uint16Array(16),
];
const badNumbers: unknown[] = [-1, -1n, 1.5, NaN, Infinity, 2 ** 53, 1n << 64n, "6", null, undefined, {}];

describe("merkle: malformed input", () => {
  it("verifyInclusion accepts the genuine proof (control)", () => {
    expect(verifyInclusion(leaves[6]!, 6, 13, proof, root13)).to.equal(true);
  });

  it("verifyInclusion returns false for a malformed leaf, root or proof hash", () => {
    for (const bad of badHashes) {
      const b = bad as Uint8Array;
      expect(verifyInclusion(b, 6, 13, proof, root13)).to.equal(false);
      expect(verifyInclusion(leaves[6]!, 6, 13, proof, b)).to.equal(false);
      expect(verifyInclusion(leaves[6]!, 6, 13, [b, ...proof.slice(1)], root13)).to.equal(false);
    }
  });

  it("verifyInclusion returns false for a non-array proof or an overlong one", () => {
    for (const p of [undefined, null, "proof", {}, { length: 4 }, new Array<Uint8Array>(100).fill(root13)]) {
      expect(verifyInclusion(leaves[6]!, 6, 13, p as Uint8Array[], root13)).to.equal(false);
    }
  });

  it("verifyInclusion returns false for bad index or size numbers and index >= size", () => {
    for (const bad of badNumbers) {
      expect(verifyInclusion(leaves[6]!, bad as number, 13, proof, root13)).to.equal(false);
      expect(verifyInclusion(leaves[6]!, 6, bad as number, proof, root13)).to.equal(false);
    }
    expect(verifyInclusion(leaves[6]!, 13, 13, proof, root13)).to.equal(false);
    expect(verifyInclusion(leaves[0]!, 0, 0, [], rootHash([]))).to.equal(false);
  });

  it("verifyConsistency accepts the genuine proof (control)", () => {
    expect(verifyConsistency(6, 13, cproof, root6, root13)).to.equal(true);
    expect(verifyConsistency(13n, 13n, [], root13, root13)).to.equal(true);
  });

  it("verifyConsistency returns false for old size 0, old > new, or bad numbers", () => {
    expect(verifyConsistency(0, 13, [], rootHash([]), root13)).to.equal(false);
    expect(verifyConsistency(0, 0, [], rootHash([]), rootHash([]))).to.equal(false);
    expect(verifyConsistency(13, 6, cproof, root13, root6)).to.equal(false);
    for (const bad of badNumbers) {
      expect(verifyConsistency(bad as number, 13, cproof, root6, root13)).to.equal(false);
      expect(verifyConsistency(6, bad as number, cproof, root6, root13)).to.equal(false);
    }
  });

  it("verifyConsistency returns false for equal sizes with a proof or different roots, and for an empty proof", () => {
    expect(verifyConsistency(13, 13, [root13], root13, root13)).to.equal(false);
    expect(verifyConsistency(13, 13, [], root6, root13)).to.equal(false);
    expect(verifyConsistency(6, 13, [], root6, root13)).to.equal(false);
  });

  it("verifyConsistency returns false for malformed roots or proof hashes", () => {
    for (const bad of badHashes) {
      const b = bad as Uint8Array;
      expect(verifyConsistency(6, 13, cproof, b, root13)).to.equal(false);
      expect(verifyConsistency(6, 13, cproof, root6, b)).to.equal(false);
      expect(verifyConsistency(6, 13, [...cproof.slice(0, -1), b], root6, root13)).to.equal(false);
    }
    expect(verifyConsistency(6, 13, "x" as unknown as Uint8Array[], root6, root13)).to.equal(false);
  });

  it("verifiers never throw on arbitrary input", () => {
    fc.assert(
      fc.property(
        fc.anything(),
        fc.anything(),
        fc.anything(),
        fc.anything(),
        fc.anything(),
        (a, b, c, d, e) => {
          const args = [a, b, c, d, e] as Parameters<typeof verifyInclusion>;
          expect(verifyInclusion(...args)).to.equal(false);
          expect(verifyConsistency(...(args as unknown as Parameters<typeof verifyConsistency>))).to.equal(
            false,
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it("proof builders throw InvalidInputError on bad arguments", () => {
    const src = () => root13;
    const cases: [string, () => unknown][] = [
      ["index = size", () => inclusionProof(leaves, 13)],
      ["negative index", () => inclusionProof(leaves, -1)],
      ["fractional index", () => inclusionProofFrom(1.5, 13, src)],
      ["index over 2^64", () => inclusionProofFrom(0n, 1n << 64n, src)],
      ["old size 0", () => consistencyProof(leaves, 0, 13)],
      ["old > new", () => consistencyProof(leaves, 7, 6)],
      ["new beyond the leaves", () => consistencyProof(leaves, 6, 14)],
      ["bigint old size 0", () => consistencyProofFrom(0n, 5n, src)],
      ["short leaf hash", () => rootHash([new Uint8Array(31)])],
      ["not an array", () => rootHash("abc" as unknown as Uint8Array[])],
      ["short child", () => nodeHash(new Uint8Array(32), new Uint8Array(31))],
      ["leaf data not bytes", () => leafHash("abc" as unknown as Uint8Array)],
    ];
    for (const [what, call] of cases) expect(call, what).to.throw(InvalidInputError);
  });

  it("the error names the offending argument", () => {
    expect(() => inclusionProof(leaves, 13)).to.throw(/leaf index 13 is not below tree size 13/);
    expect(() => rootHash([leaves[0]!, new Uint8Array(5)])).to.throw(/leafHashes\[1\] must be a 32-byte/);
  });
});
