import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import type { ChainConnection } from "../../src/chain/connect";
import type { DeploymentRecord } from "../../src/chain/deployment";
import type { Manifest } from "../../src/manifest";
import Fastify from "fastify";
import { FederationNode } from "../../src/node/node";
import { federationEventEncoder } from "../../src/batching/encode";
import { checkConsistency } from "../../src/node/consistency";
import { Coordinator } from "../../src/node/coordinator";
import { buildNodeServer } from "../../src/node/http";
import { leafHash } from "../../src/merkle";
import { NodeService } from "../../src/node/service";
import type { ProofFile } from "../../src/proof/format";
import { publicClientFor, verifyProof } from "../../src/proof/verify";
import type { Roster } from "../../src/node/roster";
import { PeerClient } from "../../src/transport/client";
import { keysOf, ndjson, rosterOf, until, listenNodes } from "./helpers";

describe("node: seven nodes in one process over loopback HTTP, each with only its own keys", function () {
  this.timeout(120_000);
  let conn: ChainConnection;
  let manifest: Manifest;
  let roster: Roster;
  let record: DeploymentRecord;
  let dir: string;
  let services: NodeService[] = [];
  const client = new PeerClient({ timeoutMs: 5000 });

  before(async function () {
    process.env.AMP_LOG_LEVEL = "silent";
    ({ conn, manifest, roster, record, dir, services } = await listenNodes("amp-node-fed-"));
  });

  after(async function () {
    for (const s of services) await s.close().catch(() => undefined);
    services = [];
    delete process.env.AMP_LOG_LEVEL;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const status = (i: number) => services[i]!.node.status();

  it("does not start a round without events (no gas spent idling)", async function () {
    for (const s of services) expect((await s.driver.tick()).kind).to.be.oneOf(["idle", "not-proposer"]);
    expect(await services[0]!.node.cfg.chain.nextRound()).to.equal(1n);
  });

  it("anchors events submitted to different nodes over HTTP; every node archives its federation's log", async function () {
    const ssid = roster.nodes.find((n) => n.id === "ssid-us-1")!;
    const oc = roster.nodes.find((n) => n.id === "opencore-apac-1")!;
    const a = await client.json<{ acknowledged: { eventId: string; leafHash: string; status: string }[] }>(
      ssid.url,
      {
        method: "POST",
        path: "/v1/events",
        body: ndjson(manifest, "ssid", 0, 5),
        contentType: "application/x-ndjson",
      },
    );
    expect(a.acknowledged.map((x) => x.status)).to.deep.equal(Array(5).fill("queued"));
    await client.request(oc.url, {
      method: "POST",
      path: "/v1/events",
      body: ndjson(manifest, "opencore", 0, 3),
      contentType: "application/x-ndjson",
    });
    for (const s of services) await s.start();
    await until("every node archived round 1", () =>
      services.every((s, i) => BigInt(status(i).lastAnchoredRound) >= 1n) ? true : undefined,
    );
    const sizes = services.map((_, i) => [status(i).federation, status(i).treeSize]);
    expect(sizes).to.deep.equal(roster.nodes.map((n) => [n.federation, n.federation === "ssid" ? "5" : "3"]));
    for (const s of services) expect(s.node.inbox.size()).to.equal(0);
    const roots = new Set(
      services.filter((s) => s.node.name === "ssid").map((s) => s.node.status().rootHash),
    );
    expect(roots.size).to.equal(1);
    // A second submission of the same events is recognised as already anchored.
    const again = await client.json<{ acknowledged: { status: string }[] }>(ssid.url, {
      method: "POST",
      path: "/v1/events",
      body: ndjson(manifest, "ssid", 0, 2),
    });
    expect(again.acknowledged.map((x) => x.status)).to.deep.equal(["anchored", "anchored"]);
  });

  it("serves a proof of an anchored event over HTTP that verifies against the chain", async function () {
    const ev = services[1]!.node.archive.eventsInRange("ssid", 2n, 3n)[0]!;
    const proof = await client.json<ProofFile>(roster.nodes[3]!.url, {
      method: "GET",
      path: `/v1/proof/${ev.eventId}`,
    });
    const anchor = { anchor: record.contracts.globalProofAnchor };
    expect((await verifyProof(proof, publicClientFor(conn.eip1193), anchor)).round).to.equal(1n);
  });

  it("a node catching up checks fetched entries against the anchored root first: a forging peer is evidence", async function () {
    const forger = Fastify();
    forger.get("/v1/archive/entries", () => {
      const entries = services[0]!.node.logEntries(0n, 5n).map((e) => Buffer.from(e).toString("base64"));
      entries[2] = Buffer.from('{"forged":true}').toString("base64");
      return { entries };
    });
    const forgerUrl = await forger.listen({ host: "127.0.0.1", port: 0 });
    const m = structuredClone(manifest);
    m.federations[0]!.nodes[0]!.url = forgerUrl; // ssid-eu-1 now forges
    const fresh = new FederationNode({
      roster: rosterOf(m),
      keys: keysOf("ssid-eu-2"),
      dataDir: path.join(dir, "fresh-ssid-eu-2"),
      domain: services[0]!.node.cfg.domain,
      chain: services[0]!.node.cfg.chain,
    });
    try {
      await fresh.catchUp();
      expect(fresh.archiveLog.size).to.equal(5n);
      expect(fresh.status().rootHash).to.equal(services[0]!.node.status().rootHash);
      const evidence = fs.readFileSync(
        path.join(dir, "fresh-ssid-eu-2", "evidence", "catch-up.jsonl"),
        "utf8",
      );
      expect(evidence).to.match(/"kind":"forged-entries","nodeId":"ssid-eu-1"/);
    } finally {
      fresh.close();
      await forger.close();
    }
  });

  it("catch-up uses the batch the node sealed as coordinator when no validator copy or peer has it (kill campaign)", async function () {
    const first = services[0]!.node.archive.checkpoints(services[0]!.node.name)[0]!;
    const m = structuredClone(manifest);
    for (const n of m.federations[0]!.nodes) n.url = "http://127.0.0.1:9"; // every peer unreachable
    const data = path.join(dir, "sealed-only-ssid-eu-2");
    fs.mkdirSync(data, { recursive: true });
    const sealed = services[0]!.node.logEntries(0n, first.size).map((e) => Buffer.from(e).toString("base64"));
    fs.writeFileSync(
      path.join(data, "sealed-proposal.json"),
      JSON.stringify({ round: first.round.toString(), baseSize: "0", entries: sealed }),
    );
    const fresh = new FederationNode({
      roster: rosterOf(m),
      keys: keysOf("ssid-eu-2"),
      dataDir: data,
      domain: services[0]!.node.cfg.domain,
      chain: services[0]!.node.cfg.chain,
    });
    try {
      await fresh.catchUp().catch(() => undefined); // later rounds: no peer to fetch from
      expect(fresh.archiveLog.size).to.equal(first.size);
      expect(fresh.lastAnchoredRound()).to.equal(first.round);
    } finally {
      fresh.close();
    }
  });

  it("checkConsistency: all nodes consistent with the anchored roots; a diverging node is named with its first differing index", async function () {
    const chain = services[0]!.node.cfg.chain;
    const anchoredOf = async (origin: string) => {
      const cp = await chain.checkpointOf(1n, origin);
      return { size: cp!.treeSize, root: cp!.rootHash };
    };
    const good = await checkConsistency(
      roster.nodes.map((n) => n.url),
      anchoredOf,
    );
    expect(good.ok).to.equal(true);
    expect(good.nodes.every((n) => n.ok)).to.equal(true);

    // A node whose log holds another event at index 3 (same size).
    const bad = new FederationNode({
      roster,
      keys: keysOf("ssid-eu-2"),
      dataDir: path.join(dir, "diverging"),
      domain: services[0]!.node.cfg.domain,
      chain,
    });
    const entries = services[0]!.node.logEntries(0n, 5n);
    const forged = ndjson(manifest, "ssid", 500, 1).trim();
    const other = [...entries.slice(0, 3), encodeCanonical(forged), entries[4]!];
    bad.archive.insertEvents(
      "ssid",
      other.map((e, i) => ({ seq: BigInt(i), eventId: `id-${i}`, canonical: e, leafHash: leafHash(e) })),
    );
    bad.archiveLog.append(other.map((e) => leafHash(e)));
    const app = buildNodeServer(bad, new Coordinator(bad));
    const badUrl = await app.listen({ host: "127.0.0.1", port: 0 });
    try {
      const r = await checkConsistency([roster.nodes[0]!.url, badUrl], anchoredOf);
      expect(r.ok).to.equal(false);
      expect(r.nodes.find((n) => n.url === badUrl)).to.include({
        ok: false,
        problem: "not a consistent extension of the anchored root",
      });
      expect(r.divergences).to.deep.equal([
        { federation: "ssid", size: "5", nodes: ["ssid-eu-1", "ssid-eu-2"], firstDifferingIndex: "3" },
      ]);
    } finally {
      await app.close();
      bad.close();
    }
  });
  it("over rounds with rotating coordinators: reference logs are extended, not rebuilt; batch numbers are the anchored rounds; /v1/stats measures", async function () {
    const chain = services[0]!.node.cfg.chain;
    const submit = async (nodeIndex: number, fed: string, from: number, n: number) =>
      client.request(roster.nodes[nodeIndex]!.url, {
        method: "POST",
        path: "/v1/events",
        body: ndjson(manifest, fed, from, n, "rounds-test"),
      });
    const anchoredAll = async (round: bigint) =>
      (await chain.nextRound()) > round &&
      services.every((s) => s.node.lastAnchoredRound() >= round && s.node.inbox.size() === 0);
    // Three more rounds; in the second only ssid has events (opencore's batch is empty).
    for (const [k, feds] of [["ssid", "opencore"], ["ssid"], ["ssid", "opencore"]].entries()) {
      const next = await chain.nextRound();
      for (const fed of feds) await submit(fed === "ssid" ? k : 4 + k, fed, 100 + 10 * k, 3);
      await until(`round ${next} anchored and archived everywhere`, async () =>
        (await anchoredAll(next)) ? true : undefined,
      );
    }
    // Logs never diverged: every coordinator built its reference log from the archive at most once.
    expect(services.map((s) => s.coordinator.rebuilds).every((n) => n <= 1)).to.equal(true);
    for (const s of services) {
      const cps = s.node.archive.checkpoints(s.node.name);
      const grew = cps.filter((c, i) => c.size > (i === 0 ? 0n : cps[i - 1]!.size));
      const batches = s.node.archive.batches(s.node.name);
      // One number: each archive batch is numbered by the round whose anchored checkpoint sealed it.
      expect(batches.map((b) => [b.batchNo, b.endSeq])).to.deep.equal(grew.map((c) => [c.round, c.size]));
      if (s.node.name === "opencore") expect(grew.length).to.be.lessThan(cps.length); // an empty round: no batch row
    }
    const last = (await chain.nextRound()) - 1n;
    type Stats = {
      federation: string;
      wire: { federation: string; sentBytes: number; receivedBytes: number; requests: number }[];
      final: { round: string; federation: string; treeSize: string }[];
      anchored: { round: string; sizes: Record<string, string> }[];
    };
    const fetchStats = () =>
      Promise.all(roster.nodes.map((n) => client.json<Stats>(n.url, { method: "GET", path: "/v1/stats" })));
    // The relay records the round once its own catch-up and announcement are over.
    const stats = await until("the relay's record of the last round", async () => {
      const all = await fetchStats();
      return all.some((st) => st.anchored.some((r) => r.round === last.toString())) ? all : undefined;
    });
    const across = stats.flatMap((st) => st.wire.filter((w) => w.federation !== st.federation));
    expect(across.length).to.be.greaterThan(0);
    expect(across.every((w) => w.requests > 0 && w.sentBytes > 0)).to.equal(true);
    const anchored = stats.flatMap((st) => st.anchored).find((r) => r.round === last.toString());
    expect(anchored?.sizes).to.deep.equal({
      ssid: services[0]!.node.status().treeSize,
      opencore: services[4]!.node.status().treeSize,
    });
    // Each federation's round was final (a retried round may be final more than once: same QC).
    const finals = stats.flatMap((st) => st.final).filter((r) => r.round === last.toString());
    expect([...new Set(finals.map((r) => r.federation))].sort()).to.deep.equal(["opencore", "ssid"]);
  });

  it("rotates proposers round-robin over the manifest; a dead proposer is replaced after the takeover time", async function () {
    const d = services[0]!.driver;
    expect([
      d.proposerOf(1n, 0),
      d.proposerOf(1n, 1),
      d.proposerOf(2n, 0),
      d.proposerOf(8n, 0),
    ]).to.deep.equal(["ssid-eu-1", "ssid-us-1", "ssid-us-1", "ssid-eu-1"]);
    const chain = services[0]!.node.cfg.chain;
    // Stopping one of opencore's three equal-weight nodes would leave exactly 2/3 (no quorum): run
    // rounds until the next round's first proposer is an ssid node (four nodes: 3/4 > 2/3 stays).
    for (let k = 0; roster.federationOf(d.proposerOf(await chain.nextRound(), 0)).name !== "ssid"; k++) {
      const before = await chain.nextRound();
      await client.request(roster.nodes[0]!.url, {
        method: "POST",
        path: "/v1/events",
        body: ndjson(manifest, "ssid", 900 + k, 1),
      });
      await until(`round ${before} anchored`, async () =>
        (await chain.nextRound()) > before ? true : undefined,
      );
    }
    const next = await chain.nextRound();
    const dead = services.findIndex((s) => s.node.id === d.proposerOf(next, 0));
    await services[dead]!.close(); // the round's first proposer is gone
    const alive = services.filter((_, i) => i !== dead);
    const target = alive.find((s) => s.node.name === "opencore")!;
    const expected = String(Number(target.node.status().treeSize) + 2);
    await client.request(roster.node(target.node.id).url, {
      method: "POST",
      path: "/v1/events",
      body: ndjson(manifest, "opencore", 50, 2),
    });
    await until("the next proposer anchored the round", async () =>
      (await services[0]!.node.cfg.chain.nextRound()) > next ? true : undefined,
    );
    await until("opencore archived it", () =>
      target.node.status().treeSize === expected ? true : undefined,
    );
  });
});

function encodeCanonical(json: string): Uint8Array {
  return federationEventEncoder()(JSON.parse(json)).canonical;
}
