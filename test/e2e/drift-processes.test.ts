/**
 * The drift monitor on the multi-process layout: a local federation (child `hardhat node`, seven
 * `amp node` processes, startLocalFederation as `amp up` runs it) where three nodes are made to
 * drift with `amp node --drift` (TEST ONLY): ssid-apac-1 serialises 15 % of its first batch
 * differently, opencore-us-1 shifts the timestamps of half of its first batch, ssid-us-1 alters
 * one event of its second batch. The coordinators find them before finality over signed HTTP range
 * queries; alerts are read, acknowledged (401 without the operator token) and resolved over the
 * node's HTTP API; a webhook queued while the receiver is down is delivered after the node that
 * holds it was killed and restarted. Every child is stopped in `after`.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { expect } from "chai";
import { stringify } from "yaml";
import { loadManifest } from "../../src/manifest";
import { adminHeader, readAdminToken } from "../../src/node/admin";
import { driftNodeArgs } from "../../src/drift/node-injection";
import { freePort, startLocalFederation, type LocalFederation } from "../../src/node/local";
import { PeerClient } from "../../src/transport/client";
import { ensureDist } from "../../scripts/ensure-dist";
import { ndjson, tmpDir, until } from "../node/helpers";

const ROOT = path.resolve(__dirname, "..", "..");
const AMP = path.join(ROOT, "bin", "amp.js");

interface AlertJson {
  id: number;
  federation: string;
  node: string;
  majorityNode: string;
  cause: string;
  severity: string;
  driftScore: number | null;
  state: string;
  actions: string[];
  firstRound: string;
  history: { from: string | null; to: string; actor: string; note: string }[];
}
interface FindingJson {
  round: string;
  node: string;
  majorityNode: string;
  cause: string;
  kind: string;
  severity: string;
  driftScore: number | null;
  divergentLeaves: number;
  batchLeaves: number;
  actions: string[];
  detail: Record<string, unknown>;
}

function amp(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [AMP, ...args], { cwd: ROOT, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe("e2e: the drift monitor on seven node processes", function () {
  this.timeout(900_000);
  let dir: string;
  let fed: LocalFederation | undefined;
  let hookPort: number;
  let receiver: http.Server | undefined;
  const received: { id: string; body: { event: string; alert: { id: number; cause: string } } }[] = [];
  const client = new PeerClient({ timeoutMs: 5000, tries: 1 });
  /** The node whose alert was acknowledged and resolved (its webhooks wait in its outbox). */
  let acked = "";

  const nodeOf = (id: string) => fed!.state.nodes.find((n) => n.id === id)!;
  const get = <T>(id: string, p: string) => client.json<T>(nodeOf(id).url, { method: "GET", path: p });
  const submit = async (id: string, fedName: string, from: number, n: number) => {
    const res = await new PeerClient({ timeoutMs: 10_000 }).json<{ acknowledged: unknown[] }>(
      nodeOf(id).url,
      {
        method: "POST",
        path: "/v1/events",
        body: ndjson(loadManifest(fed!.state.manifest), fedName, from, n, "drift-processes"),
      },
    );
    expect(res.acknowledged).to.have.length(n);
  };
  /** `n` events for `fedName` in one round of their own: submitted at once, then anchored. */
  let sizes: Record<string, number> = { ssid: 0, opencore: 0 };
  const batch = async (fedName: "ssid" | "opencore", n: number) => {
    const ids = fed!.state.nodes.filter((x) => x.federation === fedName).map((x) => x.id);
    await submit(ids[0]!, fedName, sizes[fedName]!, n);
    sizes = { ...sizes, [fedName]: sizes[fedName]! + n };
    await until(
      `${fedName} at size ${sizes[fedName]}`,
      async () => {
        const st = await get<{ treeSize: string }>(ids[0]!, "/v1/status").catch(() => undefined);
        return st?.treeSize === String(sizes[fedName]) || undefined;
      },
      300_000,
    );
  };
  const HONEST_SSID = ["ssid-eu-1", "ssid-eu-2", "ssid-us-1", "ssid-apac-1"];
  /** The node (the round's coordinator) whose monitor holds a finding matching `pred`. */
  const findingOn = (pred: (f: FindingJson) => boolean) =>
    until(
      "a matching drift finding on some node",
      async () => {
        for (const n of fed!.state.nodes) {
          const snap = await get<{ findings: FindingJson[] }>(n.id, "/v1/drift").catch(() => undefined);
          const f = snap?.findings.find(pred);
          if (f) return { node: n.id, finding: f };
        }
        return undefined;
      },
      300_000,
    );

  before(async function () {
    ensureDist();
    dir = tmpDir("amp-drift-up-");
    hookPort = await freePort(); // nothing listens there yet: the receiver is down
    const m = loadManifest();
    m.drift.webhooks = [`http://127.0.0.1:${hookPort}/hook`];
    const { source: _s, ...rest } = m;
    void _s;
    const manifest = path.join(dir, "with-webhook.yaml");
    fs.writeFileSync(manifest, stringify(rest));
    // Each drifts in a few rounds: under load a drifting vote (two signatures) can miss the
    // coordinator's vote timeout in one round; a round where it arrives is found. Never two
    // drifting nodes of one federation in one round (no quorum then).
    const serialization = driftNodeArgs({
      cause: "serialization_divergence",
      node: "ssid-apac-1",
      rounds: 3,
      fraction: 0.15,
    });
    const data = driftNodeArgs({
      cause: "data_inconsistency",
      node: "ssid-us-1",
      skip: 3,
      rounds: 3,
      fraction: 0.05,
    });
    const time = driftNodeArgs({ cause: "timestamp_drift", node: "opencore-us-1", rounds: 3, fraction: 0.5 });
    fed = await startLocalFederation({
      data: path.join(dir, "fed"),
      manifest,
      nodeArgs: (id) => [...serialization(id), ...data(id), ...time(id)],
    });
    await until(
      "every node answering",
      async () =>
        (
          await Promise.all(fed!.state.nodes.map((n) => get(n.id, "/v1/status").catch(() => undefined)))
        ).every(Boolean) || undefined,
      300_000,
    );
  });

  after(async function () {
    await fed?.stop();
    await new Promise((r) => (receiver ? receiver.close(r) : r(undefined)));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("serialization divergence (15 %, ssid-apac-1) and timestamp drift (50 %, opencore-us-1) are alerts with exact scores", async function () {
    for (let i = 0; i < 3; i++) await Promise.all([batch("ssid", 20), batch("opencore", 10)]);
    const s = await findingOn((f) => f.node === "ssid-apac-1" && f.cause !== "clock_skew");
    expect(HONEST_SSID.filter((x) => x !== "ssid-apac-1")).to.include(s.finding.majorityNode);
    expect(s.finding).to.include({
      cause: "serialization_divergence",
      kind: "alert",
      severity: "medium",
      driftScore: 0.15,
      divergentLeaves: 3,
      batchLeaves: 20,
    });
    expect(s.finding.actions).to.have.length(4);
    const t = await findingOn((f) => f.node === "opencore-us-1" && f.cause !== "clock_skew");
    expect(["opencore-eu-1", "opencore-apac-1"]).to.include(t.finding.majorityNode);
    expect(t.finding).to.include({
      cause: "timestamp_drift",
      kind: "alert",
      severity: "high",
      driftScore: 0.5,
      divergentLeaves: 5,
      batchLeaves: 10,
    });
    expect(t.finding.actions.length).to.be.at.least(3);
    // The same alert over GET /v1/drift/alerts and `amp alerts list --node URL`.
    const { alerts } = await get<{ alerts: AlertJson[] }>(s.node, "/v1/drift/alerts?state=open");
    const a = alerts.find((x) => x.node === "ssid-apac-1")!;
    expect(a).to.include({ cause: "serialization_divergence", severity: "medium" });
    expect(HONEST_SSID).to.include(a.majorityNode);
    expect(a.history.map((h) => h.to)).to.deep.equal(["open"]);
    const cli = await amp("alerts", "list", "--node", nodeOf(s.node).url);
    expect(cli.code, cli.stderr).to.equal(0);
    expect(cli.stdout).to.match(
      /open medium serialization_divergence {2}amp\.local\/ssid {2}ssid-apac-1 <-> ssid-[a-z]+-\d {2}score 0\.15/,
    );
    // Signed wall clocks of the ssid nodes that voted (at least a quorum), per round, on the
    // coordinator (stored after the finding); no clock is taken for skewed.
    const samples = await until(
      "clock offsets of the round",
      async () => {
        const c = await get<{ samples: { node: string; round: string; offsetMs: number }[] }>(
          s.node,
          "/v1/drift/clock?federation=amp.local/ssid",
        );
        const first = c.samples.filter((x) => x.round === s.finding.round);
        return first.length >= 3 ? first : undefined;
      },
      60_000,
    );
    expect(samples.every((x) => Number.isFinite(x.offsetMs))).to.equal(true);
  });

  it("data inconsistency of one event in twenty (ssid-us-1, after three batches) is an observation naming the first differing leaf", async function () {
    // No honest clock is taken for skewed, however slow the loaded machine answers.
    for (const n of fed!.state.nodes) {
      const snap = await get<{ findings: FindingJson[] }>(n.id, "/v1/drift");
      expect(snap.findings.filter((f) => f.cause === "clock_skew")).to.deep.equal([]);
    }
    for (let i = 0; i < 3; i++) await batch("ssid", 20);
    const d = await findingOn((f) => f.node === "ssid-us-1" && f.cause !== "clock_skew");
    expect(HONEST_SSID.filter((x) => x !== "ssid-us-1")).to.include(d.finding.majorityNode);
    expect(d.finding).to.include({
      cause: "data_inconsistency",
      kind: "observation",
      severity: "medium",
      driftScore: 0.05,
      divergentLeaves: 1,
      batchLeaves: 20,
    });
    expect(d.finding.detail).to.have.property("firstDifferingLeaf", 0);
    expect(d.finding.actions.length).to.be.at.least(3);
  });

  it("an alert is acknowledged and resolved over HTTP with the operator token (401 without it)", async function () {
    // An open alert about ssid-apac-1 on one of the nodes that coordinated its rounds.
    const s = await until("an open alert about ssid-apac-1", async () => {
      for (const n of fed!.state.nodes) {
        const r = await get<{ alerts: AlertJson[] }>(n.id, "/v1/drift/alerts?state=open&node=ssid-apac-1");
        if (r.alerts[0]) return { node: n.id, id: r.alerts[0].id };
      }
      return undefined;
    });
    acked = s.node;
    const url = nodeOf(s.node).url;
    const id = s.id;
    const post = (action: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${url}/v1/drift/alerts/${id}/${action}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      });
    const token = readAdminToken(nodeOf(s.node).dataDir);
    expect((await post("ack", { by: "alice" })).status).to.equal(401);
    expect((await post("ack", { by: "alice" }, adminHeader("00".repeat(32)))).status).to.equal(401);
    const bad = await post("resolve", { by: "alice" }, adminHeader(token));
    expect(bad.status).to.equal(400);
    expect(((await bad.json()) as { message: string }).message).to.match(/field "note" is required/);
    const ack = await post("ack", { by: "alice", note: "looking" }, adminHeader(token));
    expect(ack.status).to.equal(200);
    expect(((await ack.json()) as AlertJson).state).to.equal("acknowledged");
    const res = await amp(
      "alerts",
      "resolve",
      String(id),
      "--node",
      url,
      "--data",
      nodeOf(s.node).dataDir,
      "--by",
      "bob",
      "--note",
      "canonicaliser pinned",
    );
    expect(res.code, res.stderr).to.equal(0);
    const shown = await get<{ alert: AlertJson }>(s.node, `/v1/drift/alerts/${id}`);
    expect(shown.alert.state).to.equal("resolved");
    expect(shown.alert.history.map((h) => `${h.to}/${h.actor}`)).to.deep.equal([
      "open/drift-monitor",
      "acknowledged/alice",
      "resolved/bob",
    ]);
    // The federation dir lists every node's alerts (ids <node>/<id>).
    const all = await amp("alerts", "list", "--data", fed!.data);
    expect(all.code, all.stderr).to.equal(0);
    expect(all.stdout).to.match(new RegExp(`#${s.node}/${id} resolved medium serialization_divergence`));
  });

  it("webhooks queued while the receiver is down are delivered after the node holding them restarts", async function () {
    const pid = fed!.supervisor.pid(acked)!;
    process.kill(pid, "SIGKILL");
    await until("restarted", () => (fed!.supervisor.pid(acked) !== pid ? true : undefined), 120_000);
    receiver = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        received.push({ id: String(req.headers["amp-delivery-id"]), body: JSON.parse(body) as never });
        res.end("ok");
      });
    });
    await new Promise<void>((r) => receiver!.listen(hookPort, "127.0.0.1", r));
    const events = await until(
      "opened, acknowledged and resolved delivered",
      () => {
        const mine = received
          .filter((x) => x.body.alert.cause === "serialization_divergence")
          .map((x) => x.body.event);
        return ["opened", "acknowledged", "resolved"].every((e) => mine.includes(e)) ? mine : undefined;
      },
      180_000,
    );
    expect(events).to.include("opened");
  });
});
