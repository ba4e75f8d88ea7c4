/**
 * The registry's directory: one data contract holding every federation's current set (ascending id),
 * rewritten on every registration, rotation and recovery; the anchor reads it once a round.
 */
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { concat, sha256, toBeHex, toUtf8Bytes, zeroPadValue } from "ethers";
import {
  anchor,
  demoFederations,
  deployAmp,
  deployWithFederations,
  expectRegistryRejects,
  roundFor,
  testCommitment,
  testWallet,
  type Amp,
} from "../helpers/amp";

/** The directory's data (its code behind the STOP byte). */
async function directoryData(amp: Amp): Promise<string> {
  const code = await hre.ethers.provider.getCode(await amp.registry.directory());
  expect(code.slice(0, 4)).to.equal("0x00");
  return "0x" + code.slice(4);
}

/** What the directory must hold: per federation, ascending id, id || epoch || index || len || set. */
async function expectedDirectory(amp: Amp): Promise<string> {
  const ids = [...(await amp.registry.federationIds())].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
  const parts: string[] = [];
  for (const id of ids) {
    const [epoch, index, set] = await amp.registry.currentSetOf(id);
    const len = (set.length - 2) / 2;
    parts.push(id, zeroPadValue(toBeHex(epoch), 8), zeroPadValue(toBeHex(index), 4));
    parts.push(zeroPadValue(toBeHex(len), 4), set);
  }
  return concat(parts);
}

describe("ValidatorRegistry: the directory of current sets", function () {
  it("holds every current set by ascending id and follows rotations", async function () {
    const amp = await deployAmp();
    expect(await amp.registry.directory()).to.equal(hre.ethers.ZeroAddress);
    const { ssid, opencore } = demoFederations();
    await ssid.register(amp.registry);
    expect(await directoryData(amp)).to.equal(await expectedDirectory(amp));
    await opencore.register(amp.registry);
    const two = await directoryData(amp);
    expect(two).to.equal(await expectedDirectory(amp));
    const next = Array.from({ length: 5 }, (_, i) => testWallet(`directory/next/${i}`));
    await opencore.rotate(amp, next, [1n, 1n, 1n, 1n, 1n]);
    const rotated = await directoryData(amp);
    expect(rotated).to.not.equal(two);
    expect(rotated).to.equal(await expectedDirectory(amp));
    // The anchor checks the new set from the directory: a round signed by the new validators anchors.
    ssid.grow(3);
    opencore.grow(2);
    await anchor(amp, [ssid, opencore], roundFor(amp, [ssid, opencore], 1n));
    expect(await amp.anchor.nextRound()).to.equal(2n);
  });

  it("refuses a registration whose directory would not fit one data contract, changing nothing", async function () {
    this.timeout(300_000);
    const amp = await loadFixture(deployWithFederations);
    const max = await amp.registry.MAX_DIRECTORY_BYTES();
    expect(max).to.equal(24_575n);
    const big = (k: number) =>
      Array.from({ length: 128 }, (_, i) => testWallet(`directory/big/${k}/${i}`).address);
    const register = (k: number) => {
      const vs = big(k);
      return amp.registry.registerFederation(
        `amp.local/big-${k}`,
        vs,
        vs.map(() => 1n),
        vs.map(testCommitment),
        { gasLimit: 16_000_000 }, // the estimate falls short around the directory's CREATE (63/64 rule)
      );
    };
    // Each set of 128 takes 48 + 32 * 129 + 15 bytes: five fit beside the two demo sets, a sixth does not.
    for (let k = 0; k < 5; k++) await (await register(k)).wait();
    const before = await directoryData(amp);
    expect(before).to.equal(await expectedDirectory(amp));
    const ids = [...(await amp.registry.federationIds())];
    const size = (before.length - 2) / 2 + 48 + 32 * 129 + "amp.local/big-5".length;
    expect(size).to.be.greaterThan(Number(max));
    await expectRegistryRejects(
      amp.registry,
      [...ids, sha256(toUtf8Bytes("amp.local/big-5"))],
      () => register(5),
      "RegistryDirectoryTooLarge",
      [BigInt(size), max],
    );
    expect(await directoryData(amp)).to.equal(before);
  });
});
