import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { connectEmbedded } from "../../src/chain/connect";
import type { ChainConnection } from "../../src/chain/connect";
import { deployContracts, registerFederations } from "../../src/chain/deploy";
import {
  assertDeploymentLive,
  DeploymentMismatchError,
  readDeployment,
  writeDeployment,
} from "../../src/chain/deployment";
import type { DeploymentRecord } from "../../src/chain/deployment";
import { federationIdOf } from "../../src/chain/ids";
import { federationSpecs, loadFederationKeys, loadManifestFederations } from "../../src/cli/context";
import { ValidatorRegistry__factory } from "../../typechain-types";

describe("chain/deploy", function () {
  let conn: ChainConnection;
  let record: DeploymentRecord;
  let dir: string;

  before(async function () {
    conn = await connectEmbedded();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-deploy-"));
    record = await deployContracts(conn);
    const keys = await loadFederationKeys(loadManifestFederations(), undefined);
    record.federations = await registerFederations(conn, record, federationSpecs(keys));
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("deploys the three contracts through the Ignition module and registers both federations", async function () {
    for (const address of Object.values(record.contracts)) {
      expect(await conn.provider.getCode(address)).to.not.equal("0x");
    }
    expect(record.chainId).to.equal("31337");
    expect(record.federations.map((f) => f.origin)).to.deep.equal(["amp.local/ssid", "amp.local/opencore"]);
    expect(record.federations.map((f) => f.validators.length)).to.deep.equal([4, 3]);
    const registry = ValidatorRegistry__factory.connect(record.contracts.validatorRegistry, conn.provider);
    expect(await registry.originOf(federationIdOf("amp.local/ssid"))).to.equal("amp.local/ssid");
  });

  it("registers federations idempotently (a second call adds nothing)", async function () {
    const registry = ValidatorRegistry__factory.connect(record.contracts.validatorRegistry, conn.provider);
    const before = (await registry.federationIds()).length;
    const keys = await loadFederationKeys(loadManifestFederations(), undefined);
    const again = await registerFederations(conn, record, federationSpecs(keys));
    expect((await registry.federationIds()).length).to.equal(before);
    expect(again).to.deep.equal(record.federations);
  });

  it("round-trips the deployment record through the data dir", function () {
    writeDeployment(dir, record);
    expect(readDeployment(dir)).to.deep.equal(record);
  });

  it("refuses a missing or malformed record with a message naming the problem", function () {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "amp-deploy-empty-"));
    expect(() => readDeployment(empty)).to.throw(/no deployment record.*amp deploy/);
    fs.writeFileSync(path.join(empty, "deployment.json"), JSON.stringify({ ...record, chainId: 5 }));
    expect(() => readDeployment(empty)).to.throw(/chainId/);
    fs.rmSync(empty, { recursive: true, force: true });
  });

  it("accepts a live deployment", async function () {
    await assertDeploymentLive(conn, record);
  });

  it("reports a chain id mismatch", async function () {
    const other = { ...record, chainId: "1" };
    await expectMismatch(assertDeploymentLive(conn, other), /chain id mismatch/);
  });

  it("reports missing contract code (a restarted chain) naming the contract", async function () {
    const gone = {
      ...record,
      contracts: { ...record.contracts, globalProofAnchor: "0x000000000000000000000000000000000000dEaD" },
    };
    await expectMismatch(assertDeploymentLive(conn, gone), /no contract code for globalProofAnchor/);
  });
});

async function expectMismatch(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(DeploymentMismatchError);
    expect((err as Error).message).to.match(re);
    return;
  }
  expect.fail("expected a DeploymentMismatchError");
}
