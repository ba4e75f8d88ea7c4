/**
 * Issue 13, campaign `npm run -s bench -- kills --kills 100 --seed 5216305`: opencore-apac-1 signed
 * a batch for a round that never had a quorum (a split amid kills); another checkpoint of that
 * round was anchored, and apac-1 refused every later vote ("new checkpoint does not extend the last
 * one it signed") for 250+ rounds. Real HTTP, real signatures, the embedded chain (listenNodes).
 */
import { expect } from "chai";
import { listenNodes, ndjson, signRound1, until, type InProcessNodes } from "./helpers";

describe("node: a validator whose signed round lost to the anchored checkpoint votes again (issue 13)", function () {
  this.timeout(240_000);
  let nodes: InProcessNodes;

  before(async function () {
    process.env.AMP_LOG_LEVEL = "silent";
    nodes = await listenNodes("amp-superseded-");
  });

  after(async function () {
    await nodes.close();
    delete process.env.AMP_LOG_LEVEL;
  });

  it("apac-1's batch of round 1 loses; once round 1 is anchored and archived it signs round 2", async function () {
    const { services, manifest } = nodes;
    const byId = (id: string) => services.find((s) => s.node.id === id)!;
    const apac = byId("opencore-apac-1");
    const eu = byId("opencore-eu-1");
    const ssid = byId("ssid-us-1");
    const origin = apac.node.origin;
    // apac-1 signs a batch of its own for round 1 (no quorum ever), then drops its copy of the
    // entries from memory (a signed state written before the batch file existed, after a restart),
    // so no coordinator can re-propose it: another batch wins round 1.
    const lost = [0, 1, 2].map((i) => new Uint8Array(Buffer.from(`lost-${i}`)));
    const v = apac.node.validator;
    const signed = await signRound1(apac, lost);
    expect(signed.kind).to.equal("vote");
    v.receiveBatch({ origin, round: 3n, entries: [] }); // drops its round-1 entries
    expect(v.entries(origin, 1n, 0, 3)).to.deep.equal([]);

    eu.node.submit(ndjson(manifest, "opencore", 0, 4));
    ssid.node.submit(ndjson(manifest, "ssid", 0, 2));
    for (const s of services) await s.start();
    await until("every node archived round 1", () =>
      services.every((s) => s.node.lastAnchoredRound() >= 1n) ? true : undefined,
    );
    const lastSigned = () => apac.node.validator.lastSigned()!;
    expect(lastSigned().round, "apac-1 still holds its losing vote of round 1").to.equal(1n);
    expect(Buffer.from(lastSigned().root).equals(Buffer.from(apac.node.archiveLog.root()))).to.equal(false);
    expect(apac.node.archiveLog.size).to.equal(4n);

    eu.node.submit(ndjson(manifest, "opencore", 4, 3));
    ssid.node.submit(ndjson(manifest, "ssid", 2, 2));
    await until("every node archived round 2", () =>
      services.every((s) => s.node.lastAnchoredRound() >= 2n) ? true : undefined,
    );
    // Before the fix apac-1 answered 500 to every vote request from here on.
    await until("apac-1 signs again", () => (lastSigned().round >= 2n ? true : undefined));
    // It signed the checkpoint anchored for round 2 (on the anchored history, not its lost batch).
    const now = lastSigned();
    expect(now.round).to.equal(2n);
    expect(now.treeSize).to.equal(7n);
    expect(apac.node.archiveLog.size).to.equal(7n);
    expect(Buffer.from(now.root).equals(Buffer.from(apac.node.archiveLog.root()))).to.equal(true);
  });
});
