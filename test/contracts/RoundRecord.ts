import { expect } from "chai";
import hre from "hardhat";
import fc from "fast-check";
import { getCreateAddress } from "ethers";

describe("RoundRecord.addressOf (where round records live)", function () {
  it("equals the CREATE address for every nonce width, 1 to 8 bytes", async function () {
    const harness = await (await hre.ethers.getContractFactory("RoundRecordHarness")).deploy();
    const fixed = [
      0n,
      1n,
      0x7fn,
      0x80n,
      0xffn,
      0x100n,
      0xffffn,
      0x10000n,
      (1n << 56n) + 1n,
      (1n << 64n) - 1n,
    ];
    const creator = hre.ethers.Wallet.createRandom().address;
    for (const nonce of fixed) {
      expect(await harness.addressOf(creator, nonce), `nonce ${nonce}`).to.equal(
        getCreateAddress({ from: creator, nonce }),
      );
    }
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 20, maxLength: 20 }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        async (bytes, nonce) => {
          const from = hre.ethers.getAddress(hre.ethers.hexlify(bytes));
          expect(await harness.addressOf(from, nonce)).to.equal(getCreateAddress({ from, nonce }));
        },
      ),
      { numRuns: 50 },
    );
  });
});
