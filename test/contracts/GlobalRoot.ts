import { expect } from "chai";
import hre from "hardhat";
import fc from "fast-check";
import { hexlify, sha256, toUtf8Bytes } from "ethers";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { federationIdOf, globalRoot, type NexusCheckpoint } from "../../src/nexus/global-root";
import { InvalidInputError } from "../../src/util/errors";
import type { GlobalRootHarness } from "../../typechain-types";
import { anchor, demoFederations, deployWithFederations, roundFor, anchorOf } from "../helpers/amp";

const U64_MAX = (1n << 64n) - 1n;
const printable = fc
  .array(fc.integer({ min: 0x21, max: 0x7e }), { minLength: 1, maxLength: 255 })
  .map((codes) => String.fromCharCode(...codes));
const checkpoint = fc.record({
  origin: printable,
  treeSize: fc.bigInt({ min: 0n, max: U64_MAX }),
  rootHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
});

/** The harness takes parts already in ascending federationId order. */
function sortedById(cps: NexusCheckpoint[]): NexusCheckpoint[] {
  return [...cps].sort((a, b) =>
    BigInt(hexlify(federationIdOf(a.origin))) < BigInt(hexlify(federationIdOf(b.origin))) ? -1 : 1,
  );
}

describe("global root: src/nexus/global-root.ts and the contracts agree", function () {
  let harness: GlobalRootHarness;

  before(async function () {
    harness = await (await hre.ethers.getContractFactory("GlobalRootHarness")).deploy();
  });

  it("agrees with the Solidity GlobalRoot library on random rounds, origins, sizes and roots", async function () {
    await fc.assert(
      fc.asyncProperty(
        fc.bigInt({ min: 1n, max: U64_MAX }),
        fc.uniqueArray(checkpoint, { minLength: 1, maxLength: 6, selector: (c) => c.origin }),
        async (round, cps) => {
          const ordered = sortedById(cps);
          const onChain = await harness.globalRoot(
            round,
            ordered.map((c) => c.origin),
            ordered.map((c) => c.treeSize),
            ordered.map((c) => hexlify(c.rootHash)),
          );
          expect(onChain).to.equal(hexlify(globalRoot(round, cps)));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("agrees with the root the anchor recomputes and reports for an anchored round", async function () {
    const amp = await loadFixture(deployWithFederations);
    const { ssid, opencore } = demoFederations();
    ssid.grow(3);
    opencore.grow(11);
    const r = roundFor(amp, [ssid, opencore], 1n);
    await anchor(amp, [ssid, opencore], r);
    const ts = globalRoot(1n, [
      { origin: opencore.origin, treeSize: 11n, rootHash: hre.ethers.getBytes(opencore.rootAt(11n)) },
      { origin: ssid.origin, treeSize: 3n, rootHash: hre.ethers.getBytes(ssid.rootAt(3n)) },
    ]);
    expect((await anchorOf(amp, 1n)).globalRoot).to.equal(hexlify(ts));
  });

  it("encodes exactly label ‖ u64be(round) ‖ [u8 len ‖ origin ‖ u64be(size) ‖ root] in id order", function () {
    const root = new Uint8Array(32).fill(7);
    const cps = [
      { origin: "amp.local/ssid", treeSize: 258n, rootHash: root },
      { origin: "amp.local/opencore", treeSize: 1n, rootHash: root },
    ];
    const part = (c: NexusCheckpoint) =>
      hre.ethers.concat([
        Uint8Array.of(c.origin.length),
        toUtf8Bytes(c.origin),
        hre.ethers.toBeHex(c.treeSize, 8),
        c.rootHash,
      ]);
    const preimage = hre.ethers.concat([
      toUtf8Bytes("amp/global-root/v1\n"),
      hre.ethers.toBeHex(5n, 8),
      ...sortedById(cps).map(part),
    ]);
    expect(hexlify(globalRoot(5n, cps))).to.equal(sha256(preimage));
    expect(hexlify(globalRoot(5n, [...cps].reverse()))).to.equal(sha256(preimage));
    expect(hexlify(federationIdOf("amp.local/ssid"))).to.equal(sha256(toUtf8Bytes("amp.local/ssid")));
  });

  it("refuses bad input with InvalidInputError", function () {
    const ok = { origin: "amp.local/ssid", treeSize: 1n, rootHash: new Uint8Array(32) };
    const bad: [bigint, NexusCheckpoint[]][] = [
      [0n, [ok]],
      [U64_MAX + 1n, [ok]],
      [1n, []],
      [1n, [ok, { ...ok }]],
      [1n, [{ ...ok, origin: "" }]],
      [1n, [{ ...ok, origin: "has space" }]],
      [1n, [{ ...ok, origin: "x".repeat(256) }]],
      [1n, [{ ...ok, treeSize: -1n }]],
      [1n, [{ ...ok, treeSize: U64_MAX + 1n }]],
      [1n, [{ ...ok, rootHash: new Uint8Array(31) }]],
    ];
    for (const [round, cps] of bad) expect(() => globalRoot(round, cps)).to.throw(InvalidInputError);
  });
});
