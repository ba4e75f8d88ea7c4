/**
 * `GET /v1/participation` (src/node/participation.ts) on seven in-process nodes over loopback HTTP,
 * one of them Byzantine: each node serves the counters it recorded as a coordinator, exactly as in
 * its `evidence/node-counters.json`, valid against the published schema; the dashboard's live
 * source sums them per node for the Nodes page. A counters file that is not counters is refused
 * naming the file and the field.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Ajv from "ajv";
import { expect } from "chai";
import type { NodeCounters } from "../../src/consensus/evidence";
import { LiveNodes } from "../../src/dashboard/live";
import type { Manifest } from "../../src/manifest";
import { faultsFromSpecs } from "../../src/node/faults";
import {
  MAX_PARTICIPATION_NODES,
  PARTICIPATION_SCHEMA,
  ParticipationFileError,
  readParticipation,
  type ParticipationAnswer,
} from "../../src/node/participation";
import type { Roster } from "../../src/node/roster";
import type { NodeService } from "../../src/node/service";
import { PeerClient } from "../../src/transport/client";
import { listenNodes, ndjson, until } from "./helpers";

const validate = new Ajv({ strict: true }).compile(PARTICIPATION_SCHEMA);

describe("GET /v1/participation: the coordinators' participation counters, seven in-process nodes", function () {
  this.timeout(180_000);
  const BYZ = "ssid-apac-1";
  let manifest: Manifest;
  let roster: Roster;
  let dir: string;
  let services: NodeService[] = [];
  const client = new PeerClient({ timeoutMs: 5000 });
  const urlOf = (s: NodeService) => roster.nodes.find((n) => n.id === s.node.id)!.url;
  const fileOf = (s: NodeService) =>
    JSON.parse(fs.readFileSync(path.join(s.ctx.dataDir, "evidence", "node-counters.json"), "utf8")) as Record<
      string,
      NodeCounters
    >;

  before(async function () {
    process.env.AMP_LOG_LEVEL = "silent";
    ({ manifest, roster, dir, services } = await listenNodes("amp-node-participation-", (id) => ({
      takeoverMs: 5000,
      ...(id === BYZ ? { faults: faultsFromSpecs(["wrong-root:1"], id)! } : {}),
    })));
    for (const s of services) await s.start();
    const ssid = roster.nodes.find((n) => n.id === "ssid-eu-2")!;
    for (const [round, from] of [
      [1n, 0],
      [2n, 4],
    ] as const) {
      await client.request(ssid.url, {
        method: "POST",
        path: "/v1/events",
        body: ndjson(manifest, "ssid", from, 4),
      });
      await until(`round ${round} archived by every node`, () =>
        services.every((s) => BigInt(s.node.status().lastAnchoredRound) >= round) ? true : undefined,
      );
    }
  });

  after(async function () {
    for (const s of services) await s.close().catch(() => undefined);
    services = [];
    delete process.env.AMP_LOG_LEVEL;
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("each node serves the counters of its node-counters.json for its federation, valid against the schema", async function () {
    let coordinators = 0;
    for (const s of services) {
      const a = await client.json<ParticipationAnswer>(urlOf(s), {
        method: "GET",
        path: "/v1/participation",
      });
      expect(validate(a), JSON.stringify(validate.errors)).to.equal(true);
      expect([a.recordedBy, a.federation, a.origin]).to.deep.equal([s.node.id, s.node.name, s.node.origin]);
      const file = path.join(s.ctx.dataDir, "evidence", "node-counters.json");
      if (!fs.existsSync(file)) {
        expect(a.nodes, s.node.id).to.deep.equal([]);
        continue;
      }
      coordinators++;
      const stored = Object.entries(fileOf(s))
        .filter(([k]) => k.startsWith(`${s.node.origin}/`))
        .map(([k, c]) => ({ node: k.split("/").pop()!, ...c }))
        .sort((x, y) => x.node.localeCompare(y.node));
      expect(a.nodes, s.node.id).to.deep.equal(stored);
      const members = roster.nodes.filter((n) => n.origin === s.node.origin).map((n) => n.id);
      for (const r of a.nodes) expect(members, s.node.id).to.include(r.node);
    }
    expect(coordinators, "nodes that coordinated a round").to.be.greaterThan(0);
  });

  it("the dashboard's live source sums every coordinator's counters per node: the Byzantine node's wrong root shows", async function () {
    const live = new LiveNodes(services.map((s) => ({ url: urlOf(s) })));
    const v = await live.nodesView();
    expect(v.unavailable.participation).to.equal(undefined);
    const expected = new Map<string, NodeCounters>();
    for (const s of services) {
      if (!fs.existsSync(path.join(s.ctx.dataDir, "evidence", "node-counters.json"))) continue;
      for (const [k, c] of Object.entries(fileOf(s))) {
        const t = expected.get(k) ?? {
          roundsExpected: 0,
          roundsParticipated: 0,
          votesCast: 0,
          correctVotes: 0,
          faults: {},
        };
        t.roundsExpected += c.roundsExpected;
        t.roundsParticipated += c.roundsParticipated;
        t.votesCast += c.votesCast;
        t.correctVotes += c.correctVotes;
        for (const [f, n] of Object.entries(c.faults) as [keyof NodeCounters["faults"], number][])
          t.faults[f] = (t.faults[f] ?? 0) + n;
        expected.set(k, t);
      }
    }
    const shown = new Map(
      v.nodes.map((n) => [
        `${n.federation}/${n.node}`,
        {
          roundsExpected: n.roundsExpected,
          roundsParticipated: n.roundsParticipated,
          votesCast: n.votesCast,
          correctVotes: n.correctVotes,
          faults: n.faults,
        },
      ]),
    );
    expect(Object.fromEntries(shown)).to.deep.equal(Object.fromEntries(expected));
    const byz = shown.get(`amp.local/ssid/${BYZ}`)!;
    expect(byz.faults["wrong-root"]).to.be.greaterThan(0);
    expect(byz.correctVotes).to.be.lessThan(byz.votesCast);
    expect(shown.get("amp.local/ssid/ssid-eu-1")!.roundsExpected).to.be.at.least(2);
  });

  it("a node whose counters file is corrupt answers 500 naming the file; nothing is changed", async function () {
    const s = services.find((x) =>
      fs.existsSync(path.join(x.ctx.dataDir, "evidence", "node-counters.json")),
    )!;
    const file = path.join(s.ctx.dataDir, "evidence", "node-counters.json");
    const before = fs.readFileSync(file, "utf8");
    fs.writeFileSync(file, "{");
    try {
      const res = await fetch(`${urlOf(s)}/v1/participation`);
      expect(res.status).to.equal(500);
      const body = (await res.json()) as { error: string; message: string };
      expect(body.error).to.equal("ParticipationFileError");
      expect(body.message).to.equal(`${file}: not JSON`);
      expect(fs.readFileSync(file, "utf8")).to.equal("{");
    } finally {
      fs.writeFileSync(file, before);
    }
  });
});

describe("readParticipation: a counters file that is not counters", function () {
  const who = { id: "ssid-eu-1", name: "ssid", origin: "amp.local/ssid" };
  let dir: string;
  const write = (v: string) => {
    fs.mkdirSync(path.join(dir, "evidence"), { recursive: true });
    fs.writeFileSync(path.join(dir, "evidence", "node-counters.json"), v);
  };
  const ok = {
    roundsExpected: 2,
    roundsParticipated: 2,
    votesCast: 2,
    correctVotes: 1,
    faults: { "wrong-root": 1 },
  };
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-participation-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("absent: no rows; other federations' keys are left out; sorted and bounded", function () {
    expect(readParticipation(dir, who)).to.deep.equal({
      ...{ recordedBy: "ssid-eu-1", federation: "ssid" },
      origin: "amp.local/ssid",
      nodes: [],
    });
    const many = Object.fromEntries(
      Array.from({ length: MAX_PARTICIPATION_NODES + 5 }, (_, i) => [
        `amp.local/ssid/n-${String(i).padStart(3, "0")}`,
        ok,
      ]),
    );
    write(JSON.stringify({ ...many, "amp.local/opencore/opencore-eu-1": ok }));
    const a = readParticipation(dir, who);
    expect(a.nodes.length).to.equal(MAX_PARTICIPATION_NODES);
    expect(a.nodes[0]).to.deep.equal({ node: "n-000", ...ok });
    expect(a.nodes.some((n) => n.node.startsWith("opencore"))).to.equal(false);
    expect(validate(a)).to.equal(true);
  });

  for (const [what, text, message] of [
    ["not JSON", "{", /node-counters\.json: not JSON$/],
    ["an array", "[]", /node-counters\.json: not a JSON object$/],
    ["a row that is not an object", '{"amp.local/ssid/a":5}', /: a: not an object$/],
    [
      "a negative count",
      JSON.stringify({ "amp.local/ssid/a": { ...ok, votesCast: -1 } }),
      /: a: field "votesCast" is not a count$/,
    ],
    [
      "a missing count",
      JSON.stringify({ "amp.local/ssid/a": { ...ok, correctVotes: undefined } }),
      /field "correctVotes"/,
    ],
    [
      "an unknown fault kind",
      JSON.stringify({ "amp.local/ssid/a": { ...ok, faults: { bribery: 1 } } }),
      /field "faults\.bribery"/,
    ],
    [
      "a fractional fault count",
      JSON.stringify({ "amp.local/ssid/a": { ...ok, faults: { "wrong-root": 0.5 } } }),
      /field "faults\.wrong-root"/,
    ],
  ] as const) {
    it(`is refused naming the file and the problem: ${what}; the file is unchanged`, function () {
      write(text);
      const err = (() => {
        try {
          readParticipation(dir, who);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).to.be.instanceOf(ParticipationFileError);
      expect((err as Error).message).to.include(path.join(dir, "evidence", "node-counters.json"));
      expect((err as Error).message).to.match(message);
      expect(fs.readFileSync(path.join(dir, "evidence", "node-counters.json"), "utf8")).to.equal(text);
    });
  }
});
