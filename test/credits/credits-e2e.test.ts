/**
 * Credits end to end on the in-process network with 1-second epochs: real rounds (one ssid node
 * always signs a wrong root), allocations every closed epoch in one transaction, `amp credits`
 * and `amp receipt verify` through the CLI over a loopback JSON-RPC endpoint, tampered records
 * refused naming the field, and restarts in the middle of an allocation.
 */
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { expect } from "chai";
import hre from "hardhat";
import { connectEmbedded, type ChainConnection } from "../../src/chain/connect";
import type { DeploymentRecord } from "../../src/chain/deployment";
import { AnchoringRunner } from "../../src/chain/runner";
import { FaultInjector } from "../../src/consensus/fault-injector";
import { EthersReceiptsClient, type ReceiptsClient } from "../../src/credits/chain";
import { epochOf } from "../../src/credits/measure";
import { rankNodes } from "../../src/credits/rank";
import { allocationHash } from "../../src/credits/record";
import { CreditScheduler } from "../../src/credits/scheduler";
import { DEFAULT_CREDIT_PARAMS } from "../../src/credits/score";
import { dataDirSources } from "../../src/credits/sources";
import { deployFresh, ingestGenerated, runnerFederations, tmpDir } from "../e2e/helpers";
import { quietLogs } from "../consensus/fixture";
import { ampMerged as amp } from "../helpers/cli";

const FAULTY = "ssid-apac-1";
const EPOCH_SECONDS = 1;

/** A loopback JSON-RPC endpoint in front of the in-process network (port 0: a free port). */
async function rpcProxy(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const msg = JSON.parse(body) as { id: number; method: string; params?: unknown[] };
      hre.network.provider
        .send(msg.method, msg.params ?? [])
        .then(
          (result: unknown) => ({ jsonrpc: "2.0", id: msg.id, result }),
          (e: Error) => ({ jsonrpc: "2.0", id: msg.id, error: { code: -32000, message: e.message } }),
        )
        .then(
          (out) => {
            res.setHeader("content-type", "application/json");
            res.end(JSON.stringify(out));
          },
          () => res.end(),
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Waits (polling the clock) until the epoch of `ms` has ended. */
async function untilClosed(ms: number): Promise<void> {
  const end = (Number(epochOf(ms, EPOCH_SECONDS)) + 1) * EPOCH_SECONDS * 1000;
  while (Date.now() < end + 5) await new Promise((r) => setTimeout(r, 20));
}

describe("credits end to end (in-process chain, 1 s epochs)", function () {
  quietLogs();
  let conn: ChainConnection;
  let record: DeploymentRecord;
  let dir: string;
  let runner: AnchoringRunner;
  let rpc: { url: string; close: () => Promise<void> };
  let receipts: EthersReceiptsClient;
  let manifest: Awaited<ReturnType<typeof runnerFederations>>["manifest"];

  const scheduler = (client: ReceiptsClient) =>
    new CreditScheduler({
      archive: runner.archive,
      receipts: client,
      federations: manifest.map((f) => ({ origin: f.origin, nodeIds: f.nodes.map((n) => n.id) })),
      sources: () => dataDirSources(dir, runner.archive, manifest),
      params: DEFAULT_CREDIT_PARAMS,
      epochSeconds: EPOCH_SECONDS,
    });

  async function round(): Promise<number> {
    ingestGenerated(runner, manifest, 4);
    const r = await runner.runRound();
    expect(r.status).to.equal("anchored");
    return Date.now();
  }

  const eventsOfEpoch = async (epoch: bigint) =>
    receipts.contract.queryFilter(
      receipts.contract.filters.ProofCreditAllocated(undefined, undefined, epoch),
    );

  before(async function () {
    conn = await connectEmbedded();
    dir = tmpDir("amp-credits-");
    record = await deployFresh(conn, dir);
    const r = await runnerFederations();
    manifest = r.manifest;
    const faults = new FaultInjector().add({ nodeId: FAULTY, kind: "wrong-root" });
    runner = await AnchoringRunner.open({
      dataDir: dir,
      conn,
      record,
      federations: r.feds,
      voteTimeoutMs: 20_000,
      faults,
      mldsaWorkers: 0,
    });
    receipts = new EthersReceiptsClient(
      record.contracts.proofCreditReceipts,
      conn.provider,
      await conn.signer(),
      record.deployBlock,
    );
    rpc = await rpcProxy();
  });

  after(async function () {
    runner.close();
    await rpc.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("allocates every closed epoch once, all nodes in one transaction, the faulty node last", async function () {
    const s = scheduler(receipts);
    const done = [];
    for (let i = 0; i < 3; i++) {
      const at = await round();
      await untilClosed(at);
      done.push(...(await s.tick()));
    }
    expect(done.length).to.be.at.least(3);
    const epochs = done.map((d) => d.epoch);
    for (let i = 1; i < epochs.length; i++) expect(epochs[i]).to.equal(epochs[i - 1]! + 1n);
    for (const d of done) {
      expect(d.status).to.equal("recorded");
      const events = await eventsOfEpoch(d.epoch);
      expect(events.map((e) => e.transactionHash)).to.deep.equal(Array(7).fill(d.txHash));
      expect(s.store.epoch(d.epoch)).to.have.length(7);
    }
    // A tick with nothing closed allocates nothing.
    expect(await s.tick()).to.deep.equal([]);
    const all = s.store.all().map((r) => r.record);
    // The faulty node signs a wrong root every round: accuracy 0, no leaves, no storage. An honest
    // node that the load kept from answering a round in time (no vote at all) can score as low —
    // that is the formula's verdict on unavailability, not a ranking error. So the faulty node
    // must rank below every node that answered all its rounds: the ranking then depends only on
    // the injected fault, whatever the load. (A node with no round in an epoch — its federation's
    // round settled across the 1 s boundary — is not compared there.)
    const answeredAll = (recs: typeof all, node: string) =>
      recs
        .filter((r) => r.node === node)
        .every((r) => r.counts.rounds_expected > 0 && r.counts.rounds_answered === r.counts.rounds_expected);
    const belowEveryAnswering = (recs: typeof all, what: string) => {
      const ranked = rankNodes(recs).map((n) => n.node);
      const at = ranked.indexOf(FAULTY);
      for (const n of ranked.slice(at + 1)) {
        expect(
          answeredAll(recs, n),
          `${what}: ${n} ranks below ${FAULTY} though it answered every round`,
        ).to.equal(false);
      }
    };
    for (const e of epochs) {
      const recs = all.filter((r) => BigInt(r.epoch) === e);
      if (recs.every((r) => r.counts.rounds_expected === 0)) continue;
      belowEveryAnswering(recs, `epoch ${e}`);
    }
    belowEveryAnswering(all, "over time");
    const faulty = all.filter((r) => r.node === FAULTY && r.counts.rounds_expected > 0);
    expect(faulty.every((r) => r.inputs.validation_accuracy === "0.000000")).to.equal(true);
  });

  it("lists rankings and verifies each receipt with amp receipt verify; tampered records fail naming the field", async function () {
    const shown = await amp("credits", "show", "--data", dir);
    expect(shown.code).to.equal(0);
    expect(shown.out).to.match(/over \d+ epochs/);
    const store = scheduler(receipts).store;
    const trust = path.join(dir, "trust.json");
    fs.writeFileSync(
      trust,
      JSON.stringify({ chainId: Number(conn.chainId), receipts: record.contracts.proofCreditReceipts }),
    );
    const last = store.lastEpoch()!;
    for (const row of store.epoch(last)) {
      const file = path.join(dir, `${row.node}.json`);
      expect(
        (
          await amp(
            "credits",
            "record",
            "--data",
            dir,
            "--epoch",
            String(last),
            "--node",
            row.node,
            "--out",
            file,
          )
        ).code,
      ).to.equal(0);
      const ok = await amp("receipt", "verify", file, "--rpc", rpc.url, "--trust", trust);
      expect(ok.code, ok.out).to.equal(0);
      expect(ok.out).to.match(new RegExp(`^VALID allocation ${row.allocationHash} .* back to the first`));
    }
    const file = path.join(dir, `${FAULTY}.json`);
    const original = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
    const counts = original.counts as Record<string, unknown>;
    const tampered: [string, Record<string, unknown>, RegExp][] = [
      ["epoch", { ...original, epoch: String(last - 1n) }, /^INVALID epoch:/],
      ["node", { ...original, node: "ssid-eu-1" }, /^INVALID node_ref:/],
      ["credit_score", { ...original, credit_score: "4489.0000" }, /^INVALID credit_score:/],
      [
        "counts",
        { ...original, counts: { ...counts, correct_votes: 1 } },
        /^INVALID (counts.correct_votes|inputs.validation_accuracy):/,
      ],
      ["salt", { ...original, salt: "0x" + "11".repeat(32) }, /^INVALID salt, rounds, counts/],
      [
        "prev",
        { ...original, prev_allocation_hash: "0x" + "22".repeat(32) },
        /^INVALID prev_allocation_hash:/,
      ],
      ["extra", { ...original, amount: "1" }, /^INVALID amount: .*is not a field/],
    ];
    for (const [what, value, message] of tampered) {
      const f = path.join(dir, `tampered-${what}.json`);
      fs.writeFileSync(f, JSON.stringify(value));
      const r = await amp(
        "receipt",
        "verify",
        f,
        "--rpc",
        rpc.url,
        "--receipts",
        record.contracts.proofCreditReceipts,
      );
      expect(r.code, what).to.equal(1);
      expect(r.out, what).to.match(message);
    }
    const unpinned = await amp("receipt", "verify", file, "--rpc", rpc.url);
    expect(unpinned.code).to.equal(2);
    expect(unpinned.out).to.match(/pin the ProofCreditReceipts contract/);
    const depth = await amp("receipt", "verify", file, "--rpc", rpc.url, "--trust", trust, "--depth", "0");
    expect(depth.out).to.match(/chain of 1 receipt\(s\)\n/);
  });

  it("never allocates an epoch twice across a restart before or after the transaction", async function () {
    const crashBefore: ReceiptsClient = {
      eventOf: (h) => receipts.eventOf(h),
      recordAllocations: () => Promise.reject(new Error("crash before the transaction")),
    };
    await untilClosed(await round());
    await expect(scheduler(crashBefore).tick()).to.be.rejectedWith(/crash before/);
    const restarted = scheduler(receipts);
    const epoch = restarted.store.lastEpoch()!;
    const stored = restarted.store.epoch(epoch).map((r) => r.allocationHash);
    expect(restarted.store.receipt(epoch)).to.equal(undefined);
    const again = await restarted.tick();
    // The crashed epoch first (more may have closed meanwhile), with the records stored before the crash.
    expect([again[0]!.epoch, again[0]!.status]).to.deep.equal([epoch, "recorded"]);
    expect(restarted.store.epoch(epoch).map((r) => allocationHash(r.record))).to.deep.equal(stored);
    expect(await eventsOfEpoch(epoch)).to.have.length(7);

    const crashAfter: ReceiptsClient = {
      eventOf: (h) => receipts.eventOf(h),
      recordAllocations: async (e, a) => {
        await receipts.recordAllocations(e, a);
        throw new Error("crash after the transaction");
      },
    };
    await untilClosed(await round());
    await expect(scheduler(crashAfter).tick()).to.be.rejectedWith(/crash after/);
    const second = await scheduler(receipts).tick();
    expect(second[0]!.status).to.equal("found");
    expect(await eventsOfEpoch(second[0]!.epoch)).to.have.length(7);
  });
});
