import { expect } from "chai";
import hre from "hardhat";
import type { ParamType } from "ethers";

/** Names that would carry a credit figure, a weight or value; none may appear in the receipt ABI. */
const FORBIDDEN = /score|weight|amount|value|balance|credit(?!allocated)|points?$|reward|token|price/i;

/** Every name in a parameter tree (tuple components included). */
function namesOf(p: ParamType): string[] {
  return [p.name, ...(p.components ?? []).flatMap(namesOf)];
}

describe("ProofCreditReceipts ABI carries only hashes, epochs and block data", function () {
  it("has no payable function, no receive or fallback, and no score/weight/amount/value anywhere", async function () {
    const artifact = await hre.artifacts.readArtifact("ProofCreditReceipts");
    const iface = new hre.ethers.Interface(artifact.abi);
    const offenders: string[] = [];
    iface.forEachFunction((f) => {
      if (f.payable) offenders.push(`payable ${f.name}`);
      const names = [f.name, ...f.inputs.flatMap(namesOf), ...f.outputs.flatMap(namesOf)];
      for (const n of names) if (FORBIDDEN.test(n)) offenders.push(`${f.name}: ${n}`);
    });
    iface.forEachEvent((e) => {
      for (const n of [e.name, ...e.inputs.flatMap(namesOf)])
        if (FORBIDDEN.test(n)) offenders.push(`${e.name}: ${n}`);
    });
    expect(iface.receive, "receive()").to.equal(false);
    expect(iface.fallback, "fallback()").to.equal(null);
    expect(offenders).to.deep.equal([]);
  });

  it("the check itself catches a forbidden name and a payable function", function () {
    const bad = new hre.ethers.Interface([
      "event ProofCreditAllocated(bytes32 indexed allocationHash, uint256 score)",
      "function topUp() payable",
    ]);
    const names: string[] = [];
    bad.forEachEvent((e) => names.push(...e.inputs.flatMap(namesOf).filter((n) => FORBIDDEN.test(n))));
    bad.forEachFunction((f) => f.payable && names.push(f.name));
    expect(names).to.deep.equal(["score", "topUp"]);
  });

  it("emits exactly the documented event fields", async function () {
    const artifact = await hre.artifacts.readArtifact("ProofCreditReceipts");
    const event = new hre.ethers.Interface(artifact.abi).getEvent("ProofCreditAllocated");
    expect(event?.inputs.map((i) => `${i.type} ${i.name}`)).to.deep.equal([
      "bytes32 allocationHash",
      "bytes32 nodeRef",
      "uint64 epoch",
      "bytes32 prevAllocationHash",
    ]);
  });
});
