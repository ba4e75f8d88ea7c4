/**
 * The Rounds page's witness cosignatures (src/dashboard/witnesses.ts) on hand-made anchored
 * checkpoints signed with THROWAWAY keys: only lines that verify under a key the dashboard pins
 * count; a forged line, a key the record merely hints at, a replayed vote, a duplicate, a note of
 * another checkpoint and an epoch nobody pinned are each shown as not counted, naming why.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { AnchoredRounds } from "../../src/chain/anchored-rounds";
import { writeDeployment } from "../../src/chain/deployment";
import type { AnchoredCheckpoint } from "../../src/chain/anchored-rounds";
import { federationIdOf } from "../../src/chain/ids";
import { deriveThrowawayKeys, type NodeKeys } from "../../src/crypto/keys";
import {
  checkpointBody,
  formatSignedNote,
  makeSigner,
  signBody,
  VOTE_CONTEXT,
  WITNESS_CONTEXT,
  type NoteSignature,
} from "../../src/crypto/note";
import { DashboardData, WITNESS_ROUNDS } from "../../src/dashboard/data";
import { PinnedKeys, witnessViews } from "../../src/dashboard/witnesses";
import { federationRecord, placeholderRecord } from "../helpers/deployment";

const A = "amp.test/a";
const B = "amp.test/b";
const keysOf = (origin: string, ids: string[]) =>
  ids.map((id) => ({ origin, id, keys: deriveThrowawayKeys("dashboard-witness-test", id) }));
const a = keysOf(A, ["a-1", "a-2", "a-3"]);
const b = keysOf(B, ["b-1", "b-2", "b-3", "b-4"]);
const stranger = deriveThrowawayKeys("dashboard-witness-test", "mallory");
const weightsB = [2500n, 2500n, 2500n, 2500n];

const record = placeholderRecord([
  federationRecord(
    A,
    a.map((n) => n.keys),
    [3334n, 3333n, 3333n],
  ),
  federationRecord(
    B,
    b.map((n) => n.keys),
    weightsB,
  ),
]);

const signer = (origin: string, id: string, k: NodeKeys) =>
  makeSigner(`${origin}/${id}`, k.mldsa.publicKey, k.mldsa.secretKey);
const hint = (origin: string, id: string, k: NodeKeys) => ({
  keyName: `${origin}/${id}`,
  publicKey: Buffer.from(k.mldsa.publicKey).toString("base64"),
});

const ROUND = 7;
const root = new Uint8Array(32).fill(9);
const body = (origin: string, round = ROUND, epoch = 1n) =>
  checkpointBody({ origin, treeSize: 12n, rootHash: root, round: BigInt(round), epoch });

/** A's checkpoint: A's votes, then the given cosignature lines. */
function checkpointOfA(cosign: (text: string) => NoteSignature[], noteBody = body(A)): AnchoredCheckpoint {
  const votes = a.map((n) => signBody(noteBody, signer(A, n.id, n.keys), VOTE_CONTEXT));
  return {
    origin: A,
    federationId: federationIdOf(A),
    epoch: "1",
    treeSize: "12",
    rootHash: "0x" + Buffer.from(root).toString("hex"),
    signedNote: formatSignedNote({ body: noteBody, signatures: [...votes, ...cosign(noteBody)] }),
    noteKeys: [...a, ...b].map((n) => hint(n.origin, n.id, n.keys)),
    signatures: [],
  };
}

const checkpointOfB = (epoch = "1"): AnchoredCheckpoint => ({
  origin: B,
  federationId: federationIdOf(B),
  epoch,
  treeSize: "3",
  rootHash: "0x" + "11".repeat(32),
  signedNote: "",
  noteKeys: [],
  signatures: [],
});

const cosignBy = (nodes: typeof b) => (text: string) =>
  nodes.map((n) => signBody(text, signer(B, n.id, n.keys), WITNESS_CONTEXT));

function viewOf(cp: AnchoredCheckpoint, pinned = record, bEpoch = "1") {
  const all = [cp, checkpointOfB(bEpoch)];
  const views = witnessViews(ROUND, cp, all, new PinnedKeys(pinned).source);
  expect(views.map((v) => v.origin)).to.deep.equal([B]);
  return views[0]!;
}

describe("dashboard: witness cosignatures checked against pinned keys", function () {
  this.timeout(120_000);

  it("counts the other federation's verified cosignatures, their weight and the threshold", function () {
    const v = viewOf(checkpointOfA(cosignBy(b.slice(0, 3))));
    expect(v.cosigners.map((c) => c.node)).to.deep.equal(["b-1", "b-2", "b-3"]);
    expect(v.cosigners.map((c) => c.validator)).to.deep.equal(
      b.slice(0, 3).map((n) => n.keys.wallet.address),
    );
    expect([v.signedWeight, v.totalWeight, v.threshold, v.quorum]).to.deep.equal([
      "7500",
      "10000",
      "6667",
      true,
    ]);
    expect(v.unverified).to.deep.equal([]);
    expect(v.unavailable).to.equal(null);
  });

  it("two cosignatures of four equal weights are below the threshold: no witness quorum", function () {
    const v = viewOf(checkpointOfA(cosignBy(b.slice(0, 2))));
    expect([v.cosigners.length, v.signedWeight, v.quorum]).to.deep.equal([2, "5000", false]);
  });

  it("a cosignature line that does not verify is not counted, and says so", function () {
    const v = viewOf(
      checkpointOfA((text) => {
        const [s1, s2, s3] = cosignBy(b.slice(0, 3))(text);
        const forged = Uint8Array.from(s3!.signature);
        forged[100] = forged[100]! ^ 1;
        return [s1!, s2!, { ...s3!, signature: forged }];
      }),
    );
    expect(v.cosigners.map((c) => c.node)).to.deep.equal(["b-1", "b-2"]);
    expect(v.quorum).to.equal(false);
    expect(v.unverified).to.deep.equal([
      { keyName: `${B}/b-3`, reason: "the ML-DSA signature does not verify (amp/witness/v1)" },
    ]);
  });

  it("a key the record only hints at (not registered) adds no weight, even with a valid signature", function () {
    const cp = checkpointOfA((text) => [
      ...cosignBy(b.slice(0, 2))(text),
      signBody(text, signer(B, "b-3", stranger), WITNESS_CONTEXT),
    ]);
    // The node-supplied hints claim the stranger's key is b-3's.
    cp.noteKeys = cp.noteKeys.map((k) => (k.keyName === `${B}/b-3` ? hint(B, "b-3", stranger) : k));
    const v = viewOf(cp);
    expect(v.cosigners.map((c) => c.node)).to.deep.equal(["b-1", "b-2"]);
    expect(v.unverified).to.deep.equal([
      { keyName: `${B}/b-3`, reason: `key not registered for ${B} epoch 1` },
    ]);
  });

  it("a vote (amp/vote/v1) replayed as a cosignature, a duplicate line and a line without a key are refused", function () {
    const cp = checkpointOfA((text) => {
      const [s1] = cosignBy(b.slice(0, 1))(text);
      const vote = signBody(text, signer(B, "b-2", b[1]!.keys), VOTE_CONTEXT);
      const unknown = signBody(text, signer(B, "b-9", stranger), WITNESS_CONTEXT);
      return [s1!, s1!, vote, unknown];
    });
    const v = viewOf(cp);
    expect(v.cosigners.map((c) => c.node)).to.deep.equal(["b-1"]);
    expect(v.unverified).to.deep.equal([
      { keyName: `${B}/b-1`, reason: "a second signature by the same registered key" },
      { keyName: `${B}/b-2`, reason: "the ML-DSA signature does not verify (amp/witness/v1)" },
      { keyName: `${B}/b-9`, reason: "no public key under this key name in the record's noteKeys" },
    ]);
  });

  it("a note that is another checkpoint's is unverifiable, naming the difference", function () {
    const v = viewOf(checkpointOfA(cosignBy(b), body(A, ROUND + 1)));
    expect(v.cosigners).to.deep.equal([]);
    expect(v.quorum).to.equal(null);
    expect(v.unavailable).to.equal(`the signed note is not this checkpoint's (round ${ROUND + 1})`);
  });

  it("without a pinned record, or for an epoch the record does not hold and no chain, nothing is counted", function () {
    const cp = checkpointOfA(cosignBy(b));
    const none = witnessViews(ROUND, cp, [cp, checkpointOfB()], new PinnedKeys(undefined).source)[0]!;
    expect(none.unavailable).to.equal("no deployment record pinned");
    expect(none.cosigners).to.deep.equal([]);
    expect(none.unverified.map((u) => u.reason)).to.deep.equal(
      b.map(() => "unverifiable: no deployment record pinned"),
    );
    const later = viewOf(cp, record, "2");
    expect(later.unavailable).to.equal(
      `epoch 2 of ${B} is not the pinned deployment record's (1) and no chain is connected`,
    );
    expect(later.signedWeight).to.equal(null);
  });

  it("a data dir: the newest WITNESS_ROUNDS anchored rounds are checked, older ones are marked not checked (null)", function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-dashboard-witness-rounds-"));
    try {
      writeDeployment(dir, record);
      const cp = checkpointOfA(cosignBy(b));
      const store = AnchoredRounds.open(dir);
      for (let r = 1; r <= WITNESS_ROUNDS + 3; r++) {
        store.record({
          round: BigInt(r),
          globalRoot: "0x" + "22".repeat(32),
          chainId: record.chainId,
          contract: record.contracts.globalProofAnchor,
          txHash: "0x" + r.toString(16).padStart(64, "0"),
          blockNumber: r,
          gasUsed: 1n,
          checkpoints: [cp, checkpointOfB()].sort((x, y) =>
            BigInt(x.federationId) < BigInt(y.federationId) ? -1 : 1,
          ),
          metrics: {},
        });
      }
      store.close();
      const rounds = new DashboardData(dir).snapshot().rounds;
      expect(rounds.length).to.equal(WITNESS_ROUNDS + 3);
      const withA = (n: number) =>
        rounds.find((r) => r.round === n)!.checkpoints.find((c) => c.origin === A)!;
      // The note is round 7's: checked and counted there; another round's row says the note is not its own.
      expect(withA(ROUND).witnesses![0]!.cosigners.length).to.equal(4);
      expect(withA(WITNESS_ROUNDS + 3).witnesses![0]!.unavailable).to.equal(
        `the signed note is not this checkpoint's (round ${ROUND})`,
      );
      for (const r of [1, 2, 3]) expect(withA(r).witnesses, `round ${r}`).to.equal(null);
      expect(withA(4).witnesses).to.not.equal(null);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
