/**
 * Chain fault: the chain rolls back (`evm_snapshot` / `evm_revert`) after rounds were anchored.
 * The runner notices that recorded rounds disappeared (the anchor's nextRound() fell behind
 * anchors.sqlite) and anchors them again from its record — while running, and on the next start —
 * before going on; no round is ever anchored twice. Hardhat Network served over JSON-RPC on a
 * loopback port, as a separate `npx hardhat node` would serve it.
 */
import fs from "node:fs";
import type http from "node:http";
import { expect } from "chai";
import hre from "hardhat";
import { JsonRpcServer } from "hardhat/internal/hardhat-network/jsonrpc/server";
import { AnchorReader } from "../../src/chain/round-records";
import { connectRpc, type ChainConnection } from "../../src/chain/connect";
import type { DeploymentRecord } from "../../src/chain/deployment";
import { AnchoringRunner } from "../../src/chain/runner";
import { GlobalProofAnchor__factory } from "../../typechain-types";
import { quietLogs } from "../consensus/fixture";
import { deployFresh, ingestGenerated, runnerFederations, tmpDir } from "./helpers";

describe("e2e: chain rolled back under the runner", function () {
  this.timeout(180_000);
  quietLogs();
  let dir: string;
  let server: JsonRpcServer;
  let conn: ChainConnection;
  let record: DeploymentRecord;

  beforeEach(async () => {
    dir = tmpDir("amp-rollback-");
    server = new JsonRpcServer({ hostname: "127.0.0.1", port: 0, provider: hre.network.provider });
    const { port } = await server.listen();
    conn = await connectRpc(`http://127.0.0.1:${port}`);
    record = await deployFresh(conn, dir);
  });
  afterEach(async () => {
    conn.close();
    (server as unknown as { _httpServer: http.Server })._httpServer.closeAllConnections();
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const rpc = (method: string, params: unknown[] = []): Promise<unknown> =>
    conn.eip1193.request({ method, params });

  it("anchors lost rounds again from its record, in a running runner and after a restart", async () => {
    const { manifest, feds } = await runnerFederations();
    const open = () =>
      AnchoringRunner.open({ dataDir: dir, conn, record, federations: feds, voteTimeoutMs: 200 });
    const anchor = GlobalProofAnchor__factory.connect(record.contracts.globalProofAnchor, conn.provider);
    let runner = await open();
    try {
      ingestGenerated(runner, manifest, 4);
      expect((await runner.runRound()).status).to.equal("anchored");
      const snapshot = await rpc("evm_snapshot");
      ingestGenerated(runner, manifest, 3);
      const round2 = await runner.runRound();
      expect(round2.status).to.equal("anchored");
      const root2 = (await new AnchorReader(anchor).anchorOf(2n)).globalRoot;

      // Rollback while running: round 2 disappears from the chain.
      expect(await rpc("evm_revert", [snapshot])).to.equal(true);
      expect(await anchor.nextRound()).to.equal(2n);
      const snapshot2 = await rpc("evm_snapshot");
      ingestGenerated(runner, manifest, 2);
      const round3 = await runner.runRound();
      expect(runner.reanchored).to.deep.equal([2n]);
      expect([round3.status, round3.round]).to.deep.equal(["anchored", 3n]);
      expect((await new AnchorReader(anchor).anchorOf(2n)).globalRoot).to.equal(root2); // the same global root again
      expect(await anchor.nextRound()).to.equal(4n);

      // Rollback while stopped: rounds 2 and 3 disappear; the next start anchors them again.
      runner.close();
      expect(await rpc("evm_revert", [snapshot2])).to.equal(true);
      expect(await anchor.nextRound()).to.equal(2n);
      runner = await open();
      expect(runner.reanchored).to.deep.equal([2n, 3n]);
      expect(runner.nextRound).to.equal(4n);
      ingestGenerated(runner, manifest, 1);
      const round4 = await runner.runRound();
      expect([round4.status, round4.round]).to.deep.equal(["anchored", 4n]);

      // One anchor per round on the chain now; the record points at the live transactions.
      const logs = await anchor.queryFilter(anchor.filters.GlobalRootAnchored());
      expect(logs.map((l) => l.args.round)).to.deep.equal([1n, 2n, 3n, 4n]);
      for (const r of runner.anchors.all()) {
        const receipt = await conn.provider.getTransactionReceipt(r.txHash);
        expect(receipt?.blockNumber, `round ${r.round}`).to.equal(r.blockNumber);
        expect((await new AnchorReader(anchor).anchorOf(r.round)).globalRoot).to.equal(r.globalRoot);
      }
      expect(runner.pending()).to.equal(0n);
    } finally {
      runner.close();
    }
  });
});
