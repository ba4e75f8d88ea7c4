import { expect } from "chai";
import { Wallet } from "ethers";
import { signClockStamp, verifyClockStamp } from "../../src/consensus/clock-stamp";
import { DEFAULT_DRIFT_CONFIG, clockSamples } from "../../src/drift";
import { quietLogs } from "../consensus/fixture";
import { driftSetup, events, SEED_NODES, syntheticCollection, type DriftSetup } from "./fixture";

const ORIGIN = "amp.local/clockfed";

describe("drift/clock: signed wall clock in votes, offsets from the federation median", () => {
  quietLogs();
  let s: DriftSetup;
  before(() => {
    s = driftSetup(ORIGIN, SEED_NODES);
  });
  after(() => s.close());

  it("every vote carries a wall clock signed by the node's registered key; offsets are kept per round", async () => {
    await s.round(1n, events(ORIGIN, 1, 10));
    const offsets = s.store.clockOffsets({ federation: ORIGIN, fromRound: 1n, toRound: 1n });
    expect(offsets.map((o) => o.node).sort()).to.deep.equal([...SEED_NODES].sort());
    for (const o of offsets)
      expect(Math.abs(o.offsetMs)).to.be.below(DEFAULT_DRIFT_CONFIG.clockSkewToleranceMs);
    expect(s.store.findings({ fromRound: 1n, toRound: 1n })).to.deep.equal([]);
  });

  it("a node whose clock is 1.5 s ahead raises a medium clock_skew alert naming it; 5 s is high", async () => {
    s.injector.add({ nodeId: "apac-node-003", cause: "clock_skew", clockSkewMs: 1500, rounds: [2n] });
    s.injector.add({ nodeId: "us-node-002", cause: "clock_skew", clockSkewMs: -5000, rounds: [3n] });
    await s.round(2n, events(ORIGIN, 2, 10));
    await s.round(3n, events(ORIGIN, 3, 10));
    const [f2, ...more2] = s.store.findings({ fromRound: 2n, toRound: 2n });
    expect(more2).to.deep.equal([]);
    expect(f2).to.include({ node: "apac-node-003", cause: "clock_skew", kind: "alert", severity: "medium" });
    expect(f2!.driftScore).to.equal(null);
    expect(f2!.detail.offsetMs).to.be.within(1400, 1600);
    expect(SEED_NODES).to.include(f2!.majorityNode);
    expect(f2!.actions.length).to.be.at.least(3);
    expect(f2!.actions[0]).to.contain("NTP");
    const [f3] = s.store.findings({ fromRound: 3n, toRound: 3n });
    expect(f3).to.include({ node: "us-node-002", cause: "clock_skew", severity: "high" });
    const r2 = s.store.clockOffsets({ federation: ORIGIN, fromRound: 2n, toRound: 2n });
    expect(r2).to.have.length(4);
    expect(r2.find((o) => o.node === "apac-node-003")!.offsetMs).to.be.above(1400);
  });

  it("a stamp that does not verify against the node's address is ignored, never counted as a sample", () => {
    const honest = Wallet.createRandom();
    const other = Wallet.createRandom();
    const batch = events(ORIGIN, 9, 3);
    const now = Date.now();
    const c0 = syntheticCollection(ORIGIN, 9n, batch, [
      { nodeId: "a", entries: batch, address: honest.address },
      { nodeId: "b", entries: batch, address: honest.address },
    ]);
    const body = c0.proposals[0]!.checkpoints[0]!.body;
    const ctx = { origin: ORIGIN, epoch: 1n, round: 9n, body };
    const good = signClockStamp(honest, ctx, now);
    const forged = signClockStamp(other, ctx, now + 10_000);
    expect(verifyClockStamp(good, ctx, honest.address)).to.equal(true);
    expect(verifyClockStamp(forged, ctx, honest.address)).to.equal(false);
    expect(verifyClockStamp({ ...good, wallClockMs: now + 1 }, ctx, honest.address)).to.equal(false);
    expect(verifyClockStamp(good, { ...ctx, round: 10n }, honest.address)).to.equal(false);
    const c = syntheticCollection(ORIGIN, 9n, batch, [
      { nodeId: "a", entries: batch, address: honest.address, clock: good, receivedAtMs: now },
      { nodeId: "b", entries: batch, address: honest.address, clock: forged, receivedAtMs: now },
    ]);
    const out = clockSamples(c, DEFAULT_DRIFT_CONFIG);
    expect(out.invalid).to.deep.equal(["b"]);
    expect(out.samples.map((x) => x.node)).to.deep.equal(["a"]);
    expect(out.findings).to.deep.equal([]);
  });
});
