import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { expect } from "chai";
import pino from "pino";
import { createLogger, logTarget, prettyStream } from "../../src/util/log";

function capture(component = "test/log") {
  const lines: string[] = [];
  const logger = createLogger(component, (l) => lines.push(l));
  const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines, parsed };
}

describe("util/log: pino behind createLogger", function () {
  const saved = { level: process.env.AMP_LOG_LEVEL, file: process.env.AMP_LOG_FILE };
  afterEach(function () {
    for (const [k, v] of [
      ["AMP_LOG_LEVEL", saved.level],
      ["AMP_LOG_FILE", saved.file],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it("writes one JSON object per line with level, ISO time, component, msg and the fields", function () {
    process.env.AMP_LOG_LEVEL = "info";
    const { logger, lines, parsed } = capture("chain/anchor");
    logger.info("anchored", { round: 7n, root: new Uint8Array([0xab, 0xcd]), n: 3 });
    expect(lines).to.have.length(1);
    expect(lines[0]).to.not.include("\n");
    const [line] = parsed();
    expect(line).to.include({
      level: "info",
      component: "chain/anchor",
      msg: "anchored",
      round: "7",
      root: "abcd",
      n: 3,
    });
    expect(new Date(line!.time as string).toISOString()).to.equal(line!.time);
  });

  it("turns errors into name, message and kind (no stack)", function () {
    const { logger, parsed } = capture();
    const err = Object.assign(new Error("no quorum"), { kind: "retry-later" });
    logger.error("round failed", { err, nested: { list: [1n, err] } });
    const [line] = parsed();
    expect(line!.err).to.deep.equal({ name: "Error", message: "no quorum", kind: "retry-later" });
    expect(line!.nested).to.deep.equal({
      list: ["1", { name: "Error", message: "no quorum", kind: "retry-later" }],
    });
  });

  it("binds node, federation and round with child(), nested children add fields", function () {
    const { logger, parsed } = capture("consensus");
    const node = logger.child({ node: "ssid-eu-1", federation: "amp.local/ssid" });
    node.child({ round: 4n }).warn("no vote", { reason: "timeout" });
    node.warn("idle");
    const [a, b] = parsed();
    expect(a).to.include({
      component: "consensus",
      node: "ssid-eu-1",
      federation: "amp.local/ssid",
      round: "4",
      reason: "timeout",
      msg: "no vote",
    });
    expect(b).to.include({ node: "ssid-eu-1", msg: "idle" });
    expect(b).to.not.have.property("round");
  });

  it("filters by AMP_LOG_LEVEL at each call; default and unknown values are warn", function () {
    const { logger, parsed } = capture();
    delete process.env.AMP_LOG_LEVEL;
    logger.info("hidden");
    logger.warn("shown-default");
    process.env.AMP_LOG_LEVEL = "loud";
    logger.info("hidden");
    logger.error("shown-unknown");
    process.env.AMP_LOG_LEVEL = "debug";
    logger.debug("shown-debug");
    process.env.AMP_LOG_LEVEL = "silent";
    logger.error("hidden");
    expect(parsed().map((l) => l.msg)).to.deep.equal(["shown-default", "shown-unknown", "shown-debug"]);
  });

  it("writes to AMP_LOG_FILE when set, appending JSON lines", function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-log-"));
    try {
      const file = path.join(dir, "sub", "amp.log");
      process.env.AMP_LOG_FILE = file;
      process.env.AMP_LOG_LEVEL = "info";
      const logger = createLogger("test/file");
      logger.info("first", { round: 1n });
      logger.child({ node: "n1" }).warn("second");
      const lines = fs
        .readFileSync(file, "utf8")
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.map((l) => [l.component, l.msg, l.round ?? l.node])).to.deep.equal([
        ["test/file", "first", "1"],
        ["test/file", "second", "n1"],
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("chooses the file, then pretty text on a terminal, else JSON on stderr", function () {
    expect(logTarget({ AMP_LOG_FILE: "/x/amp.log" }, true)).to.deep.equal({
      kind: "file",
      file: "/x/amp.log",
    });
    expect(logTarget({}, true)).to.deep.equal({ kind: "pretty" });
    expect(logTarget({}, false)).to.deep.equal({ kind: "json" });
    expect(logTarget({ AMP_LOG_FILE: "" }, false)).to.deep.equal({ kind: "json" });
  });

  it("lets AMP_LOG_FORMAT override the terminal check (a file still wins)", function () {
    expect(logTarget({ AMP_LOG_FORMAT: "json" }, true)).to.deep.equal({ kind: "json" });
    expect(logTarget({ AMP_LOG_FORMAT: "text" }, false)).to.deep.equal({ kind: "pretty" });
    expect(logTarget({ AMP_LOG_FORMAT: "json", AMP_LOG_FILE: "/x/a.log" }, true)).to.deep.equal({
      kind: "file",
      file: "/x/a.log",
    });
  });

  it("renders human-readable lines for a terminal: level, component, message, fields", function () {
    let text = "";
    const out = new Writable({
      write(chunk: Buffer, _enc, cb) {
        text += chunk.toString();
        cb();
      },
    });
    const p = pino(
      { base: { component: "nexus" }, timestamp: pino.stdTimeFunctions.isoTime },
      prettyStream(out, false),
    );
    p.warn({ round: "5", node: "oc-1" }, "witness late");
    expect(text).to.match(/WARN.*nexus: witness late/);
    expect(text).to.include('round: "5"');
    expect(() => JSON.parse(text.split("\n")[0]!) as unknown).to.throw();
  });

  describe("in a child process (real stderr, real terminal)", function () {
    const child = path.join(__dirname, "..", "fixtures", "log-child.ts");
    const env = { ...process.env, AMP_LOG_LEVEL: "info", TS_NODE_TRANSPILE_ONLY: "1", AMP_LOG_FILE: "" };
    const node = `node -r ts-node/register ${JSON.stringify(child)}`;

    it("off a terminal: tables alone on stdout, JSON lines on stderr", function () {
      const r = spawnSync("sh", ["-c", node], { env, encoding: "utf8", timeout: 60_000 });
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.equal("round 1  TABLE LINE\n");
      const lines = r.stderr
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.map((l) => [l.level, l.msg, l.round])).to.deep.equal([
        ["warn", "no vote", "7"],
        ["info", "voted", "8"],
      ]);
      expect(lines[1]).to.include({ node: "ssid-eu-1", federation: "amp.local/ssid" });
    });

    it("on a terminal: human-readable lines, not JSON", function () {
      // script(1) gives the child a pseudo-terminal for stdout and stderr.
      const r = spawnSync("script", ["-qec", `${node} 2>&1`, "/dev/null"], {
        env,
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(r.status, r.stdout).to.equal(0);
      // eslint-disable-next-line no-control-regex
      const text = r.stdout.replace(/\u001b\[[0-9;]*m/g, "").replace(/\r/g, "");
      expect(text).to.include("round 1  TABLE LINE");
      expect(text).to.match(/WARN.*test\/child: no vote/);
      expect(text).to.match(/INFO.*test\/child: voted/);
      expect(text).to.match(/node: "ssid-eu-1"/);
      expect(text).to.not.match(/^\{"level"/m);
    });
  });
});
