import { expect } from "chai";
import {
  consistencyProof,
  EMPTY_ROOT,
  inclusionProof,
  leafHash,
  nodeHash,
  rootHash,
  verifyConsistency,
  verifyInclusion,
} from "../../src/merkle";
import { hex, unhex } from "./reference";

import {
  CT_CONSISTENCY as CONSISTENCY,
  CT_INCLUSION as INCLUSION,
  CT_LEAF_DATA as LEAVES,
  CT_ROOTS as ROOTS,
} from "../helpers/ct-vectors";

const leaves = LEAVES.map((l) => leafHash(unhex(l)));

describe("merkle: RFC 9162 / CT reference vectors", () => {
  it("hashes the empty tree to SHA-256 of the empty string", () => {
    expect(hex(rootHash([]))).to.equal(ROOTS[0]);
    expect(hex(EMPTY_ROOT)).to.equal(ROOTS[0]);
  });

  ROOTS.forEach((root, size) => {
    it(`computes the published root for the first ${size} reference leaves`, () => {
      expect(hex(rootHash(leaves.slice(0, size)))).to.equal(root);
    });
  });

  it("prefixes leaves with 0x00 and interior nodes with 0x01", () => {
    expect(hex(leafHash(new Uint8Array(0)))).to.equal(ROOTS[1]);
    expect(hex(nodeHash(leaves[0]!, leaves[1]!))).to.equal(ROOTS[2]);
  });

  for (const v of INCLUSION) {
    it(`builds and verifies the published inclusion proof for leaf ${v.index} of ${v.size}`, () => {
      const proof = inclusionProof(leaves.slice(0, v.size), v.index);
      expect(proof.map(hex)).to.deep.equal(v.path);
      const root = unhex(ROOTS[v.size]!);
      expect(verifyInclusion(leaves[v.index]!, v.index, v.size, v.path.map(unhex), root)).to.equal(true);
      expect(verifyInclusion(leaves[v.index]!, BigInt(v.index), BigInt(v.size), proof, root)).to.equal(true);
    });
  }

  for (const v of CONSISTENCY) {
    it(`builds and verifies the published consistency proof ${v.oldSize} -> ${v.newSize}`, () => {
      const proof = consistencyProof(leaves.slice(0, v.newSize), v.oldSize, v.newSize);
      expect(proof.map(hex)).to.deep.equal(v.path);
      const [oldRoot, newRoot] = [unhex(ROOTS[v.oldSize]!), unhex(ROOTS[v.newSize]!)];
      expect(verifyConsistency(v.oldSize, v.newSize, v.path.map(unhex), oldRoot, newRoot)).to.equal(true);
    });
  }

  it("refuses the published 6 -> 8 consistency proof with the roots swapped", () => {
    const v = CONSISTENCY[2]!;
    const ok = verifyConsistency(6, 8, v.path.map(unhex), unhex(ROOTS[8]!), unhex(ROOTS[6]!));
    expect(ok).to.equal(false);
  });
});
