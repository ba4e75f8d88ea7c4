/** `amp dashboard` refuses bad flags before serving anything: usage errors exit 2, an unreachable chain 3. */
import fs from "node:fs";
import path from "node:path";
import net from "node:net";
import { expect } from "chai";
import { run } from "../../src/cli/main";
import { tmpDir } from "../e2e/helpers";

async function amp(...args: string[]): Promise<{ code: number; out: string }> {
  let out = "";
  const code = await run(["node", "amp", ...args], {
    writeOut: (s) => (out += s),
    writeErr: (s) => (out += s),
  });
  return { code, out };
}

/** A loopback port nothing listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe("amp dashboard: bad flags", function () {
  this.timeout(60_000);
  let dir: string;
  let errs: string[];
  const error = console.error;
  before(() => (dir = tmpDir("amp-dashboard-cli-")));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    errs = [];
    console.error = (...xs: unknown[]) => void errs.push(xs.join(" "));
  });
  afterEach(() => (console.error = error));

  const cases: [string, string[], number, RegExp][] = [
    ["--receipts without --rpc", ["--receipts", "0x" + "11".repeat(20)], 2, /--receipts needs --rpc/],
    [
      "--rpc without a deployment record or --receipts",
      ["--rpc", "http://127.0.0.1:1"],
      2,
      /pass --receipts ADDRESS/,
    ],
    [
      "--receipts not an address",
      ["--rpc", "http://127.0.0.1:1", "--receipts", "0x12"],
      2,
      /must be an address/,
    ],
    ["--rpc not http", ["--rpc", "ftp://x", "--receipts", "0x" + "11".repeat(20)], 2, /http\(s\) URL/],
  ];
  for (const [name, flags, code, message] of cases) {
    it(`${name} → exit ${code}`, async function () {
      const r = await amp("dashboard", "--data", dir, "--listen", "127.0.0.1:0", ...flags);
      expect(r.code).to.equal(code);
      expect(r.out + errs.join("\n")).to.match(message);
      expect(fs.readdirSync(dir)).to.deep.equal([]);
    });
  }

  const layouts: [string, (d: string) => void, RegExp][] = [
    [
      "a node-layout dir with a node not in the manifest",
      (d) => {
        fs.mkdirSync(path.join(d, "nodes", "stranger-1"), { recursive: true });
        fs.writeFileSync(path.join(d, "nodes", "stranger-1", "archive.sqlite"), "");
      },
      /node stranger-1 is not in the manifest: pass the --manifest/,
    ],
    [
      "a dir holding both layouts",
      (d) => {
        fs.mkdirSync(path.join(d, "nodes", "ssid-eu-1"), { recursive: true });
        fs.writeFileSync(path.join(d, "nodes", "ssid-eu-1", "archive.sqlite"), "");
        fs.writeFileSync(path.join(d, "archive.sqlite"), "");
        fs.writeFileSync(path.join(d, "anchors.sqlite"), "");
      },
      /holds both a RoundEngine archive .* and node archives/,
    ],
  ];
  for (const [name, make, message] of layouts) {
    it(`${name} → exit 2 naming it, before serving`, async function () {
      const d = tmpDir("amp-dashboard-layout-");
      try {
        make(d);
        const r = await amp("dashboard", "--data", d, "--listen", "127.0.0.1:0");
        expect(r.code).to.equal(2);
        expect(r.out + errs.join("\n")).to.match(message);
      } finally {
        fs.rmSync(d, { recursive: true, force: true });
      }
    });
  }

  it("an unreachable --rpc → exit 3", async function () {
    const port = await deadPort();
    const r = await amp(
      "dashboard",
      "--data",
      dir,
      "--listen",
      "127.0.0.1:0",
      "--rpc",
      `http://127.0.0.1:${port}`,
      "--receipts",
      "0x" + "11".repeat(20),
    );
    expect(r.code).to.equal(3);
  });
});

describe("amp dashboard --nodes / amp up --dashboard-listen: bad flags", function () {
  this.timeout(60_000);
  let dir: string;
  let errs: string[];
  const error = console.error;
  before(() => (dir = tmpDir("amp-dashboard-nodes-cli-")));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    errs = [];
    console.error = (...xs: unknown[]) => void errs.push(xs.join(" "));
  });
  afterEach(() => (console.error = error));

  const cases: [string, string[], RegExp][] = [
    ["neither --data nor --nodes", ["dashboard"], /exactly one of --data DIR or --nodes/],
    [
      "both --data and --nodes",
      ["dashboard", "--data", ".", "--nodes", "http://127.0.0.1:1"],
      /exactly one of --data DIR or --nodes/,
    ],
    [
      "--nodes not a URL",
      ["dashboard", "--nodes", "127.0.0.1:7401"],
      /"127\.0\.0\.1:7401" is not a node base URL/,
    ],
    ["--nodes with a path", ["dashboard", "--nodes", "http://127.0.0.1:1/v1"], /is not a node base URL/],
    [
      "--nodes, missing --deployment",
      ["dashboard", "--nodes", "http://127.0.0.1:1", "--deployment", "/nope.json"],
      /--deployment \/nope\.json: no such file/,
    ],
    [
      "--nodes --trust without --rpc",
      ["dashboard", "--nodes", "http://127.0.0.1:1", "--trust", __filename],
      /--trust needs --rpc/,
    ],
    [
      "--nodes --rpc not a URL",
      ["dashboard", "--nodes", "http://127.0.0.1:1", "--rpc", "127.0.0.1:8545"],
      /--rpc must be an http\(s\) URL .*got "127\.0\.0\.1:8545"/,
    ],
    [
      "--listen malformed",
      ["dashboard", "--nodes", "http://127.0.0.1:1", "--listen", "nowhere"],
      /--listen must be HOST:PORT/,
    ],
    [
      "amp up --dashboard-listen malformed",
      ["up", "--data", "DIR", "--dashboard-listen", "8080"],
      /--dashboard-listen must be HOST:PORT/,
    ],
  ];
  for (const [name, args, message] of cases) {
    it(`${name} → exit 2, nothing written`, async function () {
      const r = await amp(...args.map((a) => (a === "DIR" ? dir : a)));
      expect(r.code).to.equal(2);
      expect(r.out + errs.join("\n")).to.match(message);
      expect(fs.readdirSync(dir)).to.deep.equal([]);
    });
  }
});
