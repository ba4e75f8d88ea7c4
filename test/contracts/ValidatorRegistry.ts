import { expect } from "chai";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { FunctionFragment, Interface, sha256, toUtf8Bytes, ZeroAddress, ZeroHash } from "ethers";
import {
  byAddress,
  deployAmp,
  expectRegistryRejects,
  registryState,
  rotationSignatures,
  testCommitment,
  testWallet,
  type Amp,
} from "../helpers/amp";

const ORIGIN = "amp.local/ssid";
const ID = sha256(toUtf8Bytes(ORIGIN));
const wallets = Array.from({ length: 4 }, (_, i) => testWallet(`registry/${i}`));
const addresses = wallets.map((w) => w.address);
const WEIGHTS = [4000n, 3000n, 2000n, 1000n];
const COMMITS = addresses.map(testCommitment);
const commitsOf = (xs: string[]) => xs.map(testCommitment);

describe("ValidatorRegistry", function () {
  let amp: Amp;

  beforeEach(async function () {
    amp = await loadFixture(deployAmp);
  });

  const expectRejected = (call: () => Promise<unknown>, error: string, args: unknown[]) =>
    expectRegistryRejects(amp.registry, [ID], call, error, args);

  it("registers a federation in epoch 1 with its set sorted by address", async function () {
    const sorted = byAddress(wallets).map((w) => w.address);
    const sortedWeights = sorted.map((a) => WEIGHTS[addresses.indexOf(a)]!);
    await expect(amp.registry.registerFederation(ORIGIN, addresses, WEIGHTS, COMMITS))
      .to.emit(amp.registry, "FederationRegistered")
      .withArgs(ID, ORIGIN)
      .and.to.emit(amp.registry, "ValidatorSetRotated")
      .withArgs(ID, 1n, sorted, sortedWeights, commitsOf(sorted));
    expect([...(await amp.registry.keyCommitmentsOf(ID, 1n))]).to.deep.equal(commitsOf(sorted));
    expect(await amp.registry.isRecoveryEpoch(ID, 1n)).to.equal(false);
    expect(await amp.registry.federationIds()).to.deep.equal([ID]);
    expect(await amp.registry.federationCount()).to.equal(1n);
    expect(await amp.registry.originOf(ID)).to.equal(ORIGIN);
    expect(await amp.registry.currentEpoch(ID)).to.equal(1n);
    expect(await amp.registry.totalWeight(ID, 1n)).to.equal(10_000n);
    expect(await amp.registry.weightOf(ID, 1n, addresses[2]!)).to.equal(2000n);
    expect(await amp.registry.weightOf(ID, 1n, testWallet("nobody").address)).to.equal(0n);
    const [v, w] = await amp.registry.validatorsOf(ID, 1n);
    expect([...v]).to.deep.equal(sorted);
    expect([...w]).to.deep.equal(sortedWeights);
    const [epoch, index, packed] = await amp.registry.currentSetOf(ID);
    expect(index).to.equal(0n);
    expect(epoch).to.equal(1n);
    expect(hre.ethers.toUtf8String("0x" + packed.slice(2 + 2 * 32 * 5))).to.equal(ORIGIN);
  });

  it("rotates to a new epoch signed by the outgoing quorum and keeps the old one readable", async function () {
    await (await amp.registry.registerFederation(ORIGIN, addresses, WEIGHTS, COMMITS)).wait();
    const next = [testWallet("registry/new").address, addresses[0]!];
    const set = { validators: next, weights: [5n, 6n], keyCommitments: commitsOf(next) };
    const sigs = rotationSignatures(amp, ID, 2n, set, wallets.slice(0, 3)); // 9000 of 10000
    const sorted = [...next].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    await expect(amp.registry.rotateValidators(ID, next, [5n, 6n], set.keyCommitments, sigs))
      .to.emit(amp.registry, "ValidatorSetRotated")
      .withArgs(ID, 2n, sorted, anyWeights(next, [5n, 6n]), commitsOf(sorted));
    expect(await amp.registry.currentEpoch(ID)).to.equal(2n);
    expect(await amp.registry.totalWeight(ID, 2n)).to.equal(11n);
    expect(await amp.registry.totalWeight(ID, 1n)).to.equal(10_000n);
    expect(await amp.registry.weightOf(ID, 1n, addresses[3]!)).to.equal(1000n);
    expect(await amp.registry.weightOf(ID, 2n, addresses[3]!)).to.equal(0n);
    expect([...(await amp.registry.keyCommitmentsOf(ID, 2n))]).to.deep.equal(commitsOf(sorted));
    expect([...(await amp.registry.keyCommitmentsOf(ID, 1n))]).to.deep.equal(
      commitsOf(byAddress(wallets).map((w) => w.address)),
    );
    expect(await amp.registry.isRecoveryEpoch(ID, 2n)).to.equal(false);
    expect(await amp.registry.originOf(ID)).to.equal(ORIGIN);
  });

  it("answers zero and empty for unknown federations and epochs", async function () {
    expect(await amp.registry.currentEpoch(ID)).to.equal(0n);
    expect(await amp.registry.originOf(ID)).to.equal("");
    expect(await amp.registry.totalWeight(ID, 1n)).to.equal(0n);
    expect((await amp.registry.validatorsOf(ID, 1n))[0]).to.deep.equal([]);
    expect([...(await amp.registry.currentSetOf(ID))]).to.deep.equal([0n, 0n, "0x"]);
  });

  describe("rejects", function () {
    it("governance calls from an account without GOVERNANCE_ROLE", async function () {
      const [, stranger] = await hre.ethers.getSigners();
      const role = await amp.registry.GOVERNANCE_ROLE();
      await expectRejected(
        () => amp.registry.connect(stranger).registerFederation(ORIGIN, addresses, WEIGHTS, COMMITS),
        "AccessControlUnauthorizedAccount",
        [stranger!.address, role],
      );
      await (await amp.registry.registerFederation(ORIGIN, addresses, WEIGHTS, COMMITS)).wait();
      const asStranger = amp.registry.connect(stranger);
      for (const call of [
        () => asStranger.scheduleRecovery(ID, addresses, WEIGHTS, COMMITS),
        () => asStranger.cancelRecovery(ID),
        () => asStranger.executeRecovery(ID, addresses, WEIGHTS, COMMITS),
      ]) {
        await expectRejected(call, "AccessControlUnauthorizedAccount", [stranger!.address, role]);
      }
    });

    it("a second registration of the same origin", async function () {
      await (await amp.registry.registerFederation(ORIGIN, addresses, WEIGHTS, COMMITS)).wait();
      await expectRejected(
        () => amp.registry.registerFederation(ORIGIN, addresses, WEIGHTS, COMMITS),
        "RegistryFederationExists",
        [ID],
      );
    });

    it("origins that are empty, too long, or not printable ASCII without spaces", async function () {
      for (const origin of ["", "a".repeat(256), "amp local", "amp.local/\n", "amp.local/ü"]) {
        await expectRejected(
          () => amp.registry.registerFederation(origin, addresses, WEIGHTS, COMMITS),
          "RegistryOriginInvalid",
          [origin],
        );
      }
    });

    it("malformed validator sets", async function () {
      const r = amp.registry;
      await expectRejected(
        () => r.registerFederation(ORIGIN, addresses, [1n], COMMITS),
        "RegistryValidatorSetLengthMismatch",
        [4n, 1n],
      );
      await expectRejected(
        () => r.registerFederation(ORIGIN, [], [], []),
        "RegistryValidatorSetSizeInvalid",
        [0n, 256n],
      );
      const many = Array.from({ length: 257 }, (_, i) => testWallet(`many/${i}`).address);
      await expectRejected(
        () =>
          r.registerFederation(
            ORIGIN,
            many,
            many.map(() => 1n),
            commitsOf(many),
          ),
        "RegistryValidatorSetSizeInvalid",
        [257n, 256n],
      );
      await expectRejected(
        () => r.registerFederation(ORIGIN, [addresses[0]!, ZeroAddress], [1n, 1n], COMMITS.slice(0, 2)),
        "RegistryValidatorZero",
        [1n],
      );
      await expectRejected(
        () => r.registerFederation(ORIGIN, addresses, [1n, 0n, 1n, 1n], COMMITS),
        "RegistryValidatorWeightZero",
        [addresses[1]!],
      );
      await expectRejected(
        () =>
          r.registerFederation(
            ORIGIN,
            [addresses[0]!, addresses[1]!, addresses[0]!],
            [1n, 2n, 3n],
            COMMITS.slice(0, 3),
          ),
        "RegistryValidatorDuplicated",
        [addresses[0]!],
      );
    });

    it("key commitments that are missing, zero or repeated", async function () {
      const r = amp.registry;
      await expectRejected(
        () => r.registerFederation(ORIGIN, addresses, WEIGHTS, COMMITS.slice(1)),
        "RegistryKeyCommitmentsLengthMismatch",
        [4n, 3n],
      );
      await expectRejected(
        () => r.registerFederation(ORIGIN, addresses, WEIGHTS, [COMMITS[0]!, ZeroHash, ...COMMITS.slice(2)]),
        "RegistryKeyCommitmentZero",
        [addresses[1]!],
      );
      await expectRejected(
        () => r.registerFederation(ORIGIN, addresses, WEIGHTS, [...COMMITS.slice(0, 3), COMMITS[1]!]),
        "RegistryKeyCommitmentDuplicated",
        [COMMITS[1]!],
      );
    });

    it("rotating an unknown federation or to a malformed set", async function () {
      const sigs = rotationSignatures(
        amp,
        ZeroHash,
        1n,
        { validators: addresses, weights: WEIGHTS, keyCommitments: COMMITS },
        wallets,
      );
      await expectRejected(
        () => amp.registry.rotateValidators(ZeroHash, addresses, WEIGHTS, COMMITS, sigs),
        "RegistryFederationUnknown",
        [ZeroHash],
      );
      await (await amp.registry.registerFederation(ORIGIN, addresses, WEIGHTS, COMMITS)).wait();
      await expectRejected(
        () => amp.registry.rotateValidators(ID, [], [], [], sigs),
        "RegistryValidatorSetSizeInvalid",
        [0n, 256n],
      );
    });

    it("value sent to any function or to the contract", async function () {
      await (await amp.registry.registerFederation(ORIGIN, addresses, WEIGHTS, COMMITS)).wait();
      const before = await registryState(amp.registry, [ID]);
      const [sender] = await hre.ethers.getSigners();
      const to = await amp.registry.getAddress();
      const iface = amp.registry.interface as Interface;
      const args: Record<string, unknown[]> = {
        registerFederation: ["amp.local/other", addresses, WEIGHTS, COMMITS],
        rotateValidators: [ID, addresses, WEIGHTS, COMMITS, []],
        scheduleRecovery: [ID, addresses, WEIGHTS, COMMITS],
        cancelRecovery: [ID],
        executeRecovery: [ID, addresses, WEIGHTS, COMMITS],
        recoveryDelay: [],
        pendingRecovery: [ID],
        isRecoveryEpoch: [ID, 1n],
        setHash: [addresses, WEIGHTS, COMMITS],
        rotationDigest: [ID, 2n, ZeroHash],
        keyCommitmentsOf: [ID, 1n],
        ROTATION_TYPEHASH: [],
        eip712Domain: [],
        federationIds: [],
        federationCount: [],
        originOf: [ID],
        currentEpoch: [ID],
        weightOf: [ID, 1n, addresses[0]!],
        totalWeight: [ID, 1n],
        validatorsOf: [ID, 1n],
        currentSetOf: [ID],
        GOVERNANCE_ROLE: [],
        MAX_VALIDATORS: [],
        MAX_DIRECTORY_BYTES: [],
        directory: [],
        DEFAULT_ADMIN_ROLE: [],
        getRoleAdmin: [ZeroHash],
        grantRole: [ZeroHash, sender!.address],
        revokeRole: [ZeroHash, sender!.address],
        renounceRole: [ZeroHash, sender!.address],
        hasRole: [ZeroHash, sender!.address],
        supportsInterface: ["0x01ffc9a7"],
      };
      const functions = iface.fragments.filter((f): f is FunctionFragment => f.type === "function");
      expect(functions.length).to.equal(Object.keys(args).length);
      for (const f of functions) {
        const name = f.name;
        const data = iface.encodeFunctionData(name, args[name]);
        await expect(sender!.sendTransaction({ to, data, value: 1n }), name).to.be.reverted;
      }
      await expect(sender!.sendTransaction({ to, value: 1n })).to.be.reverted;
      expect(await hre.ethers.provider.getBalance(to)).to.equal(0n);
      expect(await registryState(amp.registry, [ID])).to.deep.equal(before);
    });
  });
});

/** Weights reordered to follow the validators sorted by address. */
function anyWeights(validators: string[], weights: bigint[]): bigint[] {
  const sorted = [...validators].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
  return sorted.map((a) => weights[validators.indexOf(a)]!);
}
