/**
 * The Rounds page's quorum weight (src/dashboard/data.ts `checkpointViews`) after a validator-set
 * rotation: a checkpoint of a later epoch is weighed with THAT epoch's weights from the pinned key
 * source (the registry read over the dashboard's own RPC), never with the deployment record's
 * older weights; without them the weight is unknown (null), not wrong. THROWAWAY keys.
 */
import { expect } from "chai";
import type { AnchoredCheckpoint } from "../../src/chain/anchored-rounds";
import { checkpointTypedDataHash } from "../../src/chain/eip712";
import { federationIdOf } from "../../src/chain/ids";
import { deriveThrowawayKeys, mlDsaKeyCommitment } from "../../src/crypto/keys";
import { checkpointViews } from "../../src/dashboard/data";
import type { KeySet, KeySource } from "../../src/dashboard/witnesses";
import { federationRecord, placeholderRecord } from "../helpers/deployment";

const A = "amp.test/a";
const nodes = ["a-1", "a-2", "a-3"].map((id) => deriveThrowawayKeys("dashboard-quorum-weight-test", id));
const record = placeholderRecord([federationRecord(A, nodes, [3334n, 3333n, 3333n])]);

const ROUND = 9;
const ROOT = "0x" + "ab".repeat(32);

/** A's checkpoint of ROUND at `epoch`, with EIP-712 signatures of the given nodes. */
function checkpoint(epoch: string, signers: number[]): AnchoredCheckpoint {
  const digest = checkpointTypedDataHash(31337n, record.contracts.globalProofAnchor, {
    federationId: federationIdOf(A),
    epoch: BigInt(epoch),
    round: BigInt(ROUND),
    treeSize: 40n,
    rootHash: ROOT,
  });
  return {
    origin: A,
    federationId: federationIdOf(A),
    epoch,
    treeSize: "40",
    rootHash: ROOT,
    signatures: signers.map((i) => nodes[i]!.wallet.signingKey.sign(digest).serialized),
  } as AnchoredCheckpoint;
}

/** Epoch 2 after a rotation: the same nodes, weights 5000 / 4000 / 1000. */
const epoch2: KeySet = {
  keys: new Map(
    nodes.map((n, i) => [
      mlDsaKeyCommitment(n.mldsa.publicKey).toLowerCase(),
      { validator: n.wallet.address, weight: [5000n, 4000n, 1000n][i]! },
    ]),
  ),
  total: 10000n,
};
const source: KeySource = (origin, epoch) =>
  origin === A && epoch === "2" ? epoch2 : `epoch ${epoch} of ${origin} is not pinned`;

describe("dashboard: quorum weight of a checkpoint after a rotation", function () {
  it("weighs the record's epoch with the record's weights", function () {
    const [v] = checkpointViews(ROUND, [checkpoint("1", [0, 1])], record, null);
    expect([v!.signedWeight, v!.totalWeight]).to.deep.equal(["6667", "10000"]);
  });

  it("weighs a later epoch with that epoch's pinned weights, not the record's", function () {
    const [v] = checkpointViews(ROUND, [checkpoint("2", [0, 1])], record, source);
    expect([v!.signedWeight, v!.totalWeight]).to.deep.equal(["9000", "10000"]);
    const [w] = checkpointViews(ROUND, [checkpoint("2", [1, 2])], record, source);
    expect(w!.signedWeight).to.equal("5000");
  });

  it("shows the weight of an epoch nobody pinned as unknown, never the record's weights", function () {
    for (const keys of [null, source]) {
      const [v] = checkpointViews(ROUND, [checkpoint("3", [0, 1])], record, keys);
      expect([v!.signedWeight, v!.totalWeight]).to.deep.equal([null, null]);
    }
  });
});
