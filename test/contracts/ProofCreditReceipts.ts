import { expect } from "chai";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { EventFragment, FunctionFragment, Interface, keccak256, toUtf8Bytes, ZeroHash } from "ethers";
import { deployAmp, type Amp } from "../helpers/amp";

const h = (label: string) => keccak256(toUtf8Bytes(label));
const NODE = h("node/a");
const OTHER = h("node/b");

describe("ProofCreditReceipts", function () {
  let amp: Amp;

  beforeEach(async function () {
    amp = await loadFixture(deployAmp);
  });

  /** Receipts and chain heads of the given hashes and nodes, for "nothing changed" checks. */
  async function state(hashes: string[], nodes: string[] = [NODE, OTHER]): Promise<unknown[]> {
    const out: unknown[] = [];
    for (const x of hashes) out.push(await amp.receipts.receiptOf(x));
    for (const n of nodes) out.push(await amp.receipts.lastAllocationOf(n));
    return out;
  }

  async function expectRejected(
    call: () => Promise<unknown>,
    error: string,
    args: unknown[],
    hashes: string[],
  ): Promise<void> {
    const before = await state(hashes);
    await expect(call())
      .to.be.revertedWithCustomError(amp.receipts, error)
      .withArgs(...args);
    expect(await state(hashes)).to.deep.equal(before);
  }

  it("records a node's first allocation: its node in storage, epoch and previous hash in the event", async function () {
    const tx = await amp.receipts.recordAllocation(7n, NODE, h("a1"), ZeroHash);
    await expect(tx).to.emit(amp.receipts, "ProofCreditAllocated").withArgs(h("a1"), NODE, 7n, ZeroHash);
    const mined = await tx.wait();
    expect(await amp.receipts.receiptOf(h("a1"))).to.equal(NODE);
    expect(await amp.receipts.lastAllocationOf(NODE)).to.equal(h("a1"));
    expect(await amp.receipts.receiptOf(h("none"))).to.equal(ZeroHash);
    // The event is found again by its indexed allocation hash, in the recording block.
    const logs = await amp.receipts.queryFilter(amp.receipts.filters.ProofCreditAllocated(h("a1")));
    expect(logs.map((l) => [l.blockNumber, l.args.epoch, l.args.prevAllocationHash])).to.deep.equal([
      [mined!.blockNumber, 7n, ZeroHash],
    ]);
  });

  it("chains a node's allocations through their previous hashes", async function () {
    await (await amp.receipts.recordAllocation(1n, NODE, h("a1"), ZeroHash)).wait();
    await (await amp.receipts.recordAllocation(2n, NODE, h("a2"), h("a1"))).wait();
    await (await amp.receipts.recordAllocation(1n, OTHER, h("b1"), ZeroHash)).wait();
    const logs = await amp.receipts.queryFilter(amp.receipts.filters.ProofCreditAllocated(h("a2")));
    expect(logs.map((l) => l.args.prevAllocationHash)).to.deep.equal([h("a1")]);
    expect(await amp.receipts.receiptOf(h("a2"))).to.equal(NODE);
    expect(await amp.receipts.lastAllocationOf(NODE)).to.equal(h("a2"));
    expect(await amp.receipts.lastAllocationOf(OTHER)).to.equal(h("b1"));
  });

  it("records a batch of an epoch, a node's links chaining inside the batch", async function () {
    const batch = [
      { nodeRef: NODE, allocationHash: h("a1"), prevAllocationHash: ZeroHash },
      { nodeRef: OTHER, allocationHash: h("b1"), prevAllocationHash: ZeroHash },
      { nodeRef: NODE, allocationHash: h("a2"), prevAllocationHash: h("a1") },
    ];
    const tx = amp.receipts.recordAllocations(3n, batch);
    for (const a of batch) {
      await expect(tx)
        .to.emit(amp.receipts, "ProofCreditAllocated")
        .withArgs(a.allocationHash, a.nodeRef, 3n, a.prevAllocationHash);
    }
    expect(await amp.receipts.lastAllocationOf(NODE)).to.equal(h("a2"));
    expect(await amp.receipts.receiptOf(h("b1"))).to.equal(OTHER);
  });

  describe("MiCA invariants (hash-only, no value)", function () {
    it("writes only allocation hashes and node references to storage", async function () {
      await (await amp.receipts.recordAllocation(1n, NODE, h("a1"), ZeroHash)).wait();
      const batch = [
        { nodeRef: NODE, allocationHash: h("a2"), prevAllocationHash: h("a1") },
        { nodeRef: OTHER, allocationHash: h("b1"), prevAllocationHash: ZeroHash },
      ];
      const tx = await amp.receipts.recordAllocations(2n, batch);
      await tx.wait();
      const trace = (await hre.network.provider.send("debug_traceTransaction", [
        tx.hash,
        { disableMemory: true },
      ])) as { structLogs: { op: string; stack?: string[] }[] };
      const written = trace.structLogs
        .filter((s) => s.op === "SSTORE")
        .map((s) => "0x" + s.stack![s.stack!.length - 2]!.padStart(64, "0"));
      expect(written).to.have.length(4);
      const allowed = new Set([NODE, OTHER, h("a2"), h("b1")]);
      for (const w of written) expect(allowed.has(w), w).to.equal(true);
    });

    it("has events and views that carry only hashes, node references and the epoch", function () {
      const iface = amp.receipts.interface as Interface;
      const event = iface.getEvent("ProofCreditAllocated")!;
      expect(event.inputs.map((i) => `${i.type} ${i.name}`)).to.deep.equal([
        "bytes32 allocationHash",
        "bytes32 nodeRef",
        "uint64 epoch",
        "bytes32 prevAllocationHash",
      ]);
      const events = iface.fragments.filter((f): f is EventFragment => f.type === "event").map((f) => f.name);
      expect(events.sort()).to.deep.equal(
        ["ProofCreditAllocated", "RoleAdminChanged", "RoleGranted", "RoleRevoked"].sort(),
      );
      expect(iface.getFunction("receiptOf")!.outputs.map((o) => o.type)).to.deep.equal(["bytes32"]);
      expect(iface.getFunction("lastAllocationOf")!.outputs.map((o) => o.type)).to.deep.equal(["bytes32"]);
    });
  });

  describe("rejects", function () {
    it("calls from an account without ALLOCATOR_ROLE", async function () {
      const [, stranger] = await hre.ethers.getSigners();
      const role = await amp.receipts.ALLOCATOR_ROLE();
      const r = amp.receipts.connect(stranger);
      await expectRejected(
        () => r.recordAllocation(1n, NODE, h("a1"), ZeroHash),
        "AccessControlUnauthorizedAccount",
        [stranger!.address, role],
        [h("a1")],
      );
      const batch = [{ nodeRef: NODE, allocationHash: h("a1"), prevAllocationHash: ZeroHash }];
      await expectRejected(
        () => r.recordAllocations(1n, batch),
        "AccessControlUnauthorizedAccount",
        [stranger!.address, role],
        [h("a1")],
      );
    });

    it("a broken allocation chain", async function () {
      const r = amp.receipts;
      await expectRejected(
        () => r.recordAllocation(1n, NODE, h("a1"), h("x")),
        "ReceiptChainBroken",
        [NODE, ZeroHash, h("x")],
        [h("a1")],
      );
      await (await r.recordAllocation(1n, NODE, h("a1"), ZeroHash)).wait();
      await expectRejected(
        () => r.recordAllocation(2n, NODE, h("a2"), ZeroHash),
        "ReceiptChainBroken",
        [NODE, h("a1"), ZeroHash],
        [h("a1"), h("a2")],
      );
      await expectRejected(
        () => r.recordAllocation(2n, OTHER, h("b1"), h("a1")),
        "ReceiptChainBroken",
        [OTHER, ZeroHash, h("a1")],
        [h("a1"), h("b1")],
      );
    });

    it("a duplicate receipt, also across nodes", async function () {
      await (await amp.receipts.recordAllocation(1n, NODE, h("a1"), ZeroHash)).wait();
      await expectRejected(
        () => amp.receipts.recordAllocation(1n, OTHER, h("a1"), ZeroHash),
        "ReceiptDuplicated",
        [h("a1")],
        [h("a1")],
      );
      await expectRejected(
        () => amp.receipts.recordAllocation(2n, NODE, h("a1"), h("a1")),
        "ReceiptDuplicated",
        [h("a1")],
        [h("a1")],
      );
    });

    it("zero hashes and an empty batch", async function () {
      await expectRejected(
        () => amp.receipts.recordAllocation(1n, NODE, ZeroHash, ZeroHash),
        "ReceiptAllocationHashZero",
        [],
        [],
      );
      await expectRejected(
        () => amp.receipts.recordAllocation(1n, ZeroHash, h("a1"), ZeroHash),
        "ReceiptNodeRefZero",
        [h("a1")],
        [h("a1")],
      );
      await expectRejected(() => amp.receipts.recordAllocations(1n, []), "ReceiptBatchEmpty", [], []);
    });

    it("a whole batch when one allocation in it is bad", async function () {
      const batch = [
        { nodeRef: NODE, allocationHash: h("a1"), prevAllocationHash: ZeroHash },
        { nodeRef: OTHER, allocationHash: h("b1"), prevAllocationHash: h("wrong") },
      ];
      await expectRejected(
        () => amp.receipts.recordAllocations(1n, batch),
        "ReceiptChainBroken",
        [OTHER, ZeroHash, h("wrong")],
        [h("a1"), h("b1")],
      );
    });

    it("value sent to any function or to the contract", async function () {
      await (await amp.receipts.recordAllocation(1n, NODE, h("a1"), ZeroHash)).wait();
      const before = await state([h("a1"), h("a2")]);
      const [sender] = await hre.ethers.getSigners();
      const to = await amp.receipts.getAddress();
      const iface = amp.receipts.interface as Interface;
      const args: Record<string, unknown[]> = {
        recordAllocation: [2n, NODE, h("a2"), h("a1")],
        recordAllocations: [2n, [{ nodeRef: NODE, allocationHash: h("a2"), prevAllocationHash: h("a1") }]],
        receiptOf: [h("a1")],
        lastAllocationOf: [NODE],
        ALLOCATOR_ROLE: [],
        DEFAULT_ADMIN_ROLE: [],
        getRoleAdmin: [ZeroHash],
        grantRole: [ZeroHash, sender!.address],
        revokeRole: [ZeroHash, sender!.address],
        renounceRole: [ZeroHash, sender!.address],
        hasRole: [ZeroHash, sender!.address],
        supportsInterface: ["0x01ffc9a7"],
      };
      const functions = iface.fragments.filter((f): f is FunctionFragment => f.type === "function");
      expect(functions.map((f) => f.name).sort()).to.deep.equal(Object.keys(args).sort());
      for (const f of functions) {
        const data = iface.encodeFunctionData(f.name, args[f.name]);
        await expect(sender!.sendTransaction({ to, data, value: 1n }), f.name).to.be.reverted;
      }
      await expect(sender!.sendTransaction({ to, value: 1n })).to.be.reverted;
      await expect(sender!.sendTransaction({ to, data: "0xdeadbeef", value: 1n })).to.be.reverted;
      expect(await hre.ethers.provider.getBalance(to)).to.equal(0n);
      expect(await state([h("a1"), h("a2")])).to.deep.equal(before);
    });
  });
});
