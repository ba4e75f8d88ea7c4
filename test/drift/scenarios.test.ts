import { expect } from "chai";
import { driftSetup, events, SEED_NODES, type DriftSetup } from "./fixture";
import { quietLogs } from "../consensus/fixture";
import type { AlertCause, Severity } from "../../src/drift";

const ORIGIN = "amp.local/driftfed";
const BATCH = 200;
const FRACTIONS = [0.01, 0.05, 0.15, 0.5] as const;

/** The README severity table, written out (not computed) so a change to it fails here. */
const SEVERITY: Record<string, readonly Severity[]> = {
  serialization_divergence: ["low", "low", "medium", "high"],
  timestamp_drift: ["low", "low", "medium", "high"],
  unknown: ["low", "low", "medium", "high"],
  data_inconsistency: ["medium", "medium", "high", "critical"],
  equivocation: ["critical", "critical", "critical", "critical"],
};
const CAUSES = Object.keys(SEVERITY) as AlertCause[];

describe("drift/monitor: every cause at 1 %, 5 %, 15 % and 50 % of a batch, in process", function () {
  quietLogs();
  let s: DriftSetup;
  let round = 0n;
  before(() => {
    s = driftSetup(ORIGIN, SEED_NODES);
  });
  after(() => s.close());

  CAUSES.forEach((cause, ci) => {
    FRACTIONS.forEach((fraction, fi) => {
      // Rotate the diverging node so that every node and several pairs are covered.
      const d = (ci + fi) % SEED_NODES.length;
      const node = SEED_NODES[d]!;
      const majority = d === 0 ? SEED_NODES[1]! : SEED_NODES[0]!;
      it(`${cause} on ${node} at ${fraction * 100} %: exact score, pair ${node}/${majority}, severity, actions`, async () => {
        round++;
        s.injector.clear();
        s.injector.add({ nodeId: node, cause, fraction, rounds: [round] });
        await s.round(round, events(ORIGIN, Number(round), BATCH));
        const found = s.store.findings({ fromRound: round, toRound: round });
        expect(found).to.have.length(1);
        const f = found[0]!;
        expect(f.cause).to.equal(cause);
        expect(f.node).to.equal(node);
        expect(f.majorityNode).to.equal(majority);
        expect(f.divergentLeaves).to.equal(Math.round(fraction * BATCH));
        expect(f.driftScore).to.equal(fraction);
        expect(f.severity).to.equal(SEVERITY[cause]![fi]);
        const alert = cause === "equivocation" || fraction > 0.1;
        expect(f.kind).to.equal(alert ? "alert" : "observation");
        expect(f.alertId !== null).to.equal(alert);
        expect(f.actions.length).to.be.at.least(3);
        expect(new Set(f.actions).size).to.equal(f.actions.length);
        expect(f.detail.firstDifferingLeaf).to.equal(0); // the injector alters leaf 0 first
        if (cause === "serialization_divergence") {
          expect(f.actions.join("\n")).to.match(
            /field path \/ \(key order\) of leaf 0 \(event [0-9a-f-]{36}\)/,
          );
          expect((f.detail.first as { received: string }).received).to.match(/^\{"timestamp"/);
        }
        if (cause === "timestamp_drift")
          expect(f.actions[0]).to.contain("/timestamp").and.contain("60000 ms");
        if (cause === "data_inconsistency") expect(f.actions[0]).to.contain("/payload/altered_by_drift");
        if (cause === "equivocation") expect(String(f.detail.evidence)).to.contain("evidence.jsonl");
        if (cause === "unknown") expect(String(f.detail.seen)).to.contain("unparsable");
      });
    });
  });

  it("the seed's case: 15 % serialization divergence between eu-node-001 and apac-node-003 is a medium alert with 4 actions", async () => {
    round++;
    s.injector.clear();
    s.injector.add({
      nodeId: "apac-node-003",
      cause: "serialization_divergence",
      fraction: 0.15,
      rounds: [round],
    });
    await s.round(round, events(ORIGIN, Number(round), 100));
    const [f, ...rest] = s.store.findings({ fromRound: round, toRound: round });
    expect(rest).to.deep.equal([]);
    expect(f).to.include({
      node: "apac-node-003",
      majorityNode: "eu-node-001",
      cause: "serialization_divergence",
      driftScore: 0.15,
      severity: "medium",
      kind: "alert",
    });
    expect(f!.actions).to.have.length(4);
  });

  it("a node signing a root its leaves do not back (wrong-root) is unknown, with what was seen, score 0", async () => {
    round++;
    s.injector.clear();
    s.faults.add({ nodeId: "us-node-002", kind: "wrong-root", rounds: [round] });
    await s.round(round, events(ORIGIN, Number(round), 50));
    const [f, ...rest] = s.store.findings({ fromRound: round, toRound: round });
    expect(rest).to.deep.equal([]);
    expect(f).to.include({ node: "us-node-002", cause: "unknown", driftScore: 0, kind: "observation" });
    expect(String(f!.detail.seen)).to.contain("range hashes equal the majority's");
    s.faults.clear();
  });

  it("timestamps shifted within the tolerance are not timestamp drift", async () => {
    round++;
    s.injector.clear();
    s.injector.add({
      nodeId: "eu-node-004",
      cause: "timestamp_drift",
      fraction: 0.5,
      timestampShiftMs: 300,
      rounds: [round],
    });
    await s.round(round, events(ORIGIN, Number(round), 20));
    const [f] = s.store.findings({ fromRound: round, toRound: round });
    expect(f).to.include({ cause: "unknown", driftScore: 0.5 });
    expect(String(f!.detail.seen)).to.contain("time-within-tolerance");
  });

  it("a drifting node whose rule ended votes with the majority again (no finding)", async () => {
    round++;
    s.injector.clear();
    await s.round(round, events(ORIGIN, Number(round), 20));
    expect(s.store.findings({ fromRound: round, toRound: round })).to.deep.equal([]);
  });
});
