/**
 * Issue 9/13, the consensus README's "halting case": opencore (weights 3334/3333/3333) needs eu-1
 * and one other for > 2/3. eu-1 signed batch A for round 1 and us-1 signed batch B (a split amid
 * kills). Two ways this halted round 1 for good with all three nodes up, each replayed here:
 * 1. eu-1 restarts. It kept A's entries in memory only: every coordinator's prepare skipped A (not
 *    fetchable), re-proposed B, eu-1 refused it and us-1 + apac-1 (6666) never made it final. Now
 *    a validator persists the entries of the batch it signs before its signed state.
 * 2. eu-1 is down for a while. A coordinator that learned only B (us-1) re-proposed it to apac-1,
 *    which signed: B then had 6666, A 3334, and neither could ever reach > 2/3. Now nothing is
 *    proposed until validators of > 2/3 of the weight promised the ballot, and the batch with the
 *    most signed weight is re-proposed.
 * Real HTTP, real signatures, the embedded chain.
 */
import { expect } from "chai";
import { federationEventEncoder } from "../../src/batching/encode";
import { leafHash, rootHash } from "../../src/merkle";
import { listenNodes, ndjson, signRound1, until, type InProcessNodes } from "./helpers";

describe("node: a round two validators signed differently still ends (halting case, issue 9/13)", function () {
  this.timeout(300_000);
  let nodes: InProcessNodes;
  const byId = (id: string) => nodes.services.find((s) => s.node.id === id)!;
  const opencore = () => nodes.services.filter((s) => s.node.name === "opencore");
  let lines: string[];
  let a: Uint8Array[];
  let rootA: Uint8Array;

  beforeEach(async function () {
    process.env.AMP_LOG_LEVEL = "silent";
    nodes = await listenNodes("amp-halting-");
    lines = ndjson(nodes.manifest, "opencore", 0, 6).split("\n");
    const encode = federationEventEncoder();
    const entries = lines.map((l) => encode(JSON.parse(l) as unknown).canonical);
    a = entries.slice(0, 4);
    rootA = rootHash(a.map((e) => leafHash(e)));
    expect((await signRound1(byId("opencore-eu-1"), a)).kind, "eu-1 signs A").to.equal("vote");
    expect((await signRound1(byId("opencore-us-1"), entries.slice(3, 6))).kind, "us-1 signs B").to.equal(
      "vote",
    );
  });

  afterEach(async function () {
    await nodes.close();
    delete process.env.AMP_LOG_LEVEL;
  });

  /** Every event acknowledged by some node (A's by eu-1, B's by apac-1); ssid has work too. */
  function submitAll(): void {
    byId("opencore-eu-1").node.submit(lines.slice(0, 4).join("\n"));
    byId("opencore-apac-1").node.submit(lines.slice(3).join("\n"));
    byId("ssid-us-1").node.submit(ndjson(nodes.manifest, "ssid", 0, 2));
  }

  /** Round 1 is anchored with A on every opencore node, and all six events end up anchored. */
  async function expectRound1IsA(): Promise<void> {
    await until(
      "every opencore node archived round 1 (before the fix: round 1 halted)",
      () => (opencore().every((s) => s.node.lastAnchoredRound() >= 1n) ? true : undefined),
      120_000,
    );
    for (const s of opencore()) {
      expect(s.node.archive.checkpoints("opencore")[0]!.size, s.node.id).to.equal(4n);
      expect(Buffer.from(s.node.archiveLog.rootAt(4n)).equals(Buffer.from(rootA)), s.node.id).to.equal(true);
    }
    await until(
      "every opencore node archived all six events (B's other two in a later round)",
      () => (opencore().every((s) => s.node.archiveLog.size === 6n) ? true : undefined),
      120_000,
    );
    for (const s of opencore()) {
      for (const line of lines) {
        const id = (JSON.parse(line) as { event_id: string }).event_id;
        expect(s.node.archive.getEvent(id), `${s.node.id} archived ${id}`).to.not.equal(undefined);
      }
    }
  }

  it("eu-1 restarts: it still serves A, which is re-proposed and made final with apac-1", async function () {
    // A kill and restart of eu-1's process: everything it held in memory is gone.
    const eu = await nodes.restart("opencore-eu-1");
    expect(eu.node.validator.signedBatch()?.round).to.equal(1n);
    expect(
      eu.node.validator.entries(eu.node.origin, 1n, 0, a.length).map((e) => Buffer.from(e).toString("hex")),
      "the restarted eu-1 still serves the entries of the batch it signed",
    ).to.deep.equal(a.map((e) => Buffer.from(e).toString("hex")));
    submitAll();
    for (const s of nodes.services) await s.start();
    await expectRound1IsA();
  });

  it("eu-1 is down while the others run: apac-1 signs nothing for round 1 until eu-1 is back, then A is final", async function () {
    await nodes.stop("opencore-eu-1");
    byId("opencore-apac-1").node.submit(lines.slice(3).join("\n"));
    byId("ssid-us-1").node.submit(ndjson(nodes.manifest, "ssid", 0, 2));
    const running = nodes.services.filter((s) => s.node.id !== "opencore-eu-1");
    for (const s of running) await s.start();
    const apac = byId("opencore-apac-1").node.validator;
    // Wait for two prepares of round 1 to reach apac-1 (each raises its promised ballot). Before
    // the fix the first one was followed at once by B's re-proposal, which apac-1 signed.
    const first = await until("a coordinator's prepare of round 1 reached apac-1", () =>
      apac.promisedBallot(1n) > 0n ? apac.promisedBallot(1n) : undefined,
    );
    await until("a second prepare of round 1 reached apac-1", () =>
      apac.promisedBallot(1n) > first ? true : undefined,
    );
    expect(apac.lastSigned(), "apac-1 signed nothing while eu-1's state was unknown").to.equal(undefined);
    const eu = await nodes.restart("opencore-eu-1");
    eu.node.submit(lines.slice(0, 4).join("\n"));
    await eu.start();
    await expectRound1IsA();
  });
});
