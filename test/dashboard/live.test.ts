/**
 * The dashboard of a REAL local federation, in Debian's Chromium: `amp up --drift
 * serialization_divergence --epoch-seconds 15` (a child `hardhat node` and seven `amp node`
 * processes on loopback, one node's votes drifting in its first rounds) serves it and prints its
 * URL; `amp status --json` carries it; every node serves GET /metrics on its own URL. The pages
 * show what the chain and the nodes hold: rounds with the nodes' stage latencies, a real drift
 * alert acknowledged and resolved through the page (the node's drift.sqlite and API show it),
 * credit allocations verified on the pinned receipts contract. The whole `amp up` process group
 * is killed in `after`, even on failure.
 *
 * `AMP_DOCS_SCREENSHOT=1` also writes the Rounds page to docs/img/dashboard-rounds.png (the
 * README's picture): `AMP_DOCS_SCREENSHOT=1 npx hardhat test --no-compile test/dashboard/live.test.ts`.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import { ReceiptsReader } from "../../src/credits/chain";
import { epochOf } from "../../src/credits/measure";
import type { FederationFile } from "../../src/node/local";
import { loadManifest } from "../../src/manifest";
import { federationIdOf } from "../../src/chain/ids";
import { AnchorReader } from "../../src/chain/round-records";
import type { Hex } from "viem";
import { parseProofFile } from "../../src/proof/format";
import { publicClientFor } from "../../src/proof/verify";
import { checkSignedNote } from "../../src/proof/verify-note";
import { GlobalProofAnchor__factory } from "../../typechain-types";
import { ensureDist } from "../../scripts/ensure-dist";
import { launchBrowser, type TestBrowser } from "../helpers/browser";
import { lintExposition, parseExposition, promtoolRequired, runPromtool, valueOf } from "../helpers/prom";
import { ndjson, tmpDir, until } from "../node/helpers";
import { AMP, amp, everyNode, openAlert, spawnAmpUp, storedAlert, type AmpUp } from "./live-helpers";
import { expectWitnessRow } from "./witness-row";

const ROOT = path.resolve(__dirname, "..", "..");

describe("dashboard of a real local federation (amp up, seven node processes, Chromium)", function () {
  this.timeout(900_000);
  let dir: string;
  let up: AmpUp | undefined;
  let fed: FederationFile;
  let browser: TestBrowser | undefined;
  let provider: JsonRpcProvider;
  const submitted: { id: string; fed: string; eventIds: string[] }[] = [];
  const EPOCH_SECONDS = 15;
  /** /api/credits before any allocation (the page must say when one comes). */
  let creditsBefore: { allocations: unknown[]; next: { epoch: string | null; message: string } };
  /** A drift alert some node's monitor raised: `<node>/<id>` as the dashboard names it. */
  let alert: { node: string; id: number };

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
    up = spawnAmpUp(dir, ["--drift", "serialization_divergence", "--epoch-seconds", String(EPOCH_SECONDS)]);
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
    const sent: Record<string, number> = {};
    /** Four events into one node of each federation over HTTP, then that round anchored. */
    const round = async () => {
      const before = await anchor().nextRound();
      for (const f of manifest.federations) {
        const n = fed.nodes.find((x) => x.federation === f.id)!;
        const res = await fetch(`${n.url}/v1/events`, {
          method: "POST",
          headers: { "content-type": "application/x-ndjson" },
          body: ndjson(manifest, f.id, sent[f.id] ?? 0, 4, "live-dashboard"),
        });
        expect(res.status, await res.clone().text()).to.equal(200);
        sent[f.id] = (sent[f.id] ?? 0) + 4;
        const acks = ((await res.json()) as { acknowledged: { eventId: string }[] }).acknowledged;
        const mine = submitted.find((x) => x.id === n.id);
        if (mine) mine.eventIds.push(...acks.map((a) => a.eventId));
        else submitted.push({ id: n.id, fed: f.id, eventIds: acks.map((a) => a.eventId) });
      }
      await until(
        `round ${before} anchored on chain`,
        async () => ((await anchor().nextRound()) > before ? true : undefined),
        300_000,
      );
    };
    await round();
    // Nothing allocated yet (no block after round 1's epoch): the Credits answer says what comes.
    // (The nodes keep round 1's record a moment after the chain has it: poll until it names the epoch.)
    creditsBefore = await until("the credits answer naming the next epoch", async () => {
      const c = (await (await fetch(`${fed.dashboard}api/credits`)).json()) as typeof creditsBefore;
      return c.next?.epoch ? c : undefined;
    });
    // More rounds while the drifting node drifts, until a coordinator raised an alert.
    for (let i = 0; i < 6 && !(await openAlert(fed)); i++) await round();
    alert = await until("a drift alert on some node", () => openAlert(fed), 120_000);
    // One more round once round 1's epoch is over (chain time follows the wall clock on blocks):
    // its block closes the epoch, and the epoch's allocator records the receipts.
    const { blockNumber } = await reader().anchorOf(1n);
    const t1 = (await provider.getBlock(blockNumber))!.timestamp * 1000;
    const end = (Number(epochOf(t1, EPOCH_SECONDS)) + 1) * EPOCH_SECONDS * 1000;
    await until("round 1's epoch over by the wall clock", () => (Date.now() > end + 1000 ? true : undefined));
    await round();
    await until(
      "every node stored the first epoch's allocations",
      async () =>
        (await everyNode<{ epochs: unknown[] }>(fed, "/v1/credits/epochs")).every(
          (e) => e && e.epochs.length > 0,
        )
          ? true
          : undefined,
      300_000,
    );
    await until("every node archived the anchored rounds", async () => {
      const last = (await anchor().nextRound()) - 1n;
      const st = await everyNode<{ lastAnchoredRound: string }>(fed, "/v1/status");
      return st.every((s) => s && BigInt(s.lastAnchoredRound) >= last) ? true : undefined;
    });
    browser = await launchBrowser();
  });

  after(async function () {
    await browser?.close().catch(() => undefined);
    provider?.destroy();
    await up?.stop();
    if (this.currentTest?.state === "failed") console.log(up?.output());
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("amp up prints the dashboard URL and amp status --json carries it", async function () {
    expect(fed.dashboard).to.match(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    await until("amp up printed the dashboard", () =>
      up!.output().includes(`dashboard      ${fed.dashboard}`) ? true : undefined,
    );
    // Start-up progress (stderr, plain lines off a terminal): every node listening.
    expect(up!.output()).to.match(
      new RegExp(`up: ${fed.nodes.length}/${fed.nodes.length} nodes in [0-9.]+ s listening`),
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
      if (mine) expect(valueOf(fams, "amp_events_accepted_total"), n.id).to.equal(mine.eventIds.length);
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

  it("Rounds: witness cosignatures per federation are the ones the chain-pinned proof verifier counts", async function () {
    const registry = (
      JSON.parse(fs.readFileSync(fed.deployment, "utf8")) as { contracts: { validatorRegistry: Hex } }
    ).contracts.validatorRegistry;
    const client = publicClientFor(fed.rpc);
    const { page, errors } = await browser!.page();
    await page.goto(fed.dashboard!);
    const feds = [...new Set(submitted.map((s) => s.fed))];
    expect(feds.length).to.equal(2);
    for (const id of feds) {
      // The newest event sent to this federation: its proof (from its node) names its round.
      const s = submitted.filter((x) => x.fed === id).at(-1)!;
      const node = fed.nodes.find((n) => n.id === s.id)!;
      const res = await fetch(`${node.url}/v1/proof/${encodeURIComponent(s.eventIds.at(-1)!)}`);
      expect(res.status).to.equal(200);
      const proof = parseProofFile(await res.text());
      const round = proof.nexus.round;
      const origin = proof.federation.origin;
      // src/proof/verify-note.ts: keys and weights from the registry on the chain.
      const check = await checkSignedNote(client, proof, registry);
      expect(check.witnesses.length).to.equal(1);
      await expectWitnessRow(page, round, origin, proof, check.witnesses[0]!);
    }
    // Every shown checkpoint (newest 10 anchored rounds, both federations) had a witness quorum.
    const last = Number((await anchor().nextRound()) - 1n);
    expect(await page.locator("#witnesses tr").count()).to.equal(Math.min(10, last) * 2);
    expect(await page.locator('#witnesses td[data-quorum="yes"]').count()).to.equal(Math.min(10, last) * 2);
    await browser!.screenshot(page, "live-witnesses");
    expect(errors).to.deep.equal([]);
  });

  it("Nodes: every running node is up, with the tree size the chain anchored, its clock offset, rank and governance weight", async function () {
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
    // Issue 12: clock offset (drift routes) and rank / governance weight (credits records) per node.
    const api = (await (await fetch(`${fed.dashboard}api/nodes`)).json()) as {
      unavailable: Record<string, string>;
    };
    expect(api.unavailable, "every column served").to.deep.equal({});
    const clocks = (await everyNode<{ clock: { node: string }[] }>(fed, "/v1/drift")).flatMap(
      (d) => d?.clock ?? [],
    );
    expect(clocks.length, "some coordinator measured clock offsets").to.be.greaterThan(0);
    for (const n of fed.nodes) {
      const row = page.locator(`#live tr[data-key="${n.url}"] td`);
      if (clocks.some((c) => c.node === n.id)) {
        await row
          .nth(9)
          .filter({ hasText: /^-?\d+ ms \(round \d+\)$/ })
          .waitFor({ timeout: 30_000 });
      }
      // The weight shown is the governance weight of the node's newest allocation record.
      await until(`${n.id}'s governance weight on the page`, async () => {
        const list = (await (await fetch(`${n.url}/v1/credits/epochs`)).json()) as {
          epochs: { epoch: string }[];
        };
        const last = list.epochs
          .map((e) => BigInt(e.epoch))
          .sort((a, b) => (a < b ? -1 : 1))
          .at(-1);
        if (last === undefined) return undefined;
        const rec = (await (
          await fetch(`${n.url}/v1/credits/epochs/${last}?node=${encodeURIComponent(n.id)}`)
        ).json()) as { records: { governance_weight: string }[] };
        const text = await row.nth(11).textContent();
        return text === `${rec.records[0]!.governance_weight} (epoch ${last})` ? true : undefined;
      });
      expect(await row.nth(10).textContent(), n.id).to.match(/^[1-7]$/);
    }
    // Issue 12: participation counters, every coordinator's GET /v1/participation summed per node.
    const manifestOrigins = loadManifest(fed.manifest).federations;
    await until("the Nodes table equal to the nodes' participation counters", async () => {
      const answers = await everyNode<{
        origin: string;
        nodes: {
          node: string;
          roundsExpected: number;
          roundsParticipated: number;
          votesCast: number;
          correctVotes: number;
        }[];
      }>(fed, "/v1/participation");
      const sum = new Map<string, number[]>();
      for (const a of answers) {
        for (const r of a?.nodes ?? []) {
          const k = `${a!.origin}/${r.node}`;
          const t = sum.get(k) ?? [0, 0, 0, 0];
          sum.set(k, [
            t[0]! + r.roundsParticipated,
            t[1]! + r.roundsExpected,
            t[2]! + r.votesCast,
            t[3]! + r.correctVotes,
          ]);
        }
      }
      if (sum.size !== fed.nodes.length) return undefined;
      for (const n of fed.nodes) {
        const origin = manifestOrigins.find((f) => f.id === n.federation)!.origin;
        const t = sum.get(`${origin}/${n.id}`);
        if (!t || t[1] === 0) return undefined;
        const cells = await page.locator(`#nodes tr[data-key="${origin}/${n.id}"] td`).allTextContents();
        const want = [`${t[0]} / ${t[1]}`, String(t[2]), String(t[3])];
        if (JSON.stringify(cells.slice(3, 6)) !== JSON.stringify(want)) return undefined;
      }
      return true;
    });
    expect(await page.locator("#nodes-unavailable").textContent()).to.equal("");
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

  it("Rounds: stage latencies per round are the nodes' /v1/stats records, plotted", async function () {
    const last = (await anchor().nextRound()) - 1n;
    const api = (await (await fetch(`${fed.dashboard}api/rounds`)).json()) as {
      rounds: {
        round: number;
        sealToQuorumMs: Record<string, number>;
        witnessedToAnchoredMs: number | null;
      }[];
    };
    const origins = loadManifest(fed.manifest)
      .federations.map((f) => f.origin)
      .sort();
    // The relay of each round (one node) measured its anchor transaction; each federation's
    // coordinator its stages.
    const stats = await Promise.all(
      fed.nodes.map(
        async (n) =>
          (await (await fetch(`${n.url}/v1/stats`)).json()) as {
            anchored: { round: string; stagesMs: { anchorTx: number } }[];
          },
      ),
    );
    for (let r = 1n; r <= last; r++) {
      const row = api.rounds.find((x) => x.round === Number(r))!;
      expect(Object.keys(row.sealToQuorumMs).sort(), `round ${r}`).to.deep.equal(origins);
      const relay = stats.flatMap((s) => s.anchored).find((a) => a.round === r.toString())!;
      expect(row.witnessedToAnchoredMs, `round ${r}`).to.equal(relay.stagesMs.anchorTx);
    }
    const { page, errors } = await browser!.page();
    await page.goto(fed.dashboard!);
    const cell = page.locator(`#rounds tr[data-round="${last}"] td`).nth(6);
    await cell.filter({ hasText: /^\d+ \/ \d+ \/ \d+$/ }).waitFor({ timeout: 30_000 });
    const top = api.rounds.find((x) => x.round === Number(last))!;
    expect(await cell.textContent()).to.match(new RegExp(` / ${top.witnessedToAnchoredMs}$`));
    await page.locator("#latency-plot canvas").waitFor();
    expect(errors).to.deep.equal([]);
  });

  it("Drift: a real alert of the drifting node is acknowledged and resolved through the page, on its node", async function () {
    const name = `${alert.node}/${alert.id}`;
    const node = fed.nodes.find((n) => n.id === alert.node)!;
    const stored = () => storedAlert(node.dataDir, alert.id, "dash-test");
    expect(stored().state).to.equal("open");
    const { page, errors } = await browser!.page();
    await page.goto(`${fed.dashboard}drift`);
    const card = page.locator(`article[data-alert-id="${name}"]`);
    await card.waitFor({ timeout: 30_000 });
    expect(await card.locator('[data-field="observed-by"]').textContent()).to.equal(alert.node);
    await page.getByLabel("Your name").fill("dash-test");
    await page.getByRole("button", { name: `Acknowledge alert ${name}`, exact: true }).click();
    await page
      .locator(`article[data-alert-id="${name}"][data-state="acknowledged"]`)
      .waitFor({ timeout: 30_000 });
    expect(stored()).to.deep.equal({
      state: "acknowledged",
      history: [{ to: "acknowledged", actor: "dash-test", note: "" }],
    });
    // Resolving without a note is refused on the page; nothing reaches the node.
    await page.getByRole("button", { name: `Resolve alert ${name}`, exact: true }).click();
    await page.locator("#action-status", { hasText: "needs a note" }).waitFor();
    expect(stored().state).to.equal("acknowledged");
    await page
      .getByLabel(`Note for alert ${name}`, { exact: true })
      .fill("drift injected by the test; node restarted");
    await page.getByRole("button", { name: `Resolve alert ${name}`, exact: true }).click();
    await page
      .locator(`article[data-alert-id="${name}"][data-state="resolved"]`)
      .waitFor({ timeout: 30_000 });
    expect(stored().history.at(-1)).to.deep.equal({
      to: "resolved",
      actor: "dash-test",
      note: "drift injected by the test; node restarted",
    });
    const viaApi = (await (await fetch(`${node.url}/v1/drift/alerts/${alert.id}`)).json()) as {
      alert: { state: string };
    };
    expect(viaApi.alert.state).to.equal("resolved");
    // The workflow forbids acknowledging a resolved alert: 409, the store unchanged.
    const again = await fetch(`${fed.dashboard}api/drift/alerts/${encodeURIComponent(name)}/ack`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ by: "dash-test", note: "" }),
    });
    expect(again.status).to.equal(409);
    expect(stored().state).to.equal("resolved");
    await browser!.screenshot(page, "live-drift");
    expect(errors).to.deep.equal([]);
  });

  it("Credits: before any allocation the page says when the next comes; then every record verifies on the pinned contract", async function () {
    expect(creditsBefore.allocations).to.deep.equal([]);
    expect(creditsBefore.next.epoch).to.match(/^\d+$/);
    expect(creditsBefore.next.message).to.match(
      /No allocation yet\. Next allocation: epoch \d+, which closes at /,
    );
    expect(creditsBefore.next.message).to.include("--epoch-seconds");
    const node = (await (await fetch(`${fed.nodes[0]!.url}/v1/credits/epochs`)).json()) as {
      epochs: { epoch: string; txHash: string }[];
    };
    const record = JSON.parse(fs.readFileSync(fed.deployment, "utf8")) as {
      contracts: { proofCreditReceipts: string };
    };
    const receipts = new ReceiptsReader(record.contracts.proofCreditReceipts, provider);
    const { page, errors } = await browser!.page();
    await page.goto(`${fed.dashboard}credits`);
    const rows = node.epochs.length * fed.nodes.length;
    await page
      .locator("#allocations tr")
      .nth(rows - 1)
      .waitFor({ timeout: 60_000 });
    await page
      .locator('#allocations td[data-status="valid"]')
      .nth(rows - 1)
      .waitFor({ timeout: 60_000 });
    expect(await page.locator("#receipts-contract").textContent()).to.include(
      record.contracts.proofCreditReceipts,
    );
    const api = (await (await fetch(`${fed.dashboard}api/credits`)).json()) as {
      allocations: {
        epoch: string;
        node: string;
        allocationHash: string;
        txHash: string;
        verification: { status: string };
      }[];
      ranking: { node: string }[];
      next: { message: string };
    };
    for (const e of node.epochs) {
      const mine = api.allocations.filter((a) => a.epoch === e.epoch);
      expect(mine.map((a) => a.node).sort(), e.epoch).to.deep.equal(fed.nodes.map((n) => n.id).sort());
      for (const a of mine) {
        expect(a.verification.status, a.node).to.equal("valid");
        const ev = await receipts.eventOf(a.allocationHash);
        expect(ev?.txHash, a.node).to.equal(a.txHash);
        expect(a.txHash, a.node).to.equal(e.txHash);
      }
    }
    expect(api.ranking.map((r) => r.node).sort()).to.deep.equal(fed.nodes.map((n) => n.id).sort());
    expect(await page.locator("#next-allocation").textContent()).to.match(/Next allocation: epoch \d+/);
    await page.locator("#score-plot canvas").waitFor();
    await browser!.screenshot(page, "live-credits");
    expect(errors).to.deep.equal([]);
  });
});
