import { expect } from "chai";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { Interface, Signature, ZeroHash, concat, getBytes, hexlify } from "ethers";
import { consistencyProof, leafHash, rootHash } from "../../src/merkle";
import {
  anchor,
  anchorState,
  demoFederations,
  deployAmp,
  deployWithFederations,
  globalRootOf,
  roundFor,
  testWallet,
  TestFederation,
  type Amp,
  type CheckpointOptions,
  type Submission,
  previousRecord,
  recordOf,
} from "../helpers/amp";

const N = BigInt("0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141");

type Round = { round: bigint; globalRoot: string; checkpoints: Submission[] };

describe("GlobalProofAnchor: rejected rounds leave everything unchanged", function () {
  let amp: Amp;
  let ssid: TestFederation;
  let opencore: TestFederation;
  let feds: TestFederation[];

  /** Sends `r`, expects `error(args)`, and checks that nothing the anchor stores changed. */
  async function expectRejected(r: Round, error: string, args: unknown[]): Promise<void> {
    const before = await anchorState(amp, feds);
    await expect(
      amp.anchor.anchorRound(r.round, r.globalRoot, await previousRecord(amp, r.round), r.checkpoints),
    )
      .to.be.revertedWithCustomError(amp.anchor, error)
      .withArgs(...args);
    expect(await anchorState(amp, feds)).to.deep.equal(before);
  }

  /** Round 2 with `ssid`'s checkpoint changed by `o`, and the global root recomputed to match. */
  function withSsid(o: CheckpointOptions, round = 2n): Round {
    return roundFor(amp, feds, round, { [ssid.origin]: o });
  }

  beforeEach(async function () {
    amp = await loadFixture(deployWithFederations);
    ({ ssid, opencore } = demoFederations());
    feds = [ssid, opencore];
    ssid.grow(20);
    opencore.grow(10);
    await anchor(amp, feds, roundFor(amp, feds, 1n));
    ssid.grow(5);
    opencore.grow(5);
  });

  describe("round order and global root", function () {
    it("rejects a replayed round", async function () {
      await expectRejected(roundFor(amp, feds, 1n), "AnchorRoundOutOfOrder", [2n, 1n]);
    });

    it("rejects a skipped round and round 0", async function () {
      await expectRejected(roundFor(amp, feds, 3n), "AnchorRoundOutOfOrder", [2n, 3n]);
      await expectRejected({ ...roundFor(amp, feds, 2n), round: 0n }, "AnchorRoundOutOfOrder", [2n, 0n]);
    });

    it("rejects a global root that differs from the on-chain recomputation", async function () {
      const r = roundFor(amp, feds, 2n);
      const wrong = { ...r, globalRoot: globalRootOf(3n, feds, r.checkpoints) };
      await expectRejected(wrong, "AnchorGlobalRootMismatch", [r.globalRoot, wrong.globalRoot]);
    });
  });

  describe("federation set", function () {
    it("rejects a round that leaves out a registered federation", async function () {
      const r = roundFor(amp, [ssid], 2n);
      await expectRejected(r, "AnchorFederationCountMismatch", [2n, 1n]);
    });

    it("rejects federations out of ascending id order, and a repeated federation", async function () {
      const r = roundFor(amp, feds, 2n);
      const reversed = { ...r, checkpoints: [...r.checkpoints].reverse() };
      const [first, second] = reversed.checkpoints;
      await expectRejected(reversed, "AnchorFederationsNotAscending", [
        first!.federationId,
        second!.federationId,
      ]);
      const twice = { ...r, checkpoints: [r.checkpoints[0]!, r.checkpoints[0]!] };
      const id = r.checkpoints[0]!.federationId;
      await expectRejected(twice, "AnchorFederationsNotAscending", [id, id]);
    });

    it("rejects an unregistered federation", async function () {
      const stranger = new TestFederation("amp.local/stranger", [testWallet("s/0")], [1n]).grow(1);
      const all = [stranger, ssid];
      const r = roundFor(amp, all, 2n);
      await expectRejected(r, "AnchorFederationUnknown", [stranger.id]);
    });

    it("refuses to anchor while no federation is registered", async function () {
      amp = await deployAmp();
      await expect(amp.anchor.anchorRound(1n, ZeroHash, "0x", [])).to.be.revertedWithCustomError(
        amp.anchor,
        "AnchorNoFederations",
      );
      expect(await amp.anchor.nextRound()).to.equal(1n);
    });
  });

  describe("log consistency", function () {
    it("rejects a shrinking log", async function () {
      await expectRejected(withSsid({ size: 19n, proof: [] }), "AnchorLogShrank", [ssid.id, 20n, 19n]);
    });

    it("rejects a forked log whose proof does not reach the anchored root", async function () {
      const forked = [...ssid.leaves];
      forked[3] = leafHash(new TextEncoder().encode("rewritten history"));
      const proof = consistencyProof(forked, 20n, 25n).map((h) => hexlify(h));
      const r = withSsid({ root: hexlify(rootHash(forked)), proof });
      await expectRejected(r, "AnchorConsistencyProofInvalid", [ssid.id, 20n, 25n]);
    });

    it("rejects a consistency proof of the wrong length or with a tampered hash", async function () {
      const proof = ssid.proofTo(25n);
      await expectRejected(withSsid({ proof: proof.slice(1) }), "AnchorConsistencyProofInvalid", [
        ssid.id,
        20n,
        25n,
      ]);
      await expectRejected(withSsid({ proof: [...proof, ZeroHash] }), "AnchorConsistencyProofInvalid", [
        ssid.id,
        20n,
        25n,
      ]);
      await expectRejected(withSsid({ proof: [] }), "AnchorConsistencyProofInvalid", [ssid.id, 20n, 25n]);
      const tampered = [ZeroHash, ...proof.slice(1)];
      await expectRejected(withSsid({ proof: tampered }), "AnchorConsistencyProofInvalid", [
        ssid.id,
        20n,
        25n,
      ]);
    });

    it("rejects the same size with another root, or with a non-empty proof", async function () {
      const otherRoot = hexlify(leafHash(new Uint8Array([1])));
      await expectRejected(
        withSsid({ size: 20n, root: otherRoot, proof: [] }),
        "AnchorConsistencyProofInvalid",
        [ssid.id, 20n, 20n],
      );
      const same = withSsid({ size: 20n, proof: [ZeroHash] });
      await expectRejected(same, "AnchorConsistencyProofInvalid", [ssid.id, 20n, 20n]);
    });

    it("rejects a proof on a federation's first checkpoint and a zero root", async function () {
      amp = await loadFixture(deployWithFederations);
      ({ ssid, opencore } = demoFederations());
      feds = [ssid, opencore];
      ssid.grow(4);
      opencore.grow(4);
      await expectRejected(withSsid({ proof: [ZeroHash] }, 1n), "AnchorConsistencyProofInvalid", [
        ssid.id,
        0n,
        4n,
      ]);
      await expectRejected(withSsid({ root: ZeroHash }, 1n), "AnchorRootZero", [ssid.id]);
    });
  });

  describe("quorum", function () {
    it("rejects signers holding exactly 2/3 of the weight (6 of 9, and 2 of 3)", async function () {
      const [a, b, c] = ssid.validators; // weights 3, 3, 2
      await expectRejected(withSsid({ signers: [a!, b!] }), "AnchorQuorumNotReached", [ssid.id, 6n, 9n]);
      await expectRejected(withSsid({ signers: [a!, c!, ssid.validators[3]!] }), "AnchorQuorumNotReached", [
        ssid.id,
        6n,
        9n,
      ]);
      const r = roundFor(amp, feds, 2n, { [opencore.origin]: { signers: opencore.validators.slice(0, 2) } });
      await expectRejected(r, "AnchorQuorumNotReached", [opencore.id, 2n, 3n]);
    });

    it("rejects a checkpoint with no signature at all", async function () {
      await expectRejected(withSsid({ signatures: [] }), "AnchorQuorumNotReached", [ssid.id, 0n, 9n]);
    });
  });

  describe("signers", function () {
    it("rejects a duplicated signer", async function () {
      const sigs = withSsid({}).checkpoints.find((c) => c.federationId === ssid.id)!.signatures as string[];
      const r = withSsid({ signatures: [sigs[0]!, sigs[0]!, ...sigs.slice(1)] });
      const first = [...ssid.validators].sort((x, y) => (BigInt(x.address) < BigInt(y.address) ? -1 : 1))[0]!;
      await expectRejected(r, "AnchorSignerDuplicated", [ssid.id, first.address]);
    });

    it("rejects signers that are not in ascending address order", async function () {
      const sorted = [...ssid.validators].sort((x, y) => (BigInt(x.address) < BigInt(y.address) ? -1 : 1));
      const swapped = [sorted[1]!, sorted[0]!, sorted[2]!, sorted[3]!];
      const r = withSsid({ signers: swapped, unsorted: true });
      await expectRejected(r, "AnchorSignersNotAscending", [ssid.id, sorted[1]!.address, sorted[0]!.address]);
    });

    it("rejects a signer of another federation", async function () {
      const outsider = opencore.validators[0]!;
      const r = withSsid({ signers: [...ssid.validators, outsider] });
      await expectRejected(r, "AnchorSignerUnknown", [ssid.id, 1n, outsider.address]);
    });

    it("rejects a signer of an older epoch after a rotation, and a checkpoint of the older epoch", async function () {
      const [dropped, ...kept] = ssid.validators;
      const newcomer = testWallet("ssid/newcomer");
      await ssid.rotate(amp, [...kept, newcomer], [3n, 2n, 1n, 3n]);
      await expectRejected(withSsid({ epoch: 1n }), "AnchorEpochNotCurrent", [ssid.id, 2n, 1n]);
      const r = withSsid({ epoch: 2n, signers: [...kept, newcomer, dropped!] });
      await expectRejected(r, "AnchorSignerUnknown", [ssid.id, 2n, dropped!.address]);
    });

    it("rejects signatures made for another chain id or another contract", async function () {
      await expectRejected(withSsid({ chainId: amp.chainId + 1n }), "AnchorSignerUnknown", [
        ssid.id,
        1n,
        anyValue,
      ]);
      const other = hre.ethers.Wallet.createRandom().address;
      await expectRejected(withSsid({ anchorAddress: other }), "AnchorSignerUnknown", [
        ssid.id,
        1n,
        anyValue,
      ]);
    });

    it("rejects the malleable high-s twin of a valid signature", async function () {
      const sigs = withSsid({}).checkpoints.find((c) => c.federationId === ssid.id)!.signatures as string[];
      const sig = Signature.from(sigs[1]);
      const highS = concat([sig.r, hexlify(toBytes32(N - BigInt(sig.s))), sig.v === 27 ? "0x1c" : "0x1b"]);
      const r = withSsid({ signatures: [sigs[0]!, highS, ...sigs.slice(2)] });
      await expectRejected(r, "AnchorSignatureMalleable", [ssid.id, 1n]);
    });

    it("rejects signatures of the wrong length and with an invalid v", async function () {
      const sigs = withSsid({}).checkpoints.find((c) => c.federationId === ssid.id)!.signatures as string[];
      const short = sigs[0]!.slice(0, -2);
      await expectRejected(
        withSsid({ signatures: [short, ...sigs.slice(1)] }),
        "AnchorSignatureLengthInvalid",
        [ssid.id, 0n, 64n],
      );
      const long = sigs[2]! + "00";
      await expectRejected(
        withSsid({ signatures: [...sigs.slice(0, 2), long, sigs[3]!] }),
        "AnchorSignatureLengthInvalid",
        [ssid.id, 2n, 66n],
      );
      const badV = sigs[0]!.slice(0, -2) + "1d";
      await expectRejected(withSsid({ signatures: [badV, ...sigs.slice(1)] }), "AnchorSignatureInvalid", [
        ssid.id,
        0n,
      ]);
    });
  });

  describe("records", function () {
    /** Round 1's record with byte `at` (0-based, after 0x) flipped. */
    async function tampered(at: number): Promise<string> {
      const rec = getBytes(await recordOf(amp, 1n));
      rec[at] = rec[at]! ^ 0x01;
      return hexlify(rec);
    }

    it("refuses a previous record that is not the one committed for the round before", async function () {
      const r = roundFor(amp, feds, 2n);
      for (const previous of ["0x", await tampered(20), concat([await recordOf(amp, 1n), "0x00"])]) {
        const before = await anchorState(amp, feds);
        await expect(amp.anchor.anchorRound(r.round, r.globalRoot, previous, r.checkpoints))
          .to.be.revertedWithCustomError(amp.anchor, "AnchorPreviousRecordMismatch")
          .withArgs(2n);
        expect(await anchorState(amp, feds)).to.deep.equal(before);
      }
    });

    it("refuses a forged previous record claiming a smaller anchored log (no proof needed from size 0)", async function () {
      // Attack: claim ssid's anchored size was 0 so any tree "extends" it without a consistency proof.
      const rec = getBytes(await recordOf(amp, 1n));
      const ssidFirst = BigInt(ssid.id) < BigInt(opencore.id);
      const entry = 16 + (ssidFirst ? 0 : 48);
      rec.fill(0, entry + 32, entry + 40); // treeSize := 0
      const r = roundFor(amp, feds, 2n, { [ssid.origin]: { proof: [] } });
      const before = await anchorState(amp, feds);
      await expect(amp.anchor.anchorRound(r.round, r.globalRoot, hexlify(rec), r.checkpoints))
        .to.be.revertedWithCustomError(amp.anchor, "AnchorPreviousRecordMismatch")
        .withArgs(2n);
      expect(await anchorState(amp, feds)).to.deep.equal(before);
    });

    it("refuses a non-empty previous record in round 1", async function () {
      const fresh = await deployAmp();
      const { ssid: s, opencore: o } = demoFederations();
      await s.register(fresh.registry);
      await o.register(fresh.registry);
      s.grow(2);
      o.grow(2);
      const r = roundFor(fresh, [s, o], 1n);
      await expect(fresh.anchor.anchorRound(r.round, r.globalRoot, "0x00", r.checkpoints))
        .to.be.revertedWithCustomError(fresh.anchor, "AnchorPreviousRecordMismatch")
        .withArgs(1n);
      expect(await fresh.anchor.nextRound()).to.equal(1n);
      expect(await fresh.anchor.recordCommitmentOf(1n)).to.equal(ZeroHash);
    });

    it("read functions refuse a record that is not the committed one", async function () {
      for (const bad of ["0x", await tampered(0), await tampered(40)]) {
        const calls = [
          () => amp.anchor.anchorOf(1n, bad),
          () => amp.anchor.checkpointOf(1n, ssid.id, bad),
          () => amp.anchor.latestCheckpoint(ssid.id, bad),
          () => amp.anchor.verifyEventInclusion(1n, ssid.id, bad, ZeroHash, 0n, []),
        ];
        for (const call of calls)
          await expect(call()).to.be.revertedWithCustomError(amp.anchor, "AnchorRecordMismatch").withArgs(1n);
      }
      // latestCheckpoint wants the latest round's record: round 1's is refused once round 2 is anchored.
      const old = await recordOf(amp, 1n);
      await anchor(amp, feds, roundFor(amp, feds, 2n));
      await expect(amp.anchor.latestCheckpoint(ssid.id, old))
        .to.be.revertedWithCustomError(amp.anchor, "AnchorRecordMismatch")
        .withArgs(2n);
      // A round not anchored reads as zeros whatever record is given.
      expect([...(await amp.anchor.anchorOf(3n, old))]).to.deep.equal([ZeroHash, 0n, 0n]);
      expect(await amp.anchor.recordCommitmentOf(3n)).to.equal(ZeroHash);
    });
  });

  describe("value", function () {
    it("refuses value on every function and on plain transfers", async function () {
      const before = await anchorState(amp, feds);
      const [sender] = await hre.ethers.getSigners();
      const r = roundFor(amp, feds, 2n);
      const calls: [string, unknown[]][] = [
        ["anchorRound", [r.round, r.globalRoot, await previousRecord(amp, r.round), r.checkpoints]],
        ["nextRound", []],
        ["recordCommitmentOf", [1n]],
        ["anchorOf", [1n, await recordOf(amp, 1n)]],
        ["checkpointOf", [1n, ssid.id, await recordOf(amp, 1n)]],
        ["latestCheckpoint", [ssid.id, await recordOf(amp, 1n)]],
        ["verifyEventInclusion", [1n, ssid.id, await recordOf(amp, 1n), ZeroHash, 0n, []]],
        ["checkpointDigest", [ssid.id, 1n, 1n, 1n, ZeroHash]],
        ["registry", []],
        ["CHECKPOINT_TYPEHASH", []],
        ["eip712Domain", []],
      ];
      const names = amp.anchor.interface.fragments
        .filter((f) => f.type === "function")
        .map((f) => f.format("sighash"));
      expect(names.length).to.equal(calls.length);
      for (const [name, args] of calls) {
        const data = (amp.anchor.interface as Interface).encodeFunctionData(name, args);
        await expect(sender!.sendTransaction({ to: amp.anchorAddress, data, value: 1n })).to.be.reverted;
      }
      await expect(sender!.sendTransaction({ to: amp.anchorAddress, value: 1n })).to.be.reverted;
      await expect(sender!.sendTransaction({ to: amp.anchorAddress, data: "0x12345678", value: 1n })).to.be
        .reverted;
      expect(await hre.ethers.provider.getBalance(amp.anchorAddress)).to.equal(0n);
      expect(await anchorState(amp, feds)).to.deep.equal(before);
    });
  });
});

function toBytes32(x: bigint): Uint8Array {
  return hre.ethers.getBytes(hre.ethers.toBeHex(x, 32));
}
