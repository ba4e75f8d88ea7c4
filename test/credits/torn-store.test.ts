/**
 * Stored-allocation convergence when the sender dies while storing (issue 13, kill campaign seed
 * 1552133386 under load ≈ 30: 126 stored records missing on some nodes while the chain was complete).
 *
 * The allocator of an epoch stores its records after `recordAllocations` is mined. It used to write
 * them in two transactions: the records (`credit_allocations`), then the receipt row
 * (`credit_receipts`). A SIGKILL between the two left the records without their receipt: the node
 * counted the epoch as its own (`lastEpoch`) and went on, but `GET /v1/credits/epochs/E` threw on
 * the missing receipt (500), so no other node could ever adopt E — nor any later epoch, since a
 * node adopts oldest first. The sender alone then allocated every later epoch by takeover: the chain
 * stayed complete, the other six nodes' stores stopped at E − 1.
 *
 * Here the kill is a temporary SQLite trigger on every node's connection that aborts the insert of a
 * receipt row (the process "dies" right there); dropping it is the restart.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { Archive } from "../../src/archive";
import type { ChainConnection } from "../../src/chain/connect";
import type { DeploymentRecord } from "../../src/chain/deployment";
import { ReceiptsReader, type ReceiptEvent } from "../../src/credits/chain";
import { epochWindow, measureEpoch } from "../../src/credits/measure";
import { NodeAllocator, type NodeAllocatorConfig, type NodeReceipts } from "../../src/credits/node-allocator";
import { ZERO_HASH, buildRecord } from "../../src/credits/record";
import { creditParamsFrom } from "../../src/credits/score";
import { nodeRefOf } from "../../src/credits/record";
import { AllocationStore } from "../../src/credits/store";
import { loadManifest, type Manifest } from "../../src/manifest";
import { canonicalJson } from "../../src/merkle";
import type { Roster } from "../../src/node/roster";
import type { NodeService } from "../../src/node/service";
import { PeerClient } from "../../src/transport/client";
import { createLogger } from "../../src/util/log";
import { listenNodes, rosterOf, until } from "../node/helpers";
import { postBatch, testCredits } from "./helpers";

describe("credits: a node killed while storing its allocation does not stop the others from adopting it", function () {
  this.timeout(300_000);
  let conn: ChainConnection;
  let manifest: Manifest;
  let roster: Roster;
  let record: DeploymentRecord;
  let services: NodeService[] = [];
  let closeAll: () => Promise<void> = () => Promise.resolve();
  const client = new PeerClient({ timeoutMs: 5000 });
  const fired = new Map<string, number>();

  before(async function () {
    process.env.AMP_LOG_LEVEL = "silent";
    const nodes = await listenNodes("amp-torn-store-", () => ({
      extensions: [testCredits()],
    }));
    ({ conn, manifest, roster, record, services } = nodes);
    closeAll = () => nodes.close();
    for (const s of services) {
      // The "kill": inserting a receipt row aborts (and is counted) on this node's connection.
      const db = s.node.archive.db;
      db.function("amp_test_killed", () => {
        fired.set(s.node.id, (fired.get(s.node.id) ?? 0) + 1);
        return 0;
      });
      db.exec(
        "CREATE TEMP TRIGGER amp_test_kill BEFORE INSERT ON main.credit_receipts BEGIN " +
          "SELECT amp_test_killed(); SELECT RAISE(ABORT, 'killed before the receipt row'); END",
      );
    }
    for (const s of services) await s.start();
  });

  after(async function () {
    await closeAll();
    delete process.env.AMP_LOG_LEVEL;
  });

  it("every node ends up storing every recorded epoch (same bytes, with its receipt) and serves it", async function () {
    const reader = new ReceiptsReader(record.contracts.proofCreditReceipts, conn.provider);
    const first = roster.nodes[0]!;
    const recorded = async () =>
      new Set((await reader.eventsOfNode(nodeRefOf(first.origin, first.id))).map((e) => e.epoch));
    let i = 0;
    // Rounds (epochs close in chain time: blocks must keep coming).
    const submit = async () => {
      await postBatch(client, roster, manifest, i++);
      await new Promise((r) => setTimeout(r, 300));
    };
    // The first epoch's sender is "killed" while storing, after its transaction was mined.
    await until(
      "the first allocation on-chain and its sender killed while storing it",
      async () => {
        if ((await recorded()).size > 0 && fired.size > 0) return true;
        await submit();
        return undefined;
      },
      180_000,
    );
    const sender = [...fired.keys()][0]!;
    const epoch = [...(await recorded())].reduce((a, b) => (a < b ? a : b));
    // Restart: no more kills.
    for (const s of services) s.node.archive.db.exec("DROP TRIGGER temp.amp_test_kill");
    const stores = new Map(services.map((s) => [s.node.id, new AllocationStore(s.node.archive)]));
    const want = await recorded();
    await until(
      `every node storing epochs ${[...want].join(", ")} with their receipts (sender of ${epoch}: ${sender})`,
      async () => {
        for (const st of stores.values())
          for (const e of want)
            if (st.epoch(e).length !== 7 || !st.receipt(e)) {
              await submit();
              return undefined;
            }
        return true;
      },
      90_000,
    );
    const events = await reader.eventsOfNode(nodeRefOf(first.origin, first.id));
    for (const e of want) {
      const bytes = (id: string) =>
        stores
          .get(id)!
          .epoch(e)
          .map((r) => canonicalJson(r.record));
      for (const s of services) {
        expect(bytes(s.node.id), `${s.node.id} epoch ${e}`).to.deep.equal(bytes(sender));
        expect(stores.get(s.node.id)!.receipt(e)?.txHash).to.equal(events.find((x) => x.epoch === e)!.txHash);
        const o = await client.json<{ txHash: string; records: unknown[] }>(roster.node(s.node.id).url, {
          method: "GET",
          path: `/v1/credits/epochs/${e}`,
        });
        expect(o.records).to.have.length(7);
      }
    }
  });
});

describe("credits: an epoch stored without its receipt row (left by an older version) is repaired from the chain", function () {
  this.timeout(60_000);
  let dir: string;
  let archive: Archive;
  before(() => {
    process.env.AMP_LOG_LEVEL = "silent";
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-torn-receipt-"));
    archive = Archive.open(path.join(dir, "archive.sqlite"));
  });
  after(() => {
    delete process.env.AMP_LOG_LEVEL;
    archive.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("restores the receipt of an epoch whose records are on-chain; leaves one that is not", async function () {
    const roster = rosterOf(loadManifest());
    const store = new AllocationStore(archive);
    const params = creditParamsFrom(loadManifest().credit);
    const recordsOf = (epoch: bigint) =>
      measureEpoch(
        epochWindow(epoch, 60),
        roster.federations.map((f) => ({ origin: f.config.origin, nodeIds: f.nodes.map((n) => n.id) })),
        { rounds: [], evidence: [], storageBytes: () => 0n, drift: undefined },
      ).map((m) =>
        buildRecord(m, {
          epoch,
          epochSeconds: 60,
          params,
          prevAllocationHash: store.lastHash(m.origin, m.nodeId) ?? ZERO_HASH,
        }),
      );
    // The torn state: records of epochs 5 and 6 stored, no receipt row (the old two-step write).
    store.insertEpoch(5n, recordsOf(5n));
    store.insertEpoch(6n, recordsOf(6n));
    expect(store.epochsWithoutReceipt()).to.deep.equal([5n, 6n]);
    // The chain holds epoch 5's batch (tx 0xaa…, block 42), not epoch 6's.
    const onChain = new Map<string, ReceiptEvent>(
      store.epoch(5n).map((r) => [
        r.allocationHash,
        {
          allocationHash: r.allocationHash,
          nodeRef: r.record.node_ref,
          epoch: 5n,
          prevAllocationHash: r.record.prev_allocation_hash,
          blockNumber: 42,
          txHash: `0x${"aa".repeat(32)}`,
        },
      ]),
    );
    const receipts: NodeReceipts = {
      eventOf: (h) => Promise.resolve(onChain.get(h)),
      eventsOfNode: (ref) => Promise.resolve([...onChain.values()].filter((e) => e.nodeRef === ref)),
      recordAllocations: () => Promise.reject(new Error("nothing may be sent in this test")),
    };
    const allocator = new NodeAllocator({
      nodeId: roster.nodes[0]!.id,
      roster,
      dataDir: dir,
      store,
      receipts,
      chain: { checkpointOf: () => Promise.resolve(undefined) } as unknown as NodeAllocatorConfig["chain"],
      domain: { chainId: 31337n, anchor: `0x${"11".repeat(20)}` },
      roundTimeMs: () => Promise.resolve(undefined),
      client: new PeerClient({ timeoutMs: 1000 }),
      params,
      epochSeconds: 60,
      ownStorage: () => 0n,
      chainNowMs: () => Promise.resolve(0), // no epoch closed: the step only repairs
      logger: createLogger("test"),
    });
    expect((await allocator.step()).kind).to.equal("idle");
    expect(store.receipt(5n)).to.deep.equal({ epoch: 5n, txHash: `0x${"aa".repeat(32)}`, blockNumber: 42 });
    expect(store.receipt(6n), "an epoch not on-chain gets no receipt").to.equal(undefined);
    expect(store.epochsWithoutReceipt()).to.deep.equal([6n]);
    expect(store.epoch(5n)).to.have.length(7);
  });

  it("stores records and receipt in one transaction: a failing receipt insert stores neither", function () {
    const store = new AllocationStore(archive);
    const rows = store.epoch(5n).map((r) => ({ ...r.record, epoch: "9" }));
    archive.db.exec(
      "CREATE TEMP TRIGGER amp_test_kill BEFORE INSERT ON main.credit_receipts BEGIN SELECT RAISE(ABORT, 'killed'); END",
    );
    try {
      expect(() =>
        store.insertRecordedEpoch(9n, rows, { epoch: 9n, txHash: `0x${"bb".repeat(32)}`, blockNumber: 7 }),
      ).to.throw(/killed/);
    } finally {
      archive.db.exec("DROP TRIGGER temp.amp_test_kill");
    }
    expect(store.epoch(9n)).to.deep.equal([]);
    store.insertRecordedEpoch(9n, rows, { epoch: 9n, txHash: `0x${"bb".repeat(32)}`, blockNumber: 7 });
    expect(store.epoch(9n)).to.have.length(7);
    expect(store.receipt(9n)?.blockNumber).to.equal(7);
  });
});
