import { expect } from "chai";
import fc from "fast-check";
import {
  DriftInjector,
  InProcessDriftProbe,
  hashRanges,
  leafHashes,
  locateDivergence,
} from "../../src/drift";
import { rootHash } from "../../src/merkle";

const enc = new TextEncoder();
const entries = (n: number, tag = "") => Array.from({ length: n }, (_, i) => enc.encode(`{"i":${i}${tag}}`));

describe("drift/ranges: locating divergent leaves by range hashes", () => {
  it("finds exactly the differing leaves, whatever they are (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 1, max: 300 })
          .chain((n) => fc.tuple(fc.constant(n), fc.uniqueArray(fc.nat(n - 1), { maxLength: n }))),
        async ([n, diff]) => {
          const ours = entries(n);
          const theirs = ours.map((e, i) => (diff.includes(i) ? enc.encode(`{"x":${i}}`) : e));
          const probe = new InProcessDriftProbe().register({ nodeId: "b", votedEntries: () => theirs });
          const d = await locateDivergence(probe, "b", "o", 1n, leafHashes(ours), n);
          expect(d.indices).to.deep.equal([...diff].sort((a, b) => a - b));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("asks for few ranges when few leaves differ (hashes only, no events)", async () => {
    const ours = entries(1000);
    const theirs = ours.map((e, i) => (i === 617 ? enc.encode("{}") : e));
    const probe = new InProcessDriftProbe().register({ nodeId: "b", votedEntries: () => theirs });
    const d = await locateDivergence(probe, "b", "o", 1n, leafHashes(ours), 1000);
    expect(d.indices).to.deep.equal([617]);
    expect(d.rangesAsked).to.be.below(40);
  });

  it("computes RFC 9162 subtree hashes over a range and refuses bad ranges (the node-side entry point)", () => {
    const l = leafHashes(entries(10));
    expect(Buffer.from(hashRanges(l, [{ from: 2, to: 7 }])[0]!)).to.deep.equal(
      Buffer.from(rootHash(l.slice(2, 7))),
    );
    expect(() => hashRanges(l, [{ from: 3, to: 3 }])).to.throw(/bad range \[3, 3\)/);
    expect(() => hashRanges(l, [{ from: -1, to: 2 }])).to.throw(/bad range/);
    expect(() => hashRanges(l, [{ from: 0.5, to: 2 }])).to.throw(/bad range/);
    expect(() => hashRanges(l, [{ from: 5, to: 11 }])).to.throw(/beyond the 10 leaves/);
    expect(() =>
      hashRanges(
        l,
        Array.from({ length: 5000 }, () => ({ from: 0, to: 1 })),
      ),
    ).to.throw(/at most 4096/);
  });

  it("the in-process probe refuses a node or round it does not hold", async () => {
    const probe = new InProcessDriftProbe().register({ nodeId: "b", votedEntries: () => undefined });
    await expect(probe.rangeHashes("b", "o", 1n, [{ from: 0, to: 1 }])).to.be.rejectedWith(
      /holds no voted entries/,
    );
    await expect(probe.entriesAt("zz", "o", 1n, [0])).to.be.rejectedWith(/holds no voted entries/);
  });

  it("the injector refuses an unknown cause or a fraction outside (0, 1]", () => {
    expect(() => new DriftInjector([{ nodeId: "a", cause: "cosmic" as never }])).to.throw(
      /unknown drift cause "cosmic"/,
    );
    expect(() => new DriftInjector([{ nodeId: "a", cause: "timestamp_drift", fraction: 0 }])).to.throw(
      /\(0, 1\]/,
    );
    expect(() => new DriftInjector([{ nodeId: "a", cause: "timestamp_drift", fraction: 1.5 }])).to.throw(
      /\(0, 1\]/,
    );
  });
});
