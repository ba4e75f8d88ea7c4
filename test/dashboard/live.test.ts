/**
 * The dashboard of a REAL local federation, in Debian's Chromium: `amp up` (a child `hardhat node`
 * and seven `amp node` processes on loopback) serves it and prints its URL; `amp status --json`
 * carries it; every node serves GET /metrics on its own URL. The pages show what the chain and the
 * nodes hold. The whole `amp up` process group is killed in `after`, even on failure.
 *
 * `AMP_DOCS_SCREENSHOT=1` also writes the Rounds page to docs/img/dashboard-rounds.png (the
 * README's picture): `AMP_DOCS_SCREENSHOT=1 npx hardhat test --no-compile test/dashboard/live.test.ts`.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import type { FederationFile } from "../../src/node/local";
import { loadManifest } from "../../src/manifest";
import { federationIdOf } from "../../src/chain/ids";
import { AnchorReader } from "../../src/chain/round-records";
import { GlobalProofAnchor__factory } from "../../typechain-types";
import { ensureDist } from "../../scripts/ensure-dist";
import { launchBrowser, type TestBrowser } from "../helpers/browser";
import { lintExposition, parseExposition, promtoolRequired, runPromtool, valueOf } from "../helpers/prom";
import { ndjson, tmpDir, until } from "../node/helpers";

const ROOT = path.resolve(__dirname, "..", "..");
const AMP = path.join(ROOT, "bin", "amp.js");

function amp(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [AMP, ...args], { cwd: ROOT, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe("dashboard of a real local federation (amp up, seven node processes, Chromium)", function () {
  this.timeout(900_000);
  let dir: string;
  let up: ChildProcess | undefined;
  let upOut = "";
  let fed: FederationFile;
  let browser: TestBrowser | undefined;
  let provider: JsonRpcProvider;
  const submitted: { id: string; fed: string; eventIds: string[] }[] = [];

  const anchor = () => {
    const record = JSON.parse(fs.readFileSync(fed.deployment, "utf8")) as {
      contracts: { globalProofAnchor: string };
    };
    return GlobalProofAnchor__factory.connect(record.contracts.globalProofAnchor, provider);
  };
  /** Reads that need the round's record (issue 14: one commitment per round, record in the log). */
  const reader = () => new AnchorReader(anchor());

  before(async function () {
    ensureDist();
    dir = tmpDir("amp-live-dash-");
    const env: NodeJS.ProcessEnv = { ...process.env, AMP_LOG_LEVEL: "warn" };
    delete env.HARDHAT_NETWORK;
    up = spawn(process.execPath, [AMP, "up", "--data", dir], {
      cwd: ROOT,
      env,
      detached: true, // its own process group: killed as a whole in after()
      stdio: ["ignore", "pipe", "pipe"],
    });
    up.stdout!.on("data", (b: Buffer) => (upOut += b.toString("utf8")));
    up.stderr!.on("data", (b: Buffer) => (upOut += b.toString("utf8")));
    fed = await until(
      "amp up serving its dashboard",
      () => {
        const f = path.join(dir, "federation.json");
        if (!fs.existsSync(f)) return undefined;
        const v = JSON.parse(fs.readFileSync(f, "utf8")) as FederationFile;
        return v.dashboard ? v : undefined;
      },
      300_000,
    );
    provider = new JsonRpcProvider(fed.rpc, undefined, { cacheTimeout: -1 });
    const manifest = loadManifest(fed.manifest);
    // Events into one node of each federation, over HTTP.
    for (const f of manifest.federations) {
      const n = fed.nodes.find((x) => x.federation === f.id)!;
      const res = await fetch(`${n.url}/v1/events`, {
        method: "POST",
        headers: { "content-type": "application/x-ndjson" },
        body: ndjson(manifest, f.id, 0, 4, "live-dashboard"),
      });
      expect(res.status, await res.clone().text()).to.equal(200);
      const acks = ((await res.json()) as { acknowledged: { eventId: string }[] }).acknowledged;
      submitted.push({ id: n.id, fed: f.id, eventIds: acks.map((a) => a.eventId) });
    }
    await until(
      "round 1 anchored on chain",
      async () => ((await anchor().nextRound()) > 1n ? true : undefined),
      300_000,
    );
    await until("every node archived the anchored round", async () => {
      const st = await Promise.all(
        fed.nodes.map((n) =>
          fetch(`${n.url}/v1/status`)
            .then((r) => r.json() as Promise<{ lastAnchoredRound: string }>)
            .catch(() => undefined),
        ),
      );
      return st.every((s) => s && BigInt(s.lastAnchoredRound) >= 1n) ? true : undefined;
    });
    browser = await launchBrowser();
  });

  after(async function () {
    await browser?.close().catch(() => undefined);
    provider?.destroy();
    if (up?.pid !== undefined && up.exitCode === null) {
      const exited = new Promise<void>((r) => up!.once("exit", () => r()));
      try {
        process.kill(-up.pid, "SIGTERM");
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-up!.pid!, "SIGKILL");
        } catch {
          // already gone
        }
      }, 20_000);
      await exited;
      clearTimeout(timer);
    }
    if (this.currentTest?.state === "failed") console.log(upOut);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("amp up prints the dashboard URL and amp status --json carries it", async function () {
    expect(fed.dashboard).to.match(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    await until("amp up printed the dashboard", () =>
      upOut.includes(`dashboard      ${fed.dashboard}`) ? true : undefined,
    );
    const st = await amp("status", "--data", dir, "--json");
    expect(st.code, st.stderr).to.equal(0);
    const json = JSON.parse(st.stdout) as { running: boolean; dashboard: string };
    expect(json.running).to.equal(true);
    expect(json.dashboard).to.equal(fed.dashboard);
  });

  it("every node process serves GET /metrics on its own URL, moving with the round and promtool-clean", async function () {
    const anchored = Number((await anchor().nextRound()) - 1n);
    for (const n of fed.nodes) {
      const res = await fetch(`${n.url}/metrics`);
      expect(res.status, n.id).to.equal(200);
      const text = await res.text();
      const fams = parseExposition(text);
      expect(valueOf(fams, "amp_last_anchored_round", { node: n.id }), n.id).to.equal(anchored);
      expect(fams.get("amp_seal_seconds")?.type).to.equal("histogram");
      expect(lintExposition(text), n.id).to.deep.equal([]);
      const mine = submitted.find((s) => s.id === n.id);
      if (mine) expect(valueOf(fams, "amp_events_accepted_total"), n.id).to.equal(4);
    }
    const { available, missingOnCi } = promtoolRequired();
    expect(missingOnCi).to.equal(false);
    if (available) {
      const text = await (await fetch(`${fed.nodes[0]!.url}/metrics`)).text();
      const r = runPromtool(["check", "metrics"], text);
      expect(r.status, r.output).to.equal(0);
    }
  });

  it("Rounds: the latest anchored round and global root are the chain's", async function () {
    const { page, errors } = await browser!.page();
    await page.goto(fed.dashboard!);
    const round = (await anchor().nextRound()) - 1n;
    await page.locator("#latest-round", { hasText: new RegExp(`^${round}$`) }).waitFor({ timeout: 30_000 });
    const { globalRoot: root } = await reader().anchorOf(round);
    expect((await page.locator("#latest-root").textContent())?.toLowerCase()).to.equal(root.toLowerCase());
    await browser!.screenshot(page, "live-rounds");
    if (process.env.AMP_DOCS_SCREENSHOT === "1") {
      fs.mkdirSync(path.join(ROOT, "docs", "img"), { recursive: true });
      await page.screenshot({ path: path.join(ROOT, "docs", "img", "dashboard-rounds.png") });
    }
    expect(errors).to.deep.equal([]);
  });

  it("Nodes: every running node is up, with the tree size the chain anchored for its federation", async function () {
    const { page, errors } = await browser!.page();
    await page.goto(`${fed.dashboard}nodes`);
    await page
      .locator("#live tr")
      .nth(fed.nodes.length - 1)
      .waitFor({ timeout: 30_000 });
    const round = (await anchor().nextRound()) - 1n;
    for (const n of fed.nodes) {
      const row = page.locator(`#live tr[data-key="${n.url}"] td`);
      await row.nth(2).filter({ hasText: "yes" }).waitFor({ timeout: 30_000 });
      const origin = loadManifest(fed.manifest).federations.find((f) => f.id === n.federation)!.origin;
      const { treeSize: size } = await reader().checkpointOf(round, federationIdOf(origin));
      expect(await row.nth(0).textContent()).to.equal(n.id);
      expect(await row.nth(4).textContent(), n.id).to.equal(size.toString());
    }
    await browser!.screenshot(page, "live-nodes");
    expect(errors).to.deep.equal([]);
  });

  it("Proof lookup: an event submitted to a node verifies against the pinned trust policy", async function () {
    const { page, errors } = await browser!.page();
    await page.goto(`${fed.dashboard}proof`);
    const ev = submitted[0]!.eventIds[1]!;
    await page.getByLabel("Event id").fill(ev);
    await page.getByRole("button", { name: "Look up" }).click();
    await page.locator("#result:not([hidden])").waitFor({ timeout: 60_000 });
    expect(await page.locator("#verification").textContent()).to.equal("valid");
    expect(await page.locator("#round").textContent()).to.equal("1");
    const proof = JSON.parse((await page.locator("#proof").textContent()) ?? "{}") as {
      event?: { id?: string };
    };
    expect(JSON.stringify(proof)).to.include(ev);
    await browser!.screenshot(page, "live-proof");
    // An id no node holds is an answer, not an error.
    await page.getByLabel("Event id").fill("no-such-event");
    await page.getByRole("button", { name: "Look up" }).click();
    await page.locator("#status", { hasText: "No proof" }).waitFor();
    expect(errors).to.deep.equal([]);
  });

  it("amp dashboard --nodes URL,… serves the same rounds and nodes, read from those URLs", async function () {
    const child = spawn(
      process.execPath,
      [AMP, "dashboard", "--nodes", fed.nodes.map((n) => n.url).join(","), "--listen", "127.0.0.1:0"],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    try {
      let out = "";
      child.stdout.on("data", (b: Buffer) => (out += b.toString("utf8")));
      const url = await until(
        "amp dashboard --nodes printed its URL",
        () => /dashboard: (\S+)/.exec(out)?.[1],
      );
      const rounds = (await (await fetch(`${url}api/rounds`)).json()) as {
        rounds: { round: number; globalRoot: string }[];
      };
      const round = (await anchor().nextRound()) - 1n;
      const { globalRoot: root } = await reader().anchorOf(round);
      expect(rounds.rounds[0]!.round).to.equal(Number(round));
      expect(rounds.rounds[0]!.globalRoot.toLowerCase()).to.equal(root.toLowerCase());
      const nodes = (await (await fetch(`${url}api/nodes`)).json()) as {
        live: { id: string; up: boolean }[];
      };
      expect(nodes.live.map((n) => [n.id, n.up])).to.deep.equal(fed.nodes.map((n) => [n.id, true]));
    } finally {
      child.kill("SIGTERM");
    }
  });

  it("Drift and Credits: read from the nodes when they serve them, else say not available", async function () {
    for (const name of ["drift", "credits"]) {
      const { page, errors } = await browser!.page();
      await page.goto(`${fed.dashboard}${name}`);
      await page.locator("#status", { hasText: /not available|Updated/ }).waitFor({ timeout: 30_000 });
      await browser!.screenshot(page, `live-${name}`);
      expect(errors, name).to.deep.equal([]);
    }
  });
});
