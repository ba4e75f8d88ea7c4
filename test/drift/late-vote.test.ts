/**
 * A drifting vote that misses the coordinator's vote timeout (a loaded node) is lost for the
 * round's quorum, not for the drift monitor: when it arrives, its signatures are checked and the
 * monitor compares it with the round's majority (ConsensusValidator.observeLate).
 */
import { expect } from "chai";
import type { VoteRequest, VoteResponse } from "../../src/consensus/types";
import { quietLogs } from "../consensus/fixture";
import { driftSetup, events, SEED_NODES, type DriftSetup } from "./fixture";

const ORIGIN = "amp.local/latefed";
const SLOW = "apac-node-003";
const TIMEOUT_MS = 2000;
/** How much later than the timeout the slow node answers (well past it, whatever the load). */
const LATE_BY_MS = 2 * TIMEOUT_MS;

async function until<T>(what: string, f: () => T | undefined, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("drift/monitor: a drifting vote that arrives after the vote timeout is still compared", function () {
  this.timeout(120_000);
  quietLogs();
  let s: DriftSetup;
  /** The slow node's latest answer, settled once the coordinator has it. */
  let slowAnswer: Promise<void> = Promise.resolve();
  let slowAnswered = false;
  before(() => {
    s = driftSetup(ORIGIN, SEED_NODES, {}, TIMEOUT_MS);
    const t = s.fed.transport;
    const ask = t.requestVote.bind(t);
    t.requestVote = async (id: string, req: VoteRequest): Promise<VoteResponse> => {
      const res = await ask(id, req);
      if (id !== SLOW) return res;
      slowAnswered = false;
      const late = new Promise<void>((r) => setTimeout(r, TIMEOUT_MS + LATE_BY_MS));
      slowAnswer = late.then(() => void (slowAnswered = true));
      await late;
      return res;
    };
  });
  after(() => s.close());

  it("the round is final without the late vote, and the monitor records its 15 % serialization drift", async () => {
    s.injector.add({ nodeId: SLOW, cause: "serialization_divergence", fraction: 0.15, rounds: [1n] });
    const out = await s.fed.coordinator.runRound(1n, events(ORIGIN, 1, 100));
    expect(out.status).to.equal("final");
    if (out.status !== "final") return;
    expect(out.attempts).to.equal(1);
    // Final before the slow node answered: its vote missed the round.
    expect(slowAnswered).to.equal(false);
    const f = await until("the late vote's finding", () => s.store.findings()[0]);
    const shown = s.collections.filter((c) => c.round === 1n);
    expect(shown.map((c) => c.proposals.some((p) => p.nodeId === SLOW))).to.deep.equal([false, true]);
    await s.monitor.idle();
    expect(s.store.findings()).to.have.length(1);
    expect(f).to.include({
      round: 1n,
      node: SLOW,
      majorityNode: "eu-node-001",
      cause: "serialization_divergence",
      divergentLeaves: 15,
      driftScore: 0.15,
      severity: "medium",
      kind: "alert",
    });
    expect(f.actions).to.have.length(4);
  });

  it("an honest late vote raises nothing", async () => {
    s.injector.clear();
    const before = s.store.findings().length;
    const out = await s.fed.coordinator.runRound(2n, events(ORIGIN, 2, 100));
    expect(out.status).to.equal("final");
    expect(slowAnswered).to.equal(false);
    // The late answer arrives, is checked and shown to the monitor, which finds nothing.
    await slowAnswer;
    await until("the collection with the late vote", () =>
      s.collections.find((c) => c.round === 2n && c.proposals.some((p) => p.nodeId === SLOW)),
    );
    await s.monitor.idle();
    expect(s.store.findings().length).to.equal(before);
  });
});
