/**
 * Durable file writes past a file size limit (RLIMIT_FSIZE: `ulimit -f` in a child). Node ignores
 * SIGXFSZ, so `write(2)` first writes what fits and returns a SHORT count without an error; only
 * the next write fails (EFBIG). Before this was handled, `writeFileAtomic` renamed the cut-short
 * temp file over the good one (a running node's sealed-proposal.json was left at exactly 4096 bytes,
 * unparsable) and `appendLineDurable` left a torn line for the next append to be glued onto.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { appendLineDurable } from "../../src/consensus/atomic-file";
import { readJsonLines } from "../../src/consensus/json-lines";

const ROOT = path.resolve(__dirname, "..", "..");

/** Run `script` (CommonJS, `af` = src/consensus/atomic-file) under `ulimit -f <kb>`; its stdout. */
function limited(kb: number, script: string): Promise<{ code: number; out: string; err: string }> {
  const js = `const af = require(${JSON.stringify(path.join(ROOT, "src", "consensus", "atomic-file.ts"))});\n${script}`;
  return new Promise((resolve) =>
    execFile(
      "bash",
      ["-c", `ulimit -f ${kb}; exec "$0" -r ts-node/register/transpile-only -e "$1"`, process.execPath, js],
      { cwd: ROOT, timeout: 120_000 },
      (e, out, err) => resolve({ code: e ? (typeof e.code === "number" ? e.code : 1) : 0, out, err }),
    ),
  );
}

describe("consensus: durable file writes past a file size limit (ulimit -f)", function () {
  this.timeout(180_000);
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-atomic-limit-"))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("writeFileAtomic: a short write is an error naming the file; the old file is kept, no temp file left", async function () {
    const file = path.join(dir, "state.json");
    fs.writeFileSync(file, '{"old":true}');
    const r = await limited(
      4,
      `try { af.writeFileAtomic(${JSON.stringify(file)}, JSON.stringify({ fill: "x".repeat(20000) })); console.log("WROTE"); }
       catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message, path: e.meta && e.meta.path, code: e.meta && e.meta.code })); }`,
    );
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.not.include("WROTE");
    const e = JSON.parse(r.out) as { name: string; message: string; path: string; code: string };
    expect(e).to.include({ name: "StorageWriteError", path: file, code: "EFBIG" });
    expect(e.message).to.match(
      /^cannot write to storage: a file size limit was hit \(ulimit -f\) \(EFBIG: .*\) — .*state\.json; the file keeps its previous content$/,
    );
    expect(fs.readFileSync(file, "utf8")).to.equal('{"old":true}');
    expect(fs.readdirSync(dir).filter((f) => f.startsWith("state.json.tmp"))).to.deep.equal([]);
  });

  it("appendLineDurable: a short append is cut back off (no torn line); the next append after space returns is whole", async function () {
    const file = path.join(dir, "log.jsonl");
    appendLineDurable(file, JSON.stringify({ n: 1, fill: "a".repeat(3000) }));
    const before = fs.statSync(file).size;
    const r = await limited(
      4,
      `try { af.appendLineDurable(${JSON.stringify(file)}, JSON.stringify({ n: 2, fill: "b".repeat(3000) })); console.log("WROTE"); }
       catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message, code: e.meta && e.meta.code })); }`,
    );
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.not.include("WROTE");
    expect(JSON.parse(r.out)).to.include({ name: "StorageWriteError", code: "EFBIG" });
    expect(fs.statSync(file).size, "the part that fitted was cut back off").to.equal(before);
    appendLineDurable(file, JSON.stringify({ n: 3 }));
    expect(readJsonLines<{ n: number }>(file).map((x) => x.n)).to.deep.equal([1, 3]);
  });
});
