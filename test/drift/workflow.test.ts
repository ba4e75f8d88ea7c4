import { expect } from "chai";
import path from "node:path";
import {
  DriftMonitor,
  DriftStore,
  DriftInjector,
  acknowledgeAlert,
  nodeFindingCounts,
  resolveAlert,
  showAlert,
} from "../../src/drift";
import type { AmpError } from "../../src/util/errors";

type AmpErrorLike = AmpError;
import { quietLogs, tmpDir } from "../consensus/fixture";
import { events, SEED_NODES, staticProbe, syntheticCollection } from "./fixture";

const ORIGIN = "amp.local/workfed";
const DRIFTER = "apac-node-003";

/** A monitor fed synthetic rounds; `drift` makes DRIFTER serialise 20 % of the batch differently. */
function harness(autoResolveRounds = 3) {
  const file = path.join(tmpDir("amp-drift-flow-"), "drift.sqlite");
  const store = new DriftStore(file);
  let current = 0n;
  const byNode = new Map<string, readonly Uint8Array[]>();
  const monitor = new DriftMonitor({
    store,
    probe: staticProbe(byNode, ORIGIN, () => current),
    config: { autoResolveRounds },
  });
  const injector = new DriftInjector();
  async function round(r: bigint, drift: boolean) {
    current = r;
    const batch = events(ORIGIN, Number(r), 10);
    injector.clear();
    if (drift) injector.add({ nodeId: DRIFTER, cause: "serialization_divergence", fraction: 0.2 });
    for (const n of SEED_NODES) byNode.set(n, injector.driftedEntries(n, r, batch)?.entries ?? batch);
    monitor.observe(
      syntheticCollection(
        ORIGIN,
        r,
        batch,
        SEED_NODES.map((nodeId) => ({ nodeId, entries: byNode.get(nodeId)! })),
      ),
    );
    await monitor.idle();
  }
  return { file, store, round };
}

function thrown(f: () => unknown): AmpErrorLike {
  try {
    f();
  } catch (e) {
    return e as AmpErrorLike;
  }
  throw new Error("expected an error");
}

describe("drift/alerts: store and resolution workflow", () => {
  quietLogs();

  it("open → acknowledged → resolved, each change with who and a note, in an append-only history", async () => {
    const h = harness();
    await h.round(1n, true);
    await h.round(2n, true);
    const [a, ...more] = h.store.alerts();
    expect(more).to.deep.equal([]);
    expect(a).to.include({ node: DRIFTER, cause: "serialization_divergence", state: "open", occurrences: 2 });
    expect(a!.firstRound).to.equal(1n);
    expect(a!.lastRound).to.equal(2n);
    acknowledgeAlert(h.store, a!.id, "alice", "looking at the canonicaliser");
    resolveAlert(h.store, a!.id, "bob", "node upgraded to the RFC 8785 library; re-checked round 2");
    const d = showAlert(h.store, a!.id);
    expect(d.alert.state).to.equal("resolved");
    expect(d.history.map((x) => [x.from, x.to, x.actor])).to.deep.equal([
      [null, "open", "drift-monitor"],
      ["open", "acknowledged", "alice"],
      ["acknowledged", "resolved", "bob"],
    ]);
    expect(d.history[2]!.note).to.contain("RFC 8785");
    expect(d.findings.map((f) => f.round)).to.deep.equal([1n, 2n]);
    expect(() => h.store.db.prepare("UPDATE drift_alert_history SET note = 'x'").run()).to.throw(
      /append-only/,
    );
    expect(() => h.store.db.prepare("DELETE FROM drift_alert_history").run()).to.throw(/append-only/);
    expect(() => h.store.db.prepare("DELETE FROM drift_findings").run()).to.throw(/append-only/);
    h.store.close();
  });

  it("refuses a resolve without a note, an unnamed actor, a wrong transition and an unknown id; nothing changes", async () => {
    const h = harness();
    await h.round(1n, true);
    const id = h.store.alerts()[0]!.id;
    const before = JSON.stringify(showAlert(h.store, id), (_k, v: unknown) =>
      typeof v === "bigint" ? `${v}` : v,
    );
    expect(thrown(() => resolveAlert(h.store, id, "bob", "  ")).message).to.match(/needs a review note/);
    expect(thrown(() => acknowledgeAlert(h.store, id, "", "x")).message).to.match(/must be named/);
    expect(thrown(() => acknowledgeAlert(h.store, 999, "bob", "x"))).to.include({ kind: "not-found" });
    const after = JSON.stringify(showAlert(h.store, id), (_k, v: unknown) =>
      typeof v === "bigint" ? `${v}` : v,
    );
    expect(after).to.equal(before);
    resolveAlert(h.store, id, "bob", "fixed");
    expect(thrown(() => acknowledgeAlert(h.store, id, "bob", "late"))).to.include({ kind: "conflict" });
    expect(h.store.history(id)).to.have.length(2);
    h.store.close();
  });

  it("auto-resolves an alert after N rounds without recurrence, keeps its history; a new drift opens a new alert", async () => {
    const h = harness(3);
    await h.round(1n, true);
    await h.round(2n, false);
    await h.round(3n, false);
    expect(h.store.alerts()[0]!.state).to.equal("open");
    await h.round(4n, false);
    const a = h.store.alerts()[0]!;
    expect(a.state).to.equal("auto-resolved");
    const hist = h.store.history(a.id);
    expect(hist.map((x) => x.to)).to.deep.equal(["open", "auto-resolved"]);
    expect(hist[1]!.note).to.contain("for 3 rounds (last in round 1)");
    await h.round(5n, true);
    const all = h.store.alerts();
    expect(all.map((x) => x.state)).to.deep.equal(["auto-resolved", "open"]);
    h.store.close();
  });

  it("reports per-node finding counts per round range for validation accuracy (alerts and observations)", async () => {
    const h = harness();
    await h.round(1n, true);
    await h.round(2n, false);
    await h.round(3n, true);

    const { roundsObserved, counts } = nodeFindingCounts(h.store, {
      federation: ORIGIN,
      fromRound: 1n,
      toRound: 3n,
    });
    expect(roundsObserved).to.equal(3);
    expect(counts).to.deep.equal([
      {
        federation: ORIGIN,
        node: DRIFTER,
        round: 1n,
        alerts: 1,
        observations: 0,
        byCause: { serialization_divergence: 1 },
      },
      {
        federation: ORIGIN,
        node: DRIFTER,
        round: 3n,
        alerts: 1,
        observations: 0,
        byCause: { serialization_divergence: 1 },
      },
    ]);
    expect(nodeFindingCounts(h.store, { fromRound: 2n, toRound: 2n }).counts).to.deep.equal([]);
    h.store.close();
  });

  it("keeps alerts, history and findings across a reopen of the store file", async () => {
    const h = harness();
    await h.round(1n, true);
    h.store.close();
    const again = new DriftStore(h.file);
    expect(again.alerts()).to.have.length(1);
    expect(again.findings()).to.have.length(1);
    again.close();
  });
});
