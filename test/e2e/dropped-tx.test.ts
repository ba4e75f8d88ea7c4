/**
 * Chain fault (issue 13 §4): an anchor transaction dropped from the mempool of a separate
 * `hardhat node` (automine off, `hardhat_dropTransaction`). The submitter notices the transaction is
 * gone (no receipt, unknown to the node, its nonce unused) and sends the same round again with the
 * same nonce and arguments (higher fee): anchored once, by the second transaction; the dropped one
 * never lands; round 2 is refused while round 1 is not mined; a later submit of round 1 sends nothing.
 */
import type { ChildProcess } from "node:child_process";
import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import { AnchorConflictError, AnchorSubmitter, type AnchorRoundInput } from "../../src/chain/anchor";
import { connectRpc, type ChainConnection } from "../../src/chain/connect";
import { deployContracts, registerFederations } from "../../src/chain/deploy";
import { sampleCheckpoints, signedRoundInput } from "../../src/chain/sample";
import { federationSpecs, loadFederationKeys, loadManifestFederations } from "../../src/cli/context";
import { GlobalProofAnchor__factory } from "../../typechain-types";
import { quietLogs } from "../consensus/fixture";
import { until } from "../node/helpers";
import { fundedFreshKey, startHardhatNode, stopHardhatNode } from "../helpers/node-process";

interface RpcTx {
  hash: string;
  nonce: string;
  input: string;
  maxFeePerGas: string;
}

describe("e2e: an anchor transaction dropped from the mempool (hardhat node)", function () {
  this.timeout(300_000);
  quietLogs();
  let chain: ChildProcess | undefined;
  let conn: ChainConnection | undefined;
  let sub: ChainConnection | undefined;
  let rpc: JsonRpcProvider | undefined;

  after(async function () {
    rpc?.destroy();
    sub?.close();
    conn?.close();
    await stopHardhatNode(chain);
  });

  it("is resubmitted (same nonce and round) and the round anchored exactly once", async function () {
    const started = await startHardhatNode();
    chain = started.child;
    conn = await connectRpc(started.rpc);
    const c = conn;
    const record = await deployContracts(c);
    const keys = await loadFederationKeys(loadManifestFederations(), undefined);
    record.federations = await registerFederations(c, record, federationSpecs(keys));
    const feds = keys.map((k) => ({ origin: k.federation.origin, epoch: 1n, keys: k.keys }));
    const domain = { chainId: c.chainId, anchor: record.contracts.globalProofAnchor };
    const input: AnchorRoundInput = signedRoundInput(domain, 1n, sampleCheckpoints(1n, feds));
    const anchor = GlobalProofAnchor__factory.connect(record.contracts.globalProofAnchor, c.provider);
    // The submitter signs locally (sent raw, its hash known at once): the drop below cannot race
    // an `eth_sendTransaction` client still polling for the transaction it just sent.
    const wallet = await fundedFreshKey(started.rpc);
    sub = await connectRpc(started.rpc, { localSigner: wallet });
    const me = wallet.address;
    const node = new JsonRpcProvider(started.rpc, undefined, { cacheTimeout: -1, staticNetwork: true });
    rpc = node;
    const pending = async (): Promise<RpcTx[]> =>
      ((await node.send("eth_getBlockByNumber", ["pending", true])) as { transactions: RpcTx[] })
        .transactions;

    await node.send("evm_setAutomine", [false]);
    const submitter = await AnchorSubmitter.create(sub, record.contracts.globalProofAnchor, {
      receiptTimeoutMs: 3_000, // the first wait ends after the drop below; the submitter then looks
      maxAttempts: 20,
    });
    const submitted = submitter.submit(input);
    let failure: Error | undefined;
    submitted.catch((e: Error) => (failure = e)); // awaited below
    const [dropped] = await until("the anchor transaction in the mempool", async () => {
      const txs = await pending();
      return txs.length > 0 ? txs : undefined;
    });
    expect(await node.send("hardhat_dropTransaction", [dropped!.hash])).to.equal(true);
    expect(await pending()).to.deep.equal([]);
    const resent = await until(
      "the resubmitted transaction",
      async () => {
        if (failure) throw failure;
        return (await pending()).find((t) => t.hash !== dropped!.hash);
      },
      120_000,
    );
    // The same round with the same nonce, at a higher fee (a new hash).
    expect(resent.nonce).to.equal(dropped!.nonce);
    expect(resent.input).to.equal(dropped!.input);
    expect(BigInt(resent.maxFeePerGas) > BigInt(dropped!.maxFeePerGas)).to.equal(true);

    // Round 2 is refused while round 1 is not mined, and nothing more is sent.
    const round2 = signedRoundInput(domain, 2n, sampleCheckpoints(2n, feds));
    const refused = await submitter.submit(round2).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).to.be.instanceOf(AnchorConflictError);
    expect((await pending()).map((t) => t.hash)).to.deep.equal([resent.hash]);

    await node.send("evm_mine", []);
    const r = await submitted;
    expect(r.status).to.equal("anchored");
    expect(r.txHash).to.equal(resent.hash);
    expect(await c.provider.getTransactionReceipt(dropped!.hash)).to.equal(null);
    expect(await anchor.nextRound()).to.equal(2n);
    const logs = await anchor.queryFilter(anchor.filters.GlobalRootAnchored());
    expect(logs.map((l) => [l.args.round, l.transactionHash])).to.deep.equal([[1n, resent.hash]]);

    // The same round again (a second relay): already anchored, nothing sent.
    const nonce = await c.provider.getTransactionCount(me, "pending");
    const again = await submitter.submit(input);
    expect(again.status).to.equal("already-anchored");
    expect(again.txHash).to.equal(resent.hash);
    expect(await c.provider.getTransactionCount(me, "pending")).to.equal(nonce);
    expect(await pending()).to.deep.equal([]);
    expect(await anchor.queryFilter(anchor.filters.GlobalRootAnchored())).to.have.length(1);
  });
});
