/**
 * The Proof lookup page against a real in-process run: an anchored event's proof file (as
 * `amp proof` builds it) verified with `verifyProof` on the chain; unknown, unanchored and
 * malformed ids answered with a clear error; a proof whose chain does not hold it shows invalid.
 */
import fs from "node:fs";
import { expect } from "chai";
import { AnchoringRunner } from "../../src/chain/runner";
import { connectEmbedded } from "../../src/chain/connect";
import type { ChainConnection } from "../../src/chain/connect";
import { loadManifestFederations } from "../../src/cli/context";
import { lookupProof } from "../../src/dashboard/proof";
import { serveDashboard } from "../../src/dashboard/server";
import type { DashboardServer } from "../../src/dashboard/server";
import { buildProofFile } from "../../src/proof/build";
import { serializeProofFile } from "../../src/proof/format";
import { publicClientFor, verifyProof } from "../../src/proof/verify";
import { launchBrowser } from "../helpers/browser";
import type { TestBrowser } from "../helpers/browser";
import type { TrustRoot } from "../../src/proof/verify";
import { trustPolicyFromChain } from "../../src/trust/policy";
import { deployFresh, ingestGenerated, runnerFederations, tmpDir } from "../e2e/helpers";

describe("dashboard: the Proof lookup page against a real in-process run, in Chromium", function () {
  this.timeout(300_000);
  let conn: ChainConnection;
  let dir: string;
  let runner: AnchoringRunner;
  let server: DashboardServer;
  let browser: TestBrowser;
  let trust: TrustRoot;
  const manifest = loadManifestFederations();
  const originOf = (name: string) => manifest.find((f) => f.name === name)?.origin;

  before(async function () {
    conn = await connectEmbedded();
    dir = tmpDir("amp-dashboard-proof-");
    const record = await deployFresh(conn, dir);
    trust = {
      policy: await trustPolicyFromChain(
        publicClientFor(conn.eip1193),
        record.contracts.globalProofAnchor,
        record.federations,
      ),
    };
    const { feds, manifest: m } = await runnerFederations();
    runner = await AnchoringRunner.open({
      dataDir: dir,
      conn,
      record,
      federations: feds,
      voteTimeoutMs: 5_000,
    });
    ingestGenerated(runner, m, 4);
    expect((await runner.runRound()).status).to.equal("anchored");
    ingestGenerated(runner, m, 2); // archived, not anchored
    server = await serveDashboard(dir, "127.0.0.1:0", {
      manifest,
      proofCheck: { client: publicClientFor(conn.eip1193), trust },
    });
    browser = await launchBrowser();
  });

  after(async function () {
    await browser?.close();
    await server?.close();
    runner?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const eventAt = (name: string, seq: bigint) => runner.archive.eventsInRange(name, seq, seq + 1n)[0]!;

  it("pastes an event id and shows its proof file, verified on the chain", async function () {
    const ev = eventAt("ssid", 2n);
    const expected = buildProofFile({
      archive: runner.archive,
      anchors: runner.anchors,
      eventId: ev.eventId,
      originOf: (n) => originOf(n)!,
    });
    const v = await verifyProof(expected, publicClientFor(conn.eip1193), trust);
    const { page, errors } = await browser.page();
    await page.goto(server.url + "proof");
    await page.getByLabel("Event id").fill(ev.eventId);
    await page.getByLabel("Event id").press("Enter");
    await page.locator("#result:not([hidden])").waitFor();
    expect(await page.locator("#verification").textContent()).to.equal("valid");
    expect(await page.locator("#proof").textContent()).to.equal(serializeProofFile(expected));
    expect(await page.locator("#origin").textContent()).to.equal("amp.local/ssid");
    expect(await page.locator("#round").textContent()).to.equal(v.round.toString());
    expect(await page.locator("#position").textContent()).to.equal(`${v.index} / ${v.treeSize}`);
    expect(await page.locator("#detail").textContent()).to.include(v.txHash);
    await browser.screenshot(page, "dashboard-proof");
    expect(errors).to.deep.equal([]);
  });

  it("answers unknown, unanchored and malformed ids with a clear error", async function () {
    const pending = eventAt("ssid", 5n);
    const get = async (q: string) => {
      const res = await fetch(server.url + "api/proof" + q);
      const body = (await res.json()) as { error?: string; reason?: string };
      return { status: res.status, reason: body.reason, error: body.error ?? "" };
    };
    expect(await get("?event=no-such-event")).to.deep.equal({
      status: 200,
      reason: "not-found",
      error: 'no archived event with id "no-such-event"',
    });
    const p = await get(`?event=${encodeURIComponent(pending.eventId)}`);
    expect([p.status, p.reason]).to.deep.equal([200, "not-anchored"]);
    expect(p.error).to.match(/archived but not anchored yet/);
    for (const [q, message] of [
      ["", /event is required/],
      [`?event=${"x".repeat(300)}`, /longer than 256/],
      ["?event=a%00b", /control characters/],
    ] as const) {
      const r = await get(q);
      expect(r.status, q).to.equal(400);
      expect(r.error).to.match(message);
    }
    const { page, errors } = await browser.page();
    await page.goto(server.url + "proof");
    await page.getByLabel("Event id").fill("no-such-event");
    await page.getByRole("button", { name: "Look up" }).click();
    await page.locator("#status", { hasText: "No proof: no archived event" }).waitFor();
    expect(await page.locator("#result").isHidden()).to.equal(true);
    expect(errors).to.deep.equal([]);
  });

  it("shows a proof as invalid, naming the field, against another chain; unchecked without a chain", async function () {
    // An endpoint that answers for another chain: the proof's anchor.chainId does not match.
    const ev = eventAt("ssid", 1n);
    const forged = publicClientFor({
      request: async ({ method, params }) =>
        method === "eth_chainId" ? "0x7a6a" : conn.eip1193.request({ method, ...(params ? { params } : {}) }),
    });
    const r = await lookupProof(dir, ev.eventId, originOf, { client: forged, trust });
    expect(r.verification.status).to.equal("invalid");
    if (r.verification.status !== "invalid") throw new Error("unreachable");
    expect(r.verification.field).to.match(/chainId/);
    const unchecked = await lookupProof(dir, ev.eventId, originOf);
    expect(unchecked.verification.status).to.equal("unchecked");
  });
});
