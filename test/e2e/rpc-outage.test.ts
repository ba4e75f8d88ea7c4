/**
 * Chain fault: the RPC endpoint goes down in the middle of a run. The runner seals the round,
 * waits (retrying with backoff) while the endpoint refuses connections, and anchors the same round
 * once it answers again: nothing lost, no round anchored twice. The chain is Hardhat's network
 * served over real JSON-RPC on a loopback port (port 0), stopped and restarted on the same port.
 */
import fs from "node:fs";
import type http from "node:http";
import { expect } from "chai";
import hre from "hardhat";
import { JsonRpcServer } from "hardhat/internal/hardhat-network/jsonrpc/server";
import { connectRpc, type ChainConnection } from "../../src/chain/connect";
import type { DeploymentRecord } from "../../src/chain/deployment";
import { AnchoringRunner } from "../../src/chain/runner";
import { GlobalProofAnchor__factory } from "../../typechain-types";
import { quietLogs } from "../consensus/fixture";
import { deployFresh, ingestGenerated, runnerFederations, tmpDir } from "./helpers";

async function serve(port: number): Promise<{ server: JsonRpcServer; port: number }> {
  const server = new JsonRpcServer({ hostname: "127.0.0.1", port, provider: hre.network.provider });
  const address = await server.listen();
  return { server, port: address.port };
}

/** Stop answering at once: close idle keep-alive sockets too, so the next request is refused. */
async function stop(server: JsonRpcServer): Promise<void> {
  (server as unknown as { _httpServer: http.Server })._httpServer.closeAllConnections();
  await server.close();
}

describe("e2e: RPC endpoint down mid-run", function () {
  this.timeout(180_000);
  quietLogs();
  let dir: string;
  let conn: ChainConnection;
  let record: DeploymentRecord;
  let served: { server: JsonRpcServer; port: number } | undefined;

  beforeEach(async () => {
    dir = tmpDir("amp-rpc-outage-");
    served = await serve(0);
    conn = await connectRpc(`http://127.0.0.1:${served.port}`);
    record = await deployFresh(conn, dir);
  });
  afterEach(async () => {
    conn.close();
    if (served) await stop(served.server);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("waits while the endpoint refuses connections and anchors the sealed round once, after it returns", async () => {
    const { manifest, feds } = await runnerFederations();
    const runner = await AnchoringRunner.open({
      dataDir: dir,
      conn,
      record,
      federations: feds,
      voteTimeoutMs: 200,
    });
    try {
      ingestGenerated(runner, manifest, 4);
      expect((await runner.runRound()).status).to.equal("anchored");
      ingestGenerated(runner, manifest, 3);

      const port = served!.port;
      await stop(served!.server);
      served = undefined;
      const round2 = runner.runRound();
      const deadline = Date.now() + 60_000;
      while (runner.chainRetries < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(runner.chainRetries, "the runner noticed the outage and is waiting").to.be.at.least(2);
      served = await serve(port); // the endpoint comes back on the same address

      const report = await round2;
      expect(report.status).to.equal("anchored");
      expect(report.round).to.equal(2n);
      const anchor = GlobalProofAnchor__factory.connect(record.contracts.globalProofAnchor, conn.provider);
      expect(await anchor.nextRound()).to.equal(3n);
      const logs = await anchor.queryFilter(anchor.filters.GlobalRootAnchored());
      expect(logs.map((l) => l.args.round)).to.deep.equal([1n, 2n]);
      expect(runner.anchors.all().map((a) => a.round)).to.deep.equal([1n, 2n]);
      expect(runner.pending()).to.equal(0n); // every ingested event is in an anchored round
      const sizes = report.status === "anchored" ? report.federations.map((f) => f.treeSize) : [];
      expect(sizes).to.deep.equal([7n, 7n]);
    } finally {
      runner.close();
    }
  });
});
