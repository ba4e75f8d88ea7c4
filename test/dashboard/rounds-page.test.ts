import fs from "node:fs";
import { expect } from "chai";
import { AnchoringRunner } from "../../src/chain/runner";
import type { RoundReport } from "../../src/chain/runner";
import { connectEmbedded } from "../../src/chain/connect";
import type { ChainConnection } from "../../src/chain/connect";
import type { DeploymentRecord } from "../../src/chain/deployment";
import { DashboardData } from "../../src/dashboard/data";
import { serveDashboard } from "../../src/dashboard/server";
import type { DashboardServer } from "../../src/dashboard/server";
import { GlobalProofAnchor__factory } from "../../typechain-types";
import { launchBrowser } from "../helpers/browser";
import type { TestBrowser } from "../helpers/browser";
import { deployFresh, ingestGenerated, runnerFederations, tmpDir } from "../e2e/helpers";

describe("dashboard: the Rounds page against a real in-process run, in Chromium", function () {
  this.timeout(300_000);
  let conn: ChainConnection;
  let record: DeploymentRecord;
  let dir: string;
  let runner: AnchoringRunner;
  let server: DashboardServer;
  let browser: TestBrowser;
  const reports: RoundReport[] = [];

  async function round(): Promise<void> {
    const { manifest } = await runnerFederations();
    ingestGenerated(runner, manifest, 3);
    reports.push(await runner.runRound());
  }

  async function chainLatest(): Promise<{ round: bigint; root: string }> {
    const anchor = GlobalProofAnchor__factory.connect(record.contracts.globalProofAnchor, conn.provider);
    const round = (await anchor.nextRound()) - 1n;
    return { round, root: (await anchor.anchorOf(round))[0] };
  }

  before(async function () {
    conn = await connectEmbedded();
    dir = tmpDir("amp-dashboard-");
    record = await deployFresh(conn, dir);
    const { feds } = await runnerFederations();
    runner = await AnchoringRunner.open({
      dataDir: dir,
      conn,
      record,
      federations: feds,
      voteTimeoutMs: 250,
    });
    await round();
    await round();
    server = await serveDashboard(dir, "127.0.0.1:0");
    browser = await launchBrowser();
  });

  after(async function () {
    await browser?.close();
    await server?.close();
    runner?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("shows the latest anchored round and global root exactly as the chain holds them", async function () {
    const { page, errors } = await browser.page();
    await page.goto(server.url);
    const chain = await chainLatest();
    expect(chain.round).to.equal(2n);
    await page.locator("#latest-round", { hasText: /^2$/ }).waitFor();
    expect(await page.locator("#latest-root").textContent()).to.equal(chain.root);
    const last = reports[1]!;
    if (last.status === "failed") throw new Error("round 2 failed");
    expect(await page.locator("#latest-tx").textContent()).to.equal(last.txHash);
    expect(await page.locator("#latest-block").textContent()).to.equal(String(last.blockNumber));
    expect(await page.locator("#latest-gas").textContent()).to.equal(last.gasUsed.toString());
    expect(await page.locator("#chain").textContent()).to.include(record.contracts.globalProofAnchor);
    await page.locator("#latency-plot canvas").first().waitFor();
    await page.locator("#gas-plot canvas").first().waitFor();
    await browser.screenshot(page, "dashboard-rounds");
    expect(errors).to.deep.equal([]);
  });

  it("lists each round with checkpoints and the quorum weight recomputed from the anchored signatures", async function () {
    const { page, errors } = await browser.page();
    await page.goto(server.url);
    const row = (n: number) => page.locator(`#rounds tr[data-round="${n}"][data-status="anchored"]`);
    await row(2).waitFor();
    for (const [i, r] of reports.entries()) {
      if (r.status === "failed") throw new Error("unreachable");
      const text = (await row(i + 1).textContent()) ?? "";
      for (const f of r.federations) {
        expect(text).to.include(`${f.origin.split("/").pop()} ${f.treeSize} `);
        expect(text).to.include(`q=${f.signedWeight}/${f.totalWeight}`);
      }
      expect(text).to.include(r.gasUsed.toString());
    }
    expect(errors).to.deep.equal([]);
  });

  it("updates live: a round anchored while the page is open appears without a reload", async function () {
    const { page, errors } = await browser.page();
    await page.goto(server.url);
    await page.locator("#latest-round", { hasText: /^2$/ }).waitFor();
    await round();
    const chain = await chainLatest();
    expect(chain.round).to.equal(3n);
    await page.locator("#latest-round", { hasText: /^3$/ }).waitFor({ timeout: 30_000 });
    expect(await page.locator("#latest-root").textContent()).to.equal(chain.root);
    await page.locator('#rounds tr[data-round="3"]').waitFor();
    expect(errors).to.deep.equal([]);
  });

  it("can be driven by keyboard: the pause button toggles live updates", async function () {
    const { page, errors } = await browser.page();
    await page.goto(server.url);
    await page.keyboard.press("Tab");
    expect(await page.evaluate("document.activeElement && document.activeElement.id")).to.equal("pause");
    await page.keyboard.press("Enter");
    expect(
      await page.getByRole("button", { name: "Resume live updates" }).getAttribute("aria-pressed"),
    ).to.equal("true");
    expect(errors).to.deep.equal([]);
  });

  it("serves only its own files, read-only, with a same-origin content security policy", async function () {
    const res = await fetch(server.url);
    expect(res.headers.get("content-security-policy")).to.match(/default-src 'self'/);
    expect((await fetch(server.url + "../package.json")).status).to.equal(404);
    expect((await fetch(server.url + "api/rounds", { method: "POST" })).status).to.equal(405);
    expect((await fetch(server.url + "assets/uPlot.iife.min.js")).status).to.equal(200);
  });

  it("reads an empty data dir as no rounds rather than failing", function () {
    const empty = tmpDir("amp-dashboard-empty-");
    try {
      expect(new DashboardData(empty).snapshot()).to.deep.equal({ chainId: null, anchor: null, rounds: [] });
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
