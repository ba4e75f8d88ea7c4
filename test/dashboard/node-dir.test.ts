/**
 * `amp dashboard --data DIR` on a STOPPED node-layout data dir (DIR/nodes/<id>/…, as `amp run`,
 * `amp up --data` and `amp demo --data` write it), in Chromium: the Rounds page from the nodes'
 * anchors.sqlite (merged), the Proof lookup from the archive of the node holding the event.
 * The dir is written by in-process nodes (the same NodeService code as `amp node`).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import { AnchoredRounds } from "../../src/chain/anchored-rounds";
import { readDeployment } from "../../src/chain/deployment";
import { AnchorReader } from "../../src/chain/round-records";
import { loadManifestFederations } from "../../src/cli/context";
import { generateEvents } from "../../src/cli/generate";
import { nodeExtensions } from "../../src/cli/node-extensions";
import { NO_NODE_LATENCIES } from "../../src/dashboard/data";
import { serveDashboard, type DashboardServer } from "../../src/dashboard/server";
import { loadManifest } from "../../src/manifest";
import { startInProcessNodes, type InProcessNodes } from "../../src/node/in-process";
import { startLocalFederation, type LocalFederation } from "../../src/node/local";
import type { NodeStatus } from "../../src/node/node";
import { publicClientFor } from "../../src/proof/verify";
import { readTrustPolicy } from "../../src/trust/policy";
import { PeerClient } from "../../src/transport/client";
import { GlobalProofAnchor__factory } from "../../typechain-types";
import { launchBrowser, type TestBrowser } from "../helpers/browser";

const client = new PeerClient({ timeoutMs: 5000, tries: 2 });

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 240_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe("dashboard --data on a stopped node-layout data dir (in-process nodes), in Chromium", function () {
  this.timeout(600_000);
  let dir: string;
  let data: string;
  let fed: LocalFederation | undefined;
  let nodes: InProcessNodes | undefined;
  let server: DashboardServer | undefined;
  let browser: TestBrowser | undefined;
  let saved: string | undefined;
  const sent = new Map<string, string[]>();

  before(async function () {
    saved = process.env.AMP_LOG_LEVEL;
    process.env.AMP_LOG_LEVEL = "silent";
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-dash-nodes-"));
    data = path.join(dir, "data");
    fed = await startLocalFederation({ data, startNodes: false });
    const manifest = loadManifest(fed.state.manifest);
    nodes = await startInProcessNodes(fed, {
      configure: () => ({ extensions: nodeExtensions(manifest, { epochSeconds: 5, processMetrics: false }) }),
    });
    const all = fed.state.nodes;
    for (const f of loadManifestFederations(fed.state.manifest)) {
      const events = generateEvents(f, 0n, f.name === "ssid" ? 5 : 3, "dash-node-dir");
      const target = all.find((n) => n.federation === f.name)!;
      const res = await client.json<{ acknowledged: { eventId: string }[] }>(target.url, {
        method: "POST",
        path: "/v1/events",
        body: events.map((e) => JSON.stringify(e)).join("\n"),
        contentType: "application/x-ndjson",
      });
      sent.set(
        f.name,
        res.acknowledged.map((a) => a.eventId),
      );
    }
    await until("every event anchored on every node", async () => {
      const st = await Promise.all(
        all.map((n) =>
          client.json<NodeStatus>(n.url, { method: "GET", path: "/v1/status" }).catch(() => undefined),
        ),
      );
      return st.every(
        (s) =>
          s !== undefined &&
          s.pendingEvents === 0 &&
          s.treeSize === String(sent.get(s.federation)!.length) &&
          s.lastAnchoredRound !== "0",
      )
        ? true
        : undefined;
    });
    // The dashboard reads the STOPPED federation's data dir: stop the nodes, keep the chain.
    await nodes.stop();
    nodes = undefined;
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
    await nodes?.stop();
    await fed?.stop();
    if (saved === undefined) delete process.env.AMP_LOG_LEVEL;
    else process.env.AMP_LOG_LEVEL = saved;
    fs.rmSync(dir, { recursive: true, force: true });
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
    const provider = new JsonRpcProvider(fed!.rpc);
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
});
