/**
 * `amp verify --confirmations N` against a chain that rolls back (issue 13 §4), on the in-process
 * Hardhat network served over a real JSON-RPC server on a loopback port; the rollback is
 * `evm_snapshot`/`evm_revert`. `--confirmations N` accepts an anchor only under N blocks (its own
 * included), read from the chain at every verification:
 * - too recent (fewer than N): INVALID `anchor.blockNumber`;
 * - once N blocks cover it: VALID;
 * - a rollback of fewer than N blocks leaves an accepted anchor in place (depth drops, so the same
 *   N is refused again until the chain grows back), while a rollback past the anchor block removes
 *   anchor: INVALID `anchor.round` (the contract no longer holds the round) — re-verifying after a
 *   reorg never keeps a vanished anchor valid.
 * The chain is reverted to its state before this file in `after`.
 */
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import hre from "hardhat";
import { JsonRpcServer } from "hardhat/internal/hardhat-network/jsonrpc/server";
import { connectEmbedded, type ChainConnection } from "../../src/chain/connect";
import { buildProofFile } from "../../src/proof/build";
import { serializeProofFile } from "../../src/proof/format";
import { writeTrustPolicy } from "../../src/trust/policy";
import { ampInProcess } from "../helpers/cli";
import { deployFresh, ingestGenerated, openRunner, runnerFederations, tmpDir, trustOf } from "../e2e/helpers";

describe("amp verify --confirmations on a chain that rolls back (evm_snapshot/evm_revert)", function () {
  this.timeout(300_000);
  let conn: ChainConnection;
  let server: JsonRpcServer;
  let rpc: string;
  let dir: string;
  let proofFile: string;
  let trustFile: string;
  let anchorBlock: bigint;
  let beforeFile: string;
  let beforeAnchor: string;

  const send = (method: string, params: unknown[] = []) => conn.eip1193.request({ method, params });
  const head = async () => BigInt((await send("eth_blockNumber")) as string);
  const verify = (confirmations: number) =>
    ampInProcess(
      "verify",
      proofFile,
      "--rpc",
      rpc,
      "--trust",
      trustFile,
      "--confirmations",
      String(confirmations),
      "--json",
    );
  const reason = (out: string) =>
    JSON.parse(out) as { valid: boolean; field: string | null; reason: string | null };

  before(async () => {
    conn = await connectEmbedded();
    beforeFile = (await send("evm_snapshot")) as string;
    server = new JsonRpcServer({ hostname: "127.0.0.1", port: 0, provider: hre.network.provider });
    const { address, port } = await server.listen();
    rpc = `http://${address}:${port}`;
    dir = tmpDir("amp-confirmations-");
    const record = await deployFresh(conn, dir);
    trustFile = path.join(dir, "trust.json");
    writeTrustPolicy(trustFile, (await trustOf(conn, record)).policy);
    const runner = await openRunner(conn, record, dir);
    try {
      ingestGenerated(runner, (await runnerFederations()).manifest, 2);
      beforeAnchor = (await send("evm_snapshot")) as string;
      expect((await runner.runRound()).status).to.equal("anchored");
      const [ev] = runner.archive.eventsInRange("ssid", 0n, 1n);
      const proof = buildProofFile({
        archive: runner.archive,
        anchors: runner.anchors,
        eventId: ev!.eventId,
        originOf: (n) => (n === "ssid" ? "amp.local/ssid" : "amp.local/opencore"),
      });
      anchorBlock = BigInt(proof.anchor.blockNumber);
      proofFile = path.join(dir, "proof.json");
      fs.writeFileSync(proofFile, serializeProofFile(proof));
    } finally {
      runner.close();
    }
  });

  after(async () => {
    await send("evm_revert", [beforeFile]);
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a too-recent anchor, accepts it under N blocks, refuses it again after a shallow rollback, and refuses a rolled-back anchor", async () => {
    const depth = Number((await head()) - anchorBlock + 1n);
    const n = depth + 3;
    const recent = await verify(n);
    expect(recent.code, recent.out + recent.err).to.equal(1);
    expect(reason(recent.out)).to.deep.include({ valid: false, field: "anchor.blockNumber" });
    expect(reason(recent.out).reason).to.match(
      new RegExp(`has ${depth} confirmations, fewer than the ${n} required`),
    );

    const beforeGrowth = (await send("evm_snapshot")) as string;
    await send("hardhat_mine", ["0x3"]);
    const covered = await verify(n);
    expect(covered.code, covered.out + covered.err).to.equal(0);
    expect(reason(covered.out).valid).to.equal(true);

    // A rollback of 3 blocks (fewer than N): the anchor stays; its depth is back below N.
    await send("evm_revert", [beforeGrowth]);
    expect(await head()).to.equal(anchorBlock + BigInt(depth) - 1n);
    const shallow = await verify(n);
    expect(shallow.code).to.equal(1);
    expect(reason(shallow.out).field).to.equal("anchor.blockNumber");
    expect((await verify(depth)).code, "still valid at the depth it has").to.equal(0);

    // A rollback past the anchor block: the transaction is gone, whatever N.
    await send("evm_revert", [beforeAnchor]);
    expect(await head()).to.be.lessThan(anchorBlock);
    const gone = await verify(1);
    expect(gone.code, gone.out + gone.err).to.equal(1);
    // The anchored state is read first: the contract no longer holds the round.
    expect(reason(gone.out)).to.deep.include({ valid: false, field: "anchor.round" });
    expect(reason(gone.out).reason).to.match(/round \d+ is not anchored by 0x/);
  });
});
