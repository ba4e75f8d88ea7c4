import fs from "node:fs";
import { expect } from "chai";
import { connectEmbedded } from "../../src/chain/connect";
import type { ChainConnection } from "../../src/chain/connect";
import type { DeploymentRecord } from "../../src/chain/deployment";
import type { AnchoringRunner } from "../../src/chain/runner";
import { deployFresh, ingestGenerated, openRunner, runnerFederations, tmpDir } from "./helpers";

/** Make the runner "crash" right after the votes and witnessing, before the batch is sealed into the archive. */
function crashBeforeSeal(runner: AnchoringRunner): void {
  Object.defineProperty(runner, "sealIntoArchive", {
    value: () => {
      throw new Error("process crashed");
    },
  });
}

describe("e2e: crash after the votes, before sealing (issue 9)", function () {
  let conn: ChainConnection;
  let record: DeploymentRecord;
  let dir: string;

  beforeEach(async function () {
    conn = await connectEmbedded();
    dir = tmpDir("amp-crash-seal-");
    record = await deployFresh(conn, dir);
  });

  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("re-proposes the batch the validators voted for, although new events arrived meanwhile", async function () {
    const { manifest } = await runnerFederations();
    let runner = await openRunner(conn, record, dir);
    ingestGenerated(runner, manifest, 4);
    expect((await runner.runRound()).status).to.equal("anchored");
    ingestGenerated(runner, manifest, 5);
    crashBeforeSeal(runner);
    let crashed = false;
    await runner.runRound().catch((e: Error) => (crashed = /process crashed/.test(e.message)));
    expect(crashed).to.equal(true);
    ingestGenerated(runner, manifest, 2); // arrives after the votes: must wait for round 3
    runner.close();

    runner = await openRunner(conn, record, dir);
    expect(runner.nextRound).to.equal(2n);
    const r2 = await runner.runRound();
    if (r2.status === "failed") throw new Error(`round 2 failed: ${r2.reason}`);
    expect([r2.round, r2.status]).to.deep.equal([2n, "anchored"]);
    expect(r2.federations.map((f) => f.treeSize)).to.deep.equal([9n, 9n]);
    const r3 = await runner.runRound();
    if (r3.status === "failed") throw new Error(`round 3 failed: ${r3.reason}`);
    expect(r3.federations.map((f) => f.treeSize)).to.deep.equal([11n, 11n]);
    runner.close();
  });
});
