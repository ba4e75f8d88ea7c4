/**
 * `amp node --fault` (src/node/faults.ts): the spec parser refuses bad values with a clear usage
 * error, and a node started with a fault (in-process NodeService harness, the code `amp node`
 * runs) sends Byzantine votes that the round's coordinator records as evidence, while rounds stay
 * final and no honest node ever signs a root other than the final one.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { UsageError } from "../../src/cli/exit";
import { run } from "../../src/cli/main";
import { EvidenceStore, type Evidence, type RoundVotes } from "../../src/consensus/evidence";
import { readJsonLines } from "../../src/consensus/json-lines";
import { parseSignedNote } from "../../src/crypto/note";
import type { Manifest } from "../../src/manifest";
import { FAULT_KINDS, faultArg, faultHelp, faultsFromSpecs, parseFaultSpec } from "../../src/node/faults";
import type { Roster } from "../../src/node/roster";
import { NodeService } from "../../src/node/service";
import { LiveNodes } from "../../src/dashboard/live";
import { readEvidence, type EvidenceAnswer } from "../../src/node/evidence-view";
import { PeerClient, PeerError } from "../../src/transport/client";
import { ndjson, until, listenNodes } from "./helpers";

describe("amp node --fault: parsing", function () {
  it("parses KIND, KIND:R, KIND:R-S and KIND:R,S into rules of this node only", function () {
    expect(parseFaultSpec("wrong-root", "n1")).to.deep.equal({ nodeId: "n1", kind: "wrong-root" });
    expect(parseFaultSpec("equivocation:3", "n1").rounds).to.deep.equal([3n]);
    expect(parseFaultSpec("invalid-signature:3-5", "n1").rounds).to.deep.equal([3n, 4n, 5n]);
    expect(parseFaultSpec("withheld-vote:2,7,2", "n1").rounds).to.deep.equal([2n, 7n]);
    const inj = faultsFromSpecs(["wrong-root:2", "equivocation:4"], "n1")!;
    expect([1n, 2n, 3n, 4n].map((r) => inj.faultFor("n1", r))).to.deep.equal([
      undefined,
      "wrong-root",
      undefined,
      "equivocation",
    ]);
    expect(inj.faultFor("n2", 2n)).to.equal(undefined);
    expect(faultsFromSpecs([], "n1")).to.equal(undefined);
    expect(faultArg("wrong-root", [2n, 3n])).to.equal("wrong-root:2,3");
    for (const k of Object.keys(FAULT_KINDS)) expect(faultHelp()).to.include(k);
  });

  it("refuses an unknown kind, malformed or reversed rounds with a usage error naming the value", function () {
    const cases: [string, RegExp][] = [
      ["lie", /--fault lie: unknown fault "lie"; one of wrong-root, /],
      ["wrong-root:", /--fault wrong-root:: rounds must look like 3, 3-5 or 3,5 \(got ""\)/],
      ["wrong-root:0", /rounds must look like .* \(got "0"\)/],
      ["wrong-root:x", /\(got "x"\)/],
      ["wrong-root:5-3", /--fault wrong-root:5-3: bad round range "5-3"/],
      ["wrong-root:1-9999", /bad round range "1-9999"/],
      ["Wrong-Root", /unknown fault "Wrong-Root"/],
    ];
    for (const [spec, msg] of cases) {
      expect(() => parseFaultSpec(spec, "n1"), spec)
        .to.throw(UsageError)
        .with.property("message")
        .match(msg);
    }
  });
});

describe("amp node --fault: the command line", function () {
  it("a bad --fault is a usage error (exit 2) before any key or chain is touched; --help labels it test-only", async function () {
    let err = "";
    let out = "";
    const io = { writeOut: (s: string) => (out += s), writeErr: (s: string) => (err += s) };
    const common = [
      "node",
      "amp",
      "node",
      "--manifest",
      "m.yaml",
      "--node",
      "ssid-eu-1",
      "--data",
      "d",
      "--keys",
      "k",
    ];
    const code = await run([...common, "--fault", "wrong-root:2", "--fault", "lie:3"], io);
    expect(code).to.equal(2);
    expect(err).to.match(/--fault lie:3: unknown fault "lie"/);
    expect(await run(["node", "amp", "node", "--help"], io)).to.equal(0);
    expect(out).to.match(/--fault <kind\[:rounds\]>\s+TEST\/DEMO ONLY/);
    expect(out).to.match(/equivocation\s+sends two different signed checkpoints/);
  });
});

describe("amp node --fault: a Byzantine node among seven in-process nodes over loopback HTTP", function () {
  this.timeout(180_000);
  const BYZ = "ssid-apac-1";
  let manifest: Manifest;
  let roster: Roster;
  let dir: string;
  let services: NodeService[] = [];
  const client = new PeerClient({ timeoutMs: 5000 });

  before(async function () {
    process.env.AMP_LOG_LEVEL = "silent";
    ({ manifest, roster, dir, services } = await listenNodes("amp-node-faults-", (id) => ({
      takeoverMs: 5000,
      ...(id === BYZ ? { faults: faultsFromSpecs(["wrong-root:1", "equivocation:2"], id)! } : {}),
    })));
    for (const s of services) await s.start();
  });

  after(async function () {
    for (const s of services) await s.close().catch(() => undefined);
    services = [];
    delete process.env.AMP_LOG_LEVEL;
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const submitAndWait = async (round: bigint, from: number) => {
    const ssid = roster.nodes.find((n) => n.id === "ssid-eu-2")!;
    await client.request(ssid.url, {
      method: "POST",
      path: "/v1/events",
      body: ndjson(manifest, "ssid", from, 4),
    });
    await until(`round ${round} archived by every node`, () =>
      services.every((s) => BigInt(s.node.status().lastAnchoredRound) >= round) ? true : undefined,
    );
  };

  it("rounds stay final; the coordinators record the Byzantine node's evidence; honest nodes sign only final roots", async function () {
    await submitAndWait(1n, 0);
    await submitAndWait(2n, 4);
    await submitAndWait(3n, 8); // its rule has ended: an honest round

    const evidence = services.flatMap((s) => {
      const f = path.join(s.ctx.dataDir, "evidence", "evidence.jsonl");
      return fs.existsSync(f) ? readJsonLines<Evidence>(f) : [];
    });
    const marks = evidence.map((e) => `${e.round} ${e.nodeId} ${e.kind}`).sort();
    expect(marks).to.include("1 ssid-apac-1 wrong-root");
    expect(marks).to.include("2 ssid-apac-1 equivocation");
    expect(
      evidence.filter((e) => e.nodeId !== BYZ),
      "evidence against an honest node",
    ).to.deep.equal([]);
    expect(evidence.filter((e) => e.round === "3")).to.deep.equal([]);

    // Every settled round: each honest vote signs exactly the final checkpoint.
    const settled = services.flatMap((s) => {
      const f = path.join(s.ctx.dataDir, "evidence", "votes.jsonl");
      return fs.existsSync(f) ? readJsonLines<RoundVotes>(f) : [];
    });
    const ssidRounds = settled.filter((r) => r.origin === "amp.local/ssid" && r.final !== null);
    expect(ssidRounds.map((r) => r.round).sort()).to.include.members(["1", "2", "3"]);
    let honestVotes = 0;
    for (const r of ssidRounds) {
      for (const v of r.votes.filter((x) => x.nodeId !== BYZ)) {
        expect(parseSignedNote(v.note).body, `${v.nodeId} round ${r.round}`).to.equal(r.final);
        honestVotes++;
      }
    }
    expect(honestVotes).to.be.at.least(9); // three honest ssid nodes, three rounds

    // Every ssid node, the Byzantine one included, archived the anchored log (same root as the chain).
    const chain = services[0]!.node.cfg.chain;
    const anchored = await chain.checkpointOf(3n, "amp.local/ssid");
    for (const s of services.filter((x) => x.node.name === "ssid")) {
      expect(s.node.status().treeSize, s.node.id).to.equal("12");
      expect(s.node.status().rootHash, s.node.id).to.equal(Buffer.from(anchored!.rootHash).toString("hex"));
    }
    // The honest nodes' persisted vote for round 3 is the anchored root.
    for (const s of services.filter((x) => x.node.name === "ssid" && x.node.id !== BYZ)) {
      const last = s.node.validator.lastSigned()!;
      expect(last.round, s.node.id).to.equal(3n);
      expect(Buffer.from(last.root).toString("hex")).to.equal(
        Buffer.from(anchored!.rootHash).toString("hex"),
      );
    }
  });

  const urlOf = (s: NodeService) => roster.nodes.find((n) => n.id === s.node.id)!.url;

  it("GET /v1/evidence serves each node's recorded evidence newest first, bounded; a bad limit is 400 naming it", async function () {
    const answers = await Promise.all(
      services.map((s) => client.json<EvidenceAnswer>(urlOf(s), { method: "GET", path: "/v1/evidence" })),
    );
    for (const [i, a] of answers.entries()) {
      const s = services[i]!;
      const f = path.join(s.ctx.dataDir, "evidence", "evidence.jsonl");
      const stored = fs.existsSync(f) ? readJsonLines<Evidence>(f) : [];
      expect(a.recordedBy).to.equal(s.node.id);
      expect(a.total, s.node.id).to.equal(stored.length);
      // Newest first: the file's order reversed (appended in time order).
      expect(a.evidence.map((e) => `${e.round} ${e.nodeId} ${e.kind}`)).to.deep.equal(
        stored.map((e) => `${e.round} ${e.nodeId} ${e.kind}`).reverse(),
      );
    }
    const all = answers.flatMap((a) => a.evidence.map((e) => `${e.round} ${e.nodeId} ${e.kind}`));
    expect(all).to.include("1 ssid-apac-1 wrong-root");
    expect(all).to.include("2 ssid-apac-1 equivocation");
    const holder = services[answers.findIndex((a) => a.total >= 1)]!;
    const one = await client.json<EvidenceAnswer>(urlOf(holder), {
      method: "GET",
      path: "/v1/evidence?limit=1",
    });
    expect(one.evidence).to.deep.equal(answers[services.indexOf(holder)]!.evidence.slice(0, 1));
    for (const bad of ["0", "abc", "1001", "-1", "1.5"]) {
      const err = await client
        .request(urlOf(holder), { method: "GET", path: `/v1/evidence?limit=${bad}` })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err, bad).to.be.instanceOf(PeerError);
      expect((err as PeerError).status, bad).to.equal(400);
      const body = JSON.parse((err as PeerError).body) as { field: string; message: string };
      expect(body.field).to.equal("limit");
      expect(body.message).to.match(/field "limit" must be an integer in \[1, 1000\]/);
    }
  });

  it("readEvidence: both evidence files merged newest first, cut at the limit, total counted", function () {
    const dir2 = fs.mkdtempSync(path.join(os.tmpdir(), "amp-evidence-view-"));
    try {
      const store = new EvidenceStore(path.join(dir2, "evidence"));
      const base = { origin: "amp.local/ssid", attempt: 0, detail: "d", notes: [], eip712Signatures: [] };
      store.record({ ...base, kind: "wrong-root", round: "1", nodeId: "a" });
      store.record({ ...base, kind: "equivocation", round: "2", nodeId: "b" });
      fs.appendFileSync(
        path.join(dir2, "evidence", "catch-up.jsonl"),
        JSON.stringify({
          kind: "forged-entries",
          nodeId: "c",
          round: "3",
          detail: "x",
          recordedAt: "2999-01-01T00:00:00.000Z",
        }) + "\n",
      );
      const who = { id: "me", name: "ssid", origin: "amp.local/ssid" };
      const two = readEvidence(dir2, who, 2);
      expect(two.total).to.equal(3);
      expect(two.evidence.map((e) => `${e.source} ${e.round} ${e.nodeId}`)).to.deep.equal([
        "catch-up 3 c",
        "coordinator 2 b",
      ]);
      expect(readEvidence(dir2, who, 100).evidence.map((e) => e.round)).to.deep.equal(["3", "2", "1"]);
      expect(readEvidence(path.join(dir2, "none"), who, 5)).to.deep.equal({
        recordedBy: "me",
        federation: "ssid",
        total: 0,
        evidence: [],
      });
    } finally {
      fs.rmSync(dir2, { recursive: true, force: true });
    }
  });

  it("the dashboard's live source merges every node's evidence with who recorded it; what no node serves is — with the reason", async function () {
    const live = new LiveNodes(services.map((s) => ({ url: urlOf(s) })));
    const v = await live.nodesView();
    const marks = v.evidence.map((e) => `${e.round} ${e.nodeId} ${e.kind}`);
    expect(marks).to.include("1 ssid-apac-1 wrong-root");
    expect(marks).to.include("2 ssid-apac-1 equivocation");
    const ids = services.map((s) => s.node.id);
    for (const e of v.evidence) expect(ids).to.include(e.recordedBy);
    const times = v.evidence.map((e) => e.recordedAt);
    expect(times).to.deep.equal([...times].sort().reverse());
    // These nodes run no drift or credits extension: the columns are null and say why.
    expect(v.unavailable.evidence).to.equal(undefined);
    expect(v.unavailable.clock).to.match(/no node serves \/v1\/drift/);
    expect(v.unavailable.credits).to.match(/no node serves \/v1\/credits\/epochs/);
    for (const n of v.live) {
      expect(n.up).to.equal(true);
      expect([n.clockOffsetMs, n.rank, n.governanceWeight]).to.deep.equal([null, null, null]);
    }
  });
});
