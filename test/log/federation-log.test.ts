import { expect } from "chai";
import fc from "fast-check";
import { FederationLog, MemoryLogStore } from "../../src/log";
import { leafHash, EMPTY_ROOT } from "../../src/merkle/hash";
import { rootHash, inclusionProof, consistencyProof } from "../../src/merkle/tree";
import { verifyConsistency, verifyInclusion } from "../../src/merkle/verify";
import { InvalidInputError } from "../../src/util/errors";

const ORIGIN = "amp.local/test";

function leaves(n: number, salt = 0): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => leafHash(new TextEncoder().encode(`leaf ${salt}/${i}`)));
}

/** Appends `all` to a fresh log in the given batch sizes; returns the log and every checkpoint. */
function build(all: Uint8Array[], batches: number[]): FederationLog {
  const log = new FederationLog(ORIGIN);
  let at = 0;
  for (const b of batches) {
    log.append(all.slice(at, Math.min(all.length, at + b)));
    at = Math.min(all.length, at + b);
  }
  log.append(all.slice(at));
  return log;
}

const hex = (proof: Uint8Array[]): string[] => proof.map((h) => Buffer.from(h).toString("hex"));

describe("log/FederationLog", () => {
  it("has the empty root SHA-256('') at size 0", () => {
    const log = new FederationLog(ORIGIN);
    expect(log.size).to.equal(0n);
    expect(log.root()).to.deep.equal(EMPTY_ROOT);
    expect(log.rootAt(0)).to.deep.equal(EMPTY_ROOT);
  });

  it("compact-range root after batched appends equals the array rebuild at every size (fast-check)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 300 }),
        fc.array(fc.integer({ min: 1, max: 40 })),
        (n, batches) => {
          const all = leaves(n);
          const log = build(all, batches);
          expect(log.size).to.equal(BigInt(n));
          expect(log.root()).to.deep.equal(rootHash(all));
          for (let m = 0; m <= n; m += 7) expect(log.rootAt(m)).to.deep.equal(rootHash(all.slice(0, m)));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("serves inclusion proofs from stored nodes identical to the array-based ones (fast-check)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.nat(), fc.nat(), (n, a, b) => {
        const all = leaves(n, 1);
        const log = build(all, [17, 64, 1]);
        const size = (a % n) + 1;
        const index = b % size;
        const proof = log.inclusionProof(index, size);
        expect(hex(proof)).to.deep.equal(hex(inclusionProof(all.slice(0, size), index)));
        expect(verifyInclusion(all[index]!, index, size, proof, rootHash(all.slice(0, size)))).to.equal(true);
      }),
      { numRuns: 200 },
    );
  });

  it("serves consistency proofs between any two sizes identical to the array-based ones (fast-check)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.nat(), fc.nat(), (n, a, b) => {
        const all = leaves(n, 2);
        const log = build(all, [5, 100]);
        const newSize = (a % n) + 1;
        const oldSize = (b % newSize) + 1;
        const proof = log.consistencyProof(oldSize, newSize);
        expect(hex(proof)).to.deep.equal(hex(consistencyProof(all, oldSize, newSize)));
        const ok = verifyConsistency(
          oldSize,
          newSize,
          proof,
          rootHash(all.slice(0, oldSize)),
          rootHash(all.slice(0, newSize)),
        );
        expect(ok).to.equal(true);
      }),
      { numRuns: 200 },
    );
  });

  it("reopens from its store with the same size, root and proofs (restart)", () => {
    const store = new MemoryLogStore();
    const first = new FederationLog(ORIGIN, store);
    const all = leaves(77, 3);
    first.append(all.slice(0, 50));
    first.append(all.slice(50));
    const reopened = new FederationLog(ORIGIN, store);
    expect(reopened.size).to.equal(77n);
    expect(reopened.root()).to.deep.equal(first.root());
    reopened.append(leaves(3, 4));
    expect(reopened.root()).to.deep.equal(rootHash([...all, ...leaves(3, 4)]));
  });

  it("stores only O(n) nodes: n leaves and n - popcount(n) interior nodes", () => {
    const store = new MemoryLogStore();
    const log = new FederationLog(ORIGIN, store);
    const plan = log.prepareAppend(leaves(100));
    expect(plan.nodes.length).to.equal(100 - 3); // 100 = 0b1100100
    log.applyAppend(plan);
    expect(store.size()).to.equal(0n); // prepare + apply never writes: append() does
  });

  it("refuses proofs beyond its size, a bad index, a malformed leaf and a bad origin", () => {
    const log = build(leaves(10), []);
    expect(() => log.inclusionProof(3, 11)).to.throw(InvalidInputError, /exceeds log size 10/);
    expect(() => log.inclusionProof(10, 10)).to.throw(InvalidInputError, /not below tree size/);
    expect(() => log.consistencyProof(0, 5)).to.throw(InvalidInputError, /must be > 0/);
    expect(() => log.consistencyProof(6, 5)).to.throw(InvalidInputError, /exceeds new tree size/);
    expect(() => log.inclusionProof(-1)).to.throw(InvalidInputError, /leaf index/);
    expect(() => log.append([new Uint8Array(31)])).to.throw(InvalidInputError, /32-byte/);
    expect(log.size).to.equal(10n);
    expect(() => new FederationLog("has space")).to.throw(InvalidInputError, /origin/);
  });

  it("refuses to apply a plan prepared from another state", () => {
    const log = new FederationLog(ORIGIN);
    const plan = log.prepareAppend(leaves(2));
    log.append(leaves(1));
    expect(() => log.applyAppend(plan)).to.throw(/starts at size 0, log is at 1/);
  });
});
