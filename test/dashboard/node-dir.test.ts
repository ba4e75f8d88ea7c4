/**
 * `amp dashboard --data DIR` on a STOPPED node-layout data dir (DIR/nodes/<id>/…, as `amp run`,
 * `amp up --data` and `amp demo --data` write it), in Chromium: the Rounds page from the nodes'
 * anchors.sqlite (merged), the Proof lookup from the archive of the node holding the event, the
 * Nodes page from every node's evidence files, Drift from every node's drift.sqlite (alerts
 * `<node>/<id>`, acknowledged in that node's store), Credits from the node storing the most records.
 * The dir is written by in-process nodes (the same NodeService code as `amp node`).
 */
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import { Archive } from "../../src/archive";
import { AnchoredRounds } from "../../src/chain/anchored-rounds";
import { AllocationStore } from "../../src/credits/store";
import { DRIFT_DB_FILE, DriftStore } from "../../src/drift/store";
import { readDeployment } from "../../src/chain/deployment";
import { AnchorReader } from "../../src/chain/round-records";
import { loadManifestFederations } from "../../src/cli/context";
import { NO_NODE_LATENCIES } from "../../src/dashboard/data";
import { serveDashboard, type DashboardServer } from "../../src/dashboard/server";
import type { LocalFederation } from "../../src/node/local";
import { publicClientFor } from "../../src/proof/verify";
import { readTrustPolicy } from "../../src/trust/policy";
import { GlobalProofAnchor__factory } from "../../typechain-types";
import { launchBrowser, type TestBrowser } from "../helpers/browser";
import { writeNodeDir, type NodeDir } from "../helpers/node-dir";
import { quietLogs } from "../consensus/fixture";

describe("dashboard --data on a stopped node-layout data dir (in-process nodes), in Chromium", function () {
  this.timeout(600_000);
  quietLogs();
  let data: string;
  let fed: LocalFederation;
  let sent: ReadonlyMap<string, string[]>;
  let nodeDir: NodeDir | undefined;
  let server: DashboardServer | undefined;
  let browser: TestBrowser | undefined;

  before(async function () {
    // The dashboard reads the STOPPED federation's data dir (the chain keeps running).
    nodeDir = await writeNodeDir("amp-dash-nodes-", "dash-node-dir");
    ({ data, fed, sent } = nodeDir);
    const policy = readTrustPolicy(fed.state.trustPolicy);
    server = await serveDashboard(data, "127.0.0.1:0", {
      manifest: loadManifestFederations(path.join(data, "manifest.yaml")),
      proofCheck: { client: publicClientFor(fed.rpc), trust: { policy } },
    });
    browser = await launchBrowser();
  });

  after(async function () {
    await browser?.close();
    await server?.close();
    await nodeDir?.close();
  });

  /** The newest anchored round any node of the dir recorded. */
  function latestInDir(): bigint {
    let latest = 0n;
    for (const id of fs.readdirSync(path.join(data, "nodes"))) {
      const a = AnchoredRounds.open(path.join(data, "nodes", id));
      try {
        if (a.lastRound() > latest) latest = a.lastRound();
      } finally {
        a.close();
      }
    }
    return latest;
  }

  it("Rounds: the latest anchored round and its global root as the nodes recorded and the chain holds them", async function () {
    const latest = latestInDir();
    expect(latest > 0n).to.equal(true);
    const record = readDeployment(data);
    const provider = new JsonRpcProvider(fed.rpc);
    const anchor = GlobalProofAnchor__factory.connect(record.contracts.globalProofAnchor, provider);
    const onChain = await new AnchorReader(anchor).anchorOf(latest);
    provider.destroy();
    const { page, errors } = await browser!.page();
    await page.goto(server!.url);
    await page.locator("#latest-round", { hasText: new RegExp(`^${latest}$`) }).waitFor();
    expect(await page.locator("#latest-root").textContent()).to.equal(onChain.globalRoot);
    expect(await page.locator("#chain").textContent()).to.include(record.contracts.globalProofAnchor);
    // Each anchored round lists its federations' checkpoints with the recomputed quorum weight.
    const row = page.locator(`#rounds tr[data-round="${latest}"][data-status="anchored"]`);
    await row.waitFor();
    const text = (await row.textContent()) ?? "";
    for (const f of loadManifestFederations(path.join(data, "manifest.yaml")))
      expect(text).to.include(f.origin.split("/").pop());
    expect(text).to.match(/q=\d+\/\d+/);
    // No stage latencies are stored on the node layout: the page says so in words.
    await page.locator("#latency-note:not([hidden])").waitFor();
    expect(await page.locator("#latency-note").textContent()).to.equal(NO_NODE_LATENCIES);
    await browser!.screenshot(page, "dashboard-node-dir-rounds");
    expect(errors).to.deep.equal([]);
  });

  it("Proof lookup: builds the proof from the archive of the node holding the event, verified on the chain", async function () {
    const eventId = sent.get("ssid")![2]!;
    const { page, errors } = await browser!.page();
    await page.goto(server!.url + "proof");
    await page.getByLabel("Event id").fill(eventId);
    await page.getByLabel("Event id").press("Enter");
    await page.locator("#result:not([hidden])").waitFor();
    expect(await page.locator("#verification").textContent()).to.equal("valid");
    expect(await page.locator("#origin").textContent()).to.equal("amp.local/ssid");
    expect(await page.locator("#position").textContent()).to.match(/^2 \/ \d+$/);
    // An id no node holds is an answer on the page, not a console error.
    await page.getByLabel("Event id").fill("no-such-event");
    await page.getByRole("button", { name: "Look up" }).click();
    await page.locator("#status", { hasText: "no-such-event" }).waitFor();
    expect(await page.locator("#result").isHidden()).to.equal(true);
    expect(errors).to.deep.equal([]);
  });

  it("Nodes: participation counters summed over every node's node-counters.json, with weights", async function () {
    const manifest = loadManifestFederations(path.join(data, "manifest.yaml"));
    const ssid = manifest.find((f) => f.name === "ssid")!;
    // What the coordinators counted, read straight from the files.
    const sum = new Map<string, { expected: number; participated: number }>();
    for (const id of fs.readdirSync(path.join(data, "nodes"))) {
      const file = path.join(data, "nodes", id, "evidence", "node-counters.json");
      if (!fs.existsSync(file)) continue;
      const all = JSON.parse(fs.readFileSync(file, "utf8")) as Record<
        string,
        { roundsExpected: number; roundsParticipated: number }
      >;
      for (const [key, c] of Object.entries(all)) {
        const t = sum.get(key) ?? { expected: 0, participated: 0 };
        t.expected += c.roundsExpected;
        t.participated += c.roundsParticipated;
        sum.set(key, t);
      }
    }
    const node = ssid.nodes[0]!;
    const want = sum.get(`${ssid.origin}/${node.id}`);
    expect(want, "a coordinator counted ssid's first node").to.not.equal(undefined);
    expect(want!.expected).to.be.greaterThan(0);
    const { page, errors } = await browser!.page();
    await page.goto(server!.url + "nodes");
    const row = page.locator(`#nodes tr[data-key="${ssid.origin}/${node.id}"]`);
    await row.waitFor();
    const cells = await row.locator("td").allTextContents();
    expect(cells.slice(0, 4)).to.deep.equal([
      ssid.origin,
      node.id,
      node.weight.toString(),
      `${want!.participated} / ${want!.expected}`,
    ]);
    expect(await page.locator("#nodes tr").count()).to.equal(sum.size);
    expect(await page.locator(`#federations tr[data-key="${ssid.origin}"]`).count()).to.equal(1);
    expect(errors).to.deep.equal([]);
  });

  it("Drift: an alert in one node's drift.sqlite shows as <node>/<id>; acknowledging it writes that node's store", async function () {
    const file = path.join(data, "nodes", "ssid-us-1", DRIFT_DB_FILE);
    const stored = <T>(fn: (s: DriftStore) => T): T => {
      const s = new DriftStore(file);
      try {
        return fn(s);
      } finally {
        s.close();
      }
    };
    const local = stored(
      (s) =>
        s.recordFinding(
          {
            federation: "amp.local/ssid",
            round: 1n,
            node: "ssid-apac-1",
            majorityNode: "ssid-eu-1",
            cause: "serialization_divergence",
            driftScore: 0.25,
            divergentLeaves: 1,
            batchLeaves: 4,
            severity: "high",
            kind: "alert",
            actions: ["check the encoder", "compare the canonical bytes", "redeploy the fixed node"],
            detail: {},
          },
          1,
        ).opened!.id,
    );
    const id = `ssid-us-1/${local}`;
    const { page, errors } = await browser!.page();
    await page.goto(server!.url + "drift");
    await page.locator(`article[data-alert-id="${id}"][data-state="open"]`).waitFor();
    await page.getByLabel("Your name").fill("alice");
    await page.getByLabel(`Note for alert ${id}`).fill("looking at apac-1");
    await page.getByRole("button", { name: `Acknowledge alert ${id}` }).click();
    await page.locator(`article[data-alert-id="${id}"][data-state="acknowledged"]`).waitFor();
    expect(stored((s) => s.alert(local)!.state)).to.equal("acknowledged");
    // Only that node's store changed: no other node has the alert.
    for (const other of fs.readdirSync(path.join(data, "nodes")).filter((n) => n !== "ssid-us-1")) {
      const f = path.join(data, "nodes", other, DRIFT_DB_FILE);
      if (!fs.existsSync(f)) continue;
      const s = new DriftStore(f);
      try {
        expect(s.alert(local)?.state ?? null).to.not.equal("acknowledged");
      } finally {
        s.close();
      }
    }
    expect(errors).to.deep.equal([]);
  });

  it("Credits: the allocation records of the node storing the most of them", async function () {
    let most = 0;
    for (const id of fs.readdirSync(path.join(data, "nodes"))) {
      const archive = Archive.open(path.join(data, "nodes", id, "archive.sqlite"));
      try {
        most = Math.max(most, new AllocationStore(archive).all().length);
      } finally {
        archive.close();
      }
    }
    expect(most).to.be.greaterThan(0);
    const { page, errors } = await browser!.page();
    await page.goto(server!.url + "credits");
    await page.locator("#allocations tr").first().waitFor();
    expect(await page.locator("#allocations tr").count()).to.equal(most);
    expect(await page.locator("#ranking tr").count()).to.be.greaterThan(0);
    expect(errors).to.deep.equal([]);
  });
});
