import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { Archive } from "../../src/archive";
import type { RoundVotes } from "../../src/consensus/evidence";
import { checkpointBody, formatSignedNote } from "../../src/crypto/note";
import type { ReceiptAllocation, ReceiptEvent, ReceiptsClient } from "../../src/credits/chain";
import type { CreditSources } from "../../src/credits/measure";
import { CreditScheduler } from "../../src/credits/scheduler";
import { DEFAULT_CREDIT_PARAMS, parseFixed } from "../../src/credits/score";
import { proposeWeights } from "../../src/credits/adaptive";

const ORIGIN = "amp.local/test";
const NODES = ["a", "b", "c", "d"];
const EPOCH_MS = 60_000;

function note(origin: string, size: number, round: number, root: number, node: string): string {
  const body = checkpointBody({
    origin,
    treeSize: BigInt(size),
    rootHash: new Uint8Array(32).fill(root),
    round: BigInt(round),
    epoch: 1n,
  });
  return formatSignedNote({
    body,
    signatures: [{ keyName: `${origin}/${node}`, keyId: new Uint8Array(4), signature: new Uint8Array(4) }],
  });
}

/** One round per epoch in epochs 10..10+n-1; node d always signs a wrong root. */
function ledger(n: number): RoundVotes[] {
  return Array.from({ length: n }, (_, i) => {
    const r = i + 1;
    const final = note(ORIGIN, r * 10, r, 1, "x").split("\n\n")[0]! + "\n";
    return {
      origin: ORIGIN,
      round: String(r),
      attempt: 1,
      baseSize: String(i * 10),
      final,
      members: NODES,
      votes: NODES.map((id) => ({
        nodeId: id,
        note: note(ORIGIN, r * 10, r, id === "d" ? 9 : 1, id),
        eip712Signature: "0x",
      })),
      answeredMs: Object.fromEntries(NODES.map((id) => [id, 5])),
      settledAt: (10 + i) * EPOCH_MS + 1000,
    };
  });
}

/** An in-memory ProofCreditReceipts: refuses duplicates and broken chains like the contract. */
class FakeChain implements ReceiptsClient {
  readonly events: ReceiptEvent[] = [];
  readonly heads = new Map<string, string>();
  txs = 0;
  recordAllocations(epoch: bigint, allocations: readonly ReceiptAllocation[]) {
    this.txs++;
    for (const a of allocations) {
      if (this.events.some((e) => e.allocationHash === a.allocationHash))
        throw new Error("ReceiptDuplicated");
      if ((this.heads.get(a.nodeRef) ?? "0x" + "00".repeat(32)) !== a.prevAllocationHash)
        throw new Error("ReceiptChainBroken");
    }
    for (const a of allocations) {
      this.heads.set(a.nodeRef, a.allocationHash);
      this.events.push({ ...a, epoch, blockNumber: this.txs, txHash: `0x${this.txs}` });
    }
    return Promise.resolve({ txHash: `0x${this.txs}`, blockNumber: this.txs });
  }
  eventOf(h: string) {
    return Promise.resolve(this.events.find((e) => e.allocationHash === h));
  }
}

describe("credits: scheduler", function () {
  let dir: string;
  let archive: Archive;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-credits-sched-"));
    archive = Archive.open(path.join(dir, "archive.sqlite"));
  });
  afterEach(() => {
    archive.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const make = (chain: ReceiptsClient, now: () => number, rounds: RoundVotes[], adaptive = false) => {
    const sources: CreditSources = { rounds, evidence: [], storageBytes: (_o, size) => size * 100n };
    return new CreditScheduler({
      archive,
      receipts: chain,
      federations: [{ origin: ORIGIN, nodeIds: NODES }],
      sources: () => sources,
      params: DEFAULT_CREDIT_PARAMS,
      epochSeconds: EPOCH_MS / 1000,
      now,
      ...(adaptive
        ? { adaptive: { weights: new Map([[ORIGIN, new Map(NODES.map((id) => [id, 2500n]))]]) } }
        : {}),
    });
  };

  it("catches up missed epochs in order after downtime, one transaction each, never twice", async function () {
    const chain = new FakeChain();
    let now = 11 * EPOCH_MS; // epoch 10 closed
    const s = make(chain, () => now, ledger(5));
    expect((await s.tick()).map((a) => a.epoch)).to.deep.equal([10n]);
    expect(await s.tick()).to.deep.equal([]);
    now = 15 * EPOCH_MS + 5; // down for epochs 11..14
    expect((await s.tick()).map((a) => a.epoch)).to.deep.equal([11n, 12n, 13n, 14n]);
    expect(chain.txs).to.equal(5);
    expect(chain.events.map((e) => e.epoch)).to.deep.equal(
      [10n, 11n, 12n, 13n, 14n].flatMap((e) => [e, e, e, e]),
    );
    // Each node's chain links epoch by epoch.
    const a = s.store.all().filter((r) => r.node === "a");
    for (let i = 1; i < a.length; i++)
      expect(a[i]!.record.prev_allocation_hash).to.equal(a[i - 1]!.allocationHash);
    // A restarted scheduler over the same archive allocates nothing again.
    expect(await make(chain, () => now, ledger(5)).tick()).to.deep.equal([]);
    expect(chain.txs).to.equal(5);
  });

  it("shares one run between concurrent ticks", async function () {
    const chain = new FakeChain();
    const s = make(chain, () => 13 * EPOCH_MS, ledger(3));
    const [x, y] = await Promise.all([s.tick(), s.tick()]);
    expect(x).to.equal(y);
    expect(chain.txs).to.equal(3);
  });

  it("proposes next weights with adaptive governance: the faulty node loses weight, within the cap", async function () {
    const chain = new FakeChain();
    const s = make(chain, () => 12 * EPOCH_MS, ledger(2), true);
    const done = await s.tick();
    const p = done[0]!.proposals![0]!;
    expect(p.changed).to.equal(true);
    expect(BigInt(p.weights.d!)).to.equal(2000n); // 2500 - 5 % of 10 000
    expect(Object.values(p.weights).reduce((t, w) => t + BigInt(w), 0n)).to.equal(10_000n);
    for (const w of Object.values(p.weights)) expect(3n * BigInt(w) < 10_000n).to.equal(true);
  });

  it("feeds measured governance weights back over epochs: the faulty node's weight falls by the cap", async function () {
    const chain = new FakeChain();
    const s = make(chain, () => 15 * EPOCH_MS, ledger(5));
    await s.tick();
    let weights = new Map(NODES.map((id) => [id, 2500n]));
    const seen: bigint[] = [];
    for (let e = 10n; e < 15n; e++) {
      const g = new Map(
        s.store.epoch(e).map((r) => [r.node, parseFixed(r.record.governance_weight, 6, "w")]),
      );
      const p = proposeWeights(weights, g);
      for (const id of NODES) {
        const d = p.weights.get(id)! - weights.get(id)!;
        expect(d <= 500n && d >= -500n).to.equal(true);
      }
      weights = new Map(p.weights);
      seen.push(weights.get("d")!);
    }
    // d never signs a correct vote but does vote (participation 1.0 → score 100 of the others'
    // higher scores): its weight falls by the 500 cap an epoch to its proportional share, 762.
    expect(seen).to.deep.equal([2000n, 1500n, 1000n, 762n, 762n]);
    expect(weights.get("a")! * 3n < 10_000n).to.equal(true);
  });
});
