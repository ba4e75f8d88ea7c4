import { expect } from "chai";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { hexlify } from "ethers";
import { inclusionProof } from "../../src/merkle";
import { checkpointTypedData, checkpointTypedDataHash } from "../../src/chain/eip712";
import {
  anchor,
  byAddress,
  demoFederations,
  deployWithFederations,
  roundFor,
  testWallet,
  TestFederation,
  type Amp,
  anchorOf,
  checkpointOf,
  latestCheckpoint,
  previousRecord,
  recordOf,
} from "../helpers/amp";

describe("GlobalProofAnchor: accepted rounds", function () {
  let amp: Amp;
  let ssid: TestFederation;
  let opencore: TestFederation;
  let feds: TestFederation[];

  beforeEach(async function () {
    amp = await loadFixture(deployWithFederations);
    ({ ssid, opencore } = demoFederations());
    feds = [ssid, opencore];
  });

  it("starts at round 1 with nothing anchored", async function () {
    expect(await amp.anchor.nextRound()).to.equal(1n);
    expect([...(await anchorOf(amp, 1n))]).to.deep.equal([hre.ethers.ZeroHash, 0n, 0n]);
    expect([...(await latestCheckpoint(amp, ssid.id))]).to.deep.equal([0n, 0n, hre.ethers.ZeroHash]);
    expect(await amp.anchor.registry()).to.equal(await amp.registry.getAddress());
  });

  it("anchors the first round without consistency proofs and records every checkpoint", async function () {
    ssid.grow(10);
    opencore.grow(7);
    const r = roundFor(amp, feds, 1n);
    const [submitter] = await hre.ethers.getSigners();
    await expect(
      amp.anchor.anchorRound(r.round, r.globalRoot, await previousRecord(amp, r.round), r.checkpoints),
    )
      .to.emit(amp.anchor, "GlobalRootAnchored")
      .withArgs(1n, r.globalRoot, submitter!.address, anyValue);
    const block = await hre.ethers.provider.getBlock("latest");
    expect(await amp.anchor.nextRound()).to.equal(2n);
    expect([...(await anchorOf(amp, 1n))]).to.deep.equal([
      r.globalRoot,
      BigInt(block!.number),
      BigInt(block!.timestamp),
    ]);
    expect([...(await checkpointOf(amp, 1n, ssid.id))]).to.deep.equal([1n, 10n, ssid.rootAt(10n)]);
    expect([...(await checkpointOf(amp, 1n, opencore.id))]).to.deep.equal([1n, 7n, opencore.rootAt(7n)]);
    expect([...(await latestCheckpoint(amp, opencore.id))]).to.deep.equal([1n, 7n, opencore.rootAt(7n)]);
  });

  it("anchors later rounds that extend each log, relayed by any account", async function () {
    ssid.grow(1000);
    opencore.grow(3);
    await anchor(amp, feds, roundFor(amp, feds, 1n));
    ssid.grow(1000);
    opencore.grow(1);
    const r = roundFor(amp, feds, 2n);
    const [, stranger] = await hre.ethers.getSigners();
    await expect(
      amp.anchor
        .connect(stranger)
        .anchorRound(r.round, r.globalRoot, await previousRecord(amp, r.round), r.checkpoints),
    )
      .to.emit(amp.anchor, "GlobalRootAnchored")
      .withArgs(2n, r.globalRoot, stranger!.address, anyValue);
    expect([...(await latestCheckpoint(amp, ssid.id))]).to.deep.equal([2n, 2000n, ssid.rootAt(2000n)]);
    expect([...(await checkpointOf(amp, 1n, ssid.id))]).to.deep.equal([1n, 1000n, ssid.rootAt(1000n)]);
    expect((await anchorOf(amp, 2n)).globalRoot).to.equal(r.globalRoot);
    expect(await amp.anchor.nextRound()).to.equal(3n);
  });

  it("accepts a log that did not grow (same size, same root, empty proof)", async function () {
    ssid.grow(5);
    opencore.grow(5);
    await anchor(amp, feds, roundFor(amp, feds, 1n));
    ssid.grow(2);
    await anchor(amp, feds, roundFor(amp, feds, 2n));
    expect([...(await latestCheckpoint(amp, opencore.id))]).to.deep.equal([2n, 5n, opencore.rootAt(5n)]);
  });

  it("accepts an empty log first and lets it grow without a proof", async function () {
    opencore.grow(4);
    await anchor(amp, feds, roundFor(amp, feds, 1n));
    expect([...(await checkpointOf(amp, 1n, ssid.id))]).to.deep.equal([1n, 0n, ssid.rootAt(0n)]);
    ssid.grow(3);
    await anchor(amp, feds, roundFor(amp, feds, 2n));
    expect((await checkpointOf(amp, 2n, ssid.id)).treeSize).to.equal(3n);
  });

  it("accepts signers holding just above 2/3 of the weight (7 of 9, and 3 of 3)", async function () {
    ssid.grow(2);
    opencore.grow(2);
    const [a, b, , d] = ssid.validators; // weights 3 + 3 + 1 = 7 of 9
    await anchor(amp, feds, roundFor(amp, feds, 1n, { [ssid.origin]: { signers: [a!, b!, d!] } }));
    expect(await amp.anchor.nextRound()).to.equal(2n);
  });

  it("accepts a rotated validator set from its epoch on and keeps the epoch of older rounds", async function () {
    ssid.grow(3);
    opencore.grow(3);
    await anchor(amp, feds, roundFor(amp, feds, 1n));
    await opencore.rotate(amp, [testWallet("opencore/new-0"), ...opencore.validators.slice(1)], [2n, 1n, 1n]);
    opencore.grow(2);
    const [newcomer, kept] = opencore.validators; // 2 + 1 = 3 of 4
    await anchor(amp, feds, roundFor(amp, feds, 2n, { [opencore.origin]: { signers: [newcomer!, kept!] } }));
    expect((await checkpointOf(amp, 1n, opencore.id)).epoch).to.equal(1n);
    expect((await checkpointOf(amp, 2n, opencore.id)).epoch).to.equal(2n);
  });

  it("takes in a federation registered later, keeping every earlier checkpoint readable", async function () {
    ssid.grow(6);
    opencore.grow(9);
    const r1 = roundFor(amp, feds, 1n);
    await anchor(amp, feds, r1);
    // Find an origin whose id sorts first, so the positions of the earlier federations shift.
    let n = 0;
    let late = new TestFederation(`amp.local/late-${n}`, [testWallet("late/0")], [1n]);
    while (BigInt(late.id) > BigInt(opencore.id) || BigInt(late.id) > BigInt(ssid.id)) {
      n++;
      late = new TestFederation(`amp.local/late-${n}`, [testWallet("late/0")], [1n]);
    }
    await late.register(amp.registry);
    late.grow(1);
    ssid.grow(1);
    const all = [ssid, opencore, late];
    const r2 = roundFor(amp, all, 2n);
    await anchor(amp, all, r2);
    expect((await anchorOf(amp, 1n)).globalRoot).to.equal(r1.globalRoot);
    expect((await anchorOf(amp, 2n)).globalRoot).to.equal(r2.globalRoot);
    expect([...(await checkpointOf(amp, 2n, opencore.id))]).to.deep.equal([1n, 9n, opencore.rootAt(9n)]);
    expect([...(await checkpointOf(amp, 2n, late.id))]).to.deep.equal([1n, 1n, late.rootAt(1n)]);
    expect([...(await checkpointOf(amp, 1n, late.id))]).to.deep.equal([0n, 0n, hre.ethers.ZeroHash]);
    expect((await checkpointOf(amp, 1n, ssid.id)).treeSize).to.equal(6n);
  });

  it("verifies event inclusion against the checkpoint anchored for (round, federation)", async function () {
    ssid.grow(37);
    opencore.grow(2);
    await anchor(amp, feds, roundFor(amp, feds, 1n));
    ssid.grow(20);
    await anchor(amp, feds, roundFor(amp, feds, 2n));
    const check = async (round: bigint, size: number, index: number) =>
      amp.anchor.verifyEventInclusion(
        round,
        ssid.id,
        await recordOf(amp, round),
        ssid.leaves[index]!,
        index,
        inclusionProof(ssid.leaves.slice(0, size), index).map((h) => hexlify(h)),
      );
    for (const index of [0, 1, 17, 36]) expect(await check(1n, 37, index)).to.equal(true);
    for (const index of [0, 36, 56]) expect(await check(2n, 57, index)).to.equal(true);
    expect(await check(2n, 37, 5)).to.equal(false); // proof for another size
    const proof = inclusionProof(ssid.leaves.slice(0, 37), 3).map((h) => hexlify(h));
    expect(
      await amp.anchor.verifyEventInclusion(1n, ssid.id, await recordOf(amp, 1n), ssid.leaves[4]!, 3, proof),
    ).to.equal(false);
    expect(await amp.anchor.verifyEventInclusion(3n, ssid.id, "0x", ssid.leaves[3]!, 3, proof)).to.equal(
      false,
    );
    expect(
      await amp.anchor.verifyEventInclusion(
        1n,
        hre.ethers.ZeroHash,
        await recordOf(amp, 1n),
        ssid.leaves[3]!,
        3,
        proof,
      ),
    ).to.equal(false);
  });

  it("accepts signatures made with Wallet.signTypedData over checkpointTypedData", async function () {
    ssid.grow(2);
    opencore.grow(2);
    const sign = async (fed: TestFederation) => {
      const msg = {
        federationId: fed.id,
        epoch: 1n,
        round: 1n,
        treeSize: fed.size,
        rootHash: fed.rootAt(fed.size),
      };
      const td = checkpointTypedData(amp.chainId, amp.anchorAddress, msg);
      return Promise.all(
        byAddress(fed.validators).map((w) => w.signTypedData(td.domain, td.types, td.message)),
      );
    };
    const r = roundFor(amp, feds, 1n, {
      [ssid.origin]: { signatures: await sign(ssid) },
      [opencore.origin]: { signatures: await sign(opencore) },
    });
    await expect(
      amp.anchor.anchorRound(r.round, r.globalRoot, await previousRecord(amp, r.round), r.checkpoints),
    ).to.emit(amp.anchor, "GlobalRootAnchored");
  });

  it("keeps finding round records past round 127, where the CREATE nonce takes two RLP bytes", async function () {
    this.timeout(120_000);
    for (let round = 1n; round <= 130n; round++) {
      ssid.grow(1);
      await anchor(amp, feds, roundFor(amp, feds, round));
    }
    expect(await amp.anchor.nextRound()).to.equal(131n);
    for (const round of [1n, 127n, 128n, 129n, 130n]) {
      expect((await checkpointOf(amp, round, ssid.id)).treeSize).to.equal(round);
    }
    expect((await latestCheckpoint(amp, ssid.id)).round).to.equal(130n);
    expect((await anchorOf(amp, 131n)).blockNumber).to.equal(0n);
  });

  it("computes the same EIP-712 digest as src/chain/eip712", async function () {
    const msg = {
      federationId: ssid.id,
      epoch: 3n,
      round: 9n,
      treeSize: (1n << 64n) - 1n,
      rootHash: ssid.rootAt(0n),
    };
    expect(
      await amp.anchor.checkpointDigest(msg.federationId, msg.epoch, msg.round, msg.treeSize, msg.rootHash),
    ).to.equal(checkpointTypedDataHash(amp.chainId, amp.anchorAddress, msg));
    expect(byAddress(ssid.validators).map((w) => w.address)).to.deep.equal(
      (await amp.registry.validatorsOf(ssid.id, 1n))[0],
    );
  });
});
