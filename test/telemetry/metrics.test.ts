import fs from "node:fs";
import { expect } from "chai";
import { AnchoringRunner } from "../../src/chain/runner";
import type { RoundReport } from "../../src/chain/runner";
import { connectEmbedded } from "../../src/chain/connect";
import type { ChainConnection } from "../../src/chain/connect";
import type { DeploymentRecord } from "../../src/chain/deployment";
import { FaultInjector } from "../../src/consensus/fault-injector";
import { AmpMetrics, createMetrics, serveMetrics } from "../../src/telemetry";
import type { MetricsServer } from "../../src/telemetry";
import { GlobalProofAnchor__factory } from "../../typechain-types";
import { deployFresh, ingestGenerated, runnerFederations, tmpDir } from "../e2e/helpers";
import { lintExposition, parseExposition, promtoolRequired, runPromtool, valueOf } from "../helpers/prom";
import type { Family } from "../helpers/prom";

const BYZANTINE = "ssid-apac-1";

/** Every AMP metric and its type; a new metric must be added here and to docs/operations.md. */
const AMP_METRICS: Record<string, string> = {
  amp_ingest_seconds: "histogram",
  amp_seal_seconds: "histogram",
  amp_vote_seconds: "histogram",
  amp_round_quorum_seconds: "histogram",
  amp_round_witness_seconds: "histogram",
  amp_anchor_seconds: "histogram",
  amp_drift_detection_seconds: "histogram",
  amp_allocation_seconds: "histogram",
  amp_events_accepted_total: "counter",
  amp_events_refused_total: "counter",
  amp_pushback_total: "counter",
  amp_rounds_total: "counter",
  amp_votes_total: "counter",
  amp_byzantine_evidence_total: "counter",
  amp_drift_findings_total: "counter",
  amp_drift_alerts_total: "counter",
  amp_anchors_total: "counter",
  amp_anchor_gas_total: "counter",
  amp_allocations_total: "counter",
  amp_witness_bytes_total: "counter",
  amp_payload_bytes_total: "counter",
  amp_tree_size: "gauge",
  amp_last_signed_round: "gauge",
  amp_last_anchored_round: "gauge",
  amp_last_anchor_timestamp_seconds: "gauge",
  amp_queue_depth: "gauge",
  amp_clock_offset_seconds: "gauge",
  amp_governance_weight: "gauge",
  amp_quorum_signed_weight: "gauge",
  amp_quorum_total_weight: "gauge",
};

const ALLOWED_LABELS = new Set(["federation", "node", "status", "reason", "kind", "cause", "outcome", "le"]);

async function scrape(url: string): Promise<{ text: string; families: Map<string, Family>; type: string }> {
  const res = await fetch(url);
  expect(res.status).to.equal(200);
  const text = await res.text();
  return { text, families: parseExposition(text), type: res.headers.get("content-type") ?? "" };
}

describe("telemetry: /metrics of an in-process run on the embedded chain", function () {
  let conn: ChainConnection;
  let record: DeploymentRecord;
  let dir: string;
  let runner: AnchoringRunner;
  let metrics: AmpMetrics;
  let server: MetricsServer;
  let initial: Awaited<ReturnType<typeof scrape>>;
  let final: Awaited<ReturnType<typeof scrape>>;
  const reports: RoundReport[] = [];
  const eventIds: string[] = [];

  before(async function () {
    conn = await connectEmbedded();
    dir = tmpDir("amp-telemetry-");
    record = await deployFresh(conn, dir);
    metrics = createMetrics();
    server = await serveMetrics(metrics, "127.0.0.1:0");
    const { feds, manifest } = await runnerFederations();
    const faults = new FaultInjector().add({ nodeId: BYZANTINE, kind: "wrong-root", rounds: [2n] });
    runner = await AnchoringRunner.open({
      dataDir: dir,
      conn,
      record,
      federations: feds,
      voteTimeoutMs: 5_000, // generous: a loaded machine must not turn a slow vote into a failed round
      faults,
      metrics,
    });
    initial = await scrape(server.url);
    for (let r = 0; r < 3; r++) {
      ingestGenerated(runner, manifest, 4 + r);
      reports.push(await runner.runRound());
    }
    expect(() => runner.ingest([{ event_id: "not-an-event" }])).to.throw();
    for (const f of manifest)
      eventIds.push(...runner.archive.eventsInRange(f.name, 0n, 3n).map((e) => e.eventId));
    final = await scrape(server.url);
  });

  after(async function () {
    await server?.close();
    runner?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("serves the text exposition with every AMP metric, each with HELP and its type", function () {
    expect(final.type).to.match(/^text\/plain; version=0\.0\.4/);
    for (const [name, type] of Object.entries(AMP_METRICS)) {
      const f = final.families.get(name);
      expect(f, name).to.not.equal(undefined);
      expect(f!.type, name).to.equal(type);
      expect(f!.help, name).to.not.equal("");
    }
    const amp = [...final.families.keys()].filter((n) => n.startsWith("amp_"));
    expect(amp.sort()).to.deep.equal(Object.keys(AMP_METRICS).sort());
    expect(final.families.has("process_cpu_seconds_total")).to.equal(true);
  });

  it("moves with the work: rounds, anchors, votes, evidence, ingest, sizes and weights", async function () {
    expect(reports.map((r) => r.status)).to.deep.equal(["anchored", "anchored", "anchored"]);
    const v = (name: string, labels: Record<string, string> = {}) => valueOf(final.families, name, labels);
    expect(valueOf(initial.families, "amp_rounds_total", { status: "witnessed" })).to.equal(undefined);
    expect(v("amp_rounds_total", { status: "witnessed" })).to.equal(3);
    expect(v("amp_anchors_total", { status: "anchored" })).to.equal(3);
    expect(v("amp_anchor_seconds_count")).to.equal(3);
    expect(v("amp_round_witness_seconds_count")).to.equal(3);
    const anchor = GlobalProofAnchor__factory.connect(record.contracts.globalProofAnchor, conn.provider);
    expect(v("amp_last_anchored_round")).to.equal(Number((await anchor.nextRound()) - 1n));
    const gas = reports.reduce((a, r) => a + (r.status === "failed" ? 0n : r.gasUsed), 0n);
    expect(v("amp_anchor_gas_total")).to.equal(Number(gas));
    expect(v("amp_last_anchor_timestamp_seconds")).to.be.closeTo(Date.now() / 1000, 600);
    const { feds } = await runnerFederations();
    const last = reports[2]!;
    if (last.status === "failed") throw new Error("unreachable");
    for (const f of feds) {
      const federation = f.origin;
      const stored = Number(runner.archive.nextSeq(f.name));
      expect(v("amp_events_accepted_total", { federation }), federation).to.equal(stored);
      expect(v("amp_ingest_seconds_count", { federation })).to.equal(3);
      expect(v("amp_round_quorum_seconds_count", { federation })).to.equal(3);
      const fr = last.federations.find((x) => x.origin === f.origin)!;
      expect(v("amp_tree_size", { federation })).to.equal(Number(fr.treeSize));
      expect(v("amp_last_signed_round", { federation })).to.equal(3);
      expect(v("amp_quorum_signed_weight", { federation })).to.equal(Number(fr.signedWeight));
      expect(v("amp_quorum_total_weight", { federation })).to.equal(Number(fr.totalWeight));
      expect(v("amp_queue_depth", { federation })).to.equal(0);
      for (const n of f.nodes) {
        const node = n.keys.nodeId;
        expect(v("amp_governance_weight", { federation, node })).to.equal(Number(n.weight));
        expect(v("amp_vote_seconds_count", { federation, node }), node).to.be.greaterThan(0);
      }
    }
    const evidence = { federation: "amp.local/ssid", node: BYZANTINE, kind: "wrong-root" };
    expect(v("amp_byzantine_evidence_total", evidence)).to.equal(1);
    expect(v("amp_events_refused_total", { federation: "unknown", reason: "invalid-input" })).to.equal(1);
    expect(v("amp_witness_bytes_total")).to.equal(
      reports.reduce((a, r) => a + (r.status === "failed" ? 0 : r.witnessBytes), 0),
    );
  });

  it("shows the queue depth of archived events not yet in a round at scrape time", async function () {
    const { manifest } = await runnerFederations();
    ingestGenerated(runner, manifest, 2);
    const now = await scrape(server.url);
    expect(valueOf(now.families, "amp_queue_depth", { federation: "amp.local/ssid" })).to.equal(2);
    expect(valueOf(now.families, "amp_queue_depth", { federation: "amp.local/opencore" })).to.equal(2);
  });

  it("keeps label names and values bounded: known labels, manifest nodes, never an event id", async function () {
    const { feds } = await runnerFederations();
    const nodes = new Set(feds.flatMap((f) => f.nodes.map((n) => n.keys.nodeId)));
    const origins = new Set([...feds.map((f) => f.origin), "unknown"]);
    for (const f of final.families.values()) {
      if (!f.name.startsWith("amp_")) continue;
      for (const s of f.samples) {
        for (const [k, val] of Object.entries(s.labels)) {
          expect(ALLOWED_LABELS.has(k), `${f.name} label ${k}`).to.equal(true);
          if (k === "node") expect(nodes.has(val), val).to.equal(true);
          if (k === "federation") expect(origins.has(val), val).to.equal(true);
        }
      }
    }
    expect(eventIds.length).to.be.greaterThan(0);
    for (const id of eventIds) expect(final.text).to.not.include(id);
  });

  it("passes promtool check metrics (required on CI) and the TypeScript lint of the same rules", function () {
    expect(lintExposition(final.text)).to.deep.equal([]);
    const { available, missingOnCi } = promtoolRequired();
    if (missingOnCi) expect.fail("promtool is not installed on CI: .ci/run installs the prometheus package");
    if (!available) return; // the TypeScript lint above stands in
    const r = runPromtool(["check", "metrics"], final.text);
    expect(r.output).to.equal("");
    expect(r.status).to.equal(0);
  });
});

describe("telemetry: promtool and the lint refuse badly named metrics", function () {
  it("flags a counter without _total, a unit in ms, a missing prefix and missing help", function () {
    const bad = [
      "# HELP amp_events counted",
      "# TYPE amp_events counter",
      "amp_events 1",
      "# HELP amp_round_ms latency",
      "# TYPE amp_round_ms gauge",
      "amp_round_ms 3",
      "# TYPE foo_total counter",
      "foo_total 2",
    ].join("\n");
    const { available } = promtoolRequired();
    if (available) expect(runPromtool(["check", "metrics"], bad).status).to.not.equal(0);
    expect(lintExposition(bad)).to.deep.equal([
      "amp_events: counter metrics should have _total suffix",
      "amp_round_ms: use base units (seconds, bytes)",
      "foo_total: name without the amp_ prefix",
      "foo_total: no help text",
    ]);
  });
});
