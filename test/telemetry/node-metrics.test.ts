/**
 * GET /metrics on a running node (src/telemetry/node.ts): seven NodeServices over loopback HTTP
 * (each with only its own keys) on an in-process chain; the metrics are scraped over HTTP on the
 * node's own URL before and after real work.
 */
import fs from "node:fs";
import { expect } from "chai";
import type { Manifest } from "../../src/manifest";
import { NodeService } from "../../src/node/service";
import type { Roster } from "../../src/node/roster";
import { nodeMetrics, nodeMetricsExtension, reasonOfStatus } from "../../src/telemetry/node";
import { lintExposition, parseExposition, promtoolRequired, runPromtool, valueOf } from "../helpers/prom";
import { ndjson, until, listenNodes } from "../node/helpers";

describe("telemetry: GET /metrics on every node (NodeExtension)", function () {
  this.timeout(180_000);
  let manifest: Manifest;
  let roster: Roster;
  let dir: string;
  let services: NodeService[] = [];

  const url = (i: number) => roster.nodes[i]!.url;
  const scrape = async (i: number) => {
    const res = await fetch(`${url(i)}/metrics`);
    expect(res.status).to.equal(200);
    expect(res.headers.get("content-type")).to.match(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };
  const post = (i: number, body: string) =>
    fetch(`${url(i)}/v1/events`, {
      method: "POST",
      headers: { "content-type": "application/x-ndjson" },
      body,
    });

  before(async function () {
    process.env.AMP_LOG_LEVEL = "silent";
    ({ manifest, roster, dir, services } = await listenNodes("amp-node-metrics-", (_id, i) => ({
      // One process: only the first registry exports the (shared) process metrics.
      extensions: [nodeMetricsExtension({ processMetrics: i === 0 })],
    })));
  });

  after(async function () {
    for (const s of services) await s.close().catch(() => undefined);
    services = [];
    delete process.env.AMP_LOG_LEVEL;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("exports every stage histogram, counter and gauge with HELP and TYPE before any work", async function () {
    const fams = parseExposition(await scrape(0));
    const types: Record<string, string> = {
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
      amp_byzantine_evidence_total: "counter",
      amp_anchors_total: "counter",
      amp_rounds_total: "counter",
      amp_tree_size: "gauge",
      amp_last_signed_round: "gauge",
      amp_last_anchored_round: "gauge",
      amp_queue_depth: "gauge",
      amp_governance_weight: "gauge",
    };
    for (const [name, type] of Object.entries(types)) {
      expect(fams.get(name), name).to.not.equal(undefined);
      expect(fams.get(name)!.type, name).to.equal(type);
      expect(fams.get(name)!.help, name).to.not.equal("");
    }
    expect(fams.has("process_cpu_seconds_total")).to.equal(true);
    const origin = roster.federationOf(roster.nodes[0]!.id).config.origin;
    expect(valueOf(fams, "amp_tree_size", { node: roster.nodes[0]!.id, federation: origin })).to.equal(0);
    // Another node's registry is its own (its node label), without the shared process metrics.
    const other = parseExposition(await scrape(4));
    expect(valueOf(other, "amp_tree_size", { node: roster.nodes[4]!.id })).to.equal(0);
    expect(other.has("process_cpu_seconds_total")).to.equal(false);
  });

  it("counts a refused body by reason, with nothing stored", async function () {
    const bad = ndjson(manifest, "ssid", 0, 2).split("\n");
    bad[1] = "{not json";
    const res = await post(0, bad.join("\n"));
    expect(res.status).to.equal(400);
    const fams = parseExposition(await scrape(0));
    expect(valueOf(fams, "amp_events_refused_total", { reason: "invalid-input" })).to.equal(2);
    expect(valueOf(fams, "amp_events_accepted_total")).to.equal(undefined);
    expect(valueOf(fams, "amp_queue_depth")).to.equal(0);
  });

  it("moves with work: ingest, queue depth, stages, votes, anchors, tree size, last rounds", async function () {
    const ssid = roster.nodes.findIndex((n) => n.id === roster.federations[0]!.nodes[0]!.id);
    expect((await post(ssid, ndjson(manifest, roster.federations[0]!.name, 0, 5))).status).to.equal(200);
    // The same events again: acknowledged as duplicates, not counted as accepted.
    expect((await post(ssid, ndjson(manifest, roster.federations[0]!.name, 0, 5))).status).to.equal(200);
    const queued = parseExposition(await scrape(ssid));
    expect(valueOf(queued, "amp_events_accepted_total")).to.equal(5);
    expect(valueOf(queued, "amp_ingest_seconds_count")).to.equal(2);
    expect(valueOf(queued, "amp_queue_depth")).to.equal(5);
    for (const s of services) await s.start();
    await until(
      "every node archived round 1",
      () => services.every((s) => s.node.lastAnchoredRound() >= 1n) || undefined,
    );
    const scrapeAll = () => Promise.all(services.map((_, i) => scrape(i).then(parseExposition)));
    const total = (all: Awaited<ReturnType<typeof scrapeAll>>, name: string) =>
      all.reduce((a, f) => a + (valueOf(f, name) ?? 0), 0);
    // The proposer counts its anchor after its tick ends (the others may have caught up before).
    const all = await until("the anchor counted", async () => {
      const a = await scrapeAll();
      return total(a, "amp_anchors_total") >= 1 ? a : undefined;
    });
    const sum = (name: string) => total(all, name);
    expect(sum("amp_anchor_seconds_count")).to.be.at.least(1);
    expect(
      all.reduce((a, f) => a + (valueOf(f, "amp_rounds_total", { status: "witnessed" }) ?? 0), 0),
    ).to.be.at.least(1);
    // Every node tells when it saw the new anchored round, not only the proposer.
    await until("every node saw the anchor", async () => {
      const a = await scrapeAll();
      return a.every((f) => (valueOf(f, "amp_last_anchor_timestamp_seconds") ?? 0) > 0) || undefined;
    });
    expect(sum("amp_seal_seconds_count")).to.be.at.least(2); // one coordinator per federation
    expect(sum("amp_round_quorum_seconds_count")).to.be.at.least(2);
    expect(sum("amp_round_witness_seconds_count")).to.be.at.least(2);
    // Vote requests answered over HTTP: every node but the coordinators, whose own validator is
    // called directly (one coordinator per federation).
    expect(sum("amp_vote_seconds_count")).to.be.at.least(roster.nodes.length - roster.federations.length);
    const mine = all[ssid]!;
    expect(valueOf(mine, "amp_tree_size")).to.equal(5);
    expect(valueOf(mine, "amp_queue_depth")).to.equal(0);
    expect(valueOf(mine, "amp_last_signed_round")).to.equal(1);
    expect(valueOf(mine, "amp_last_anchored_round")).to.equal(1);
    // Labels stay bounded: no event id or hash in any label value.
    for (const f of all)
      for (const fam of f.values())
        for (const s of fam.samples)
          for (const v of Object.values(s.labels)) expect(v, `${s.name}`).to.not.match(/[0-9a-f]{32}/);
  });

  it("passes promtool check metrics (or the same rules in TypeScript) on a node's output", async function () {
    const text = await scrape(0);
    expect(lintExposition(text)).to.deep.equal([]);
    const { available, missingOnCi } = promtoolRequired();
    expect(missingOnCi, "CI installs promtool (prometheus)").to.equal(false);
    if (available) {
      const r = runPromtool(["check", "metrics"], text);
      expect(r.status, r.output).to.equal(0);
    }
  });

  it("gives other extensions the node's registry (nodeMetrics) and maps refusal statuses", function () {
    const m = nodeMetrics(services[0]!.ctx);
    expect(m).to.not.equal(undefined);
    m!.driftFinding("timestamp_drift");
    return m!.metrics().then((t) => {
      expect(valueOf(parseExposition(t), "amp_drift_findings_total", { cause: "timestamp_drift" })).to.equal(
        1,
      );
      expect([400, 413, 422, 429, 503, 500].map(reasonOfStatus)).to.deep.equal([
        "invalid-input",
        "invalid-input",
        "conflict",
        "retry-later",
        "retry-later",
        "bug",
      ]);
    });
  });
});
