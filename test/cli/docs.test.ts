/**
 * The repository is complete on its own: no document links outside it (except to public
 * standards), relative links resolve, the protocol page exists, and the README's example event is
 * accepted by the real validator.
 */
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { validateEvent } from "../../src/events";

const ROOT = path.resolve(__dirname, "..", "..");
const STANDARDS = [
  "www.rfc-editor.org",
  "datatracker.ietf.org",
  "c2sp.org",
  "eips.ethereum.org",
  "csrc.nist.gov",
  "json-schema.org",
];

function markdownFiles(): string[] {
  const out = ["README.md", "CHANGELOG.md"].map((f) => path.join(ROOT, f));
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".md")) out.push(p);
    }
  };
  for (const d of ["docs", "src", "contracts"]) walk(path.join(ROOT, d));
  return out;
}

describe("docs: a self-contained repository", function () {
  it("no document points outside the repository except to public standards", function () {
    for (const file of markdownFiles()) {
      const text = fs.readFileSync(file, "utf8");
      const rel = path.relative(ROOT, file);
      expect(text, rel).not.to.match(/\.\.\/shared|\/work\//);
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!;
        if (/^https?:\/\//.test(target)) {
          expect(STANDARDS, `${rel}: ${target}`).to.include(new URL(target).host);
        } else if (!target.startsWith("#")) {
          const resolved = path.resolve(path.dirname(file), target.split("#")[0]!);
          expect(resolved.startsWith(ROOT + path.sep), `${rel}: ${target}`).to.equal(true);
          expect(fs.existsSync(resolved), `${rel}: ${target}`).to.equal(true);
        }
      }
    }
  });

  it("docs/protocol.md covers hashing, rounds, quorum, witnessing, global root, contracts, credits, drift, trust", function () {
    const text = fs.readFileSync(path.join(ROOT, "docs", "protocol.md"), "utf8").toLowerCase();
    for (const topic of [
      "hashing",
      "round",
      "quorum",
      "witness",
      "global root",
      "contract",
      "credit",
      "drift",
      "trust",
    ]) {
      expect(text, topic).to.include(topic);
    }
  });

  it("the README's example event is valid, and its glossary defines the terms the docs use", function () {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Submitting events"));
    const json = /```json\n([\s\S]*?)```/.exec(section)?.[1];
    expect(json, "an example event in a json block").to.be.a("string");
    expect(() => validateEvent(JSON.parse(json!))).not.to.throw();
    const glossary = readme.slice(readme.indexOf("## Glossary"));
    for (const term of ["nexus", "origin", "epoch", "QC", "credit receipt", "witness", "checkpoint"]) {
      expect(glossary, term).to.include(term);
    }
    for (const heading of ["## Your own keys", "## Submitting events", "## Glossary"]) {
      expect(readme).to.include(heading);
    }
  });
});
