/**
 * Bad input at the drift entry points of the CLI: `amp node --drift`, `amp up --drift`,
 * `amp alerts --node` — each refused with a clear error and exit code before anything starts or
 * changes.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ampInProcess as amp } from "../helpers/cli";
import { freePort } from "../node/helpers";

describe("cli: drift flags of amp node, amp up and amp alerts --node", function () {
  this.timeout(60_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-drift-flags-"));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const node = [
    "node",
    "--manifest",
    "m.yaml",
    "--node",
    "n1",
    "--data",
    path.join(dir, "n1"),
    "--keys",
    dir,
  ];

  it("amp node refuses an unknown cause, bad counts and flags without --drift (exit 2, nothing created)", async () => {
    for (const [args, re] of [
      [["--drift", "cosmic_rays"], /unknown drift cause "cosmic_rays"/],
      [["--drift", "unknown", "--drift-rounds", "0"], /--drift-rounds must be a positive integer/],
      [["--drift", "unknown", "--drift-skip", "x"], /--drift-skip must be a non-negative integer/],
      [["--drift", "unknown", "--drift-fraction", "1.5"], /--drift-fraction must be in \(0, 1\]/],
      [["--drift-rounds", "2"], /need --drift CAUSE/],
    ] as const) {
      const r = await amp(...node, ...args);
      expect(r.code, args.join(" ")).to.equal(2);
      expect(r.err).to.match(re);
    }
    expect(fs.existsSync(path.join(dir, "n1"))).to.equal(false);
  });

  it("amp up refuses a bad --drift before starting anything", async () => {
    const data = path.join(dir, "up");
    const bad = await amp("up", "--data", data, "--drift", "cosmic_rays");
    expect(bad.code).to.equal(2);
    expect(bad.err).to.match(/--drift: unknown drift cause "cosmic_rays"/);
    const rounds = await amp("up", "--data", data, "--drift", "unknown", "--drift-rounds", "-1");
    expect(rounds.code).to.equal(2);
    const orphan = await amp("up", "--data", data, "--drift-node", "ssid-eu-1");
    expect(orphan.code).to.equal(2);
    expect(orphan.err).to.match(/need --drift CAUSE/);
    expect(fs.existsSync(data)).to.equal(false);
  });

  it("amp alerts --node: a bad URL, a token without --node, no token to change, a node that does not answer", async () => {
    const badUrl = await amp("alerts", "list", "--node", "not a url");
    expect(badUrl.code).to.equal(2);
    expect(badUrl.err).to.match(/--node must be a URL/);
    const stray = await amp("alerts", "list", "--data", dir, "--token-file", "t");
    expect(stray.code).to.equal(2);
    expect(stray.err).to.match(/--token-file goes with --node/);
    const neither = await amp("alerts", "list");
    expect(neither.code).to.equal(2);
    const port = await freePort();
    const noToken = await amp("alerts", "ack", "1", "--node", `http://127.0.0.1:${port}`, "--by", "alice");
    expect(noToken.code).to.equal(2);
    expect(noToken.err).to.match(/needs the operator token/);
    const down = await amp("alerts", "list", "--node", `http://127.0.0.1:${port}`);
    expect(down.code).to.equal(3);
    expect(down.err).to.match(/does not answer/);
    const badId = await amp("alerts", "show", "x", "--node", `http://127.0.0.1:${port}`);
    expect(badId.code).to.equal(2);
  });
});
