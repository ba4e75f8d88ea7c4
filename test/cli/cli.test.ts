import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { federationIdOf } from "../../src/chain/ids";
import { Archive } from "../../src/archive";
import { ARCHIVE_FILE, ingestEvents } from "../../src/chain/runner";
import { loadManifestFederations } from "../../src/cli/context";
import { parseNdjson } from "../../src/cli/events";
import { generateEvents } from "../../src/cli/generate";
import { buildProgram, run } from "../../src/cli/main";

interface Captured {
  code: number;
  out: string;
  err: string;
}

async function amp(...args: string[]): Promise<Captured> {
  let out = "";
  let err = "";
  const code = await run(["node", "amp", ...args], {
    writeOut: (s) => (out += s),
    writeErr: (s) => (err += s),
  });
  return { code, out, err };
}

const ANCHOR = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

describe("cli: the amp command", function () {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-cli-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("has --help with examples on every command", async function () {
    const names = (cmd: Awaited<ReturnType<typeof buildProgram>>, prefix: string[]): string[][] =>
      cmd.commands.flatMap((c) =>
        c.commands.length > 0 ? names(c, [...prefix, c.name()]) : [[...prefix, c.name()]],
      );
    const all = names(await buildProgram(), []);
    expect(all.map((a) => a.join(" "))).to.include.members([
      "demo",
      "deploy",
      "run",
      "ingest",
      "events",
      "proof",
      "verify",
      "keys generate",
    ]);
    for (const cmd of all) {
      const r = await amp(...cmd, "--help");
      expect(r.code, cmd.join(" ")).to.equal(0);
      expect(r.out, cmd.join(" ")).to.match(/Usage: amp/);
      expect(r.out, cmd.join(" ")).to.match(/\nExamples:\n\s+\$ [\s\S]*\bamp [a-z]/);
    }
  });

  it("exits 2 on a usage error (missing required option)", async function () {
    const r = await amp("deploy", "--data", dir);
    expect(r.code).to.equal(2);
    expect(r.err).to.match(/required option '--rpc <url>' not specified/);
  });

  it("exits 2 with one line naming the problem for a bad flag value", async function () {
    const r = await amp("run", "--rpc", "http://127.0.0.1:1", "--data", dir, "--rounds", "0");
    expect(r.code).to.equal(2);
    expect(r.err.trim().split("\n")).to.have.length(1);
    expect(r.err).to.match(/^amp: UsageError: --rounds must be an integer ≥ 1, got "0"/);
    const w = await amp("run", "--rpc", "http://127.0.0.1:1", "--data", dir, "--workers", "two");
    expect(w.code).to.equal(2);
    expect(w.err).to.match(/^amp: UsageError: --workers must be an integer ≥ 0, got "two"/);
    const u = await amp("run", "--rpc", "ftp://x", "--data", dir);
    expect(u.code).to.equal(2);
    expect(u.err).to.match(
      /--rpc must be an http\(s\) URL such as http:\/\/127\.0\.0\.1:8545, got "ftp:\/\/x"/,
    );
    const v = await amp(
      "verify",
      path.join(dir, "missing.json"),
      "--rpc",
      "http://127.0.0.1:1",
      "--anchor",
      ANCHOR,
    );
    expect(v.code).to.equal(3); // could not check: the file cannot be read
    expect(v.err).to.match(/^amp: CannotCheckError: cannot read the proof file .*missing\.json/);
  });

  it("refuses to verify without a trust root, or with bad trust flags (exit 2, one line)", async function () {
    const proof = path.join(dir, "p.json");
    fs.writeFileSync(proof, "{}");
    const none = await amp("verify", proof, "--rpc", "http://127.0.0.1:1");
    expect(none.code).to.equal(2);
    expect(none.err.trim().split("\n")).to.have.length(1);
    expect(none.err).to.match(
      /^amp: UsageError: refusing to verify without a trust root: give --trust .* or --anchor /,
    );
    const trustFile = path.join(dir, "trust.json");
    const h = "0x" + "ab".repeat(32);
    const fed = { origin: "amp.local/ssid", federationId: federationIdOf("amp.local/ssid") };
    const policy = { format: "amp-trust/v1", chainId: "31337", anchor: ANCHOR, registry: ANCHOR };
    const full = { ...policy, anchorCodeHash: h, registryCodeHash: h, federations: [fed] };
    fs.writeFileSync(trustFile, JSON.stringify({ ...full, extra: 1 }));
    const badId = path.join(dir, "bad-id.json");
    fs.writeFileSync(badId, JSON.stringify({ ...full, federations: [{ ...fed, origin: "amp.local/x" }] }));
    const cases: [string[], RegExp][] = [
      [["--anchor", ANCHOR, "--trust", trustFile], /either --trust FILE or --anchor ADDRESS, not both/],
      [["--anchor", "0x1234"], /--anchor must be a 0x-prefixed 20-byte address/],
      [
        ["--anchor", ANCHOR, "--confirmations", "0"],
        /--confirmations must be an integer 1\.\.999999, got "0"/,
      ],
      [
        ["--trust", trustFile],
        /--trust .*trust\.json: trust policy malformed: \(root\): unknown field "extra"/,
      ],
    ];
    for (const [flags, message] of cases) {
      const r = await amp("verify", proof, "--rpc", "http://127.0.0.1:1", ...flags);
      expect(r.code, flags.join(" ")).to.equal(2);
      expect(r.err, flags.join(" ")).to.match(message);
    }
    const missing = await amp(
      "verify",
      proof,
      "--rpc",
      "http://127.0.0.1:1",
      "--trust",
      path.join(dir, "none.json"),
    );
    expect(missing.code).to.equal(3);
    expect(missing.err).to.match(/cannot read the trust policy/);
  });

  it("refuses an unreachable RPC endpoint with a clear reason", async function () {
    const r = await amp("deploy", "--rpc", "http://127.0.0.1:1", "--data", dir);
    expect(r.code).to.equal(3); // could not check: the chain is unreachable
    expect(r.err).to.match(/ChainUnavailableError: no JSON-RPC answer from http:\/\/127\.0\.0\.1:1/);
    expect(fs.existsSync(path.join(dir, "deployment.json"))).to.equal(false);
    const proof = path.join(dir, "p.json");
    fs.writeFileSync(proof, "{}");
    const v = await amp("verify", proof, "--rpc", "http://127.0.0.1:1", "--anchor", ANCHOR);
    expect(v.code).to.equal(3);
    expect(v.err).to.match(/^amp: CannotCheckError: no JSON-RPC answer from http:\/\/127\.0\.0\.1:1/);
  });

  it("says what to do when the data dir has no deployment or archive", async function () {
    const p = await amp(
      "proof",
      "00000000-0000-4000-a000-000000000000",
      "--data",
      dir,
      "--out",
      path.join(dir, "p.json"),
    );
    expect(p.code).to.equal(1);
    expect(p.err).to.match(/no archive at .*amp run/);
    const e = await amp("events", "--data", dir);
    expect(e.code).to.equal(1);
    expect(e.err).to.match(/no archive at/);
  });

  it("keys generate writes key files for the named nodes and never overwrites them", async function () {
    const out = path.join(dir, "keys");
    const prev = process.env.AMP_KEYSTORE_PASSWORD;
    try {
      delete process.env.AMP_KEYSTORE_PASSWORD;
      const noPw = await amp("keys", "generate", "--out", out, "--nodes", "ssid-eu-1");
      expect(noPw.code).to.equal(2); // usage: a required environment variable is missing
      expect(noPw.err).to.match(/AMP_KEYSTORE_PASSWORD/);
      process.env.AMP_KEYSTORE_PASSWORD = "test password";
      const r = await amp("keys", "generate", "--out", out, "--nodes", "ssid-eu-1");
      expect(r.code, r.err).to.equal(0);
      expect(fs.readdirSync(out).sort()).to.deep.equal(["ssid-eu-1.keystore.json", "ssid-eu-1.mldsa.json"]);
      const before = fs.readFileSync(path.join(out, "ssid-eu-1.mldsa.json"), "utf8");
      const again = await amp("keys", "generate", "--out", out, "--nodes", "ssid-eu-1");
      expect(again.code).to.equal(1);
      expect(again.err).to.match(/already exists; refusing to overwrite/);
      expect(fs.readFileSync(path.join(out, "ssid-eu-1.mldsa.json"), "utf8")).to.equal(before);
    } finally {
      if (prev === undefined) delete process.env.AMP_KEYSTORE_PASSWORD;
      else process.env.AMP_KEYSTORE_PASSWORD = prev;
    }
  });
});

describe("cli: ingest", function () {
  let dir: string;
  let archive: Archive;
  const [ssid, opencore] = loadManifestFederations();
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-ingest-"));
    archive = Archive.open(path.join(dir, ARCHIVE_FILE));
  });
  afterEach(() => {
    archive.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("names the line of a malformed NDJSON file", function () {
    expect(() => parseNdjson('{"a":1}\n\n{oops\n', "f.ndjson")).to.throw(/f\.ndjson:3:2: \/: malformed JSON/);
    expect(parseNdjson('{"a":1}\n\n{"b":2}\n', "f")).to.deep.equal([{ a: 1 }, { b: 2 }]);
  });

  it("archives valid events of both federations and counts resubmissions as duplicates", function () {
    const events = [...generateEvents(ssid!, 0n, 3, "t"), ...generateEvents(opencore!, 0n, 2, "t")];
    expect(ingestEvents(archive, ["ssid", "opencore"], events)).to.deep.equal({ stored: 5, duplicates: 0 });
    expect(ingestEvents(archive, ["ssid", "opencore"], events.slice(0, 2))).to.deep.equal({
      stored: 0,
      duplicates: 2,
    });
    expect([archive.nextSeq("ssid"), archive.nextSeq("opencore")]).to.deep.equal([3n, 2n]);
  });

  it("refuses a batch with one invalid event whole, naming it, and stores nothing", function () {
    const events = generateEvents(ssid!, 0n, 3, "t") as Record<string, unknown>[];
    events[2] = { ...events[2], timestamp: "yesterday" };
    const before = archive.counts();
    expect(() => ingestEvents(archive, ["ssid", "opencore"], events)).to.throw(/events\[2\].*timestamp/);
    expect(archive.counts()).to.deep.equal(before);
  });

  it("refuses an event of a federation not in the manifest, storing nothing", function () {
    const events = generateEvents(ssid!, 0n, 2, "t");
    const before = archive.counts();
    expect(() => ingestEvents(archive, ["opencore"], events)).to.throw(
      /events\[0\]: unknown federation "ssid"/,
    );
    expect(archive.counts()).to.deep.equal(before);
  });
});
