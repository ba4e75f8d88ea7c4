import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  deriveThrowawayKeys,
  generateNodeKeys,
  loadNodeKeys,
  mlDsaKeyPath,
  readMlDsaKeyFile,
  ML_DSA65_PUBLIC_KEY_BYTES,
} from "../../src/crypto/keys";
import { AmpError, InvalidInputError } from "../../src/util/errors";

describe("crypto/keys", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-keys-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("derives throwaway keys deterministically, distinct per node and label, and marks them", () => {
    const a = deriveThrowawayKeys("demo", "n1");
    expect(a.throwaway).to.equal(true);
    expect(deriveThrowawayKeys("demo", "n1").wallet.address).to.equal(a.wallet.address);
    expect(Buffer.from(deriveThrowawayKeys("demo", "n1").mldsa.publicKey)).to.deep.equal(
      Buffer.from(a.mldsa.publicKey),
    );
    expect(deriveThrowawayKeys("demo", "n2").wallet.address).to.not.equal(a.wallet.address);
    expect(deriveThrowawayKeys("other", "n1").wallet.address).to.not.equal(a.wallet.address);
  });

  it("pins the ML-DSA-65 public key size at 1952 bytes", () => {
    expect(deriveThrowawayKeys("demo", "n1").mldsa.publicKey.length)
      .to.equal(ML_DSA65_PUBLIC_KEY_BYTES)
      .and.equal(1952);
  });

  it("generates key files and loads them back with the password", async () => {
    const ids = await generateNodeKeys(dir, ["n1", "n2"], "pw", { scryptN: 1024 });
    expect(ids).to.have.length(2);
    const k = await loadNodeKeys(dir, "n1", "pw");
    expect(k.wallet.address).to.equal(ids[0]!.address);
    expect(Buffer.from(k.mldsa.publicKey)).to.deep.equal(Buffer.from(ids[0]!.mldsaPublicKey));
    expect(k.throwaway).to.equal(false);
    expect(fs.statSync(mlDsaKeyPath(dir, "n1")).mode & 0o777).to.equal(0o600);
  });

  it("refuses the wrong password", async () => {
    await generateNodeKeys(dir, ["n1"], "pw", { scryptN: 1024 });
    await loadNodeKeys(dir, "n1", "nope").then(
      () => expect.fail("loaded with a wrong password"),
      (e: unknown) => expect(e).to.be.instanceOf(InvalidInputError),
    );
  });

  it("refuses to overwrite existing key files and leaves them unchanged", async () => {
    await generateNodeKeys(dir, ["n1"], "pw", { scryptN: 1024 });
    const before = fs.readFileSync(mlDsaKeyPath(dir, "n1"), "utf8");
    await generateNodeKeys(dir, ["n1"], "pw", { scryptN: 1024 }).then(
      () => expect.fail("overwrote"),
      (e: unknown) => expect((e as AmpError).kind).to.equal("conflict"),
    );
    expect(fs.readFileSync(mlDsaKeyPath(dir, "n1"), "utf8")).to.equal(before);
  });

  it("refuses bad node ids, empty passwords and duplicates without writing anything", async () => {
    for (const [ids, pw] of [
      [["../x"], "pw"],
      [["n1"], ""],
      [["n1", "n1"], "pw"],
    ] as const) {
      await generateNodeKeys(dir, ids, pw).then(
        () => expect.fail("accepted"),
        (e: unknown) => expect(e).to.be.instanceOf(InvalidInputError),
      );
    }
    expect(fs.readdirSync(dir)).to.deep.equal([]);
  });

  it("refuses an ML-DSA key file whose public key does not match its seed", async () => {
    await generateNodeKeys(dir, ["n1"], "pw", { scryptN: 1024 });
    const f = mlDsaKeyPath(dir, "n1");
    const j = JSON.parse(fs.readFileSync(f, "utf8")) as { seed: string };
    j.seed = "00".repeat(32);
    fs.writeFileSync(f, JSON.stringify(j));
    expect(() => readMlDsaKeyFile(f)).to.throw(InvalidInputError, /does not match/);
    fs.writeFileSync(f, JSON.stringify({ ...j, seed: "zz" }));
    expect(() => readMlDsaKeyFile(f)).to.throw(InvalidInputError, /seed/);
  });
});
