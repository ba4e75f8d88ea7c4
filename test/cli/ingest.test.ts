import { expect } from "chai";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Archive } from "../../src/archive";
import { ARCHIVE_FILE } from "../../src/chain/runner";
import { MAX_NDJSON_LINE_BYTES, ndjsonLines } from "../../src/cli/ingest-file";
import { makeEvent } from "../fixtures/events";
import { ampInProcess } from "../helpers/cli";

const amp = ampInProcess;

const line = (i: number, patch: Record<string, unknown> = {}): string =>
  JSON.stringify({ ...makeEvent(i), ...patch });

describe("cli: amp ingest (1-based file:line, streaming, limits)", function () {
  this.timeout(120_000);
  let dir: string;
  let data: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-ingest-file-"));
    data = path.join(dir, "data");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function write(name: string, lines: (string | Buffer)[], eol = "\n"): string {
    const file = path.join(dir, name);
    fs.writeFileSync(
      file,
      Buffer.concat(lines.map((l) => Buffer.concat([Buffer.from(l), Buffer.from(eol)]))),
    );
    return file;
  }

  function counts(): Record<string, number> | undefined {
    const file = path.join(data, ARCHIVE_FILE);
    if (!fs.existsSync(file)) return undefined;
    const a = Archive.open(file);
    try {
      return a.counts();
    } finally {
      a.close();
    }
  }

  it("names the same 1-based line for syntax, I-JSON, schema, federation and conflict errors", async () => {
    // Before: a schema error was reported as events[2] (0-based array index), a syntax error as file:3.
    const cases: [string, string[], RegExp][] = [
      ["syntax", [line(0), "", "{oops"], /f\.ndjson:3:2: \/: malformed JSON/],
      [
        "schema",
        [line(0), "", line(1), line(2, { timestamp: "yesterday" })],
        /f\.ndjson:4: invalid federation_event: \/timestamp: /,
      ],
      [
        "I-JSON",
        [line(0), line(1).replace('"payload":{', '"payload":{"a":1,"a":2,')],
        /f\.ndjson:2:\d+: \/payload\/a: duplicate member name/,
      ],
      [
        "number",
        [line(0), line(1).replace('"payload":{', '"payload":{"n":1e-400,')],
        /f\.ndjson:2:\d+: \/payload\/n: number 1e-400 has more precision/,
      ],
      [
        "federation",
        [line(0), line(1, { federation_context: { federation_id: "nope", node_id: "n", region: "EU" } })],
        /f\.ndjson:2: \/federation_context\/federation_id: unknown federation "nope"/,
      ],
      [
        "conflict",
        [line(0), line(1), line(0, { event_type: "other.type" })],
        /f\.ndjson:3: event id .* already archived with different content/,
      ],
      ["not an object", [line(0), "[1,2]"], /f\.ndjson:2: invalid federation_event: \/: must be object/],
    ];
    for (const [what, lines, message] of cases) {
      const r = await amp("ingest", write("f.ndjson", lines), "--data", data);
      expect(r.code, what).to.equal(1);
      expect(r.err, what).to.match(message);
      expect(fs.existsSync(data), `${what}: a refused file leaves no data dir behind`).to.equal(false);
    }
  });

  it("stores nothing from a file with one bad line in an existing archive, and everything from a good one", async () => {
    const good = write("good.ndjson", [line(0), line(1), "   ", line(2)], "\r\n");
    expect((await amp("ingest", good, "--data", data)).code).to.equal(0);
    const before = counts();
    expect(before!.events).to.equal(3);
    const lines = [line(3), line(4), line(5)];
    for (let i = 6; i < 2600; i++) lines.push(line(i)); // more than one store group of 1000
    const bad = write("bad.ndjson", [...lines, Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d])]);
    const r = await amp("ingest", bad, "--data", data);
    expect(r.code).to.equal(1);
    expect(r.err, r.err).to.match(/bad\.ndjson:2598:3: \/: byte 2 is not valid UTF-8/);
    expect(counts()).to.deep.equal(before);
    const again = await amp("ingest", good, "--data", data);
    expect(again.out).to.match(/queued 0 events \(3 duplicates ignored\)/);
  });

  it("shows progress of a large file (≥ 1 MiB) on stderr only, ending with what was stored", async () => {
    const lines: string[] = [];
    let bytes = 0;
    for (let i = 0; bytes < 1.2 * (1 << 20); i++) {
      lines.push(line(i));
      bytes += lines[lines.length - 1]!.length + 1;
    }
    const file = write("large.ndjson", lines);
    let stderr = "";
    const write0 = process.stderr.write.bind(process.stderr);
    const capture = (chunk: string | Uint8Array): boolean => {
      stderr += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
      return true;
    };
    process.stderr.write = capture;
    let r: { code: number; out: string; err: string };
    try {
      r = await amp("ingest", file, "--data", data);
    } finally {
      process.stderr.write = write0;
    }
    expect(r.code, r.err).to.equal(0);
    // Plain lines off a terminal, a redrawn line on one: the same text either way.
    // eslint-disable-next-line no-control-regex
    const shown = stderr.split(/\r\x1b\[2K|\n/).filter((l) => l.startsWith("ingest: "));
    expect(shown.length, stderr).to.be.greaterThan(0);
    expect(shown.at(-1)).to.match(
      new RegExp(`^ingest: ${lines.length} lines in [0-9.]+ s ${lines.length} stored$`),
    );
    expect(r.out).to.not.include("ingest: ");
    expect(r.out).to.match(new RegExp(`queued ${lines.length} events`));
  });

  it("refuses a line over the NDJSON line limit as soon as it is seen", async () => {
    const file = path.join(dir, "long.ndjson");
    fs.writeFileSync(file, line(0) + "\n" + "x".repeat(MAX_NDJSON_LINE_BYTES + 1));
    const r = await amp("ingest", file, "--data", data);
    expect(r.code).to.equal(1);
    expect(r.err).to.match(/long\.ndjson:2: line is longer than 1048576 bytes/);
    expect(() => [...ndjsonLines(file, 100)]).to.throw(/long\.ndjson:1: line is longer than 100 bytes/);
    expect([...ndjsonLines(write("b.ndjson", ["", " ", "{}", "\t"]))].map((l) => l.line)).to.deep.equal([3]);
  });

  it("ingests a file much larger than the memory it uses (live heap measured after full GCs in a child)", function () {
    const file = path.join(dir, "big.ndjson");
    const n = 60_000;
    const fd = fs.openSync(file, "w");
    for (let i = 0; i < n; i += 1000) {
      const chunk: string[] = [];
      for (let k = i; k < i + 1000; k++) chunk.push(line(k));
      fs.writeSync(fd, chunk.join("\n") + "\n");
    }
    fs.closeSync(fd);
    const size = fs.statSync(file).size;
    const child = path.join(__dirname, "..", "fixtures", "ingest-file-child.ts");
    const out = execFileSync(
      process.execPath,
      [
        "--expose-gc",
        "-r",
        require.resolve("ts-node/register/transpile-only"),
        child,
        file,
        path.join(dir, "big.db"),
      ],
      {
        encoding: "utf8",
        env: { ...process.env, TS_NODE_PROJECT: path.join(__dirname, "..", "..", "tsconfig.json") },
      },
    );
    const r = JSON.parse(out) as { stored: number; maxLiveHeapGrowth: number };
    expect(r.stored).to.equal(n);
    // Reading the file whole would hold its text (and every parsed event) at once.
    expect(size).to.be.greaterThan(20 * 1024 * 1024);
    expect(r.maxLiveHeapGrowth).to.be.lessThan(size / 4);
  });
});
