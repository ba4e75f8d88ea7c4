import fs from "node:fs";
import { AnchorReader } from "../../src/chain/round-records";
import path from "node:path";
import { expect } from "chai";
import type { ChainConnection } from "../../src/chain/connect";
import type { DeploymentRecord } from "../../src/chain/deployment";
import { EthersReceiptsClient, ReceiptsReader } from "../../src/credits/chain";
import { NodeAllocator } from "../../src/credits/node-allocator";
import type { AllocatorStep } from "../../src/credits/node-allocator";
import { allocationHash, nodeRefOf, type AllocationRecord } from "../../src/credits/record";
import { creditParamsFrom } from "../../src/credits/score";
import { archiveStorageBytes } from "../../src/credits/sources";
import { AllocationStore } from "../../src/credits/store";
import { ReceiptInvalidError, verifyReceipt } from "../../src/credits/verify";
import type { Manifest } from "../../src/manifest";
import { canonicalJson } from "../../src/merkle";
import type { Roster } from "../../src/node/roster";
import { NodeService, anchorView } from "../../src/node/service";
import { Archive } from "../../src/archive";
import { GlobalProofAnchor__factory } from "../../typechain-types";
import { PeerClient, PeerError } from "../../src/transport/client";
import { createLogger } from "../../src/util/log";
import { until, listenNodes } from "../node/helpers";
import { EPOCH_SECONDS, postBatch, testCredits } from "./helpers";
import { ampMerged as amp } from "../helpers/cli";

describe("credits on the node layout: seven nodes in one process, one allocator per epoch, records adopted by all", function () {
  this.timeout(240_000);
  let conn: ChainConnection;
  let manifest: Manifest;
  let roster: Roster;
  let record: DeploymentRecord;
  let dir: string;
  const services: NodeService[] = [];
  let closed = false;
  const steps: { node: string; step: AllocatorStep }[] = [];
  const client = new PeerClient({ timeoutMs: 5000 });
  // The faulty node: stopped before the first round, so it withholds every vote.
  const FAULTY = "ssid-eu-2";
  const live = () => services.filter((s) => s.node.id !== FAULTY);
  const storeOf = (s: NodeService) => new AllocationStore(s.node.archive);

  before(async function () {
    process.env.AMP_LOG_LEVEL = "silent";
    const nodes = await listenNodes("amp-node-credits-", (id) => ({
      extensions: [testCredits({ onStep: (step) => steps.push({ node: id, step }) })],
    }));
    ({ conn, manifest, roster, record, dir } = nodes);
    services.push(...nodes.services);
    for (const s of services) {
      if (s.node.id === FAULTY) await s.close();
      else await s.start();
    }
  });

  after(async function () {
    if (!closed) for (const s of live()) await s.close().catch(() => undefined);
    delete process.env.AMP_LOG_LEVEL;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("allocates every closed epoch once, in one transaction for all seven nodes, and every live node stores the same bytes", async function () {
    // Rounds until three epochs are recorded (epochs close in chain time: blocks must keep coming).
    let i = 0;
    await until(
      "three epochs recorded and adopted by every live node",
      async () => {
        if (live().every((s) => storeOf(s).all().length >= 3 * 7)) return true;
        await postBatch(client, roster, manifest, i++);
        await new Promise((r) => setTimeout(r, 300));
        return undefined;
      },
      180_000,
    );
    const reader = new ReceiptsReader(record.contracts.proofCreditReceipts, conn.provider);
    const first = roster.nodes[0]!;
    const events = await reader.eventsOfNode(nodeRefOf(first.origin, first.id));
    const epochs = events.map((e) => e.epoch);
    expect(new Set(epochs).size, "one receipt per node and epoch").to.equal(epochs.length);
    // One transaction per epoch, holding all seven nodes.
    for (const e of events) {
      const rc = (await conn.provider.getTransactionReceipt(e.txHash))!;
      expect(rc.logs.length).to.equal(7);
    }
    const reference = live()[0]!;
    const common = live().reduce((m, s) => {
      const l = storeOf(s).lastEpoch()!;
      return l < m ? l : m;
    }, epochs.at(-1)!);
    for (const s of live()) {
      for (const e of epochs.filter((x) => x <= common)) {
        const mine = storeOf(s)
          .epoch(e)
          .map((r) => canonicalJson(r.record));
        const theirs = storeOf(reference)
          .epoch(e)
          .map((r) => canonicalJson(r.record));
        expect(mine, `${s.node.id} epoch ${e}`).to.deep.equal(theirs);
        expect(storeOf(s).receipt(e)?.txHash).to.equal(events.find((x) => x.epoch === e)!.txHash);
      }
    }
    const senders = steps.filter((x) => x.step.kind === "recorded");
    expect(senders.length, "one sender per epoch").to.equal(
      new Set(senders.map((x) => String("epoch" in x.step ? x.step.epoch : ""))).size,
    );
    expect(steps.some((x) => x.step.kind === "adopted")).to.equal(true);
  });

  it("ranks the node that withheld every vote last in every epoch with rounds, over HTTP", async function () {
    const url = live()[2]!.node.cfg.roster.node(live()[2]!.node.id).url;
    const list = await client.json<{ epochs: { epoch: string; txHash: string }[] }>(url, {
      method: "GET",
      path: "/v1/credits/epochs",
    });
    let withRounds = 0;
    for (const { epoch } of list.epochs) {
      const o = await client.json<{ ranking: { node: string }[]; records: AllocationRecord[] }>(url, {
        method: "GET",
        path: `/v1/credits/epochs/${epoch}`,
      });
      expect(o.records).to.have.length(7);
      const faulty = o.records.find((r) => r.node === FAULTY)!;
      if (faulty.rounds === null) continue; // no round of its federation settled in this epoch
      withRounds++;
      const why = JSON.stringify(o.records.map((r) => [r.node, r.credit_score, r.counts]));
      expect(o.ranking.at(-1)!.node, `epoch ${epoch}: ${why}`).to.equal(FAULTY);
      expect(faulty.counts.rounds_voted).to.equal(0);
      expect(faulty.inputs.validation_accuracy).to.equal("0.000000");
    }
    expect(withRounds).to.be.greaterThan(0);
    const overall = await client.json<{ ranking: { node: string }[] }>(url, {
      method: "GET",
      path: "/v1/credits/ranking",
    });
    expect(overall.ranking.at(-1)!.node).to.equal(FAULTY);
  });

  it("serves one record's exact bytes; amp receipt verify's check accepts it and names a tampered field", async function () {
    const s = live()[1]!;
    const e = storeOf(s).all()[0]!.epoch;
    const url = roster.node(s.node.id).url;
    const res = await client.request(url, {
      method: "GET",
      path: `/v1/credits/epochs/${e}/records/ssid-us-1`,
    });
    const text = res.body.toString("utf8");
    const rec = JSON.parse(text) as AllocationRecord;
    expect(canonicalJson(rec)).to.equal(text);
    const reader = new ReceiptsReader(record.contracts.proofCreditReceipts, conn.provider);
    const v = await verifyReceipt(rec, reader);
    expect(v.node).to.equal("ssid-us-1");
    const bad = { ...rec, credit_score: "9999.0000" };
    const err = await verifyReceipt(bad, reader).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(err).to.be.instanceOf(ReceiptInvalidError);
    expect((err as ReceiptInvalidError).shortMessage).to.match(/^credit_score/);
  });

  it("amp credits show|record --url read a running node; bad --url / both sources are refused (2)", async function () {
    const url = roster.node(live()[1]!.node.id).url;
    const shown = await amp("credits", "show", "--url", url, "--json");
    expect(shown.code, shown.out).to.equal(0);
    const o = JSON.parse(shown.out) as { epochs: unknown[]; overTime: { node: string }[] };
    expect(o.epochs.length).to.be.greaterThan(1);
    expect(o.overTime.at(-1)!.node).to.equal(FAULTY);
    const e = storeOf(live()[1]!).all()[0]!.epoch;
    const out = path.join(dir, "r.json");
    const rec = await amp(
      "credits",
      "record",
      "--url",
      url,
      "--epoch",
      String(e),
      "--node",
      "opencore-eu-1",
      "--out",
      out,
    );
    expect(rec.code, rec.out).to.equal(0);
    const stored = storeOf(live()[1]!)
      .epoch(e)
      .find((r) => r.node === "opencore-eu-1")!;
    expect(fs.readFileSync(out, "utf8")).to.equal(canonicalJson(stored.record) + "\n");
    for (const args of [
      ["credits", "show", "--url", "ftp://x"],
      ["credits", "show", "--url", url, "--data", dir],
      ["credits", "show"],
      ["credits", "record", "--url", url, "--epoch", "1", "--node", "ssid-us-1", "--out", out],
    ]) {
      const r = await amp(...args);
      expect(r.code, `${args.join(" ")}: ${r.out}`).to.equal(2);
    }
  });

  it("refuses bad requests at every credits route, naming the field", async function () {
    const url = roster.node(live()[0]!.node.id).url;
    const fail = async (p: string): Promise<PeerError> =>
      client.request(url, { method: "GET", path: p, tries: 1 }).then(
        () => {
          throw new Error(`${p} answered 2xx`);
        },
        (e: unknown) => e as PeerError,
      );
    for (const [p, status, word] of [
      ["/v1/credits/epochs/abc", 400, "epoch"],
      ["/v1/credits/epochs/-1", 400, "epoch"],
      ["/v1/credits/epochs/1", 404, "epoch 1"],
      ["/v1/credits/epochs/1/records/ssid-us-1", 404, "epoch 1"],
      ["/v1/credits/ledger?to_ms=x", 400, "to_ms"],
      ["/v1/credits/storage?size=1.5", 400, "size"],
      ["/v1/credits/storage?size=99999999", 404, "archive"],
      ["/v1/credits/ranking?node=nobody", 404, "nobody"],
    ] as const) {
      const e = await fail(p);
      expect(e.status, p).to.equal(status);
      expect(e.body, p).to.contain(word);
    }
  });

  it("a crash after the transaction (before storing) is found on restart: nothing is recorded twice", async function () {
    let s = live()[0]!;
    // A fresh allocator on a copy of nothing: it must first adopt what is on-chain, then allocate
    // the next closed epoch; the transaction lands but the process "dies" before storing.
    const sub = path.join(dir, "restart");
    // Stop the live nodes so only this allocator acts; reopen one node's archive.
    for (const x of live()) await x.close();
    closed = true;
    // The node that stored the chain's latest epoch (the last sender, at least, did).
    const reader0 = new ReceiptsReader(record.contracts.proofCreditReceipts, conn.provider);
    const head = roster.nodes[0]!;
    const onChain = (await reader0.eventsOfNode(nodeRefOf(head.origin, head.id))).map((e) => e.epoch);
    const latest = onChain.reduce((a, b) => (b > a ? b : a));
    let archive = Archive.open(path.join(dir, s.node.id, "archive.sqlite"));
    for (const x of live()) {
      if (new AllocationStore(archive).lastEpoch() === latest) break;
      archive.close();
      s = x;
      archive = Archive.open(path.join(dir, x.node.id, "archive.sqlite"));
    }
    const st = new AllocationStore(archive);
    expect(st.lastEpoch(), "a closed node has stored the chain's latest epoch").to.equal(latest);
    const signer = await conn.signer();
    const real = new EthersReceiptsClient(record.contracts.proofCreditReceipts, conn.provider, signer);
    let sent = 0;
    const sentHashes: string[] = [];
    const crashing = Object.assign(Object.create(real) as EthersReceiptsClient, {
      recordAllocations: async (...a: Parameters<EthersReceiptsClient["recordAllocations"]>) => {
        await real.recordAllocations(...a);
        sent++;
        sentHashes.push(...a[1].map((x) => x.allocationHash));
        throw new Error("killed after the transaction");
      },
    });
    const mk = (receipts: EthersReceiptsClient) =>
      new NodeAllocator({
        nodeId: s.node.id,
        roster,
        dataDir: sub,
        store: st,
        receipts,
        chain: anchorView(conn, record),
        domain: { chainId: conn.chainId, anchor: record.contracts.globalProofAnchor },
        roundTimeMs: async (round) => {
          const a = GlobalProofAnchor__factory.connect(record.contracts.globalProofAnchor, conn.provider);
          const { blockNumber: block, timestamp } = await new AnchorReader(a).anchorOf(round);
          return block === 0n ? undefined : Number(timestamp) * 1000;
        },
        client,
        params: creditParamsFrom(manifest.credit),
        epochSeconds: EPOCH_SECONDS,
        ownStorage: (size) => archiveStorageBytes(archive, s.node.name, size),
        takeoverMs: 0,
        // Epochs close in chain time, which runs ahead of the wall clock once a suite has mined
        // more than a block a second: a minute past the latest block closes more epochs.
        chainNowMs: async () => ((await conn.provider.getBlock("latest"))!.timestamp + 60) * 1000,
        logger: createLogger("test"),
      });
    const before = st.lastEpoch()!;
    // The "killed" allocator sees its own epoch on-chain without having stored it (a crash right
    // after the transaction looks the same to the next start).
    const crashed = await mk(crashing)
      .step()
      .catch((e: unknown) => ({ kind: (e as Error).message }));
    expect(crashed.kind).to.be.oneOf(["lost-race", "killed after the transaction"]);
    expect(sent).to.equal(1);
    expect(st.lastEpoch()).to.equal(before); // nothing stored: the process died
    // Restart: the pending records (same bytes) are what the chain holds: stored, not re-sent.
    const again = await mk(real).step();
    expect(again.kind).to.equal("adopted");
    expect(sentHashes).to.have.length(7);
    expect(st.lastEpoch()).to.equal(before + 1n);
    const reader = new ReceiptsReader(record.contracts.proofCreditReceipts, conn.provider);
    const first = roster.nodes[0]!;
    const epochs = (await reader.eventsOfNode(nodeRefOf(first.origin, first.id))).map((e) => e.epoch);
    expect(epochs.filter((e) => e === before + 1n)).to.have.length(1);
    const stored = st.epoch(before + 1n);
    expect(stored).to.have.length(7);
    for (const r of stored) expect(allocationHash(r.record)).to.equal(r.allocationHash);
    expect(stored.map((r) => r.allocationHash).sort()).to.deep.equal([...sentHashes].sort());
    expect((await mk(real).step()).kind).to.not.equal("adopted"); // nothing left to adopt
    archive.close();
  });
});
