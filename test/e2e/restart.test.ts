import fs from "node:fs";
import { expect } from "chai";
import type { Signer } from "ethers";
import { connectEmbedded } from "../../src/chain/connect";
import type { ChainConnection } from "../../src/chain/connect";
import type { DeploymentRecord } from "../../src/chain/deployment";
import { buildProofFile } from "../../src/proof/build";
import { publicClientFor, verifyProof } from "../../src/proof/verify";
import { GlobalProofAnchor__factory } from "../../typechain-types";
import { deployFresh, ingestGenerated, openRunner, runnerFederations, tmpDir, trustOf } from "./helpers";

async function anchoredLogs(conn: ChainConnection, record: DeploymentRecord): Promise<bigint[]> {
  const anchor = GlobalProofAnchor__factory.connect(record.contracts.globalProofAnchor, conn.provider);
  const logs = await anchor.queryFilter(anchor.filters.GlobalRootAnchored());
  return logs.map((l) => l.args.round);
}

/** A connection whose signer dies (like a crashed process) right before sending a transaction. */
function crashingBeforeSend(conn: ChainConnection): ChainConnection {
  return {
    ...conn,
    signer: async () => {
      const real = await conn.signer();
      return new Proxy(real, {
        get(target, prop, receiver) {
          if (prop === "sendTransaction") {
            return (_tx: Parameters<Signer["sendTransaction"]>[0]) =>
              Promise.reject(new Error("process crashed"));
          }
          const v = Reflect.get(target, prop, receiver) as unknown;
          return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
    },
  };
}

describe("e2e: restarting the engine between rounds", function () {
  let conn: ChainConnection;
  let record: DeploymentRecord;
  let dir: string;

  beforeEach(async function () {
    conn = await connectEmbedded();
    dir = tmpDir("amp-restart-");
    record = await deployFresh(conn, dir);
  });

  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("resumes at the chain's next round, continuing the same logs, with no duplicate anchor", async function () {
    const { manifest } = await runnerFederations();
    let runner = await openRunner(conn, record, dir);
    ingestGenerated(runner, manifest, 4);
    expect((await runner.runRound()).status).to.equal("anchored");
    ingestGenerated(runner, manifest, 3);
    runner.close();

    runner = await openRunner(conn, record, dir);
    expect(runner.nextRound).to.equal(2n);
    expect(runner.pending()).to.equal(6n);
    const r2 = await runner.runRound();
    if (r2.status === "failed") throw new Error(r2.reason);
    expect(r2.round).to.equal(2n);
    expect(r2.federations.map((f) => f.treeSize)).to.deep.equal([7n, 7n]);
    expect(await anchoredLogs(conn, record)).to.deep.equal([1n, 2n]);
    const ev = runner.archive.eventsInRange("ssid", 5n, 6n)[0]!;
    const proof = buildProofFile({
      archive: runner.archive,
      anchors: runner.anchors,
      eventId: ev.eventId,
      originOf: (n) => manifest.find((f) => f.name === n)!.origin,
    });
    expect(
      (await verifyProof(proof, publicClientFor(conn.eip1193), await trustOf(conn, record))).round,
    ).to.equal(2n);
    runner.close();
  });

  it("after a crash between sealing and anchoring, re-proposes the same batch as the same round", async function () {
    const { manifest } = await runnerFederations();
    let runner = await openRunner(conn, record, dir);
    ingestGenerated(runner, manifest, 4);
    await runner.runRound();
    ingestGenerated(runner, manifest, 5);
    runner.close();

    runner = await openRunner(crashingBeforeSend(conn), record, dir);
    let crashed = false;
    await runner.runRound().catch((e: Error) => (crashed = /process crashed/.test(e.message)));
    expect(crashed).to.equal(true);
    expect(runner.archive.lastBatch("ssid")?.endSeq).to.equal(9n); // sealed locally, not anchored
    ingestGenerated(runner, manifest, 2); // arrives meanwhile: must wait for the next round
    runner.close();

    runner = await openRunner(conn, record, dir);
    expect(runner.nextRound).to.equal(2n);
    const r = await runner.runRound();
    if (r.status === "failed") throw new Error(r.reason);
    expect([r.round, r.status]).to.deep.equal([2n, "anchored"]);
    expect(r.federations.map((f) => f.treeSize)).to.deep.equal([9n, 9n]);
    const r3 = await runner.runRound();
    if (r3.status === "failed") throw new Error(r3.reason);
    expect(r3.federations.map((f) => f.treeSize)).to.deep.equal([11n, 11n]);
    expect(await anchoredLogs(conn, record)).to.deep.equal([1n, 2n, 3n]);
    expect(runner.anchors.all().map((a) => a.round)).to.deep.equal([1n, 2n, 3n]);
    runner.close();
  });

  it("refuses a data dir whose archive is behind the chain (another deployment's data)", async function () {
    const { manifest } = await runnerFederations();
    const runner = await openRunner(conn, record, dir);
    ingestGenerated(runner, manifest, 2);
    await runner.runRound();
    runner.close();
    const other = tmpDir("amp-restart-other-");
    try {
      let message = "";
      await openRunner(conn, record, other).catch((e: Error) => (message = e.message));
      expect(message).to.match(/the anchor holds 2 entries but the archive only 0/);
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });
});
