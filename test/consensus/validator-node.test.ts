import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { deriveThrowawayKeys } from "../../src/crypto/keys";
import { parseCheckpointBody, parseSignedNote } from "../../src/crypto/note";
import { ValidatorNode } from "../../src/consensus/validator-node";
import { recoverCheckpointSigner } from "../../src/consensus/anchor-signature";
import { MlDsaWorkerPool } from "../../src/crypto/mldsa";
import type { VoteRequest, VoteResponse } from "../../src/consensus/types";
import { leafHash, rootHash } from "../../src/merkle";
import { DOMAIN, entries, expectedRoot, tmpDir, quietLogs, voteRequest } from "./fixture";

const ORIGIN = "amp.local/ssid";

const request = (round: bigint, baseSize: bigint, batchSize: number): VoteRequest =>
  voteRequest(ORIGIN, round, baseSize, batchSize);

describe("consensus/ValidatorNode", () => {
  quietLogs();
  let dir: string;
  let node: ValidatorNode;
  const stateFile = () => path.join(dir, "v1.validator-state.json");
  beforeEach(() => {
    dir = tmpDir("amp-validator-");
    node = new ValidatorNode({
      origin: ORIGIN,
      keys: deriveThrowawayKeys("node-test", "v1"),
      dataDir: dir,
      domain: DOMAIN,
    });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("signs the checkpoint it recomputed and persists its signed state with the vote", async () => {
    const b = entries(ORIGIN, 1, 4);
    node.receiveBatch({ origin: ORIGIN, round: 1n, entries: b });
    const res = await node.handleVoteRequest(request(1n, 0n, 4));
    expect(res.kind).to.equal("vote");
    if (res.kind !== "vote") return;
    const cp = parseCheckpointBody(parseSignedNote(res.votes[0]!.note).body);
    expect(Buffer.from(cp.rootHash)).to.deep.equal(Buffer.from(expectedRoot(b)));
    const state = JSON.parse(fs.readFileSync(stateFile(), "utf8")) as { round: string; vote: unknown };
    expect(state.round).to.equal("1");
    expect(state.vote).to.deep.equal(res.votes[0]);
  });

  it("re-signs the SAME checkpoint of a round under a newer registry epoch (a rotation), never an older one", async () => {
    const b = entries(ORIGIN, 1, 4);
    node.receiveBatch({ origin: ORIGIN, round: 1n, entries: b });
    const first = await node.handleVoteRequest(request(1n, 0n, 4));
    const again = await node.handleVoteRequest({ ...request(1n, 0n, 4), epoch: 2n });
    const older = await node.handleVoteRequest(request(1n, 0n, 4));
    if (first.kind !== "vote" || again.kind !== "vote" || older.kind !== "vote") throw new Error("no vote");
    const cp1 = parseCheckpointBody(parseSignedNote(first.votes[0]!.note).body);
    const cp2 = parseCheckpointBody(parseSignedNote(again.votes[0]!.note).body);
    expect(cp1.epoch).to.equal(1n);
    expect(cp2.epoch).to.equal(2n);
    expect({ ...cp2, epoch: 1n }).to.deep.equal(cp1); // same round, size and root
    expect(recoverCheckpointSigner(DOMAIN, cp2, again.votes[0]!.eip712Signature)).to.equal(
      deriveThrowawayKeys("node-test", "v1").wallet.address,
    );
    expect(older.votes[0]).to.deep.equal(again.votes[0]); // never back to an older epoch
    expect(node.log.size).to.equal(4n); // appended once
    const state = JSON.parse(fs.readFileSync(stateFile(), "utf8")) as { vote: unknown };
    expect(state.vote, "persisted before release").to.deep.equal(again.votes[0]);
    // Another batch for the round is still refused under the new epoch.
    const other = await node.handleVoteRequest({ ...request(1n, 1n, 4), epoch: 3n });
    expect(other.kind).to.equal("refused");
  });

  it("handles concurrent requests one at a time, signing on a worker pool: one append, one vote", async () => {
    const pool = new MlDsaWorkerPool(2);
    try {
      const pooled = new ValidatorNode({
        origin: ORIGIN,
        keys: deriveThrowawayKeys("node-test", "v1"),
        dataDir: path.join(dir, "pooled"),
        domain: DOMAIN,
        mldsa: pool,
      });
      pooled.receiveBatch({ origin: ORIGIN, round: 1n, entries: entries(ORIGIN, 1, 4) });
      const [a, b] = await Promise.all([
        pooled.handleVoteRequest(request(1n, 0n, 4)),
        pooled.handleVoteRequest(request(1n, 0n, 4)),
      ]);
      expect(a.kind).to.equal("vote");
      expect(b).to.deep.equal(a);
      expect(pooled.log.size).to.equal(4n);
      // Signed on the pool, the vote is the one this thread would sign (deterministic ML-DSA).
      node.receiveBatch({ origin: ORIGIN, round: 1n, entries: entries(ORIGIN, 1, 4) });
      // The same vote bytes; only the signed wall clock (when each node signed) differs.
      const noClock = (r: VoteResponse) =>
        r.kind === "vote" ? r.votes.map(({ clock: _clock, ...v }) => v) : r;
      expect(noClock(await node.handleVoteRequest(request(1n, 0n, 4)))).to.deep.equal(noClock(a));
    } finally {
      await pool.close();
    }
  });

  it("never signs a second checkpoint for a round it already signed: it repeats its vote", async () => {
    node.receiveBatch({ origin: ORIGIN, round: 1n, entries: entries(ORIGIN, 1, 4) });
    const first = await node.handleVoteRequest(request(1n, 0n, 4));
    node.receiveBatch({ origin: ORIGIN, round: 1n, entries: entries(ORIGIN, 99, 7) });
    const second = await node.handleVoteRequest(request(1n, 0n, 7));
    expect(second).to.deep.equal(first);
    expect(node.log.size).to.equal(4n);
  });

  it("keeps refusing a different checkpoint for a signed round after a restart", async () => {
    node.receiveBatch({ origin: ORIGIN, round: 1n, entries: entries(ORIGIN, 1, 4) });
    const first = await node.handleVoteRequest(request(1n, 0n, 4));
    const restarted = new ValidatorNode({
      origin: ORIGIN,
      keys: deriveThrowawayKeys("node-test", "v1"),
      dataDir: dir,
      domain: DOMAIN,
    });
    restarted.receiveBatch({ origin: ORIGIN, round: 1n, entries: entries(ORIGIN, 5, 2) });
    expect(await restarted.handleVoteRequest(request(1n, 0n, 2))).to.deep.equal(first);
  });

  it("keys its signed round by the batch: the same batch re-proposed after a restart gets the stored vote, another is refused", async () => {
    const b = entries(ORIGIN, 1, 4);
    const other = entries(ORIGIN, 9, 6);
    const withRoot = (batch: Uint8Array[]) => ({
      ...request(1n, 0n, batch.length),
      batchRoot: rootHash(batch.map((e) => leafHash(e))),
    });
    node.receiveBatch({ origin: ORIGIN, round: 1n, entries: b });
    const first = await node.handleVoteRequest(withRoot(b));
    expect(first.kind).to.equal("vote");
    const restarted = new ValidatorNode({
      origin: ORIGIN,
      keys: deriveThrowawayKeys("node-test", "v1"),
      dataDir: dir,
      domain: DOMAIN,
    });
    restarted.receiveBatch({ origin: ORIGIN, round: 1n, entries: b });
    expect(await restarted.handleVoteRequest(withRoot(b))).to.deep.equal(first);
    restarted.receiveBatch({ origin: ORIGIN, round: 1n, entries: other });
    const refused = await restarted.handleVoteRequest(withRoot(other));
    expect(refused.kind).to.equal("refused");
    if (refused.kind === "refused")
      expect(refused.reason).to.match(/round 1 already signed for batch root [0-9a-f]{64}/);
    expect(restarted.signedBatch()?.batchRoot).to.deep.equal(Buffer.from(expectedRoot(b)));
  });

  it("refuses to sign a batch that does not reproduce the proposal's batch root", async () => {
    node.receiveBatch({ origin: ORIGIN, round: 1n, entries: entries(ORIGIN, 1, 4) });
    const res = await node.handleVoteRequest({ ...request(1n, 0n, 4), batchRoot: new Uint8Array(32) });
    expect(res).to.deep.include({ kind: "refused" });
    expect(fs.existsSync(stateFile())).to.equal(false);
    expect(node.log.size).to.equal(0n);
  });

  it("refuses an earlier round, another origin and a mismatched base size without changing its state", async () => {
    node.receiveBatch({ origin: ORIGIN, round: 2n, entries: entries(ORIGIN, 2, 3) });
    await node.handleVoteRequest(request(2n, 0n, 3));
    const before = fs.readFileSync(stateFile(), "utf8");
    node.receiveBatch({ origin: ORIGIN, round: 1n, entries: entries(ORIGIN, 1, 3) });
    expect(await node.handleVoteRequest(request(1n, 0n, 3))).to.deep.include({ kind: "refused" });
    expect(await node.handleVoteRequest({ ...request(3n, 3n, 3), origin: "x" })).to.deep.include({
      kind: "refused",
    });
    node.receiveBatch({ origin: ORIGIN, round: 3n, entries: entries(ORIGIN, 3, 3) });
    const res = await node.handleVoteRequest(request(3n, 1n, 3));
    expect(res).to.deep.include({ kind: "refused" });
    expect(fs.readFileSync(stateFile(), "utf8")).to.equal(before);
    expect(node.log.size).to.equal(3n);
  });

  it("reports missing entries instead of voting when its batch is incomplete", async () => {
    node.receiveBatch({ origin: ORIGIN, round: 1n, entries: entries(ORIGIN, 1, 2) });
    expect(await node.handleVoteRequest(request(1n, 0n, 5))).to.deep.equal({ kind: "missing", have: 2 });
    expect(fs.existsSync(stateFile())).to.equal(false);
  });
});

describe("consensus/ValidatorNode after a restart", () => {
  quietLogs();
  it("catches its log up to the checkpoint it already signed when the round is retried", async () => {
    const dir = tmpDir("amp-validator-restart-");
    const keys = deriveThrowawayKeys("node-test", "v1");
    const node = new ValidatorNode({ origin: ORIGIN, keys, dataDir: dir, domain: DOMAIN });
    const b = entries(ORIGIN, 1, 4);
    node.receiveBatch({ origin: ORIGIN, round: 1n, entries: b });
    const first = await node.handleVoteRequest(request(1n, 0n, 4));
    const restarted = new ValidatorNode({ origin: ORIGIN, keys, dataDir: dir, domain: DOMAIN });
    expect(restarted.log.size).to.equal(0n);
    restarted.receiveBatch({ origin: ORIGIN, round: 1n, entries: b });
    expect(await restarted.handleVoteRequest(request(1n, 0n, 4))).to.deep.equal(first);
    expect(restarted.log.size).to.equal(4n);
    expect(Buffer.from(restarted.log.root())).to.deep.equal(Buffer.from(expectedRoot(b)));
    restarted.receiveBatch({ origin: ORIGIN, round: 2n, entries: entries(ORIGIN, 2, 2) });
    expect(await restarted.handleVoteRequest(request(2n, 4n, 2))).to.have.property("kind", "vote");
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
