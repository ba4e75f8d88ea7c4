import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  DEFAULT_MANIFEST_PATH,
  FEDERATION_WEIGHT_TOTAL,
  InvalidInputError,
  loadManifest,
  parseManifest,
  type ManifestProblem,
} from "../../src";

const DEFAULT_TEXT = fs.readFileSync(DEFAULT_MANIFEST_PATH, "utf8");

/** A small valid manifest; tests break one thing at a time. Line numbers are noted. */
const BASE = `version: 1
federations:
  - id: alpha
    origin: amp.local/alpha
    nodes:
      - id: a-1
        region: EU
        weight: 5000
        mldsa_key: keys/a-1.mldsa.json
        evm_keystore: keys/a-1.keystore.json
      - id: a-2
        region: US
        weight: 5000
        mldsa_key: keys/a-2.mldsa.json
        evm_keystore: keys/a-2.keystore.json
  - id: beta
    origin: amp.local/beta
    nodes:
      - id: b-1
        region: APAC
        weight: 10000
        mldsa_key: /abs/b-1.mldsa.json
        evm_keystore: ~/keys/b-1.keystore.json
bridges:
  - witness: alpha
    witnessed: beta
`;

function problemsOf(text: string): ManifestProblem[] {
  try {
    parseManifest(text, "m.yaml", "/base");
  } catch (err) {
    expect(err).to.be.instanceOf(InvalidInputError);
    const problems = (err as InvalidInputError).meta.problems as ManifestProblem[];
    const first = problems[0]!;
    expect((err as Error).message).to.include(
      `m.yaml:${first.line}:${first.col} ${first.field}: ${first.rule}`,
    );
    return problems;
  }
  return expect.fail("manifest accepted");
}

function expectProblem(text: string, line: number, field: string, rule: RegExp): void {
  const problems = problemsOf(text);
  const hit = problems.find((p) => p.field === field);
  expect(hit, `no problem at ${field}: ${JSON.stringify(problems)}`).to.not.equal(undefined);
  expect(hit!.line, `line of ${field}`).to.equal(line);
  expect(hit!.rule).to.match(rule);
}

const replaceLine = (text: string, line: number, content: string): string =>
  text
    .split("\n")
    .map((l, i) => (i === line - 1 ? content : l))
    .join("\n");

describe("manifest: the shipped default", () => {
  it("loads with federations ssid (4 nodes) and opencore (3 nodes)", () => {
    const m = loadManifest();
    expect(m.federations.map((f) => [f.id, f.origin, f.nodes.map((n) => n.region)])).to.deep.equal([
      ["ssid", "amp.local/ssid", ["EU", "US", "APAC", "EU"]],
      ["opencore", "amp.local/opencore", ["EU", "US", "APAC"]],
    ]);
    for (const f of m.federations) {
      expect(f.nodes.reduce((s, n) => s + n.weight, 0)).to.equal(FEDERATION_WEIGHT_TOTAL);
    }
    expect(m.federations[1]!.nodes.map((n) => n.weight)).to.deep.equal([3334, 3333, 3333]);
  });

  it("has mutual witnessing, batch 1000 / 250 ms and the seed's credit config", () => {
    const m = loadManifest(DEFAULT_MANIFEST_PATH);
    expect(m.bridges).to.deep.equal([
      { witness: "opencore", witnessed: "ssid" },
      { witness: "ssid", witnessed: "opencore" },
    ]);
    expect(m.batch).to.deep.equal({ maxSize: 1000, maxAgeMs: 250 });
    expect(m.credit).to.deep.equal({
      weights: {
        proofs_validated: 0.4,
        validation_accuracy: 0.3,
        storage_contribution_gb: 0.2,
        consensus_participation: 0.1,
      },
      max_score: 5000,
      epoch_seconds: 3600,
      adaptive_weights: false,
    });
  });

  it("resolves key paths: ~/ to the home directory", () => {
    const node = loadManifest().federations[0]!.nodes[0]!;
    expect(node.mldsa_key).to.equal(path.join(os.homedir(), ".amp/keys/ssid-eu-1.mldsa.json"));
    expect(node.evm_keystore).to.equal(path.join(os.homedir(), ".amp/keys/ssid-eu-1.keystore.json"));
  });
});

describe("manifest: parsing", () => {
  it("fills batch and credit defaults and resolves relative key paths against the base directory", () => {
    const m = parseManifest(BASE, "m.yaml", "/base");
    expect(m.batch).to.deep.equal({ maxSize: 1000, maxAgeMs: 250 });
    expect(m.credit.max_score).to.equal(5000);
    expect(m.credit.weights.proofs_validated).to.equal(0.4);
    expect(m.federations[0]!.nodes[0]!.mldsa_key).to.equal("/base/keys/a-1.mldsa.json");
    expect(m.federations[1]!.nodes[0]!.mldsa_key).to.equal("/abs/b-1.mldsa.json");
    expect(m.federations[1]!.nodes[0]!.evm_keystore).to.equal(
      path.join(os.homedir(), "keys/b-1.keystore.json"),
    );
    expect(m.source).to.equal("m.yaml");
  });

  it("loads a file and labels errors with its absolute path", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-manifest-"));
    const file = path.join(dir, "m.yaml");
    fs.writeFileSync(file, replaceLine(BASE, 8, "        weight: 4000"));
    expect(() => loadManifest(file)).to.throw(InvalidInputError, new RegExp(`${file}:5:`));
    fs.writeFileSync(file, BASE);
    expect(loadManifest(file).federations[0]!.nodes[0]!.mldsa_key).to.equal(
      path.join(dir, "keys/a-1.mldsa.json"),
    );
    fs.rmSync(dir, { recursive: true });
  });

  it("reports a missing file clearly", () => {
    expect(() => loadManifest("/nonexistent/manifest.yaml")).to.throw(
      InvalidInputError,
      /cannot read manifest/,
    );
  });
});

describe("manifest: each error points at the line and field", () => {
  it("YAML syntax errors", () => {
    const problems = problemsOf(replaceLine(BASE, 7, "        region: [EU"));
    expect(problems[0]!.rule).to.match(/^YAML syntax/);
    expect(problems[0]!.line).to.be.within(7, 9);
  });

  it("duplicate keys", () => {
    const problems = problemsOf(replaceLine(BASE, 9, "        region: EU"));
    expect(problems[0]!.rule).to.match(/unique/);
    expect(problems[0]!.line).to.equal(9);
  });

  it("wrong version", () => {
    expectProblem(replaceLine(BASE, 1, "version: 2"), 1, "/version", /must be 1/);
  });

  it("unknown property", () => {
    expectProblem(
      replaceLine(BASE, 7, "        zone: EU"),
      7,
      "/federations/0/nodes/0/zone",
      /not an allowed property/,
    );
  });

  it("missing required node field", () => {
    const text = BASE.split("\n")
      .filter((_, i) => i !== 9)
      .join("\n"); // drop a-1's evm_keystore
    expectProblem(text, 6, "/federations/0/nodes/0/evm_keystore", /is required/);
  });

  it("weight not an integer", () => {
    expectProblem(
      replaceLine(BASE, 8, "        weight: 2500.5"),
      8,
      "/federations/0/nodes/0/weight",
      /must be integer/,
    );
  });

  it("weight out of range", () => {
    expectProblem(
      replaceLine(BASE, 8, "        weight: 0"),
      8,
      "/federations/0/nodes/0/weight",
      /must be >= 1/,
    );
  });

  it("weights not summing to 10000 basis points", () => {
    expectProblem(
      replaceLine(BASE, 8, "        weight: 4000"),
      5,
      "/federations/0/nodes",
      /sum to 9000, must sum to 10000/,
    );
  });

  it("malformed region", () => {
    expectProblem(replaceLine(BASE, 7, "        region: eu"), 7, "/federations/0/nodes/0/region", /pattern/);
  });

  it("malformed federation id", () => {
    expectProblem(replaceLine(BASE, 3, "  - id: Alpha"), 3, "/federations/0/id", /pattern/);
  });

  it("origin with a space", () => {
    expectProblem(replaceLine(BASE, 4, "    origin: amp local"), 4, "/federations/0/origin", /pattern/);
  });

  it("duplicate federation id", () => {
    expectProblem(
      replaceLine(BASE, 16, "  - id: alpha"),
      16,
      "/federations/1/id",
      /duplicate federation id "alpha"/,
    );
  });

  it("duplicate origin", () => {
    expectProblem(
      replaceLine(BASE, 17, "    origin: amp.local/alpha"),
      17,
      "/federations/1/origin",
      /duplicate origin/,
    );
  });

  it("duplicate node id across federations", () => {
    expectProblem(
      replaceLine(BASE, 19, "      - id: a-1"),
      19,
      "/federations/1/nodes/0/id",
      /duplicate node id "a-1"/,
    );
  });

  it("two nodes sharing a key file", () => {
    const text = replaceLine(BASE, 14, "        mldsa_key: keys/a-1.mldsa.json");
    expectProblem(text, 14, "/federations/0/nodes/1/mldsa_key", /duplicate key file/);
  });

  it("bridge to an unknown federation", () => {
    expectProblem(
      replaceLine(BASE, 26, "    witnessed: gamma"),
      26,
      "/bridges/0/witnessed",
      /unknown federation gamma/,
    );
  });

  it("a federation witnessing itself", () => {
    expectProblem(
      replaceLine(BASE, 26, "    witnessed: alpha"),
      26,
      "/bridges/0/witnessed",
      /cannot witness itself/,
    );
  });

  it("batch settings out of range", () => {
    expectProblem(`${BASE}batch:\n  maxSize: 0\n  maxAgeMs: 250\n`, 28, "/batch/maxSize", /must be >= 1/);
    expectProblem(`${BASE}batch:\n  maxAgeMs: fast\n`, 28, "/batch/maxAgeMs", /must be integer/);
  });

  it("credit weights not summing to 1", () => {
    const text = `${BASE}credit:\n  weights:\n    proofs_validated: 0.5\n`;
    expectProblem(text, 28, "/credit/weights", /credit weights sum to 1.1, must sum to 1/);
  });

  it("credit max_score and epoch_seconds must be positive", () => {
    expectProblem(`${BASE}credit:\n  max_score: 0\n`, 28, "/credit/max_score", /must be >= 1/);
    expectProblem(`${BASE}credit:\n  max_score: 4999.5\n`, 28, "/credit/max_score", /must be integer/);
    expectProblem(
      `${BASE}credit:\n  adaptive_weights: yes please\n`,
      28,
      "/credit/adaptive_weights",
      /must be boolean/,
    );
    expectProblem(`${BASE}credit:\n  epoch_seconds: 1.5\n`, 28, "/credit/epoch_seconds", /must be integer/);
  });

  it("an empty document or no federations", () => {
    expectProblem("", 1, "/", /must be object/);
    expectProblem("version: 1\nfederations: []\n", 2, "/federations", /must NOT have fewer than 1 items/);
  });

  it("reports several problems at once, each with its own line", () => {
    const text = replaceLine(replaceLine(BASE, 7, "        region: eu"), 20, "        region: apac");
    const problems = problemsOf(text);
    expect(problems.map((p) => [p.line, p.field])).to.deep.include.members([
      [7, "/federations/0/nodes/0/region"],
      [20, "/federations/1/nodes/0/region"],
    ]);
  });

  it("the shipped default parses from its text", () => {
    expect(parseManifest(DEFAULT_TEXT).federations).to.have.length(2);
  });
});
