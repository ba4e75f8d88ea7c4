import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { EvidenceStore, type Evidence } from "../../src/consensus/evidence";
import { JsonLinesCorruptError, readJsonLines, repairJsonLines } from "../../src/consensus/json-lines";

const evidence = (round: number): Omit<Evidence, "recordedAt"> => ({
  kind: "wrong-root",
  origin: "amp.local/ssid",
  round: String(round),
  nodeId: "ssid-eu-1",
  attempt: 1,
  detail: `round ${round}`,
  notes: [],
  eip712Signatures: [],
});

describe("consensus: append-only JSON-lines files after a torn write", () => {
  let dir: string;
  let logs: string | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-jsonl-"));
    logs = process.env.AMP_LOG_LEVEL;
    process.env.AMP_LOG_LEVEL = "silent";
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    if (logs === undefined) delete process.env.AMP_LOG_LEVEL;
    else process.env.AMP_LOG_LEVEL = logs;
  });

  it("evidence: a record cut mid-line is dropped on restart, the file repaired, and appends continue", () => {
    const store = new EvidenceStore(dir);
    for (let r = 1; r <= 3; r++) store.record(evidence(r));
    const file = path.join(dir, "evidence.jsonl");
    const whole = fs.readFileSync(file);
    const secondEnd = whole.indexOf(0x0a, whole.indexOf(0x0a) + 1) + 1;
    for (const cut of [secondEnd + 1, secondEnd + 17, whole.length - 1]) {
      fs.writeFileSync(file, whole.subarray(0, cut)); // SIGKILL while appending record 3
      // Before: start-up succeeded but all() threw on the torn line, and the next append was glued to it.
      const restarted = new EvidenceStore(dir);
      expect(fs.readFileSync(file)).to.deep.equal(whole.subarray(0, secondEnd));
      expect(restarted.all().map((e) => e.round)).to.deep.equal(["1", "2"]);
      restarted.record(evidence(4));
      expect(new EvidenceStore(dir).all().map((e) => e.round)).to.deep.equal(["1", "2", "4"]);
      fs.writeFileSync(file, whole);
    }
  });

  it("a file that is only a torn line becomes empty; a whole file is left alone", () => {
    const file = path.join(dir, "x.jsonl");
    fs.writeFileSync(file, '{"a":');
    expect(repairJsonLines(file)).to.equal(5);
    expect(fs.readFileSync(file, "utf8")).to.equal("");
    fs.writeFileSync(file, '{"a":1}\n');
    expect(repairJsonLines(file)).to.equal(0);
    expect(readJsonLines(file)).to.deep.equal([{ a: 1 }]);
    expect(repairJsonLines(path.join(dir, "missing.jsonl"))).to.equal(0);
  });

  it("refuses corruption in a complete line (not a torn write) naming file:line, and changes nothing", () => {
    const file = path.join(dir, "y.jsonl");
    const text = '{"a":1}\n{"a":\n{"a":3}\n';
    fs.writeFileSync(file, text);
    expect(() => readJsonLines(file, { repair: true })).to.throw(
      JsonLinesCorruptError,
      /y\.jsonl:2: corrupt record/,
    );
    fs.writeFileSync(file, '{"a":1}\n[1]\n');
    expect(() => readJsonLines(file)).to.throw(
      JsonLinesCorruptError,
      /y\.jsonl:2: corrupt record: not a JSON object/,
    );
    fs.writeFileSync(file, text);
    expect(() => new EvidenceStore(dir).all()).to.not.throw(); // its own file is separate
    expect(fs.readFileSync(file, "utf8")).to.equal(text);
  });
});
