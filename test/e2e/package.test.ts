/**
 * Installing and starting `amp` as a new user does, on a copy of the repository's files (what a
 * fresh clone holds) with the installed node_modules linked in (the install step of `npm ci`):
 *
 * - before the build, `amp deploy` names the missing step instead of failing on `typechain-types`;
 * - `npm run prepare` (what `npm ci` runs) leaves a working compiled CLI: `amp deploy --rpc` against
 *   a separate node works with nothing else run first, and the in-process `amp demo` runs compiled;
 * - a source newer than dist/ is what runs (a stale build never shadows the code);
 * - the packed tarball installed globally gives an `amp` that works from an empty folder.
 */
import { execFile } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ROOT, fundedFreshKey, startHardhatNode, stopHardhatNode } from "../helpers/node-process";

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment of a user's shell: none of the test runner's Hardhat/ts-node/amp settings. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(HARDHAT_|TS_NODE_|AMP_)/.test(k)) continue;
    env[k] = v;
  }
  return { ...env, AMP_LOG_LEVEL: "error", ...extra };
}

function exec(
  file: string,
  args: string[],
  cwd: string,
  env = userEnv(),
  timeout = 600_000,
): Promise<Result> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env, timeout, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const npm = (args: string[], cwd: string, timeout?: number) =>
  exec(process.platform === "win32" ? "npm.cmd" : "npm", args, cwd, userEnv(), timeout);

/** The files a fresh clone holds (tracked, plus new files not ignored), copied to `dest`. */
async function copyCheckout(dest: string): Promise<void> {
  const ls = await exec("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], ROOT);
  expect(ls.code, ls.stderr).to.equal(0);
  for (const rel of ls.stdout.split("\0").filter((f) => f.length > 0)) {
    const from = path.join(ROOT, rel);
    if (!fs.existsSync(from) || fs.lstatSync(from).isSymbolicLink()) continue; // deleted, or node_modules link
    fs.mkdirSync(path.dirname(path.join(dest, rel)), { recursive: true });
    fs.copyFileSync(from, path.join(dest, rel));
  }
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dest, "node_modules"), "dir");
}

describe("e2e: install and start amp like a new user (fresh copy, npm ci's prepare, global install)", function () {
  this.timeout(1_800_000);
  let tmp: string;
  let repo: string;
  let node: ChildProcess | undefined;
  let rpc: string;

  before(async function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "amp-package-"));
    repo = path.join(tmp, "repo");
    await copyCheckout(repo);
    ({ child: node, rpc } = await startHardhatNode());
  });

  after(async function () {
    await stopHardhatNode(node);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const amp = (args: string[], cwd = repo, extra: Record<string, string> = {}) =>
    exec(process.execPath, [path.join(repo, "bin", "amp.js"), ...args], cwd, userEnv(extra));

  it("before any build, amp deploy names the missing step (no stack trace, exit 3)", async function () {
    expect(fs.existsSync(path.join(repo, "typechain-types"))).to.equal(false);
    const r = await amp(["deploy", "--rpc", rpc, "--data", path.join(tmp, "never")]);
    expect(r.code).to.equal(3);
    expect(r.stderr).to.match(
      /the contracts are not compiled .*run "npm run build" there \(npm ci does it\)/,
    );
    expect(r.stderr).not.to.match(/Cannot find module|\n\s+at /);
  });

  it("npm ci's prepare compiles contracts, bindings and dist", async function () {
    const r = await npm(["run", "prepare"], repo, 900_000);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    for (const f of ["typechain-types/index.ts", "dist/src/cli/main.js", "artifacts/contracts"]) {
      expect(fs.existsSync(path.join(repo, f)), f).to.equal(true);
    }
  });

  it("then amp deploy --rpc works with nothing else run first (compiled CLI, a funded non-default key)", async function () {
    const key = await fundedFreshKey(rpc);
    const data = path.join(tmp, "data");
    const r = await amp(["deploy", "--rpc", rpc, "--data", data], tmp, { AMP_DEPLOYER_KEY: key.privateKey });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include(`by ${key.address}`);
    expect(r.stdout).to.match(/GlobalProofAnchor\s+0x[0-9a-fA-F]{40}/);
  });

  it("the compiled CLI runs the in-process demo (its Hardhat config needs no TypeScript)", async function () {
    const r = await amp(["demo", "--rounds", "1", "--events", "2", "--workers", "0"], tmp);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^legend: /m);
    expect(r.stdout).to.match(/^1 +\+2=2 0x[0-9a-f]{8}… .* 0x[0-9a-f]{8}… /m);
    expect(r.stdout).to.match(/^VALID event /m);
  });

  it("a source newer than dist/ is what runs", async function () {
    const before = await amp(["--version"]);
    expect(before.stdout.trim()).to.match(/^\d+\.\d+\.\d+/);
    const file = path.join(repo, "src", "cli", "version.ts");
    const text = fs.readFileSync(file, "utf8");
    fs.writeFileSync(
      file,
      text.replace(
        "export function packageVersion(",
        'export function packageVersion(): string {\n  return "from-source";\n}\nexport function unused(',
      ),
    );
    const after = await amp(["--version"]);
    expect(after.code, after.stderr).to.equal(0);
    expect(after.stdout.trim()).to.equal("from-source");
    fs.writeFileSync(file, text);
  });

  it("the packed tarball installed globally gives an amp that works from an empty folder", async function () {
    const packed = await npm(["pack", "--ignore-scripts", "--pack-destination", tmp], repo);
    expect(packed.code, packed.stderr).to.equal(0);
    const tarball = path.join(tmp, packed.stdout.trim().split("\n").pop()!);
    const prefix = path.join(tmp, "global");
    // Dependencies come from the npm cache that `npm ci` filled (registry only for what is missing);
    // --ignore-scripts skips native builds, so SQLite's addon is taken from the installed tree.
    const installed = await npm(
      [
        "install",
        "-g",
        "--prefix",
        prefix,
        tarball,
        "--prefer-offline",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
      ],
      tmp,
      900_000,
    );
    expect(installed.code, installed.stderr).to.equal(0);
    const pkg = path.join(prefix, "lib", "node_modules", "amp-audit-mesh");
    expect(fs.existsSync(path.join(pkg, "src")), "the package ships dist/, not sources").to.equal(false);
    const addon = path.join("node_modules", "better-sqlite3", "build", "Release", "better_sqlite3.node");
    fs.mkdirSync(path.dirname(path.join(pkg, addon)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, addon), path.join(pkg, addon));

    const empty = path.join(tmp, "empty");
    fs.mkdirSync(empty);
    const bin = path.join(prefix, "bin", "amp");
    const help = await exec(bin, ["--help"], empty);
    expect(help.code, help.stderr).to.equal(0);
    expect(help.stdout).to.match(/Usage: amp /);
    const data = path.join(empty, "amp-data");
    const deployed = await exec(bin, ["deploy", "--rpc", rpc, "--data", data], empty);
    expect(deployed.code, deployed.stderr).to.equal(0);
    expect(fs.existsSync(path.join(data, "deployment.json"))).to.equal(true);
    const demo = await exec(bin, ["demo", "--rounds", "1", "--events", "2", "--workers", "0"], empty);
    expect(demo.code, demo.stderr).to.equal(0);
    expect(demo.stdout).to.match(/^VALID event /m);
    expect(fs.readdirSync(empty)).to.deep.equal(["amp-data"]); // nothing else written where it ran
  });
});
