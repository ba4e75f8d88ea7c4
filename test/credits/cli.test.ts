import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { Archive } from "../../src/archive";
import { validRecord } from "../fixtures/hostile/record-cases";
import { ampMerged as amp } from "../helpers/cli";

const ADDRESS = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

describe("cli: amp credits and amp receipt verify refuse bad input", function () {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-credits-cli-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("credits show/record: a data dir without an archive (3), a bad epoch (2), nothing allocated (2)", async function () {
    const none = await amp("credits", "show", "--data", path.join(dir, "nope"));
    expect(none.code).to.equal(3);
    expect(none.out).to.match(/no archive at/);
    Archive.open(path.join(dir, "archive.sqlite")).close();
    const epoch = await amp("credits", "show", "--data", dir, "--epoch", "-1");
    expect(epoch.code).to.equal(2);
    expect(epoch.out).to.match(/--epoch must be a non-negative integer, got "-1"/);
    const empty = await amp("credits", "show", "--data", dir);
    expect(empty.code).to.equal(2);
    expect(empty.out).to.match(/no allocations in/);
    const rec = await amp("credits", "record", "--data", dir, "--epoch", "5", "--node", "x", "--out", "-");
    expect(rec.code).to.equal(2);
    expect(rec.out).to.match(/no allocation of node "x" in epoch 5/);
  });

  it("receipt verify: unpinned, bad --receipts, a trust policy that disagrees, bad --depth (all 2)", async function () {
    const file = path.join(dir, "r.json");
    fs.writeFileSync(file, "{}");
    const rpc = ["--rpc", "http://127.0.0.1:1"];
    const cases: [string[], RegExp][] = [
      [[], /pin the ProofCreditReceipts contract/],
      [["--receipts", "0x1234"], /--receipts must be an address, got "0x1234"/],
      [["--receipts", ADDRESS, "--depth", "-2"], /--depth must be an integer ≥ 0/],
    ];
    const trust = path.join(dir, "trust.json");
    fs.writeFileSync(trust, JSON.stringify({ chainId: 31337, receipts: "0x" + "11".repeat(20) }));
    cases.push([["--receipts", ADDRESS, "--trust", trust], /differs from the trust policy's receipts/]);
    fs.writeFileSync(path.join(dir, "bad-trust.json"), JSON.stringify({ receipts: 7 }));
    cases.push([["--trust", path.join(dir, "bad-trust.json")], /receipts is not an address/]);
    for (const [flags, message] of cases) {
      const r = await amp("receipt", "verify", file, ...rpc, ...flags);
      expect(r.code, flags.join(" ")).to.equal(2);
      expect(r.out, flags.join(" ")).to.match(message);
    }
  });

  it("receipt verify: a record that is not JSON (1), an unreadable trust file or chain (3)", async function () {
    const file = path.join(dir, "r.json");
    fs.writeFileSync(file, "{not json");
    const bad = await amp("receipt", "verify", file, "--rpc", "http://127.0.0.1:1", "--receipts", ADDRESS);
    expect(bad.code).to.equal(1);
    expect(bad.out).to.match(/^INVALID .*r\.json: not JSON/);
    const trust = await amp(
      "receipt",
      "verify",
      file,
      "--rpc",
      "http://127.0.0.1:1",
      "--trust",
      path.join(dir, "none.json"),
    );
    expect(trust.code).to.equal(3);
    // A well-formed record (a malformed one is INVALID before the chain is asked).
    fs.writeFileSync(file, JSON.stringify(validRecord()));
    const down = await amp("receipt", "verify", file, "--rpc", "http://127.0.0.1:1", "--receipts", ADDRESS);
    expect(down.code).to.equal(3);
    expect(down.out).to.match(/no JSON-RPC answer/);
  });
});
