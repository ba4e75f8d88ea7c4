import path from "node:path";
import { expect } from "chai";
import { encodeAnnouncement, encodeRecord, noteKeysOf } from "../../src/node/anchored-record";
import { NodeService } from "../../src/node/service";
import { keysOf, listenNodes, ndjson, until, type InProcessNodes } from "./helpers";

/**
 * Issue 9 (bench): the relay's announcement of an anchored round (`POST /v1/round/anchored`) left
 * out the checkpoints' `noteKeys` (every manifest node's ML-DSA public key, ~37 KB of a ~93 KB
 * record). Receivers keep the keys of their OWN roster, never a sender's, and still keep a record
 * only when it matches the chain.
 */
describe("node: compact round announcements, note keys from the receiver's roster", function () {
  this.timeout(240_000);
  let fed: InProcessNodes;
  let fresh: NodeService | undefined;

  before(async function () {
    process.env.AMP_LOG_LEVEL = "silent";
    fed = await listenNodes("amp-node-announce-");
    for (const s of fed.services) await s.start();
    const ssid = fed.services.find((s) => s.node.name === "ssid")!;
    ssid.node.submit(ndjson(fed.manifest, "ssid", 0, 5, "announce-test"));
    await until(
      "round 1 anchored and its record held by every node",
      () => fed.services.every((s) => s.node.anchors.get(1n) !== undefined),
      120_000,
    );
  });

  after(async function () {
    await fresh?.close().catch(() => undefined);
    await fed.close();
    delete process.env.AMP_LOG_LEVEL;
  });

  it("every node keeps the same record with its roster's note keys; the announcement carries none", () => {
    const keys = noteKeysOf(fed.roster);
    const records = fed.services.map((s) => s.node.anchors.get(1n)!);
    for (const r of records) {
      expect(r.checkpoints).to.have.length(2);
      for (const c of r.checkpoints) {
        expect(c.noteKeys).to.deep.equal(keys);
        expect(c.signedNote).to.match(/— /); // the cosigned note itself is kept
      }
      expect(encodeRecord(r)).to.deep.equal(encodeRecord(records[0]!));
    }
    const wire = JSON.stringify(encodeAnnouncement(records[0]!));
    expect(wire).not.to.include("noteKeys");
    expect(wire).not.to.include(keys[0]!.publicKey);
    expect(wire.length).to.be.below(0.7 * JSON.stringify(encodeRecord(records[0]!)).length);
  });

  it("a node keeps an announced record only when it matches the chain, and never the sender's keys", async () => {
    // A second instance of ssid-eu-1 with an empty data dir: it holds no record yet (not started;
    // HTTP through inject).
    const id = "ssid-eu-1";
    fresh = await NodeService.create({
      roster: fed.roster,
      keys: keysOf(id),
      dataDir: path.join(fed.dir, "fresh-" + id),
      conn: fed.conn,
      record: fed.record,
    });
    const held = fed.services[0]!.node.anchors.get(1n)!;
    const post = async (body: unknown) => {
      const res = await fresh!.app.inject({
        method: "POST",
        url: "/v1/round/anchored",
        payload: body as object,
      });
      expect(res.statusCode, res.body).to.equal(200);
      return res.json<{ stored: boolean }>().stored;
    };

    // A root the chain does not hold: refused, nothing stored.
    const copy = <T>(o: T): T => JSON.parse(JSON.stringify(o)) as T;
    const wrong = copy(encodeAnnouncement(held)) as { checkpoints: { rootHash: string }[] };
    wrong.checkpoints[0]!.rootHash = "0x" + "ab".repeat(32);
    expect(await post(wrong)).to.equal(false);
    expect(fresh.node.anchors.get(1n)).to.equal(undefined);

    // A full record with forged note keys: kept (it matches the chain), with the roster's keys.
    const forged = copy(encodeRecord(held)) as {
      checkpoints: { noteKeys: { keyName: string; publicKey: string }[] }[];
    };
    for (const c of forged.checkpoints) {
      c.noteKeys = c.noteKeys.map((k) => ({
        keyName: k.keyName,
        publicKey: Buffer.alloc(1952, 7).toString("base64"),
      }));
    }
    expect(await post(forged)).to.equal(true);
    const kept = fresh.node.anchors.get(1n)!;
    for (const c of kept.checkpoints) expect(c.noteKeys).to.deep.equal(noteKeysOf(fed.roster));
    expect(encodeRecord(kept)).to.deep.equal(encodeRecord(held));
  });
});
