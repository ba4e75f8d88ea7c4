/**
 * The Credits page against a real in-process run with 1-second epochs and credits attached as
 * `amp run` attaches them (drift findings feeding validation accuracy): the page's numbers equal
 * the archive's records, its transactions equal the chain's receipts, and each receipt verifies;
 * against another (empty) receipts contract every receipt is shown invalid.
 */
import fs from "node:fs";
import { expect } from "chai";
import { AnchoringRunner } from "../../src/chain/runner";
import { connectEmbedded } from "../../src/chain/connect";
import type { ChainConnection } from "../../src/chain/connect";
import type { DeploymentRecord } from "../../src/chain/deployment";
import { attachCredits } from "../../src/credits/attach";
import { ReceiptsReader } from "../../src/credits/chain";
import { driftFindingsProvider } from "../../src/credits/drift-findings";
import { epochOf } from "../../src/credits/measure";
import { rankNodes } from "../../src/credits/rank";
import { allocationHash } from "../../src/credits/record";
import type { StoredAllocation } from "../../src/credits/store";
import { DriftInjector } from "../../src/drift/injector";
import { CreditsData } from "../../src/dashboard/credits";
import { serveDashboard } from "../../src/dashboard/server";
import type { DashboardServer } from "../../src/dashboard/server";
import { AmpMetrics } from "../../src/telemetry/metrics";
import { launchBrowser } from "../helpers/browser";
import { parseExposition, valueOf } from "../helpers/prom";
import type { TestBrowser } from "../helpers/browser";
import { deployFresh, ingestGenerated, runnerFederations, tmpDir } from "../e2e/helpers";

const EPOCH_SECONDS = 1;
const SKEWED = "ssid-apac-1";

async function untilClosed(ms: number): Promise<void> {
  const end = (Number(epochOf(ms, EPOCH_SECONDS)) + 1) * EPOCH_SECONDS * 1000;
  while (Date.now() < end + 5) await new Promise((r) => setTimeout(r, 20));
}

describe("dashboard: the Credits page against a real run with 1 s epochs, in Chromium", function () {
  this.timeout(300_000);
  let conn: ChainConnection;
  let record: DeploymentRecord;
  let dir: string;
  let otherDir: string;
  let runner: AnchoringRunner;
  let server: DashboardServer;
  let browser: TestBrowser;
  let stored: StoredAllocation[];
  let reader: ReceiptsReader;
  const metrics = new AmpMetrics();

  before(async function () {
    conn = await connectEmbedded();
    dir = tmpDir("amp-dashboard-credits-");
    record = await deployFresh(conn, dir);
    const { feds, manifest } = await runnerFederations();
    // SKEWED's wall clock is 2 s off in every round: its votes stay correct, but each round has a
    // clock_skew finding against it, which must lower its validation accuracy.
    const injector = new DriftInjector([{ nodeId: SKEWED, cause: "clock_skew" }]);
    runner = await AnchoringRunner.open({
      dataDir: dir,
      conn,
      record,
      federations: feds,
      voteTimeoutMs: 5_000,
      drift: { injector },
      metrics,
    });
    const credits = await attachCredits({
      dataDir: dir,
      archive: runner.archive,
      conn,
      record,
      federations: manifest.map((f) => ({
        name: f.name,
        origin: f.origin,
        nodeIds: f.nodes.map((n) => n.id),
      })),
      epochSeconds: EPOCH_SECONDS,
      drift: driftFindingsProvider(runner.drift.store),
      metrics,
    });
    for (let i = 0; i < 3; i++) {
      ingestGenerated(runner, manifest, 4);
      const r = await runner.runRound();
      expect(r.status).to.equal("anchored");
      await runner.drift.idle();
      await untilClosed(Date.now());
      credits.afterRound();
    }
    await credits.settle();
    stored = credits.scheduler.store.all();
    reader = new ReceiptsReader(record.contracts.proofCreditReceipts, conn.provider);
    server = await serveDashboard(dir, "127.0.0.1:0", { receipts: reader });
    browser = await launchBrowser();
  });

  after(async function () {
    await browser?.close();
    await server?.close();
    runner?.close();
    for (const d of [dir, otherDir]) if (d) fs.rmSync(d, { recursive: true, force: true });
  });

  it("drift findings lower the drifting node's validation accuracy in its records", function () {
    const skewed = stored.filter((s) => s.node === SKEWED && s.record.rounds !== null);
    expect(skewed.length).to.be.greaterThan(0);
    for (const s of skewed) {
      expect(s.record.counts.drift_findings, `epoch ${s.epoch}`).to.be.greaterThan(0);
      expect(s.record.counts.correct_votes).to.equal(s.record.counts.votes_cast);
      expect(s.record.inputs.validation_accuracy).not.to.equal("1.000000");
    }
    const honest = stored.filter((s) => s.node === "ssid-eu-1" && s.record.rounds !== null);
    expect(honest.length).to.be.greaterThan(0);
    for (const s of honest) {
      expect(s.record.counts.drift_findings).to.equal(0);
      expect(s.record.inputs.validation_accuracy).to.equal("1.000000");
    }
  });

  it("feeds the drift and allocation metrics: detection time, findings and alerts by cause, clock offset, allocations", async function () {
    const m = parseExposition(await metrics.registry.metrics());
    const epochs = new Set(stored.map((s) => s.epoch)).size;
    const findings = runner.drift.store.findings();
    const skewFindings = findings.filter((f) => f.cause === "clock_skew").length;
    expect(skewFindings).to.be.greaterThan(0);
    expect(valueOf(m, "amp_drift_findings_total", { cause: "clock_skew" })).to.equal(skewFindings);
    expect(valueOf(m, "amp_drift_alerts_total", { cause: "clock_skew" })).to.equal(
      findings.filter((f) => f.cause === "clock_skew" && f.kind === "alert").length,
    );
    expect(
      valueOf(m, "amp_drift_detection_seconds_count", { federation: "amp.local/ssid" }),
    ).to.be.greaterThan(0);
    const offsets = runner.drift.store.clockOffsets();
    const last = offsets.filter((o) => o.node === SKEWED).at(-1)!;
    expect(valueOf(m, "amp_clock_offset_seconds", { node: SKEWED })).to.equal(last.offsetMs / 1000);
    expect(Math.abs(last.offsetMs)).to.be.greaterThan(1000);
    expect(valueOf(m, "amp_allocations_total")).to.equal(epochs);
    expect(valueOf(m, "amp_allocation_seconds_count")).to.equal(epochs);
  });

  it("shows every allocation as stored, with the chain's receipt transaction, verified", async function () {
    const { page, errors } = await browser.page();
    await page.goto(server.url + "credits");
    expect(stored.length).to.be.greaterThan(0);
    await page
      .locator("#allocations tr")
      .nth(stored.length - 1)
      .waitFor();
    expect(await page.locator("#allocations tr").count()).to.equal(stored.length);
    for (const s of stored) {
      const key = `${s.epoch}/${s.origin}/${s.node}`;
      const row = page.locator(`#allocations tr[data-key="${key}"]`);
      const cells = await row.locator("td").allTextContents();
      expect(cells.slice(0, 8), key).to.deep.equal([
        s.epoch.toString(),
        s.origin,
        s.node,
        s.record.credit_score,
        s.record.governance_weight,
        s.record.inputs.validation_accuracy,
        s.record.inputs.consensus_participation,
        String(s.record.counts.drift_findings),
      ]);
      expect(s.allocationHash).to.equal(allocationHash(s.record));
      expect(await row.locator("td").nth(8).locator("code").getAttribute("title")).to.equal(s.allocationHash);
      const event = await reader.eventOf(s.allocationHash);
      expect(event, key).to.not.equal(undefined);
      expect(await row.locator("td").nth(9).locator("code").getAttribute("title")).to.equal(event!.txHash);
      expect(cells[10], key).to.equal("valid");
    }
    const ranked = rankNodes(stored.map((s) => s.record));
    const shown = await page.locator("#ranking tr").all();
    expect(shown.length).to.equal(ranked.length);
    for (const [i, n] of ranked.entries()) {
      const cells = await shown[i]!.locator("td").allTextContents();
      expect(cells.slice(0, 5)).to.deep.equal([String(n.rank), n.origin, n.node, String(n.epochs), n.score]);
    }
    await page.locator("#score-plot canvas").first().waitFor();
    await page.locator("#weight-plot canvas").first().waitFor();
    await browser.screenshot(page, "dashboard-credits");
    expect(errors).to.deep.equal([]);
  });

  it("Nodes page (data dir): each node's clock offset, rank and governance weight are the drift store's and the checked records'", async function () {
    const { page, errors } = await browser.page();
    await page.goto(server.url + "nodes");
    const ranked = rankNodes(stored.map((s) => s.record));
    const offsets = runner.drift.store.clockOffsets();
    expect(ranked.length).to.be.greaterThan(0);
    await page
      .locator("#nodes tr")
      .nth(ranked.length - 1)
      .waitFor();
    for (const n of ranked) {
      const cells = await page.locator(`#nodes tr[data-key="${n.origin}/${n.node}"] td`).allTextContents();
      // Newest round's offset of this node, as the round's coordinator measured it.
      const clock = offsets.filter((o) => o.node === n.node).at(-1);
      expect(clock, n.node).to.not.equal(undefined);
      const newest = stored.filter((s) => s.node === n.node && s.origin === n.origin).at(-1)!;
      expect(cells.slice(7), n.node).to.deep.equal([
        `${Math.round(clock!.offsetMs)} ms (round ${clock!.round})`,
        String(n.rank),
        `${newest.record.governance_weight} (epoch ${newest.epoch})`,
      ]);
    }
    const skewed = offsets.filter((o) => o.node === SKEWED).at(-1)!;
    expect(Math.abs(skewed.offsetMs)).to.be.greaterThan(1000);
    expect(await page.locator("#nodes-unavailable").textContent()).to.equal("");
    await browser.screenshot(page, "dashboard-nodes-credits");
    expect(errors).to.deep.equal([]);
  });

  it("shows receipts as invalid against a receipts contract that does not hold them", async function () {
    otherDir = tmpDir("amp-dashboard-credits-other-");
    const other = await deployFresh(conn, otherDir);
    const snap = await new CreditsData(
      dir,
      new ReceiptsReader(other.contracts.proofCreditReceipts, conn.provider),
    ).snapshot();
    expect(snap.allocations.length).to.equal(stored.length);
    for (const a of snap.allocations) {
      expect(a.verification.status).to.equal("invalid");
      expect(a.verification.detail).to.match(/^node: no receipt exists for node/);
    }
    const unpinned = await new CreditsData(dir).snapshot();
    expect(unpinned.allocations.every((a) => a.verification.status === "unchecked")).to.equal(true);
  });

  it("reads a data dir without an archive as no credits", async function () {
    const empty = tmpDir("amp-dashboard-credits-empty-");
    try {
      expect(await new CreditsData(empty).snapshot()).to.deep.equal({
        receipts: null,
        allocations: [],
        ranking: [],
      });
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
