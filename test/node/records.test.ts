import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { connectEmbedded, type ChainConnection } from "../../src/chain/connect";
import type { DeploymentRecord } from "../../src/chain/deployment";
import type { Manifest } from "../../src/manifest";
import { PENDING_RECORDS_DIR } from "../../src/node/driver";
import type { Roster } from "../../src/node/roster";
import { NodeService, type NodeServiceConfig } from "../../src/node/service";
import type { ProofFile } from "../../src/proof/format";
import { publicClientFor, verifyProof } from "../../src/proof/verify";
import { PeerClient } from "../../src/transport/client";
import { deployForRoster, keysOf, loopbackManifest, ndjson, rosterOf, tmpDir, until } from "./helpers";

/**
 * Issue 9: the anchored-round record (proof material) was built only by the relay and announced
 * only after the anchor transaction. A relay dying in between left no node with that round's
 * record, and (records kept in round order) no node ever stored a later round's record either:
 * every proof answered 503 "archived but not anchored yet" forever.
 */
describe("node: anchored-round records survive a relay that dies right after its anchor transaction", function () {
  this.timeout(240_000);
  let conn: ChainConnection;
  let manifest: Manifest;
  let roster: Roster;
  let record: DeploymentRecord;
  let dir: string;
  const services = new Map<string, NodeService>();
  const client = new PeerClient({ timeoutMs: 5000 });
  let killed: string | undefined;

  async function startNode(id: string, extra: Partial<NodeServiceConfig> = {}): Promise<NodeService> {
    const s = await NodeService.create({
      roster,
      keys: keysOf(id),
      dataDir: path.join(dir, id),
      conn,
      record,
      tickMs: 100,
      // Long enough that no second proposer relays round 1 under load (it would get "already
      // anchored", keep the record and announce it: the lost record this test needs would not be
      // lost). Round 2's first proposer is another node than round 1's, so no takeover is needed.
      takeoverMs: 15_000,
      ...extra,
    });
    await s.listen("127.0.0.1", Number(new URL(roster.node(id).url).port));
    await s.start();
    services.set(id, s);
    return s;
  }

  before(async function () {
    process.env.AMP_LOG_LEVEL = "silent";
    conn = await connectEmbedded();
    manifest = await loopbackManifest();
    roster = rosterOf(manifest);
    record = await deployForRoster(conn, roster);
    dir = tmpDir("amp-node-records-");
    for (const n of roster.nodes) {
      const s: NodeService = await startNode(n.id, {
        // The relay of round 1 "dies" once its transaction is mined: it stops (no further tick,
        // HTTP closed) before it keeps or announces the round's record.
        afterAnchorTx: (round) => {
          if (round !== 1n || killed) return;
          killed = n.id;
          services.delete(n.id);
          void s.close();
          throw new Error("TEST: relay died after its anchor transaction");
        },
      });
    }
  });

  after(async function () {
    for (const s of services.values()) await s.close().catch(() => undefined);
    services.clear();
    delete process.env.AMP_LOG_LEVEL;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const chainNext = () => [...services.values()][0]!.node.cfg.chain.nextRound();
  const ssidNode = (skip?: string) =>
    [...services.values()].find((s) => s.node.name === "ssid" && s.node.id !== skip)!;

  async function proofFrom(s: NodeService, eventId: string): Promise<ProofFile | undefined> {
    try {
      return await client.json<ProofFile>(roster.node(s.node.id).url, {
        method: "GET",
        path: `/v1/proof/${eventId}`,
      });
    } catch {
      return undefined; // 503 "archived but not anchored yet" while the record is missing
    }
  }

  it("a later round's record is kept and served although round 1's record is lost; the relay back completes round 1", async function () {
    const first = ssidNode().node.submit(ndjson(manifest, "ssid", 0, 3))[0]!.eventId;
    await until("round 1 anchored and its relay dead", async () =>
      killed !== undefined && (await chainNext()) >= 2n ? true : undefined,
    );
    const relay = killed!;
    expect(fs.readdirSync(path.join(dir, relay, PENDING_RECORDS_DIR))).to.deep.equal(["1.json"]);

    // Round 2, driven by another proposer (takeover) while the relay of round 1 stays down.
    const second = ssidNode(relay).node.submit(ndjson(manifest, "ssid", 3, 2))[0]!.eventId;
    await until("round 2 anchored", async () => ((await chainNext()) >= 3n ? true : undefined), 120_000);
    const ssidLive = [...services.values()].filter((s) => s.node.name === "ssid");
    const anchor = { anchor: record.contracts.globalProofAnchor };
    for (const s of ssidLive) {
      const p = await until(`${s.node.id} serves the round-2 proof`, () => proofFrom(s, second), 60_000);
      expect((await verifyProof(p, publicClientFor(conn.eip1193), anchor)).round).to.equal(2n);
    }
    // Nobody holds round 1's record; its events are proven by round 2's checkpoint meanwhile.
    for (const s of services.values()) expect(s.node.anchors.get(1n)).to.equal(undefined);
    const viaLater = await until("round-1 event proof", () => proofFrom(ssidLive[0]!, first));
    expect(viaLater.anchor.round).to.equal("2");

    // The relay comes back: it completes its pending record from the chain and announces it. An
    // unreadable draft next to it is left alone (logged) and does not stop that.
    const junk = path.join(dir, relay, PENDING_RECORDS_DIR, "9.json");
    fs.writeFileSync(junk, "{truncated");
    await startNode(relay);
    for (const s of services.values()) {
      await until(`${s.node.id} holds round 1's record`, () => (s.node.anchors.get(1n) ? true : undefined));
      expect(s.node.missingRecordRounds()).to.deep.equal([]);
    }
    await until("the relay's pending record removed", () =>
      fs.existsSync(path.join(dir, relay, PENDING_RECORDS_DIR, "1.json")) ? undefined : true,
    );
    expect(fs.readFileSync(junk, "utf8")).to.equal("{truncated");
    for (const s of [...services.values()].filter((x) => x.node.name === "ssid")) {
      const p = await until(`${s.node.id} serves the round-1 proof`, () => proofFrom(s, first));
      expect(p.anchor.round).to.equal("1");
      expect((await verifyProof(p, publicClientFor(conn.eip1193), anchor)).round).to.equal(1n);
    }
  });
});
