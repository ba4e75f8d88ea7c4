import { expect } from "chai";
import hre from "hardhat";
import AmpModule from "../../ignition/modules/Amp";
import { deployAmp } from "../helpers/amp";
import { ProofCreditReceipts__factory, ValidatorRegistry__factory } from "../../typechain-types";

describe("ignition/modules/Amp.ts", function () {
  it("deploys the three contracts with account 0 as governance and allocator by default", async function () {
    const amp = await deployAmp();
    const [deployer] = await hre.ethers.getSigners();
    expect(await amp.registry.hasRole(await amp.registry.GOVERNANCE_ROLE(), deployer!.address)).to.equal(
      true,
    );
    expect(await amp.receipts.hasRole(await amp.receipts.ALLOCATOR_ROLE(), deployer!.address)).to.equal(true);
    expect(await amp.anchor.registry()).to.equal(await amp.registry.getAddress());
    expect(await amp.anchor.nextRound()).to.equal(1n);
    expect(await amp.registry.recoveryDelay()).to.equal(7n * 24n * 60n * 60n);
  });

  it("hands governance and allocation to the accounts given as parameters", async function () {
    const [deployer, governance, allocator] = await hre.ethers.getSigners();
    const deployed = await hre.ignition.deploy(AmpModule, {
      parameters: {
        Amp: { governance: governance!.address, allocator: allocator!.address, recoveryDelay: 3600n },
      },
    });
    const registry = ValidatorRegistry__factory.connect(await deployed.registry.getAddress(), deployer);
    const receipts = ProofCreditReceipts__factory.connect(await deployed.receipts.getAddress(), deployer);
    const govRole = await registry.GOVERNANCE_ROLE();
    const allocRole = await receipts.ALLOCATOR_ROLE();
    expect(await registry.hasRole(govRole, governance!.address)).to.equal(true);
    expect(await registry.hasRole(govRole, deployer!.address)).to.equal(false);
    expect(await registry.recoveryDelay()).to.equal(3600n);
    expect(await receipts.hasRole(allocRole, allocator!.address)).to.equal(true);
    expect(await receipts.hasRole(allocRole, deployer!.address)).to.equal(false);
  });
});
