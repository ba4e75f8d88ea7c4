/**
 * Issue 13, "A 3-validator federation stalled for good": two coordinators of the same round, each
 * told "nothing signed" by every validator, proposed two different fresh batches; opencore (three
 * equal validators, quorum needs every vote) split its votes and the round could never become
 * final. Prepare/promise with ballots closes the race. Real HTTP, real signatures (listenNodes).
 */
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { Wallet } from "ethers";
import type { VoteRequest } from "../../src/consensus/types";
import { FederationLog } from "../../src/log";
import { Coordinator, type FederationRoundOutcome } from "../../src/node/coordinator";
import { leafHash, rootHash } from "../../src/merkle";
import { PeerClient, PeerError } from "../../src/transport/client";
import { SIGNATURE_HEADER, encodeBatch, signBody } from "../../src/transport/wire";
import { listenNodes, ndjson, type InProcessNodes } from "./helpers";

describe("node layout: prepare/promise ballots (issue 13)", function () {
  this.timeout(120_000);
  let nodes: InProcessNodes;
  const client = new PeerClient();

  before(async function () {
    process.env.AMP_LOG_LEVEL = "silent";
    nodes = await listenNodes("amp-ballot-");
  });

  after(async function () {
    await nodes.close();
    delete process.env.AMP_LOG_LEVEL;
  });

  const opencore = () => nodes.services.filter((s) => s.node.name === "opencore");
  const batchOf = (tag: string) => [0, 1, 2].map((i) => new Uint8Array(Buffer.from(`${tag}-${i}`)));

  function voteRequest(entries: Uint8Array[], round: bigint, ballot: bigint): VoteRequest {
    const fed = opencore()[0]!.node.federation.config;
    return {
      origin: fed.origin,
      epoch: fed.epoch,
      round,
      baseSize: 0n,
      baseRoot: new FederationLog(fed.origin).root(),
      batchSize: entries.length,
      batchRoot: rootHash(entries.map((e) => leafHash(e))),
      attempt: 1,
      peers: [],
      ballot,
    };
  }

  it("two coordinators racing with fresh batches: the lower ballot's vote is refused naming the promise; the higher batch gets every vote", async function () {
    const [v0, v1, v2] = opencore();
    const A = v0!.node.transport; // coordinator A (opencore node 1), ballot a
    const B = v1!.node.transport; // coordinator B (opencore node 2, a takeover), ballot b > a
    const ids = [v0!, v1!, v2!].map((s) => s.node.id);
    const origin = v0!.node.origin;
    const round = 1n;
    const a = 1_000_000n;
    const b = 1_000_001n;
    // A prepares: every validator promises a, nothing signed.
    for (const id of ids) {
      const p = await A.promise(id, { origin, round, ballot: a });
      expect(p).to.deep.equal({ promised: true, ballot: a.toString(), signed: {} });
    }
    // B prepares: every validator promises b, still nothing signed.
    for (const id of ids) {
      const p = await B.promise(id, { origin, round, ballot: b });
      expect(p).to.deep.equal({ promised: true, ballot: b.toString(), signed: {} });
    }
    // A proposes fresh batch X to the first validator: refused (without ballots it was signed, and
    // B's batch below then could get only two of three votes: the split that stalled opencore).
    const x = batchOf("x");
    await A.deliverBatch(ids[0]!, { origin, round, entries: x, ballot: a });
    const refusedX = await A.requestVote(ids[0]!, voteRequest(x, round, a));
    expect(refusedX.kind).to.equal("refused");
    expect(refusedX.kind === "refused" && refusedX.reason).to.match(
      new RegExp(`ballot ${a} is below the promised ballot ${b}`),
    );
    // B proposes fresh batch Y: every validator signs it (full weight, the round can be final).
    const y = batchOf("y");
    for (const id of ids) await B.deliverBatch(id, { origin, round, entries: y, ballot: b });
    const votes = await Promise.all(ids.map((id) => B.requestVote(id, voteRequest(y, round, b))));
    expect(votes.map((v) => v.kind)).to.deep.equal(["vote", "vote", "vote"]);
    const yRoot = Buffer.from(rootHash(y.map((e) => leafHash(e)))).toString("hex");
    for (const s of [v0!, v1!, v2!]) {
      expect(Buffer.from(s.node.validator.signedBatch()!.batchRoot).toString("hex")).to.equal(yRoot);
    }
    // A retries X on the others: refused, never a second batch signed.
    for (const id of ids.slice(1)) {
      const r = await A.requestVote(id, voteRequest(x, round, a));
      expect(r.kind === "refused" && r.reason).to.match(/below the promised ballot 1000001/);
    }
    // A's batch delivery is refused over HTTP too (422, the promised ballot named).
    const body = JSON.stringify(encodeBatch({ origin, round, entries: x, ballot: a }));
    const err = await client
      .request(nodes.roster.node(ids[2]!).url, {
        method: "POST",
        path: "/v1/validator/batch",
        body,
        headers: { [SIGNATURE_HEADER]: signBody(ids[0]!, v0!.node.cfg.keys.wallet, body) },
        tries: 1,
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).to.be.instanceOf(PeerError);
    expect((err as PeerError).status).to.equal(422);
    expect((err as PeerError).body).to.match(/"promisedBallot":"1000001"/);
    // A prepares again (a stale ballot): not promised, and told the promise and Y (to re-propose Y).
    const again = await A.promise(ids[2]!, { origin, round, ballot: a });
    expect(again?.promised).to.equal(false);
    expect(again?.ballot).to.equal(b.toString());
    expect(again?.signed.batchRoot).to.equal(yRoot);
  });

  it("a forged or unauthenticated promise request is refused (403), a malformed one (400); neither stores anything", async function () {
    const target = opencore()[2]!;
    const url = nodes.roster.node(target.node.id).url;
    const member = opencore()[0]!;
    const stranger = nodes.services.find((s) => s.node.name !== "opencore")!;
    const round = 7n;
    const body = JSON.stringify({ origin: target.node.origin, round: "7", ballot: "99" });
    const post = (b: string, header?: string) =>
      client
        .request(url, {
          method: "POST",
          path: "/v1/validator/promise",
          body: b,
          tries: 1,
          ...(header !== undefined ? { headers: { [SIGNATURE_HEADER]: header } } : {}),
        })
        .then(
          () => undefined,
          (e: unknown) => e as PeerError,
        );
    const cases: [string, string, string | undefined, number][] = [
      ["no signature", body, undefined, 403],
      [
        "signed by a node of another federation",
        body,
        signBody(stranger.node.id, stranger.node.cfg.keys.wallet, body),
        403,
      ],
      [
        "a member's name, another key",
        body,
        signBody(member.node.id, new Wallet(Wallet.createRandom().privateKey), body),
        403,
      ],
      [
        "signature over another body",
        body,
        signBody(member.node.id, member.node.cfg.keys.wallet, body.replace('"99"', '"98"')),
        403,
      ],
    ];
    const bad = JSON.stringify({ origin: target.node.origin, round: "7", ballot: "-1" });
    cases.push([
      "signed, ballot not a uint",
      bad,
      signBody(member.node.id, member.node.cfg.keys.wallet, bad),
      400,
    ]);
    const signedBy = (b: string) => signBody(member.node.id, member.node.cfg.keys.wallet, b);
    const noBallot = JSON.stringify({ origin: target.node.origin, round: "7" });
    cases.push(["signed, no ballot", noBallot, signedBy(noBallot), 400]);
    const foreign = JSON.stringify({ origin: stranger.node.origin, round: "7", ballot: "99" });
    cases.push(["signed, another federation's origin", foreign, signedBy(foreign), 400]);
    for (const [what, b, header, status] of cases) {
      const e = await post(b, header);
      expect(e, what).to.be.instanceOf(PeerError);
      expect(e!.status, what).to.equal(status);
    }
    expect(target.node.validator.promisedBallot(round)).to.equal(0n);
    const file = path.join(
      nodes.dir,
      target.node.id,
      "validator",
      `${target.node.id}.validator-promises.json`,
    );
    const held = (): Record<string, string> =>
      fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, string>) : {};
    expect(held()["7"]).to.equal(undefined);
    // The same request, signed by a member, is promised and persisted before the answer.
    expect(await post(body, signBody(member.node.id, member.node.cfg.keys.wallet, body))).to.equal(undefined);
    expect(target.node.validator.promisedBallot(round)).to.equal(99n);
    expect(held()["7"]).to.equal("99");
  });
});

describe("node layout: two Coordinators race for one opencore round (issue 13)", function () {
  this.timeout(180_000);
  let nodes: InProcessNodes;

  before(async function () {
    process.env.AMP_LOG_LEVEL = "silent";
    nodes = await listenNodes("amp-ballot-race-");
  });

  after(async function () {
    await nodes.close();
    delete process.env.AMP_LOG_LEVEL;
  });

  it("driven concurrently with different fresh batches, one batch becomes final and the loser re-proposes it", async function () {
    const oc = nodes.services.filter((s) => s.node.name === "opencore");
    oc[0]!.node.submit(ndjson(nodes.manifest, "opencore", 0, 6, "ballot-race"));
    // Different batch limits: A and B seal different fresh batches from the same pending events.
    const A = new Coordinator(oc[0]!.node, 2);
    const B = new Coordinator(oc[1]!.node, 5);
    const settled = await Promise.allSettled([A.run(1n), B.run(1n)]);
    const final = settled.filter(
      (r): r is PromiseFulfilledResult<FederationRoundOutcome> => r.status === "fulfilled",
    );
    for (const r of settled) {
      if (r.status === "rejected") expect((r.reason as Error).message).to.match(/opencore|ballot|round 1/);
    }
    expect(final.length, "at least one coordinator's batch is final").to.be.greaterThan(0);
    const roots = new Set(final.map((r) => Buffer.from(r.value.rootHash).toString("hex")));
    expect(roots.size).to.equal(1);
    // Every validator signed the same batch: no split.
    const signed = new Set(
      oc.map((s) => Buffer.from(s.node.validator.signedBatch()!.batchRoot).toString("hex")),
    );
    expect(signed.size).to.equal(1);
    // The losing coordinator, run again, re-proposes the signed batch: the same checkpoint.
    const again = await (settled[0].status === "rejected" ? A : B).run(1n);
    expect(Buffer.from(again.rootHash).toString("hex")).to.equal([...roots][0]);
  });
});
