/**
 * `amp run` on the node code: the seven nodes as NodeServices in this process (the `amp node`
 * code, each with only its own keys) on a separate `hardhat node`; the events `amp ingest` queued
 * are posted to the nodes and anchored, the queue removed, and the node-layout readers see them.
 */
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { loadManifestFederations } from "../../src/cli/context";
import { generateEvents } from "../../src/cli/generate";
import { ampInProcess as amp } from "../helpers/cli";
import { anchoredRounds, startHardhatNode, stopHardhatNode } from "../helpers/node-process";
import { quietLogs } from "../consensus/fixture";

interface RunResult {
  startRound: string;
  pending: string;
  rounds: { round: string; txHash: string; federations: { origin: string; treeSize: string }[] }[];
}

describe("cli: amp run on the node code (in-process nodes, separate hardhat node)", function () {
  this.timeout(900_000);
  quietLogs();
  let chain: ChildProcess | undefined;
  let rpc: string;
  let dir: string;
  let data: string;
  const queued: string[] = [];

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-run-nodes-"));
    data = path.join(dir, "data");
    ({ child: chain, rpc } = await startHardhatNode());
  });

  after(async function () {
    await stopHardhatNode(chain);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const anchors = () => anchoredRounds(rpc, data);

  it("deploys on first use, posts the queued events to the nodes, waits until anchored, removes the queue", async () => {
    const [ssid, opencore] = loadManifestFederations();
    const events = [
      ...generateEvents(ssid!, 0n, 3, "run-nodes"),
      ...generateEvents(opencore!, 0n, 2, "run-nodes"),
    ];
    for (const e of events) queued.push((e as { event_id: string }).event_id);
    const file = path.join(dir, "events.ndjson");
    fs.writeFileSync(file, events.map((e) => JSON.stringify(e)).join("\n") + "\n");
    const ing = await amp("ingest", file, "--data", data);
    expect(ing.code, ing.err).to.equal(0);
    const r = await amp("run", "--rpc", rpc, "--data", data, "--workers", "0");
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.match(/^starting at round 1; 5 events queued$/m);
    expect(r.out).to.match(/^legend: <federation> = \+<events added>=<tree size>/m);
    expect(r.out).to.match(/^round +opencore +ssid +global +tx +gas +evidence$/m);
    expect(r.err).to.match(/7 nodes in this process/);
    expect(r.err).to.match(/removed the ingest queue/);
    expect(fs.existsSync(path.join(data, "archive.sqlite"))).to.equal(false);
    for (const id of ["ssid-eu-1", "opencore-us-1"]) {
      expect(fs.existsSync(path.join(data, "nodes", id, "archive.sqlite"))).to.equal(true);
    }
    const a = await anchors();
    expect(a.logs).to.equal(Number(a.next - 1n)); // one anchor per round, none twice
    const last = r.out.trim().split("\n").pop()!;
    expect(last).to.match(new RegExp(`^${a.next - 1n} +\\+\\d+=2 0x[0-9a-f]+… +\\+\\d+=3 `));
  });

  it("the node-layout readers see the events; the proof verifies; erasure reaches the payload", async () => {
    const list = await amp("events", "--data", data, "--json");
    expect(list.code, list.err).to.equal(0);
    const rows = (JSON.parse(list.out) as { result: { events: { id: string; round: string }[] } }).result
      .events;
    expect(rows.map((x) => x.id).sort()).to.deep.equal([...queued].sort());
    for (const x of rows) expect(x.round).to.match(/^[1-9]\d*$/);
    const out = path.join(dir, "proof.json");
    expect((await amp("proof", queued[0]!, "--data", data, "--out", out)).code).to.equal(0);
    const v = await amp("verify", out, "--rpc", rpc, "--trust", path.join(data, "trust.json"));
    expect(v.code, v.out + v.err).to.equal(0);
    const e = await amp("erase", queued[0]!, "--data", data, "--reason", "GDPR 1");
    expect(e.code, e.err).to.equal(0);
    // The inline payload the queue held went to the nodes (re-committed with a node's own salt).
    expect(e.out).to.contain("1 node(s) held the payload; 4 of 7 nodes hold the event");
  });

  it("resumes at the chain's next round with --generate, one anchor per round (--json)", async () => {
    const before = await anchors();
    const r = await amp(
      "run",
      "--rpc",
      rpc,
      "--data",
      data,
      "--rounds",
      "2",
      "--generate",
      "3",
      "--json",
      "--workers",
      "1",
    );
    expect(r.code, r.err).to.equal(0);
    const res = (JSON.parse(r.out) as { result: RunResult }).result;
    expect(res.startRound).to.equal(before.next.toString());
    expect(res.pending).to.equal("0");
    expect(res.rounds.length).to.be.greaterThan(0);
    expect(res.rounds[0]!.round).to.equal(before.next.toString());
    const after = await anchors();
    expect(after.next).to.equal(before.next + BigInt(res.rounds.length));
    expect(after.logs).to.equal(Number(after.next - 1n));
    expect(after.next - before.next).to.be.greaterThanOrEqual(2n);
    for (const x of res.rounds) expect(x.txHash).to.match(/^0x[0-9a-f]{64}$/);
  });

  it("refuses keys that are not the registered validators (--keys), and stops what it started", async () => {
    const keys = path.join(dir, "other-keys");
    process.env.AMP_KEYSTORE_PASSWORD = "run-nodes-test-only";
    try {
      expect((await amp("keys", "generate", "--out", keys)).code).to.equal(0);
      const r = await amp(
        "run",
        "--rpc",
        rpc,
        "--data",
        data,
        "--keys",
        keys,
        "--generate",
        "1",
        "--workers",
        "0",
      );
      expect(r.code).to.equal(1);
      expect(r.err).to.match(/ssid-eu-1's address 0x[0-9a-fA-F]{40} is not a registered validator/);
    } finally {
      delete process.env.AMP_KEYSTORE_PASSWORD;
    }
    expect(fs.existsSync(path.join(data, "federation.json"))).to.equal(false);
    const before = await anchors();
    const again = await amp("run", "--rpc", rpc, "--data", data, "--generate", "1", "--workers", "0");
    expect(again.code, again.err).to.equal(0);
    expect((await anchors()).next).to.be.greaterThan(before.next);
  });

  it("refuses a RoundEngine data dir and an unreachable chain, changing nothing", async () => {
    const old = path.join(dir, "engine-dir");
    fs.mkdirSync(old);
    fs.writeFileSync(path.join(old, "anchors.sqlite"), "");
    const r = await amp("run", "--rpc", rpc, "--data", old);
    expect(r.code).to.equal(1);
    expect(r.err).to.match(
      /holds rounds anchored by the RoundEngine `amp run` of an earlier release \(anchors\.sqlite\)/,
    );
    expect(fs.readdirSync(old)).to.deep.equal(["anchors.sqlite"]);
    const fresh = path.join(dir, "fresh");
    const c = await amp("run", "--rpc", "http://127.0.0.1:1", "--data", fresh);
    expect(c.code).to.equal(3);
    expect(fs.existsSync(fresh)).to.equal(false);
  });
});
