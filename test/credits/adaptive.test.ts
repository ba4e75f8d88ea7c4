import { expect } from "chai";
import fc from "fast-check";
import { DEFAULT_MAX_CHANGE_BP, proposeWeights } from "../../src/credits/adaptive";
import { checkGuards } from "../../src/credits/rotation";
import { governanceWeight } from "../../src/credits/score";

const ids = ["n1", "n2", "n3", "n4"];
const map = (xs: bigint[]) => new Map(ids.map((id, i) => [id, xs[i]!]));
const sum = (m: ReadonlyMap<string, bigint>) => [...m.values()].reduce((a, b) => a + b, 0n);

describe("credits: adaptive governance weights", function () {
  it("moves weight away from a faulty node over epochs, at most 5% of the total an epoch", function () {
    let weights = map([2500n, 2500n, 2500n, 2500n]);
    const history: bigint[] = [];
    // n4's accuracy dropped (injected faults): governance weight 0.3 against 0.9 for the others.
    const g = new Map([
      ["n1", governanceWeight(4500).ppm],
      ["n2", governanceWeight(4500).ppm],
      ["n3", governanceWeight(4500).ppm],
      ["n4", governanceWeight(1500).ppm],
    ]);
    for (let epoch = 0; epoch < 6; epoch++) {
      const p = proposeWeights(weights, g);
      for (const id of ids) {
        const d = p.weights.get(id)! - weights.get(id)!;
        expect(d < 0n ? -d : d, `epoch ${epoch} ${id}`).to.be.at.most(500n);
        expect(3n * p.weights.get(id)! < 10_000n).to.equal(true);
      }
      expect(sum(p.weights)).to.equal(10_000n);
      weights = new Map(p.weights);
      history.push(weights.get("n4")!);
    }
    // 2500 → 2000 → 1500 → 1000 (its proportional target: 10000·0.3/3.0), then it stays.
    expect(history).to.deep.equal([2000n, 1500n, 1000n, 1000n, 1000n, 1000n]);
    expect([...weights.values()]).to.deep.equal([3000n, 3000n, 3000n, 1000n]);
  });

  it("keeps every node below 1/3 even when one node earns all the credit", function () {
    let weights = map([2500n, 2500n, 2500n, 2500n]);
    const g = map([1_000_000n, 1n, 1n, 1n]);
    for (let i = 0; i < 10; i++) weights = new Map(proposeWeights(weights, g).weights);
    expect(weights.get("n1")).to.equal(3333n);
    expect(sum(weights)).to.equal(10_000n);
    for (const w of weights.values()) expect(w >= 1n).to.equal(true);
  });

  it("changes nothing for fewer than 4 nodes or all-zero governance weights, and says why", function () {
    const three = new Map([
      ["a", 3334n],
      ["b", 3333n],
      ["c", 3333n],
    ]);
    const p = proposeWeights(three, new Map([...three.keys()].map((k) => [k, 500_000n])));
    expect(p.changed).to.equal(false);
    expect(p.reason).to.match(/below 1\/3/);
    expect(proposeWeights(map([2500n, 2500n, 2500n, 2500n]), map([0n, 0n, 0n, 0n])).reason).to.match(/zero/);
  });

  it("holds its guards for any weights and governance weights (property)", function () {
    const arb = fc
      .integer({ min: 4, max: 9 })
      .chain((n) =>
        fc.tuple(
          fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: n, maxLength: n }),
          fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: n, maxLength: n }),
          fc.integer({ min: 1, max: 2000 }),
        ),
      );
    fc.assert(
      fc.property(arb, ([ws, gs, capBp]) => {
        const keys = ws.map((_, i) => `node-${i}`);
        const cur = new Map(keys.map((k, i) => [k, BigInt(ws[i]!)]));
        const total = sum(cur);
        const p = proposeWeights(cur, new Map(keys.map((k, i) => [k, BigInt(gs[i]!)])), {
          maxChangeBp: BigInt(capBp),
        });
        expect(sum(p.weights)).to.equal(total);
        if (!p.changed) return;
        const cap = (total * BigInt(capBp)) / 10_000n || 1n;
        for (const k of keys) {
          const before = cur.get(k)!;
          const after = p.weights.get(k)!;
          expect(after >= 1n).to.equal(true);
          expect(3n * after < total).to.equal(true);
          // The change cap binds unless the node had to come down below 1/3.
          if (3n * before < total) expect(after - before <= cap && before - after <= cap).to.equal(true);
        }
      }),
      { numRuns: 300 },
    );
    expect(DEFAULT_MAX_CHANGE_BP).to.equal(500n);
  });

  it("checkGuards (what a signer checks) accepts every proposeWeights result and names each violation", function () {
    const cur = map([2500n, 2500n, 2500n, 2500n]);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 4, maxLength: 4 }), (g) => {
        const p = proposeWeights(cur, map(g.map(BigInt)));
        expect(checkGuards(cur, p.weights)).to.equal(p.changed ? undefined : "nothing changes");
      }),
      { numRuns: 200 },
    );
    expect(checkGuards(cur, map([2500n, 2500n, 2500n, 2500n]))).to.equal("nothing changes");
    expect(checkGuards(cur, map([3334n, 2166n, 2500n, 2000n]))).to.match(/^n1: weight 3334 reaches 1\/3/);
    expect(checkGuards(cur, map([2501n, 2500n, 2500n, 2500n]))).to.match(
      /sum to 10001, not the federation total 10000/,
    );
    expect(checkGuards(cur, map([3001n, 1999n, 2500n, 2500n]))).to.match(
      /^n1: moves by 501, more than the cap 500/,
    );
    expect(checkGuards(cur, map([0n, 5000n, 2500n, 2500n]))).to.match(/^n1: weight 0 is below 1/);
    expect(checkGuards(cur, new Map([...map([2400n, 2600n, 2500n, 2500n])].slice(0, 3)))).to.match(
      /exactly the nodes/,
    );
    // The cap gives way only to bring a node down under 1/3.
    const heavy = map([4000n, 2000n, 2000n, 2000n]);
    expect(checkGuards(heavy, map([3333n, 2222n, 2222n, 2223n]))).to.equal(undefined);
  });
});
