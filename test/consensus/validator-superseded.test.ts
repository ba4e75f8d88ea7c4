import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { deriveThrowawayKeys } from "../../src/crypto/keys";
import {
  ValidatorNode,
  type AnchoredCheckpoint,
  type SupersededVote,
} from "../../src/consensus/validator-node";
import type { VoteRequest, VoteResponse } from "../../src/consensus/types";
import { FederationLog } from "../../src/log";
import { leafHash } from "../../src/merkle";
import { DOMAIN, entries, expectedRoot, tmpDir, quietLogs, voteRequest, votedCheckpoint } from "./fixture";

/*
 * Issue 13, campaign `npm run -s bench -- kills --kills 100 --seed 5216305`: a validator signed
 * round R, another checkpoint of R was anchored, and the node (its log rebuilt on the anchored
 * history by FederationNode) refused every later vote because the new tree did not extend the
 * checkpoint it had signed, which lost. These tests replay that on one ValidatorNode.
 */
const ORIGIN = "amp.local/ssid";
const keys = deriveThrowawayKeys("node-test", "v1");

const request = (round: bigint, baseSize: bigint, batchSize: number): VoteRequest =>
  voteRequest(ORIGIN, round, baseSize, batchSize);

describe("consensus/ValidatorNode whose signed round lost to an anchored checkpoint", () => {
  quietLogs();
  let dir: string;
  const r1 = entries(ORIGIN, 1, 4); // round 1: signed and anchored
  const lost = entries(ORIGIN, 2, 3); // round 2: this node's batch (never had a quorum)
  const won = entries(ORIGIN, 20, 5); // round 2: the batch the chain anchored
  const r3 = entries(ORIGIN, 3, 2); // round 3: anchored without this node
  const anchoredLog = [...r1, ...won, ...r3];
  const anchored3: AnchoredCheckpoint = { round: 3n, treeSize: 11n, rootHash: expectedRoot(anchoredLog) };

  /** The node as FederationNode rebuilds it: its log copy is `history`, its signed state on disk. */
  function rebuilt(
    history: Uint8Array[],
    anchored?: AnchoredCheckpoint,
    seen?: SupersededVote[],
  ): ValidatorNode {
    const log = new FederationLog(ORIGIN);
    if (history.length > 0) log.append(history.map((e) => leafHash(e)));
    return new ValidatorNode({
      origin: ORIGIN,
      keys,
      dataDir: dir,
      domain: DOMAIN,
      log,
      ...(anchored ? { anchored: () => anchored } : {}),
      ...(seen ? { onSuperseded: (s: SupersededVote) => seen.push(s) } : {}),
    });
  }

  const stateRound = () =>
    (JSON.parse(fs.readFileSync(path.join(dir, "v1.validator-state.json"), "utf8")) as { round: string })
      .round;

  beforeEach(async () => {
    dir = tmpDir("amp-validator-superseded-");
    const node = rebuilt([]);
    node.receiveBatch({ origin: ORIGIN, round: 1n, entries: r1 });
    expect(votedCheckpoint(await node.handleVoteRequest(request(1n, 0n, 4))).treeSize).to.equal(4n);
    node.receiveBatch({ origin: ORIGIN, round: 2n, entries: lost });
    expect(votedCheckpoint(await node.handleVoteRequest(request(2n, 4n, 3))).treeSize).to.equal(7n);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("votes again on the anchored history of a later round, reports it, and then extends its new vote", async () => {
    const seen: SupersededVote[] = [];
    const node = rebuilt(anchoredLog, anchored3, seen);
    const r4 = entries(ORIGIN, 4, 3);
    node.receiveBatch({ origin: ORIGIN, round: 4n, entries: r4 });
    const cp = votedCheckpoint(await node.handleVoteRequest(request(4n, 11n, 3)));
    expect(cp.round).to.equal(4n);
    expect(cp.treeSize).to.equal(14n);
    expect(Buffer.from(cp.rootHash)).to.deep.equal(Buffer.from(expectedRoot([...anchoredLog, ...r4])));
    expect(seen).to.deep.equal([{ signedRound: 2n, anchoredRound: 3n, round: 4n }]);
    expect(stateRound(), "the new vote is persisted").to.equal("4");
    // The next round is the normal case again: it extends the vote of round 4.
    node.receiveBatch({ origin: ORIGIN, round: 5n, entries: entries(ORIGIN, 5, 1) });
    expect(votedCheckpoint(await node.handleVoteRequest(request(5n, 14n, 1))).treeSize).to.equal(15n);
    expect(seen).to.have.length(1);
  });

  it("still refuses without an anchored checkpoint (the history alone, e.g. from peers, unlocks nothing)", async () => {
    const node = rebuilt(anchoredLog);
    node.receiveBatch({ origin: ORIGIN, round: 4n, entries: entries(ORIGIN, 4, 3) });
    await expectRefusedAppend(node.handleVoteRequest(request(4n, 11n, 3)));
    expect(stateRound()).to.equal("2");
  });

  it("still refuses when the anchored round is before the round it signed", async () => {
    // Anchored only through round 1; the history past it (size 9) is not final.
    const anchored1 = { round: 1n, treeSize: 4n, rootHash: expectedRoot(r1) };
    const node = rebuilt([...r1, ...won], anchored1);
    node.receiveBatch({ origin: ORIGIN, round: 3n, entries: r3 });
    await expectRefusedAppend(node.handleVoteRequest(request(3n, 9n, 2)));
    expect(stateRound()).to.equal("2");
  });

  it("still refuses a tree that does not extend the anchored checkpoint", async () => {
    const forged = [...r1, ...entries(ORIGIN, 66, 5), ...r3]; // same size as anchored, other entries
    const node = rebuilt(forged, anchored3);
    node.receiveBatch({ origin: ORIGIN, round: 4n, entries: entries(ORIGIN, 4, 3) });
    await expectRefusedAppend(node.handleVoteRequest(request(4n, 11n, 3)));
    expect(stateRound()).to.equal("2");
  });

  it("never signs a second tree for the round it signed, nor a round already anchored", async () => {
    const node = rebuilt([...r1, ...won], anchored3);
    node.receiveBatch({ origin: ORIGIN, round: 2n, entries: r3 });
    const again = await node.handleVoteRequest(request(2n, 9n, 2));
    expect(again.kind).to.equal("refused");
    if (again.kind === "refused")
      expect(again.reason).to.match(/round 2 already signed for a batch on base size 4/);
    const other = rebuilt([...r1, ...won], anchored3);
    other.receiveBatch({ origin: ORIGIN, round: 3n, entries: r3 });
    await expectRefusedAppend(other.handleVoteRequest(request(3n, 9n, 2)));
    expect(stateRound()).to.equal("2");
  });
});

async function expectRefusedAppend(p: Promise<VoteResponse>): Promise<void> {
  let error: unknown;
  try {
    await p;
  } catch (e) {
    error = e;
  }
  expect(error, "the vote is refused").to.be.instanceOf(Error);
  expect((error as Error).message).to.match(/new checkpoint does not extend the last one it signed/);
}
