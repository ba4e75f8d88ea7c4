import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import type { Hex } from "viem";
import { AnchoredRounds } from "../../src/chain/anchored-rounds";
import { AnchorReader } from "../../src/chain/round-records";
import { AnchoringRunner } from "../../src/chain/runner";
import type { RoundReport } from "../../src/chain/runner";
import { connectEmbedded } from "../../src/chain/connect";
import type { ChainConnection } from "../../src/chain/connect";
import type { DeploymentRecord } from "../../src/chain/deployment";
import { EvidenceStore } from "../../src/consensus/evidence";
import { FaultInjector } from "../../src/consensus/fault-injector";
import { federationIdOf } from "../../src/chain/ids";
import { loadManifestFederations } from "../../src/cli/context";
import { DashboardData } from "../../src/dashboard/data";
import { serveDashboard } from "../../src/dashboard/server";
import type { DashboardServer } from "../../src/dashboard/server";
import { buildProofFile } from "../../src/proof/build";
import { checkSignedNote } from "../../src/proof/verify-note";
import { publicClientFor } from "../../src/proof/verify";
import { GlobalProofAnchor__factory } from "../../typechain-types";
import { launchBrowser } from "../helpers/browser";
import type { TestBrowser } from "../helpers/browser";
import { deployFresh, ingestGenerated, runnerFederations, tmpDir } from "../e2e/helpers";
import { expectWitnessRow } from "./witness-row";

describe("dashboard: the Rounds and Nodes pages against a real in-process run, in Chromium", function () {
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
    return { round, root: (await new AnchorReader(anchor).anchorOf(round)).globalRoot };
  }

  before(async function () {
    conn = await connectEmbedded();
    dir = tmpDir("amp-dashboard-");
    record = await deployFresh(conn, dir);
    const { feds } = await runnerFederations();
    // ssid-apac-1 signs a wrong root in round 2: evidence the Nodes page must show.
    const faults = new FaultInjector().add({ nodeId: "ssid-apac-1", kind: "wrong-root", rounds: [2n] });
    runner = await AnchoringRunner.open({
      dataDir: dir,
      conn,
      record,
      federations: feds,
      voteTimeoutMs: 5_000, // generous: a loaded machine must not turn a slow vote into a failed round
      faults,
    });
    await round();
    await round();
    server = await serveDashboard(dir, "127.0.0.1:0", { manifest: loadManifestFederations() });
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
    const focused = () => page.evaluate("document.activeElement && document.activeElement.id");
    for (let i = 0; i < 10 && (await focused()) !== "pause"; i++) await page.keyboard.press("Tab");
    expect(await focused()).to.equal("pause");
    await page.keyboard.press("Enter");
    expect(
      await page.getByRole("button", { name: "Resume live updates" }).getAttribute("aria-pressed"),
    ).to.equal("true");
    expect(errors).to.deep.equal([]);
  });

  it("every page is accessible HTML: language, one h1, labelled controls, captioned tables, described plots, current page marked", async function () {
    const audit = `(() => {
      const problems = [];
      const name = (el) => (el.getAttribute("aria-label") || el.textContent || "").trim();
      if (!document.documentElement.lang) problems.push("html has no lang");
      if (document.querySelectorAll("h1").length !== 1) problems.push("not exactly one h1");
      if (!document.querySelector("main")) problems.push("no main landmark");
      for (const el of document.querySelectorAll("input, select, textarea")) {
        const labelled = el.id && document.querySelector('label[for="' + el.id + '"]');
        if (!labelled && !el.getAttribute("aria-label")) problems.push("unlabelled control " + (el.id || el.name));
      }
      for (const b of document.querySelectorAll("button, a")) if (!name(b)) problems.push("nameless " + b.tagName);
      // uPlot's legend is a table inside the plot, whose role="img" hides it from assistive technology.
      for (const t of [...document.querySelectorAll("table")].filter((x) => !x.closest('[role="img"]'))) {
        if (!t.querySelector("caption")) problems.push("table without caption");
        for (const th of t.querySelectorAll("th")) if (!th.getAttribute("scope")) problems.push("th without scope: " + name(th));
      }
      for (const p of document.querySelectorAll(".plot"))
        if (p.getAttribute("role") !== "img" || !p.getAttribute("aria-label")) problems.push("undescribed plot " + p.id);
      if (document.querySelectorAll('nav [aria-current="page"]').length !== 1) problems.push("current page not marked");
      return problems;
    })()`;
    for (const p of ["", "nodes", "drift", "credits", "proof"]) {
      const { page, errors } = await browser.page();
      await page.goto(server.url + p);
      await page.locator("#status, #action-status, main").first().waitFor();
      expect(await page.evaluate(audit), `/${p}`).to.deep.equal([]);
      // Every link and button is reachable with the keyboard (nothing takes itself out of the tab order).
      expect(
        await page
          .locator(
            'a[tabindex="-1"], button[tabindex="-1"], [tabindex]:not([tabindex="0"]):not([tabindex="-1"])',
          )
          .count(),
      ).to.equal(0);
      await page.close();
      expect(errors, `/${p}`).to.deep.equal([]);
    }
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
      expect(new DashboardData(empty).snapshot()).to.deep.equal({
        chainId: null,
        anchor: null,
        rounds: [],
        latencies: null,
      });
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it("Nodes page: federations match the chain, counters and evidence match the coordinators' stores", async function () {
    const { page, errors } = await browser.page();
    await page.goto(server.url);
    await page.getByRole("link", { name: "Nodes" }).click();
    await page.waitForURL(/\/nodes$/);
    const { feds } = await runnerFederations();
    const anchor = GlobalProofAnchor__factory.connect(record.contracts.globalProofAnchor, conn.provider);
    const latest = (await anchor.nextRound()) - 1n;
    for (const f of feds) {
      const row = page.locator(`#federations tr[data-key="${f.origin}"]`);
      await row
        .locator("td")
        .nth(4)
        .filter({ hasText: new RegExp(`^${latest}$`) })
        .waitFor();
      const { treeSize: size, rootHash: root } = await new AnchorReader(anchor).checkpointOf(
        latest,
        federationIdOf(f.origin),
      );
      const cells = await row.locator("td").allTextContents();
      expect(cells[4]).to.equal(String(latest));
      expect(cells[5]).to.equal(size.toString());
      expect(root.startsWith(cells[6]!.split("…")[0]!)).to.equal(true);
      for (const n of f.nodes) {
        const key = `${f.origin}/${n.keys.nodeId}`;
        const store = new EvidenceStore(
          path.join(dir, "engine", f.origin.replace(/[^A-Za-z0-9._-]/g, "_"), "evidence"),
        );
        const c = store.countersFor(f.origin, n.keys.nodeId);
        const nodeCells = await page.locator(`#nodes tr[data-key="${key}"] td`).allTextContents();
        expect(nodeCells.slice(1, 6), key).to.deep.equal([
          n.keys.nodeId,
          n.weight.toString(),
          `${c.roundsParticipated} / ${c.roundsExpected}`,
          String(c.votesCast),
          String(c.correctVotes),
        ]);
        expect(c.roundsExpected, key).to.be.greaterThan(0);
        const expected = Object.entries(c.faults).map(([k, x]) => `${k} ×${x}`);
        expect(nodeCells[6]).to.equal(expected.length > 0 ? expected.join(", ") : "none");
      }
    }
    const evidence = page.locator('#evidence tr[data-key="2/ssid-apac-1/wrong-root"] td');
    expect((await evidence.allTextContents()).slice(1, 5)).to.deep.equal([
      "2",
      "amp.local/ssid",
      "ssid-apac-1",
      "wrong-root",
    ]);
    const stored = feds.flatMap((f) =>
      new EvidenceStore(
        path.join(dir, "engine", f.origin.replace(/[^A-Za-z0-9._-]/g, "_"), "evidence"),
      ).all(),
    );
    const rows = await page.locator("#evidence tr").all();
    const shown = await Promise.all(rows.map((tr) => tr.getAttribute("data-key")));
    expect(shown.sort()).to.deep.equal(stored.map((e) => `${e.round}/${e.nodeId}/${e.kind}`).sort());
    // No allocation in this run: rank and weight are "—", and the page says why.
    expect(await page.locator("#nodes-unavailable").textContent()).to.include(
      "credits: no credit allocation in this data dir yet",
    );
    await browser.screenshot(page, "dashboard-nodes");
    expect(errors).to.deep.equal([]);
  });

  it("Rounds: each checkpoint's witness cosignatures are the ones the chain-pinned proof verifier counts", async function () {
    const { page, errors } = await browser.page();
    await page.goto(server.url);
    const { manifest } = await runnerFederations();
    const anchors = AnchoredRounds.open(dir);
    const client = publicClientFor(conn.eip1193);
    let rows = 0;
    try {
      for (const r of reports) {
        if (r.status === "failed") throw new Error(`round ${r.round} failed`);
        for (const f of r.federations) {
          // The federation's newest event of this round: its proof's checkpoint is this round's.
          const name = manifest.find((m) => m.origin === f.origin)!.name;
          const [ev] = runner.archive.eventsInRange(name, f.treeSize - 1n, f.treeSize);
          const proof = buildProofFile({
            archive: runner.archive,
            anchors,
            eventId: ev!.eventId,
            originOf: (k) => manifest.find((m) => m.name === k)!.origin,
          });
          expect(proof.nexus.round).to.equal(r.round.toString());
          // src/proof/verify-note.ts: keys and weights read from the registry on chain.
          const check = await checkSignedNote(client, proof, record.contracts.validatorRegistry as Hex);
          expect(check.witnesses.length, f.origin).to.equal(1);
          for (const w of check.witnesses) {
            await expectWitnessRow(page, r.round.toString(), f.origin, proof, w);
            rows++;
          }
        }
      }
    } finally {
      anchors.close();
    }
    expect(await page.locator("#witnesses tr").count()).to.equal(rows);
    await browser.screenshot(page, "dashboard-witnesses");
    expect(errors).to.deep.equal([]);
  });
});
