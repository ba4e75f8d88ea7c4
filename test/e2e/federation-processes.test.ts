/**
 * A real federation: `amp up` starts a child `hardhat node` and one `amp node` process per
 * manifest node on loopback; events go in over HTTP; faults are real signals to real processes.
 * Every child dies with the test (the whole `amp up` process group is killed in `after`).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import type { FederationFile } from "../../src/cli/up";
import { loadManifest } from "../../src/manifest";
import type { NodeStatus } from "../../src/node/node";
import { PeerClient } from "../../src/transport/client";
import { GlobalProofAnchor__factory } from "../../typechain-types";
import { ensureDist } from "../../scripts/ensure-dist";
import { ndjson, tmpDir, until } from "../node/helpers";

const ROOT = path.resolve(__dirname, "..", "..");
const AMP = path.join(ROOT, "bin", "amp.js");
const client = new PeerClient({ timeoutMs: 2000, tries: 1 });

function amp(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [AMP, ...args], { cwd: ROOT, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe("e2e: a federation of seven node processes (amp up)", function () {
  this.timeout(900_000);
  let dir: string;
  let up: ChildProcess | undefined;
  let fed: FederationFile;
  const stopped: number[] = [];

  const status = (url: string) =>
    client.json<NodeStatus>(url, { method: "GET", path: "/v1/status" }).catch(() => undefined);
  const node = (id: string) => fed.nodes.find((n) => n.id === id)!;
  const pidOf = (id: string): number => {
    const f = JSON.parse(fs.readFileSync(path.join(dir, "federation.json"), "utf8")) as FederationFile;
    return f.nodes.find((n) => n.id === id)!.pid!;
  };
  const nextRound = async (): Promise<bigint> => {
    const provider = new JsonRpcProvider(fed.rpc);
    try {
      const record = JSON.parse(fs.readFileSync(fed.deployment, "utf8")) as {
        contracts: { globalProofAnchor: string };
      };
      return await GlobalProofAnchor__factory.connect(
        record.contracts.globalProofAnchor,
        provider,
      ).nextRound();
    } finally {
      provider.destroy();
    }
  };
  const submit = async (id: string, fedName: string, from: number, n: number) => {
    const manifest = loadManifest(fed.manifest);
    const res = await new PeerClient({ timeoutMs: 10_000 }).json<{ acknowledged: { status: string }[] }>(
      node(id).url,
      { method: "POST", path: "/v1/events", body: ndjson(manifest, fedName, from, n, "processes") },
    );
    expect(res.acknowledged).to.have.length(n);
  };
  /** Every listed node archived the federation at `size` (checked against the chain on the way). */
  const allAt = (ids: string[], size: number) =>
    until(
      `${ids.join(",")} at size ${size}`,
      async () => {
        const st = await Promise.all(ids.map((id) => status(node(id).url)));
        return st.every((s) => s && s.treeSize === String(size)) ? st : undefined;
      },
      240_000,
    );

  before(async function () {
    ensureDist();
    dir = tmpDir("amp-up-");
    up = spawn(process.execPath, [AMP, "up", "--data", dir], {
      cwd: ROOT,
      detached: true, // its own process group: the after hook kills the group
      stdio: "ignore",
      env: { ...process.env, AMP_LOG_LEVEL: "warn" },
    });
    fed = await until(
      "federation.json",
      () => {
        const f = path.join(dir, "federation.json");
        return fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, "utf8")) as FederationFile) : undefined;
      },
      240_000,
    );
    await until(
      "every node answering",
      async () =>
        (await Promise.all(fed.nodes.map((n) => status(n.url)))).every(Boolean) ? true : undefined,
      300_000,
    );
  });

  after(async function () {
    for (const pid of stopped) {
      try {
        process.kill(pid, "SIGCONT");
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
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("anchors events submitted over HTTP; every node of a federation holds the same log", async function () {
    expect(await nextRound()).to.equal(1n);
    await submit("ssid-us-1", "ssid", 0, 6);
    await submit("opencore-eu-1", "opencore", 0, 4);
    const ssid = await allAt(["ssid-eu-1", "ssid-us-1", "ssid-apac-1", "ssid-eu-2"], 6);
    await allAt(["opencore-eu-1", "opencore-us-1", "opencore-apac-1"], 4);
    expect(new Set(ssid.map((s) => s!.rootHash)).size).to.equal(1);
    expect(await nextRound()).to.be.greaterThan(1n);
  });

  it("SIGKILL of a validator: rounds stay final with the rest, the restarted node catches up", async function () {
    const victim = pidOf("ssid-apac-1");
    process.kill(victim, "SIGKILL");
    await submit("ssid-eu-1", "ssid", 6, 5);
    await allAt(["ssid-eu-1", "ssid-us-1", "ssid-eu-2"], 11);
    await until("ssid-apac-1 restarted", () => (pidOf("ssid-apac-1") !== victim ? true : undefined), 120_000);
    await allAt(["ssid-apac-1"], 11);
  });

  it("SIGSTOP of ≥ 1/3 of a federation's weight halts its rounds safely; SIGCONT resumes them", async function () {
    const before = await nextRound();
    const paused = [pidOf("ssid-eu-2"), pidOf("ssid-us-1")]; // 5000 of 10000: no quorum without them
    for (const pid of paused) {
      process.kill(pid, "SIGSTOP");
      stopped.push(pid);
    }
    // A failure while they are paused must not leave them stopped for the tests that follow.
    const resume = () => {
      for (const pid of paused) {
        try {
          process.kill(pid, "SIGCONT");
        } catch {
          // gone already
        }
      }
    };
    try {
      await submit("ssid-eu-1", "ssid", 11, 3);
      // Wait until a coordinator tried the next round: it sealed the new events and asked for votes,
      // or (the lock rule: half the weight cannot promise or say what it signed) it logged that it will not
      // propose a new batch without them...
      const refused = `ssid round ${before}: validators of more than 1/3 of the weight did not`;
      await until(
        "an attempt at the stalled round",
        () =>
          fed.nodes.some((n) => {
            const log = path.join(dir, "logs", `${n.id}.log`);
            if (fs.existsSync(log) && fs.readFileSync(log, "utf8").includes(refused)) return true;
            const f = path.join(n.dataDir, "sealed-proposal.json");
            if (!fs.existsSync(f)) return false;
            const p = JSON.parse(fs.readFileSync(f, "utf8")) as { round: string; entries: unknown[] };
            return p.round === before.toString() && p.entries.length === 3;
          }) || undefined,
        120_000,
      );
      // ...then, safety: no round is anchored without a quorum, nothing changed in the log.
      const stalled = await status(node("ssid-eu-1").url);
      expect(stalled!.treeSize).to.equal("11");
      expect(await nextRound()).to.equal(before);
    } finally {
      resume();
    }
    await allAt(["ssid-eu-1", "ssid-us-1", "ssid-apac-1", "ssid-eu-2"], 14);
    expect(await nextRound()).to.be.greaterThan(before);
  });

  it("SIGKILL of every node mid-round: nothing acknowledged is lost, every event ends up anchored", async function () {
    await submit("ssid-eu-2", "ssid", 14, 4);
    await submit("opencore-apac-1", "opencore", 100, 2);
    const victims = fed.nodes.map((n) => pidOf(n.id));
    for (const pid of victims) process.kill(pid, "SIGKILL");
    await until(
      "every node restarted",
      () => (fed.nodes.every((n, i) => pidOf(n.id) !== victims[i]) ? true : undefined),
      180_000,
    );
    await allAt(["ssid-eu-1", "ssid-us-1", "ssid-apac-1", "ssid-eu-2"], 18);
    await allAt(["opencore-eu-1", "opencore-us-1", "opencore-apac-1"], 6);
  });

  it("amp status, amp submit, amp proof --node and amp consistency work against the running federation", async function () {
    const st = await amp("status", "--data", dir, "--json");
    expect(st.code, st.stderr).to.equal(0);
    const shown = JSON.parse(st.stdout) as {
      running: boolean;
      rpc: string;
      nodes: { id: string; up: boolean; pid: number }[];
    };
    expect(shown.running).to.equal(true);
    expect(shown.rpc).to.equal(fed.rpc);
    expect(shown.nodes.map((n) => n.id)).to.have.length(7);

    const file = path.join(dir, "more.ndjson");
    const lines = ndjson(loadManifest(fed.manifest), "opencore", 4, 3, "processes").split("\n");
    const before = Number((await status(node("opencore-eu-1").url))!.treeSize);
    fs.writeFileSync(file, [lines[0], "{not json", lines[2]].join("\n") + "\n");
    const bad = await amp("submit", file, "--node", node("opencore-us-1").url);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.include(`${file}:2: not JSON`);
    fs.writeFileSync(file, lines.join("\n") + "\n");
    const ok = await amp("submit", file, "--node", node("opencore-us-1").url, "--json");
    expect(ok.code, ok.stderr).to.equal(0);
    const acks = ok.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { eventId: string; status: string });
    expect(acks.map((a) => a.status)).to.deep.equal(["queued", "queued", "queued"]);
    await allAt(["opencore-eu-1", "opencore-us-1", "opencore-apac-1"], before + 3);

    const out = path.join(dir, "proof.json");
    // The log reaches its size when the round is applied; the round's anchor record (proof material)
    // reaches this node just after, from the proposer: ask until it is there.
    const proof = await until(
      "a proof from opencore-apac-1",
      async () => {
        const r = await amp("proof", acks[1]!.eventId, "--node", node("opencore-apac-1").url, "--out", out);
        return r.code === 3 && r.stderr.includes("NotAnchoredError") ? undefined : r;
      },
      120_000,
    );
    expect(proof.code, proof.stderr).to.equal(0);
    const verify = await amp("verify", out, "--rpc", fed.rpc, "--trust", path.join(dir, "trust.json"));
    expect(verify.code, verify.stdout + verify.stderr).to.equal(0);

    const cons = await amp("consistency", "--data", dir);
    expect(cons.code, cons.stdout + cons.stderr).to.equal(0);
    expect(cons.stdout).to.match(/consistent/);
  });

  it("SIGTERM to amp up stops every child; amp status then shows the data dir at rest", async function () {
    const current = JSON.parse(fs.readFileSync(path.join(dir, "federation.json"), "utf8")) as FederationFile;
    const children = [...current.nodes.map((n) => n.pid!), current.chainPid!];
    const exited = new Promise((r) => up!.once("exit", r));
    process.kill(up!.pid!, "SIGTERM");
    await exited;
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await until("every child gone", () => (children.every((p) => !alive(p)) ? true : undefined), 30_000);
    const st = await amp("status", "--data", dir, "--json");
    expect(st.code, st.stderr).to.equal(0);
    const rest = JSON.parse(st.stdout) as {
      running: boolean;
      nodes: { id: string; lastAnchoredRound: string; pendingEvents: number }[];
    };
    expect(rest.running).to.equal(false);
    expect(rest.nodes).to.have.length(7);
    for (const n of rest.nodes) {
      expect(Number(n.lastAnchoredRound), n.id).to.be.greaterThan(0);
      expect(n.pendingEvents, n.id).to.equal(0);
    }
  });
});
