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

// Certificate Transparency / RFC 6962 reference data (same tree in RFC 9162), as published in
// google/trillian merkle/log_verifier_test.go and transparency-dev/merkle testonly.
const LEAVES = [
  "",
  "00",
  "10",
  "2021",
  "3031",
  "40414243",
  "5051525354555657",
  "606162636465666768696a6b6c6d6e6f",
];
const ROOTS = [
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];
const INCLUSION = [
  { index: 0, size: 1, path: [] },
  {
    index: 0,
    size: 8,
    path: [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  {
    index: 5,
    size: 8,
    path: [
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
  { index: 2, size: 3, path: ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"] },
  {
    index: 1,
    size: 5,
    path: [
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
  },
];
const CONSISTENCY = [
  { oldSize: 1, newSize: 1, path: [] },
  {
    oldSize: 1,
    newSize: 8,
    path: [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  {
    oldSize: 6,
    newSize: 8,
    path: [
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
  {
    oldSize: 2,
    newSize: 5,
    path: [
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
  },
];

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
