import { expect } from "chai";
import { makeError } from "ethers";
import type { Signer } from "ethers";
import { AnchorReader } from "../../src/chain/round-records";
import { AnchorConflictError, AnchorRevertedError, AnchorSubmitter } from "../../src/chain/anchor";
import type { AnchorRoundInput } from "../../src/chain/anchor";
import { connectEmbedded } from "../../src/chain/connect";
import type { ChainConnection } from "../../src/chain/connect";
import { deployContracts, registerFederations } from "../../src/chain/deploy";
import type { DeploymentRecord } from "../../src/chain/deployment";
import { sampleCheckpoints, signedRoundInput } from "../../src/chain/sample";
import type { SampleFederation } from "../../src/chain/sample";
import { federationSpecs, loadFederationKeys, loadManifestFederations } from "../../src/cli/context";
import { GlobalProofAnchor__factory } from "../../typechain-types";

async function freshDeployment(conn: ChainConnection) {
  const record = await deployContracts(conn);
  const keys = await loadFederationKeys(loadManifestFederations(), undefined);
  record.federations = await registerFederations(conn, record, federationSpecs(keys));
  const feds: SampleFederation[] = keys.map((k) => ({
    origin: k.federation.origin,
    epoch: 1n,
    keys: k.keys,
  }));
  return { record, feds };
}

async function anchoredCount(conn: ChainConnection, record: DeploymentRecord): Promise<number> {
  const anchor = GlobalProofAnchor__factory.connect(record.contracts.globalProofAnchor, conn.provider);
  return (await anchor.queryFilter(anchor.filters.GlobalRootAnchored())).length;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  return expect.fail("expected a rejection");
}

describe("chain/anchor: AnchorSubmitter", function () {
  let conn: ChainConnection;
  let record: DeploymentRecord;
  let input: AnchorRoundInput;

  beforeEach(async function () {
    conn = await connectEmbedded();
    const d = await freshDeployment(conn);
    record = d.record;
    const domain = { chainId: conn.chainId, anchor: record.contracts.globalProofAnchor };
    input = signedRoundInput(domain, 1n, sampleCheckpoints(1n, d.feds));
  });

  it("anchors the next round in one transaction and reports its receipt", async function () {
    const submitter = await AnchorSubmitter.create(conn, record.contracts.globalProofAnchor);
    const r = await submitter.submit(input);
    expect(r.status).to.equal("anchored");
    expect(r.gasUsed > 0n).to.equal(true);
    const anchor = GlobalProofAnchor__factory.connect(record.contracts.globalProofAnchor, conn.provider);
    expect((await new AnchorReader(anchor).anchorOf(1n)).globalRoot).to.equal(input.globalRoot);
    expect(await anchor.nextRound()).to.equal(2n);
    const receipt = await conn.provider.getTransactionReceipt(r.txHash);
    expect(receipt?.blockNumber).to.equal(r.blockNumber);
  });

  it("treats a second submit of an anchored round with the same root as success, sending nothing", async function () {
    const submitter = await AnchorSubmitter.create(conn, record.contracts.globalProofAnchor);
    const first = await submitter.submit(input);
    const nonce = await conn.provider.getTransactionCount(record.deployer);
    const again = await submitter.submit(input);
    expect(again.status).to.equal("already-anchored");
    expect(again.txHash).to.equal(first.txHash);
    expect(await conn.provider.getTransactionCount(record.deployer)).to.equal(nonce);
    expect(await anchoredCount(conn, record)).to.equal(1);
  });

  it("refuses a different root for an already anchored round as a conflict", async function () {
    const submitter = await AnchorSubmitter.create(conn, record.contracts.globalProofAnchor);
    await submitter.submit(input);
    const other = { ...input, globalRoot: "0x" + "11".repeat(32) };
    const err = await rejection(submitter.submit(other));
    expect(err).to.be.instanceOf(AnchorConflictError);
    expect(err.message).to.match(/round 1 is already anchored with global root/);
    expect(await anchoredCount(conn, record)).to.equal(1);
  });

  it("refuses a round ahead of the chain, naming the expected round", async function () {
    const submitter = await AnchorSubmitter.create(conn, record.contracts.globalProofAnchor);
    const err = await rejection(submitter.submit({ ...input, round: 3n }));
    expect(err).to.be.instanceOf(AnchorConflictError);
    expect(err.message).to.match(/anchor expects round 1/);
  });

  it("decodes a contract revert by custom error name and leaves the chain unchanged", async function () {
    const submitter = await AnchorSubmitter.create(conn, record.contracts.globalProofAnchor);
    const badRoot = { ...input, globalRoot: "0x" + "22".repeat(32) };
    const err = await rejection(submitter.submit(badRoot));
    expect(err).to.be.instanceOf(AnchorRevertedError);
    expect((err as AnchorRevertedError).errorName).to.equal("AnchorGlobalRootMismatch");
    expect(err.message).to.match(/reverted: AnchorGlobalRootMismatch\(0x[0-9a-f]{64}, 0x2222/);
    const noQuorum = {
      ...input,
      checkpoints: input.checkpoints.map((c) => ({ ...c, signatures: c.signatures.slice(0, 1) })),
    };
    const err2 = await rejection(submitter.submit(noQuorum));
    expect((err2 as AnchorRevertedError).errorName).to.equal("AnchorQuorumNotReached");
    const anchor = GlobalProofAnchor__factory.connect(record.contracts.globalProofAnchor, conn.provider);
    expect(await anchor.nextRound()).to.equal(1n);
    expect(await anchoredCount(conn, record)).to.equal(0);
  });

  it("recovers when the transaction lands but its response is lost (no second anchor)", async function () {
    const real = await conn.signer();
    const lossy = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop === "sendTransaction") {
          return async (tx: Parameters<Signer["sendTransaction"]>[0]) => {
            await target.sendTransaction(tx);
            throw makeError("connection dropped after send", "NETWORK_ERROR", { event: "test" });
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const flaky: ChainConnection = { ...conn, signer: () => Promise.resolve(lossy) };
    const submitter = await AnchorSubmitter.create(flaky, record.contracts.globalProofAnchor);
    const r = await submitter.submit(input);
    expect(r.status).to.equal("already-anchored");
    expect(await anchoredCount(conn, record)).to.equal(1);
  });

  it("retries after a nonce conflict (tx not sent) and anchors exactly once", async function () {
    const real = await conn.signer();
    let conflicts = 1;
    const racy = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop === "sendTransaction") {
          return async (tx: Parameters<Signer["sendTransaction"]>[0]) => {
            if (conflicts-- > 0)
              throw makeError("nonce has already been used", "NONCE_EXPIRED", { transaction: {} });
            return target.sendTransaction(tx);
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const submitter = await AnchorSubmitter.create(
      { ...conn, signer: () => Promise.resolve(racy) },
      record.contracts.globalProofAnchor,
    );
    const r = await submitter.submit(input);
    expect(r.status).to.equal("anchored");
    expect(conflicts).to.equal(-1);
    expect(await anchoredCount(conn, record)).to.equal(1);
  });

  it("relays from AMP_SUBMITTER_KEY when set (anyone may relay), refusing a malformed key", async function () {
    const prev = process.env.AMP_SUBMITTER_KEY;
    try {
      process.env.AMP_SUBMITTER_KEY = "0x1234";
      let message = "";
      await AnchorSubmitter.create(conn, record.contracts.globalProofAnchor).catch(
        (e: Error) => (message = e.message),
      );
      expect(message).to.match(/AMP_SUBMITTER_KEY must be a 0x-prefixed 32-byte hex private key/);
      // Hardhat's well-known test account #1: not the deployer.
      process.env.AMP_SUBMITTER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
      const submitter = await AnchorSubmitter.create(conn, record.contracts.globalProofAnchor);
      const r = await submitter.submit(input);
      const tx = await conn.provider.getTransaction(r.txHash);
      expect(tx?.from).to.equal("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
      expect(tx?.from).to.not.equal(record.deployer);
    } finally {
      if (prev === undefined) delete process.env.AMP_SUBMITTER_KEY;
      else process.env.AMP_SUBMITTER_KEY = prev;
    }
  });

  it("yields to another relayer that anchored the same round first", async function () {
    const other = await AnchorSubmitter.create(conn, record.contracts.globalProofAnchor);
    const mine = await AnchorSubmitter.create(conn, record.contracts.globalProofAnchor);
    const theirs = await other.submit(input);
    const r = await mine.submit(input);
    expect(r).to.include({ status: "already-anchored", txHash: theirs.txHash });
    expect(await anchoredCount(conn, record)).to.equal(1);
  });
});
