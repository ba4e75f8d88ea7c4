/**
 * Credits end to end on the process layout: `amp up --epoch-seconds 10` (a child `hardhat node`, one
 * `amp node` per manifest node), one node frozen with SIGSTOP before the first round (it withholds
 * every vote), events over HTTP for several epochs, the allocator of an epoch SIGKILLed right after
 * the epoch closed. Receipts must appear for every epoch, once; every live node serves the same
 * records; `amp receipt verify` accepts each record and names a tampered field; the frozen node
 * ranks last. Every child dies with the test (the `amp up` process group is killed in `after`).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import type { FederationFile } from "../../src/cli/up";
import { ReceiptsReader } from "../../src/credits/chain";
import { nodeRefOf, type AllocationRecord } from "../../src/credits/record";
import { loadManifest } from "../../src/manifest";
import { canonicalJson } from "../../src/merkle";
import { PeerClient } from "../../src/transport/client";
import { ensureDist } from "../../scripts/ensure-dist";
import { ndjson, tmpDir, until } from "../node/helpers";

const ROOT = path.resolve(__dirname, "..", "..");
const AMP = path.join(ROOT, "bin", "amp.js");
const EPOCH_SECONDS = 10;
const FROZEN = "ssid-eu-2";
const client = new PeerClient({ timeoutMs: 5000, tries: 1 });

function amp(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [AMP, ...args], { cwd: ROOT, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

interface EpochView {
  epoch: string;
  txHash: string;
  ranking: { node: string }[];
  records: AllocationRecord[];
}

describe("e2e: credits on a federation of seven node processes (amp up --epoch-seconds)", function () {
  this.timeout(900_000);
  let dir: string;
  let up: ChildProcess | undefined;
  let fed: FederationFile;
  let frozenPid: number | undefined;

  const fedFile = (): FederationFile =>
    JSON.parse(fs.readFileSync(path.join(dir, "federation.json"), "utf8")) as FederationFile;
  const live = () => fed.nodes.filter((n) => n.id !== FROZEN);
  const epochsAt = (url: string) =>
    client
      .json<{ epochs: { epoch: string; txHash: string }[] }>(url, {
        method: "GET",
        path: "/v1/credits/epochs",
      })
      .then((o) => o.epochs)
      .catch(() => undefined);
  const receipts = () => {
    const record = JSON.parse(fs.readFileSync(fed.deployment, "utf8")) as {
      contracts: { proofCreditReceipts: string };
    };
    return record.contracts.proofCreditReceipts;
  };

  before(async function () {
    ensureDist();
    dir = tmpDir("amp-credits-up-");
    up = spawn(process.execPath, [AMP, "up", "--data", dir, "--epoch-seconds", String(EPOCH_SECONDS)], {
      cwd: ROOT,
      detached: true, // its own process group: the after hook kills the group
      stdio: "ignore",
      env: { ...process.env, AMP_LOG_LEVEL: "warn" },
    });
    fed = await until(
      "federation.json",
      () => (fs.existsSync(path.join(dir, "federation.json")) ? fedFile() : undefined),
      240_000,
    );
    await until(
      "every node answering",
      async () =>
        (
          await Promise.all(
            fed.nodes.map((n) =>
              client.json(n.url, { method: "GET", path: "/v1/status" }).catch(() => undefined),
            ),
          )
        ).every(Boolean)
          ? true
          : undefined,
      300_000,
    );
    frozenPid = fedFile().nodes.find((n) => n.id === FROZEN)!.pid!;
    process.kill(frozenPid, "SIGSTOP"); // the injected fault: it answers nothing from now on
  });

  after(async function () {
    if (frozenPid !== undefined) {
      try {
        process.kill(frozenPid, "SIGCONT");
      } catch {
        // gone already
      }
    }
    if (up?.pid !== undefined && up.exitCode === null) {
      const exited = new Promise((r) => up!.once("exit", r));
      process.kill(-up.pid, "SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      try {
        process.kill(-up.pid, "SIGKILL"); // anything left of the group
      } catch {
        // all gone
      }
    }
    if (dir && process.env.AMP_KEEP_TEST_DIR !== "1") fs.rmSync(dir, { recursive: true, force: true });
  });

  it("records every epoch once (the allocator killed mid-allocation included); every live node serves the same records", async function () {
    const manifest = loadManifest(fed.manifest);
    const len = EPOCH_SECONDS * 1000;
    const roster = manifest.federations.flatMap((f) => f.nodes.map((n) => n.id));
    // Events all along (epochs close in chain time: blocks must keep coming).
    let submitting = true;
    const ssidUrl = fed.nodes.find((n) => n.id === "ssid-us-1")!.url;
    const ocUrl = fed.nodes.find((n) => n.id === "opencore-eu-1")!.url;
    const load = (async () => {
      for (let i = 0; submitting; i++) {
        const body = (f: string, k: number) => ndjson(manifest, f, i * k, k, "credits-e2e");
        await client
          .request(ssidUrl, { method: "POST", path: "/v1/events", body: body("ssid", 3) })
          .catch(() => undefined);
        await client
          .request(ocUrl, { method: "POST", path: "/v1/events", body: body("opencore", 2) })
          .catch(() => undefined);
        await new Promise((r) => setTimeout(r, 700));
      }
    })();
    const url = live()[0]!.url;
    let epochs: { epoch: string; txHash: string }[];
    let victimEpoch: number;
    try {
      await until(
        "the first epoch recorded",
        async () => ((await epochsAt(url))?.length ? true : undefined),
        300_000,
      );
      // The allocator of the next epoch (not the frozen node) is SIGKILLed just after that epoch closes.
      victimEpoch = Math.floor(Date.now() / len) + 1;
      while (roster[victimEpoch % roster.length] === FROZEN) victimEpoch++;
      const victim = roster[victimEpoch % roster.length]!;
      await new Promise((r) => setTimeout(r, (victimEpoch + 1) * len + 1200 - Date.now()));
      process.kill(fedFile().nodes.find((n) => n.id === victim)!.pid!, "SIGKILL");
      epochs = await until(
        `the killed allocator's epoch ${victimEpoch} and the next recorded`,
        async () => {
          const e = await epochsAt(url);
          return e && e.some((x) => BigInt(x.epoch) > BigInt(victimEpoch)) ? e : undefined;
        },
        300_000,
      );
    } finally {
      submitting = false;
      await load;
    }
    expect(epochs.map((e) => e.epoch)).to.include(String(victimEpoch));
    // On-chain: one receipt per node and epoch, each epoch in one transaction of 7.
    const provider = new JsonRpcProvider(fed.rpc);
    try {
      const reader = new ReceiptsReader(receipts(), provider);
      for (const id of roster) {
        const f = manifest.federations.find((x) => x.nodes.some((n) => n.id === id))!;
        const evs = await reader.eventsOfNode(nodeRefOf(f.origin, id));
        const es = evs.map((e) => e.epoch.toString());
        expect(new Set(es).size, `${id}: ${es.join(",")}`).to.equal(es.length);
      }
      for (const e of epochs) {
        const rc = (await provider.getTransactionReceipt(e.txHash))!;
        expect(rc.logs.length, `epoch ${e.epoch}`).to.equal(7);
      }
    } finally {
      provider.destroy();
    }
    // Every live node (the restarted victim included) ends up serving the same bytes.
    const last = epochs.at(-1)!.epoch;
    const views = await until(
      "every live node holding the same epochs",
      async () => {
        const vs = await Promise.all(
          live().map((n) =>
            client
              .json<EpochView>(n.url, { method: "GET", path: `/v1/credits/epochs/${last}` })
              .catch(() => undefined),
          ),
        );
        return vs.every(Boolean) ? (vs as EpochView[]) : undefined;
      },
      180_000,
    );
    const bytes = views.map((v) => v.records.map((r) => canonicalJson(r)).join("\n"));
    expect(new Set(bytes).size).to.equal(1);
  });

  it("ranks the frozen node last in every epoch where its federation had rounds, and over time", async function () {
    const url = live()[1]!.url;
    const epochs = (await epochsAt(url))!;
    let counted = 0;
    for (const { epoch } of epochs) {
      const v = await client.json<EpochView>(url, { method: "GET", path: `/v1/credits/epochs/${epoch}` });
      const frozen = v.records.find((r) => r.node === FROZEN)!;
      if (frozen.rounds === null) continue;
      counted++;
      expect(v.ranking.at(-1)!.node, `epoch ${epoch}`).to.equal(FROZEN);
      expect(frozen.counts.rounds_voted).to.equal(0);
    }
    const summary = await Promise.all(
      epochs.map((e) =>
        client
          .json<EpochView>(url, { method: "GET", path: `/v1/credits/epochs/${e.epoch}` })
          .then((v) =>
            v.records.map((r) => `${e.epoch} ${r.node} ${JSON.stringify(r.rounds)} ${r.counts.rounds_voted}`),
          ),
      ),
    );
    expect(counted, summary.flat().join("\n")).to.be.greaterThan(0);
    const shown = await amp("credits", "show", "--url", url, "--json");
    expect(shown.code, shown.stderr).to.equal(0);
    const o = JSON.parse(shown.stdout) as { overTime: { node: string }[] };
    expect(o.overTime.at(-1)!.node).to.equal(FROZEN);
  });

  it("amp receipt verify accepts each epoch's record and refuses a tampered one, naming the field", async function () {
    const url = live()[2]!.url;
    const epochs = (await epochsAt(url))!;
    const address = receipts();
    for (const { epoch } of epochs) {
      const out = path.join(dir, `r-${epoch}.json`);
      const rec = await amp(
        "credits",
        "record",
        "--url",
        url,
        "--epoch",
        epoch,
        "--node",
        "ssid-us-1",
        "--out",
        out,
      );
      expect(rec.code, rec.stderr).to.equal(0);
      const ok = await amp("receipt", "verify", out, "--rpc", fed.rpc, "--receipts", address);
      expect(ok.code, ok.stdout + ok.stderr).to.equal(0);
      expect(ok.stdout).to.match(/^VALID /);
    }
    const out = path.join(dir, `r-${epochs[0]!.epoch}.json`);
    const r = JSON.parse(fs.readFileSync(out, "utf8")) as AllocationRecord;
    fs.writeFileSync(out, JSON.stringify({ ...r, governance_weight: "1.000000" }));
    const bad = await amp("receipt", "verify", out, "--rpc", fed.rpc, "--receipts", address);
    expect(bad.code).to.equal(1);
    expect(bad.stdout).to.match(/^INVALID governance_weight/);
  });
});
