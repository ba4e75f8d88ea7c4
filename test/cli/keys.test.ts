import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createHash } from "node:crypto";
import { expect } from "chai";
import { mlDsaKeyCommitment } from "../../src/crypto/keys";
import type { DeploymentRecord } from "../../src/chain/deployment";
import { federationIdOf } from "../../src/chain/ids";
import { generateNodeKeys } from "../../src/crypto/keys";
import {
  federationSpecs,
  loadFederationKeys,
  loadManifestFederations,
  THROWAWAY_BANNER,
} from "../../src/cli/context";
import { runnerFederationsFor } from "../../src/cli/session";

describe("cli: node keys for deploy and run", function () {
  let dir: string;
  const manifest = loadManifestFederations();
  const ids = manifest.flatMap((f) => f.nodes.map((n) => n.id));
  let prev: string | undefined;

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-keys-"));
    await generateNodeKeys(dir, ids, "pw", { scryptN: 1024 });
    prev = process.env.AMP_KEYSTORE_PASSWORD;
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    if (prev === undefined) delete process.env.AMP_KEYSTORE_PASSWORD;
    else process.env.AMP_KEYSTORE_PASSWORD = prev;
  });

  it("loads key files from --keys (no throwaway banner) and registers their addresses", async function () {
    process.env.AMP_KEYSTORE_PASSWORD = "pw";
    let banner = false;
    const keys = await loadFederationKeys(manifest, dir, () => (banner = true));
    expect(banner).to.equal(false);
    expect(keys.every((k) => k.keys.every((n) => !n.throwaway))).to.equal(true);
    const specs = federationSpecs(keys);
    expect(specs.map((s) => s.validators.length)).to.deep.equal([4, 3]);
    expect(specs[0]!.weights).to.deep.equal([2500n, 2500n, 2500n, 2500n]);
    // The registry binds each node's ML-DSA key: SHA-256 of the public key in its key file.
    const pk = keys[0]!.keys[0]!.mldsa.publicKey;
    expect(specs[0]!.keyCommitments[0]).to.equal("0x" + createHash("sha256").update(pk).digest("hex"));
    expect(new Set(specs.flatMap((s) => s.keyCommitments)).size).to.equal(7);
    expect(() => mlDsaKeyCommitment(pk.slice(1))).to.throw(/must be 1952 bytes, got 1951/);
  });

  it("announces throwaway keys when no --keys is given", async function () {
    const said: string[] = [];
    await runnerFederationsFor(undefined, {}, (l) => said.push(l));
    expect(said).to.deep.equal([THROWAWAY_BANNER]);
  });

  it("refuses a wrong keystore password naming the node", async function () {
    process.env.AMP_KEYSTORE_PASSWORD = "wrong";
    let message = "";
    await loadFederationKeys(manifest, dir).catch((e: Error) => (message = e.message));
    expect(message).to.match(/cannot decrypt keystore for ssid-eu-1/);
  });

  it("refuses keys that are not the validators registered at deployment", async function () {
    process.env.AMP_KEYSTORE_PASSWORD = "pw";
    const throwaway = federationSpecs(await loadFederationKeys(manifest, undefined));
    const record = {
      federations: throwaway.map((s) => ({
        origin: s.origin,
        federationId: federationIdOf(s.origin),
        epoch: 1,
        validators: s.validators,
        weights: s.weights.map(String),
      })),
    } as unknown as DeploymentRecord;
    let message = "";
    await runnerFederationsFor(record, { keys: dir }, () => undefined).catch(
      (e: Error) => (message = e.message),
    );
    expect(message).to.match(/keys of amp\.local\/ssid are not the validators registered at deployment/);
    const ok = await runnerFederationsFor(record, {}, () => undefined);
    expect(ok.feds.map((f) => f.nodes.length)).to.deep.equal([4, 3]);
  });
});
