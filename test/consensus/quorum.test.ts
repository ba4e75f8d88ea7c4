import { expect } from "chai";
import fc from "fast-check";
import { belowOneThird, hasQuorum, quorumThreshold, totalWeight, weightOf } from "../../src/consensus/quorum";
import { InvalidInputError } from "../../src/util/errors";

const total = fc.bigInt({ min: 1n, max: 1n << 80n });
const pair = total.chain((t) => fc.tuple(fc.constant(t), fc.bigInt({ min: 0n, max: t })));

describe("consensus/quorum", () => {
  it("reaches quorum exactly when 3·signed > 2·total", () => {
    fc.assert(fc.property(pair, ([t, s]) => hasQuorum(s, t) === 3n * s > 2n * t));
  });
  it("treats exactly two thirds as no quorum", () => {
    expect(hasQuorum(2n, 3n)).to.equal(false);
    expect(hasQuorum(6666n, 9999n)).to.equal(false);
    expect(hasQuorum(3n, 4n)).to.equal(true);
    expect(hasQuorum(3n, 3n)).to.equal(true);
  });
  it("has a minimal threshold: floor(2t/3)+1 reaches quorum and one less does not", () => {
    fc.assert(
      fc.property(total, (t) => {
        const th = quorumThreshold(t);
        return th <= t && hasQuorum(th, t) && !hasQuorum(th - 1n, t);
      }),
    );
  });
  it("is monotone in the signed weight", () => {
    fc.assert(fc.property(pair, ([t, s]) => !hasQuorum(s, t) || s === t || hasQuorum(s + 1n, t)));
  });
  it("never lets two disjoint sets both reach quorum", () => {
    fc.assert(
      fc.property(
        pair.chain(([t, a]) => fc.tuple(fc.constant(t), fc.constant(a), fc.bigInt({ min: 0n, max: t - a }))),
        ([t, a, b]) => !(hasQuorum(a, t) && hasQuorum(b, t)),
      ),
    );
  });
  it("lets honest weight reach quorum whenever the Byzantine weight is below one third", () => {
    fc.assert(fc.property(pair, ([t, byz]) => !belowOneThird(byz, t) || hasQuorum(t - byz, t)));
  });
  it("classifies one of three equal weights as not below one third", () => {
    expect(belowOneThird(1n, 3n)).to.equal(false);
    expect(belowOneThird(2500n, 10000n)).to.equal(true);
    expect(belowOneThird(3334n, 10000n)).to.equal(false);
  });
  it("sums member weights once each and refuses unknown members", () => {
    const w = new Map([
      ["a", 2n],
      ["b", 3n],
    ]);
    expect(weightOf(["a", "a", "b"], w)).to.equal(5n);
    expect(totalWeight(w)).to.equal(5n);
    expect(() => weightOf(["c"], w)).to.throw(InvalidInputError, /unknown member c/);
  });
  it("refuses negative weights, zero totals and signed weight above the total", () => {
    expect(() => hasQuorum(-1n, 3n)).to.throw(InvalidInputError);
    expect(() => hasQuorum(0n, 0n)).to.throw(InvalidInputError, /positive/);
    expect(() => hasQuorum(4n, 3n)).to.throw(InvalidInputError, /exceeds/);
    expect(() => quorumThreshold(0n)).to.throw(InvalidInputError);
  });
});
