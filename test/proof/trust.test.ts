/**
 * The forgery of issue 8, reproduced on the in-process network: a second deployment with keys of its
 * own anchors a made-up event; its proof must not verify against the trust policy of the first.
 * Also: noteKeys are hints only, the ML-DSA quorum is counted under registered keys, every pinned
 * field is checked, --confirmations and --no-recovery-epochs.
 */
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import type { PublicClient } from "viem";
import { connectEmbedded } from "../../src/chain/connect";
import type { ChainConnection } from "../../src/chain/connect";
import { deployContracts, registerFederations } from "../../src/chain/deploy";
import type { DeploymentRecord } from "../../src/chain/deployment";
import { writeDeployment } from "../../src/chain/deployment";
import { AnchoringRunner } from "../../src/chain/runner";
import { federationSpecs, loadManifestFederations } from "../../src/cli/context";
import { generateEvents } from "../../src/cli/generate";
import { deriveThrowawayKeys } from "../../src/crypto/keys";
import { buildProofFile } from "../../src/proof/build";
import type { ProofFile } from "../../src/proof/format";
import { ProofInvalidError, publicClientFor, verifyProof } from "../../src/proof/verify";
import type { TrustRoot, VerifyOptions } from "../../src/proof/verify";
import type { TrustPolicy } from "../../src/trust/policy";
import { ValidatorRegistry__factory } from "../../typechain-types";
import { keepVotes, resignWithFreshKeys, voteCount } from "../helpers/forge";
import { deployFresh, ingestGenerated, openRunner, runnerFederations, tmpDir, trustOf } from "../e2e/helpers";

/** A deployment with keys derived from `label` (not the demo's), one anchored round, and a runner. */
async function deployWithKeys(
  conn: ChainConnection,
  dir: string,
  label: string,
  recoveryDelaySeconds?: bigint,
): Promise<{ record: DeploymentRecord; runner: () => Promise<AnchoringRunner> }> {
  const manifest = loadManifestFederations();
  const fks = manifest.map((federation) => ({
    federation,
    keys: federation.nodes.map((n) => deriveThrowawayKeys(label, n.id)),
  }));
  const record = await deployContracts(
    conn,
    recoveryDelaySeconds === undefined ? {} : { recoveryDelaySeconds },
  );
  record.federations = await registerFederations(conn, record, federationSpecs(fks));
  const feds = fks.map((k) => ({
    name: k.federation.name,
    origin: k.federation.origin,
    nodes: k.keys.map((keys, i) => ({ keys, weight: k.federation.nodes[i]!.weight })),
  }));
  const runner = async () => {
    writeDeployment(dir, record);
    return AnchoringRunner.open({ dataDir: dir, conn, record, federations: feds, voteTimeoutMs: 200 });
  };
  return { record, runner };
}

/** Ingest one made-up event per federation, run one round, prove the ssid event. */
async function oneRoundProof(runner: AnchoringRunner, salt: string): Promise<ProofFile> {
  const manifest = loadManifestFederations();
  for (const f of manifest) runner.ingest(generateEvents(f, runner.archive.nextSeq(f.name), 1, salt));
  const report = await runner.runRound();
  expect(report.status).to.equal("anchored");
  const [ev] = runner.archive.eventsInRange("ssid", 0n, 1n);
  return buildProofFile({
    archive: runner.archive,
    anchors: runner.anchors,
    eventId: ev!.eventId,
    originOf: (n) => manifest.find((f) => f.name === n)!.origin,
  });
}

describe("proof: verification against a pinned trust root (issue 8)", function () {
  this.timeout(300_000);
  let conn: ChainConnection;
  let client: PublicClient;
  let dir: string;
  let record: DeploymentRecord;
  let trust: { policy: TrustPolicy };
  let genuine: ProofFile;
  let forged: ProofFile;
  let forgerAnchor: string;

  async function refusal(p: ProofFile, root: TrustRoot = trust, opts: VerifyOptions = {}) {
    const err = await verifyProof(p, client, root, opts).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, "the proof verified").to.be.instanceOf(ProofInvalidError);
    return err as ProofInvalidError;
  }

  before(async function () {
    conn = await connectEmbedded();
    client = publicClientFor(conn.eip1193);
    dir = tmpDir("amp-trust-");
    const a = path.join(dir, "a");
    record = await deployFresh(conn, a);
    trust = await trustOf(conn, record);
    const runner = await openRunner(conn, record, a);
    try {
      ingestGenerated(runner, (await runnerFederations()).manifest, 3);
      await runner.runRound();
      const [ev] = runner.archive.eventsInRange("ssid", 1n, 2n);
      genuine = buildProofFile({
        archive: runner.archive,
        anchors: runner.anchors,
        eventId: ev!.eventId,
        originOf: (n) => (n === "ssid" ? "amp.local/ssid" : "amp.local/opencore"),
      });
    } finally {
      runner.close();
    }
    // The forger: same chain, same origins, keys of its own, a made-up event.
    const forger = await deployWithKeys(conn, path.join(dir, "b"), "forger");
    forgerAnchor = forger.record.contracts.globalProofAnchor;
    const fr = await forger.runner();
    try {
      forged = await oneRoundProof(fr, "made-up");
    } finally {
      fr.close();
    }
  });

  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("accepts the genuine proof with the trust policy, and with the anchor pinned alone", async function () {
    const v = await verifyProof(genuine, client, trust);
    expect(v.trust).to.include({
      source: "policy",
      anchor: record.contracts.globalProofAnchor,
      chainId: "31337",
    });
    expect(3n * v.noteVotes!.signedWeight > 2n * v.noteVotes!.totalWeight).to.equal(true);
    expect(v.noteWitnesses.map((w) => w.origin)).to.deep.equal(["amp.local/opencore"]);
    const byAnchor = await verifyProof(genuine, client, { anchor: record.contracts.globalProofAnchor });
    expect(byAnchor.trust).to.deep.include({ source: "anchor", registry: trust.policy.registry });
    expect(byAnchor.trust.anchorCodeHash).to.equal(trust.policy.anchorCodeHash);
  });

  it("refuses the second deployment's forgery under the first deployment's trust policy", async function () {
    // What the issue reproduced: the forgery is internally sound (it verifies if you pin ITS anchor) ...
    await verifyProof(forged, client, { anchor: forgerAnchor });
    // ... and is refused by a verifier that pinned the real deployment, naming what did not match.
    const err = await refusal(forged);
    expect(err.field).to.equal("anchor.contract");
    expect(err.shortMessage).to.contain(`the trust policy pins ${record.contracts.globalProofAnchor}`);
    expect((await refusal(forged, { anchor: record.contracts.globalProofAnchor })).field).to.equal(
      "anchor.contract",
    );
  });

  it("refuses the forgery relabelled with the pinned anchor's address", async function () {
    const p = JSON.parse(JSON.stringify(forged)) as ProofFile;
    p.anchor.contract = record.contracts.globalProofAnchor;
    expect((await refusal(p)).field).to.equal("nexus.globalRoot");
  });

  it("counts no weight for noteKeys replaced by fresh keys, even with the note re-signed", async function () {
    const err = await refusal(resignWithFreshKeys(genuine));
    expect(err.field).to.equal("checkpoint.signedNote");
    expect(err.shortMessage).to.match(
      /vote signatures under ML-DSA keys registered for amp\.local\/ssid .* weight 0 of 10000/,
    );
  });

  it("refuses a note whose vote signatures are stripped to 2 of 4 (not more than 2/3)", async function () {
    expect(voteCount(genuine)).to.be.greaterThan(2);
    const err = await refusal(keepVotes(genuine, 2));
    expect(err.field).to.equal("checkpoint.signedNote");
    expect(err.shortMessage).to.contain("weight 5000 of 10000, not more than 2/3");
  });

  it("refuses a policy that pins another chain id, registry, code hash or federation set", async function () {
    const pinned = (change: Partial<TrustPolicy>) => ({ policy: { ...trust.policy, ...change } });
    expect((await refusal(genuine, pinned({ chainId: "1" }))).field).to.equal("chainId");
    const other = "0x" + "11".repeat(32);
    expect((await refusal(genuine, pinned({ anchorCodeHash: other }))).field).to.equal("anchorCodeHash");
    expect((await refusal(genuine, pinned({ registryCodeHash: other }))).field).to.equal("registryCodeHash");
    const registry = "0x000000000000000000000000000000000000dEaD";
    expect((await refusal(genuine, pinned({ registry }))).field).to.equal("registry");
    const onlyOpencore = trust.policy.federations.filter((f) => f.origin !== "amp.local/ssid");
    expect((await refusal(genuine, pinned({ federations: onlyOpencore }))).field).to.equal(
      "federation.origin",
    );
  });

  it("refuses fewer confirmations than asked for", async function () {
    const err = await refusal(genuine, trust, { confirmations: 1_000_000 });
    expect(err.field).to.equal("anchor.blockNumber");
    expect(err.shortMessage).to.match(/fewer than the 1000000 required/);
  });

  it("refuses an epoch created by a governance recovery only with --no-recovery-epochs", async function () {
    const c = await deployWithKeys(conn, path.join(dir, "c"), "recovered", 0n);
    const registry = ValidatorRegistry__factory.connect(
      c.record.contracts.validatorRegistry,
      await conn.signer(),
    );
    const ssid = c.record.federations.find((f) => f.origin === "amp.local/ssid")!;
    const args = [ssid.federationId, ssid.validators, ssid.weights, ssid.keyCommitments] as const;
    await (await registry.scheduleRecovery(...args)).wait();
    await (await registry.executeRecovery(...args)).wait();
    expect(await registry.isRecoveryEpoch(ssid.federationId, 2n)).to.equal(true);
    ssid.epoch = 2;
    const runner = await c.runner();
    let proof: ProofFile;
    try {
      proof = await oneRoundProof(runner, "recovered");
    } finally {
      runner.close();
    }
    const root = { anchor: c.record.contracts.globalProofAnchor };
    expect((await verifyProof(proof, client, root)).noteVotes!.epoch).to.equal(2n);
    const err = await refusal(proof, root, { noRecoveryEpochs: true });
    expect(err.field).to.equal("checkpoint.epoch");
    expect(err.shortMessage).to.contain("governance recovery rotation");
  });
});
