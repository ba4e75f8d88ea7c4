/**
 * Rotation only by the outgoing quorum, and governance's delayed recovery: every accepted and every
 * refused path, with the exact custom error and the registry's state unchanged after a refusal.
 */
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { Signature, concat, sha256, toUtf8Bytes, ZeroHash } from "ethers";
import type { Wallet } from "ethers";
import { rotationTypedDataHash, validatorSetHash } from "../../src/chain/eip712";
import { ValidatorRegistry__factory } from "../../typechain-types";
import {
  byAddress,
  deployAmp,
  expectRegistryRejects,
  rotationSignatures,
  testCommitment,
  testWallet,
  type Amp,
} from "../helpers/amp";

const ORIGIN = "amp.local/rotation";
const ID = sha256(toUtf8Bytes(ORIGIN));
const DELAY = 7n * 24n * 60n * 60n;
const N = BigInt("0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141");
/** Outgoing set: weights 3, 3, 2, 1 (total 9: 6 is exactly 2/3, 7 just above). */
const OLD = Array.from({ length: 4 }, (_, i) => testWallet(`rotation/old/${i}`));
const OLD_WEIGHTS = [3n, 3n, 2n, 1n];
const NEW = Array.from({ length: 3 }, (_, i) => testWallet(`rotation/new/${i}`));
const setOf = (ws: Wallet[], weights: bigint[]) => ({
  validators: ws.map((w) => w.address),
  weights,
  keyCommitments: ws.map((w) => testCommitment(w.address)),
});
const OLD_SET = setOf(OLD, OLD_WEIGHTS);
const NEW_SET = setOf(NEW, [1n, 1n, 1n]);

async function registered(): Promise<Amp> {
  const amp = await deployAmp();
  const s = OLD_SET;
  await (await amp.registry.registerFederation(ORIGIN, s.validators, s.weights, s.keyCommitments)).wait();
  return amp;
}

describe("ValidatorRegistry: rotation by the outgoing quorum, recovery by governance after a delay", function () {
  let amp: Amp;

  beforeEach(async function () {
    amp = await loadFixture(registered);
  });

  const expectRejected = (call: () => Promise<unknown>, error: string, args: unknown[]) =>
    expectRegistryRejects(amp.registry, [ID], call, error, args);

  const rotate = (sigs: string[], set = NEW_SET) =>
    amp.registry.rotateValidators(ID, set.validators, set.weights, set.keyCommitments, sigs);
  const sign = (signers: Wallet[], o: { epoch?: bigint; chainId?: bigint; registry?: string } = {}) =>
    rotationSignatures(amp, ID, o.epoch ?? 2n, NEW_SET, signers, o);
  /** Signers holding exactly `weights` of OLD, by index. */
  const olds = (...idx: number[]) => idx.map((i) => OLD[i]!);

  it("computes setHash and rotationDigest as the TypeScript signer does", async function () {
    const s = NEW_SET;
    const hash = validatorSetHash(s);
    expect(await amp.registry.setHash(s.validators, s.weights, s.keyCommitments)).to.equal(hash);
    const reversed = [...s.validators].reverse();
    expect(
      await amp.registry.setHash(reversed, [...s.weights].reverse(), [...s.keyCommitments].reverse()),
    ).to.equal(hash);
    expect(await amp.registry.rotationDigest(ID, 2n, hash)).to.equal(
      rotationTypedDataHash(amp.chainId, amp.registryAddress, { federationId: ID, epoch: 2n, setHash: hash }),
    );
  });

  it("accepts signers holding just above 2/3 of the outgoing weight (7 of 9)", async function () {
    await expect(rotate(sign(olds(0, 1, 3))))
      .to.emit(amp.registry, "ValidatorSetRotated")
      .withArgs(ID, 2n, anyValue, anyValue, anyValue);
    expect(await amp.registry.currentEpoch(ID)).to.equal(2n);
    expect(await amp.registry.totalWeight(ID, 2n)).to.equal(3n);
    expect(await amp.registry.isRecoveryEpoch(ID, 2n)).to.equal(false);
    // The next rotation needs the new set's quorum.
    const back = rotationSignatures(amp, ID, 3n, OLD_SET, NEW.slice(0, 2));
    await expectRejected(() => rotate(back, OLD_SET), "RegistryRotationQuorumNotReached", [ID, 2n, 3n]);
    await (await rotate(rotationSignatures(amp, ID, 3n, OLD_SET, NEW), OLD_SET)).wait();
    expect(await amp.registry.currentEpoch(ID)).to.equal(3n);
  });

  it("refuses a rotation without signatures, or by one validator", async function () {
    await expectRejected(() => rotate([]), "RegistryRotationQuorumNotReached", [ID, 0n, 9n]);
    await expectRejected(() => rotate(sign(olds(0))), "RegistryRotationQuorumNotReached", [ID, 3n, 9n]);
  });

  it("refuses a rotation signed by exactly 2/3 of the outgoing weight (6 of 9)", async function () {
    await expectRejected(() => rotate(sign(olds(0, 1))), "RegistryRotationQuorumNotReached", [ID, 6n, 9n]);
  });

  it("refuses a rotation signed by the new set instead of the old one", async function () {
    const first = byAddress(NEW)[0]!;
    await expectRejected(() => rotate(sign(NEW)), "RegistryRotationSignerUnknown", [ID, 1n, first.address]);
  });

  it("refuses signatures made for another chain id or another registry", async function () {
    await expectRejected(
      () => rotate(sign(OLD, { chainId: amp.chainId + 1n })),
      "RegistryRotationSignerUnknown",
      [ID, 1n, anyValue],
    );
    const [deployer] = await hre.ethers.getSigners();
    const other = await new ValidatorRegistry__factory(deployer!).deploy(deployer!.address, DELAY);
    const s = OLD_SET;
    await (await other.registerFederation(ORIGIN, s.validators, s.weights, s.keyCommitments)).wait();
    const forOther = sign(OLD, { registry: await other.getAddress() });
    await (
      await other.rotateValidators(ID, NEW_SET.validators, [1n, 1n, 1n], NEW_SET.keyCommitments, forOther)
    ).wait(); // valid there ...
    await expectRejected(() => rotate(forOther), "RegistryRotationSignerUnknown", [ID, 1n, anyValue]); // ... not here
  });

  it("refuses a replayed rotation and signatures over another set or epoch", async function () {
    const sigs = sign(OLD);
    await (await rotate(sigs)).wait();
    await expectRejected(() => rotate(sigs), "RegistryRotationSignerUnknown", [ID, 2n, anyValue]);
    amp = await loadFixture(registered);
    await expectRejected(() => rotate(sign(OLD, { epoch: 3n })), "RegistryRotationSignerUnknown", [
      ID,
      1n,
      anyValue,
    ]);
    const otherSet = setOf([NEW[0]!], [1n]);
    await expectRejected(() => rotate(sign(OLD), otherSet), "RegistryRotationSignerUnknown", [
      ID,
      1n,
      anyValue,
    ]);
  });

  it("refuses signers out of order, twice, and malformed or malleable signatures", async function () {
    const sorted = byAddress(OLD);
    const sigs = sign(OLD);
    await expectRejected(
      () => rotate([sigs[1]!, sigs[0]!, sigs[2]!]),
      "RegistryRotationSignersNotAscending",
      [sorted[1]!.address, sorted[0]!.address],
    );
    await expectRejected(() => rotate([sigs[0]!, sigs[0]!, sigs[1]!]), "RegistryRotationSignerDuplicated", [
      sorted[0]!.address,
    ]);
    await expectRejected(() => rotate([sigs[0]!.slice(0, -2)]), "RegistryRotationSignatureLengthInvalid", [
      0n,
      64n,
    ]);
    const sig = Signature.from(sigs[0]);
    const high = concat([
      sig.r,
      "0x" + (N - BigInt(sig.s)).toString(16).padStart(64, "0"),
      sig.v === 27 ? "0x1c" : "0x1b",
    ]);
    await expectRejected(() => rotate([high]), "RegistryRotationSignatureMalleable", [0n]);
    await expectRejected(() => rotate([concat([sig.r, sig.s, "0x1d"])]), "RegistryRotationSignatureInvalid", [
      0n,
    ]);
  });

  describe("recovery", function () {
    const schedule = () =>
      amp.registry.scheduleRecovery(ID, NEW_SET.validators, NEW_SET.weights, NEW_SET.keyCommitments);
    const execute = (set = NEW_SET) =>
      amp.registry.executeRecovery(ID, set.validators, set.weights, set.keyCommitments);

    it("is pending and visible for the whole delay, then creates a recovery epoch", async function () {
      expect(await amp.registry.recoveryDelay()).to.equal(DELAY);
      const tx = await schedule();
      const at = BigInt((await tx.getBlock())!.timestamp) + DELAY;
      await expect(tx)
        .to.emit(amp.registry, "RecoveryScheduled")
        .withArgs(ID, 2n, validatorSetHash(NEW_SET), at);
      expect([...(await amp.registry.pendingRecovery(ID))]).to.deep.equal([
        2n,
        validatorSetHash(NEW_SET),
        at,
      ]);
      await time.setNextBlockTimestamp(at - 1n);
      await expectRejected(() => execute(), "RegistryRecoveryTooEarly", [ID, at, at - 1n]);
      await time.setNextBlockTimestamp(at);
      await expect(execute()).to.emit(amp.registry, "RecoveryExecuted").withArgs(ID, 2n);
      expect(await amp.registry.currentEpoch(ID)).to.equal(2n);
      expect(await amp.registry.isRecoveryEpoch(ID, 2n)).to.equal(true);
      expect(await amp.registry.isRecoveryEpoch(ID, 1n)).to.equal(false);
      expect([...(await amp.registry.pendingRecovery(ID))]).to.deep.equal([0n, ZeroHash, 0n]);
    });

    it("refuses executing a recovery early, twice, or with another set than scheduled", async function () {
      const tx = await schedule();
      const at = BigInt((await tx.getBlock())!.timestamp) + DELAY;
      await expectRejected(() => execute(), "RegistryRecoveryTooEarly", [ID, at, anyValue]);
      await expectRejected(() => schedule(), "RegistryRecoveryPending", [ID, 2n]);
      await time.increaseTo(at);
      const other = setOf([NEW[0]!], [1n]);
      await expectRejected(() => execute(other), "RegistryRecoverySetMismatch", [
        ID,
        validatorSetHash(NEW_SET),
        validatorSetHash(other),
      ]);
      await (await execute()).wait();
      await expectRejected(() => execute(), "RegistryRecoveryNotPending", [ID]);
    });

    it("refuses executing a cancelled recovery, even after the delay", async function () {
      const tx = await schedule();
      const at = BigInt((await tx.getBlock())!.timestamp) + DELAY;
      await expect(amp.registry.cancelRecovery(ID))
        .to.emit(amp.registry, "RecoveryCancelled")
        .withArgs(ID, 2n, validatorSetHash(NEW_SET));
      await time.increaseTo(at + 1n);
      await expectRejected(() => execute(), "RegistryRecoveryNotPending", [ID]);
      await expectRejected(() => amp.registry.cancelRecovery(ID), "RegistryRecoveryNotPending", [ID]);
      expect(await amp.registry.currentEpoch(ID)).to.equal(1n);
    });

    it("is cancelled by a rotation of the outgoing quorum", async function () {
      await (await schedule()).wait();
      await expect(rotate(sign(OLD)))
        .to.emit(amp.registry, "RecoveryCancelled")
        .withArgs(ID, 2n, validatorSetHash(NEW_SET));
      expect([...(await amp.registry.pendingRecovery(ID))]).to.deep.equal([0n, ZeroHash, 0n]);
      await time.increase(DELAY + 1n);
      await expectRejected(() => execute(), "RegistryRecoveryNotPending", [ID]);
    });

    it("refuses scheduling a recovery of an unknown federation", async function () {
      const s = NEW_SET;
      await expectRejected(
        () => amp.registry.scheduleRecovery(ZeroHash, s.validators, s.weights, s.keyCommitments),
        "RegistryFederationUnknown",
        [ZeroHash],
      );
    });
  });
});
