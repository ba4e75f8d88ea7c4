/**
 * The `amp` command for scripts: exit codes (0 ok, 1 invalid, 2 usage, 3 could not check), the
 * `--json` shapes on success and failure, `--version`, the environment defaults, the deployer key,
 * the log format, and the round table's legend and evidence marks. No chain needed here; the
 * chain-backed cases are in test/e2e/cli-scripts.test.ts.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { Wallet } from "ethers";
import { deployerWallet } from "../../src/cli/deployer";
import { CannotCheckError, UsageError } from "../../src/cli/exit";
import { COMMANDS, buildProgram, commandNamed, run } from "../../src/cli/main";
import { ROUND_LEGEND, formatRound } from "../../src/cli/run";
import type { RoundReport } from "../../src/chain/runner";

const PKG = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8")) as {
  version: string;
};

async function amp(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await run(["node", "amp", ...args], {
    writeOut: (s) => (out += s),
    writeErr: (s) => (err += s),
  });
  return { code, out, err };
}

/** The one JSON object a `--json` run printed on stdout. */
function jsonOf(out: string): Record<string, unknown> {
  const lines = out.trim().split("\n");
  expect(lines, out).to.have.length(1);
  return JSON.parse(lines[0]!) as Record<string, unknown>;
}

/** Set environment variables for the duration of `fn`, then restore them. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (v: Record<string, string | undefined>) => {
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) delete process.env[k];
      else process.env[k] = x;
    }
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

describe("cli for scripts: exit codes, --json, --version, environment", function () {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-scripts-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("--version and -V print the package version and exit 0", async function () {
    for (const flag of ["--version", "-V"]) {
      const r = await amp(flag);
      expect(r.code).to.equal(0);
      expect(r.out.trim()).to.equal(PKG.version);
    }
  });

  it("the startup command list is exactly the loaded program's, and loads only the named command", async function () {
    const full = await buildProgram();
    expect(full.commands.map((c) => c.name())).to.deep.equal(COMMANDS.map((c) => c.name));
    const lazy = await buildProgram(undefined, "proof");
    const proof = lazy.commands.find((c) => c.name() === "proof")!;
    const demo = lazy.commands.find((c) => c.name() === "demo")!;
    expect(proof.options.map((o) => o.long)).to.include("--out");
    expect(demo.options).to.have.length(0); // a stub with its summary only
    const help = await amp("--help");
    expect(help.code).to.equal(0);
    for (const c of COMMANDS) expect(help.out).to.include(`  ${c.name}`);
    expect(commandNamed(["node", "amp", "help", "deploy"])).to.equal("deploy");
    expect(commandNamed(["node", "amp", "--json", "run", "--rounds", "2"])).to.equal("run");
    expect(commandNamed(["node", "amp", "nonsense"])).to.equal(undefined);
  });

  it("exit 2: unknown flag, unknown command, bad flag value, bad --rpc (flag or AMP_RPC_URL)", async function () {
    const flag = await amp("deploy", "--rpc", "http://127.0.0.1:1", "--data", dir, "--frobnicate");
    expect(flag.code).to.equal(2);
    expect(flag.err).to.match(/unknown option '--frobnicate'/);
    const cmd = await amp("frobnicate");
    expect(cmd.code).to.equal(2);
    expect(cmd.err).to.match(/unknown command 'frobnicate'/);
    const value = await amp("run", "--rpc", "http://127.0.0.1:1", "--data", dir, "--max-batch", "-3");
    expect(value.code).to.equal(2);
    expect(value.err).to.match(/--max-batch must be an integer ≥ 1, got "-3"/);
    const rpc = await amp("deploy", "--rpc", "127.0.0.1:8545", "--data", dir);
    expect(rpc.code).to.equal(2);
    expect(rpc.err).to.match(/--rpc must be an http\(s\) URL such as http:\/\/127\.0\.0\.1:8545/);
    const env = await withEnv({ AMP_RPC_URL: "ws://127.0.0.1:8545" }, () => amp("deploy", "--data", dir));
    expect(env.code).to.equal(2);
    expect(env.err).to.match(/got "ws:\/\/127\.0\.0\.1:8545"/);
    expect(fs.readdirSync(dir)).to.deep.equal([]); // nothing written by a refused command
  });

  it("exit 3: chain unreachable, manifest or keystore unreadable", async function () {
    const chain = await amp("run", "--rpc", "http://127.0.0.1:1", "--data", dir);
    expect(chain.code).to.equal(3);
    expect(chain.err).to.match(
      /no JSON-RPC answer from http:\/\/127\.0\.0\.1:1 \(is the node running\?\): \S/,
    );
    const manifest = await withEnv({ AMP_KEYSTORE_PASSWORD: "pw" }, () =>
      amp("keys", "generate", "--out", path.join(dir, "k"), "--manifest", path.join(dir, "none.yaml")),
    );
    expect(manifest.code).to.equal(3);
    expect(manifest.err).to.match(/no such manifest: .*none\.yaml \(check --manifest/);
    const keystore = await amp(
      "deploy",
      "--rpc",
      "http://127.0.0.1:1",
      "--data",
      dir,
      "--keystore",
      path.join(dir, "missing.json"),
    );
    expect(keystore.code).to.equal(3);
    expect(keystore.err).to.match(/cannot read the deployer keystore .*missing\.json/);
  });

  it("--json on failure: one object on stdout with ok:false, the error and its exit code", async function () {
    const usage = await amp("run", "--json", "--rpc", "http://127.0.0.1:1", "--data", dir, "--rounds", "x");
    expect(usage.code).to.equal(2);
    expect(jsonOf(usage.out)).to.deep.equal({
      ok: false,
      command: "run",
      error: {
        name: "UsageError",
        message: '--rounds must be an integer ≥ 1, got "x"',
        kind: "invalid-input",
        exitCode: 2,
      },
    });
    expect(usage.err).to.match(/^amp: UsageError: /); // the human line stays on stderr
    const missing = await amp("deploy", "--json", "--data", dir);
    expect(missing.code).to.equal(2);
    const m = jsonOf(missing.out) as {
      ok: boolean;
      error: { name: string; message: string; exitCode: number };
    };
    expect(m.ok).to.equal(false);
    expect(m.error.name).to.equal("UsageError");
    expect(m.error.message).to.match(/required option '--rpc <url>' not specified/);
    const down = await amp("deploy", "--json", "--rpc", "http://127.0.0.1:1", "--data", dir);
    expect(down.code).to.equal(3);
    expect(jsonOf(down.out)).to.deep.include({ ok: false, command: "deploy" });
    expect((jsonOf(down.out).error as Record<string, unknown>).exitCode).to.equal(3);
    expect((jsonOf(down.out).error as Record<string, unknown>).name).to.equal("ChainUnavailableError");
    const invalid = await amp("events", "--json", "--data", dir);
    expect(invalid.code).to.equal(1);
    expect((jsonOf(invalid.out).error as Record<string, unknown>).exitCode).to.equal(1);
  });

  it("--json on success: keys generate reports the nodes and addresses, and nothing else on stdout", async function () {
    const r = await withEnv({ AMP_KEYSTORE_PASSWORD: "test password" }, () =>
      amp("keys", "generate", "--json", "--out", path.join(dir, "keys"), "--nodes", "ssid-eu-1,ssid-us-1"),
    );
    expect(r.code, r.err).to.equal(0);
    const j = jsonOf(r.out) as { ok: boolean; command: string; result: { dir: string; nodes: unknown[] } };
    expect(j.ok).to.equal(true);
    expect(j.command).to.equal("keys generate");
    expect(j.result.dir).to.equal(path.join(dir, "keys"));
    expect(j.result.nodes).to.have.length(2);
    for (const n of j.result.nodes as { nodeId: string; address: string }[]) {
      expect(n.address).to.match(/^0x[0-9a-fA-F]{40}$/);
    }
    expect(r.err).to.match(/wrote keys for 2 nodes/); // human lines moved to stderr
  });

  it("AMP_DATA_DIR stands in for --data; an explicit --data wins; --help names the variables", async function () {
    const other = path.join(dir, "other");
    const viaEnv = await withEnv({ AMP_DATA_DIR: dir }, () => amp("events"));
    expect(viaEnv.code).to.equal(1);
    expect(viaEnv.err).to.include(`no archive at ${dir}${path.sep}`);
    const explicit = await withEnv({ AMP_DATA_DIR: dir }, () => amp("events", "--data", other));
    expect(explicit.err).to.include(other);
    const help = await amp("run", "--help");
    expect(help.out).to.match(/\(env:\s+AMP_RPC_URL\)/);
    expect(help.out).to.match(/\(env:\s+AMP_DATA_DIR\)/);
    const demo = await amp("demo", "--help");
    expect(demo.out).not.to.match(/AMP_DATA_DIR/); // the demo never writes into the user's data dir
  });

  it("proof refuses --out - together with --json (both want stdout)", async function () {
    const r = await amp("proof", "x", "--data", dir, "--out", "-", "--json");
    expect(r.code).to.equal(2);
    expect(r.err).to.match(/--out - and --json both write to stdout/);
  });
});

describe("cli: the deployer key", function () {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-deployer-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env = { AMP_DEPLOYER_KEY: undefined, AMP_DEPLOYER_PASSWORD: undefined };

  it("is the node's unlocked account when no key is given", async function () {
    expect(await withEnv(env, () => deployerWallet({}))).to.equal(undefined);
  });

  it("comes from AMP_DEPLOYER_KEY, refusing a malformed key", async function () {
    const w = Wallet.createRandom();
    const got = await withEnv({ ...env, AMP_DEPLOYER_KEY: w.privateKey }, () => deployerWallet({}));
    expect(got?.address).to.equal(w.address);
    for (const bad of ["0x1234", w.privateKey.slice(2), `${w.privateKey}00`]) {
      const err = await withEnv({ ...env, AMP_DEPLOYER_KEY: bad }, () =>
        deployerWallet({}).then(
          () => undefined,
          (e: unknown) => e,
        ),
      );
      expect(err).to.be.instanceOf(UsageError);
      expect((err as Error).message).to.match(/AMP_DEPLOYER_KEY must be a 0x-prefixed 32-byte hex/);
      expect((err as Error).message).not.to.include(bad.slice(4, 20)); // the key is never echoed
    }
  });

  it("comes from an encrypted keystore; a wrong password, no password, or both sources are usage errors", async function () {
    const w = Wallet.createRandom();
    const file = path.join(dir, "deployer.json");
    fs.writeFileSync(file, w.encryptSync("right"));
    const ok = await withEnv({ ...env, AMP_DEPLOYER_PASSWORD: "right" }, () =>
      deployerWallet({ keystore: file }),
    );
    expect(ok?.address).to.equal(w.address);
    const fail = (vars: Record<string, string | undefined>, keystore: string) =>
      withEnv({ ...env, ...vars }, () =>
        deployerWallet({ keystore }).then(
          () => undefined,
          (e: unknown) => e,
        ),
      );
    const wrong = await fail({ AMP_DEPLOYER_PASSWORD: "wrong" }, file);
    expect(wrong).to.be.instanceOf(UsageError);
    expect((wrong as Error).message).to.match(
      /cannot decrypt the deployer keystore .*wrong AMP_DEPLOYER_PASSWORD/,
    );
    const none = await fail({}, file);
    expect(none).to.be.instanceOf(UsageError);
    expect((none as Error).message).to.match(/set AMP_DEPLOYER_PASSWORD/);
    const both = await fail({ AMP_DEPLOYER_PASSWORD: "right", AMP_DEPLOYER_KEY: w.privateKey }, file);
    expect(both).to.be.instanceOf(UsageError);
    expect((both as Error).message).to.match(/--keystore or AMP_DEPLOYER_KEY, not both/);
    const missing = await fail({ AMP_DEPLOYER_PASSWORD: "right" }, path.join(dir, "nope.json"));
    expect(missing).to.be.instanceOf(CannotCheckError);
  });
});

describe("cli: messages (round table, logs)", function () {
  const anchored: RoundReport = {
    status: "anchored",
    round: 3n,
    globalRoot: "0x" + "ab".repeat(32),
    federations: [
      {
        origin: "amp.local/ssid",
        treeSize: 75n,
        rootHash: "0x" + "cd".repeat(32),
        batchEntries: 25,
        signedWeight: 7500n,
        totalWeight: 10000n,
      },
    ],
    witnessBytes: 51,
    payloadBytes: 900,
    txHash: "0x" + "ef".repeat(32),
    blockNumber: 9,
    gasUsed: 123456n,
    latencies: { sealToQuorumMs: 70, quorumToWitnessedMs: 51, witnessedToAnchoredMs: 35 },
  };

  it("marks a round with Byzantine evidence in the table line itself, and not the others", function () {
    const marked = formatRound(anchored, ["ssid-apac-1 wrong-root"]);
    expect(marked).to.match(/^round 3 .*ssid \+25=75 .*q=7500\/10000 .*evidence: ssid-apac-1 wrong-root$/);
    expect(formatRound(anchored)).not.to.match(/evidence/);
    const failed = formatRound({ status: "failed", round: 4n, reason: "no quorum", carriedEntries: 5 }, [
      "ssid-apac-1 equivocation",
    ]);
    expect(failed).to.match(/FAILED \(no quorum\).*evidence: ssid-apac-1 equivocation$/);
  });

  it("has a one-line legend naming every column of a round line", function () {
    expect(ROUND_LEGEND.split("\n")).to.have.length(1);
    for (const part of ["round N", "q=", "global", "witness", "tx", "gas", "ms quorum", "evidence:"]) {
      expect(ROUND_LEGEND).to.include(part);
    }
  });
});

describe("cli: deploying where the node holds no account", function () {
  it("names the way out: a funded deployer key", async function () {
    const { connectEip1193 } = await import("../../src/chain/connect");
    const { deployContracts } = await import("../../src/chain/deploy");
    const conn = await connectEip1193(
      {
        request: ({ method }) => {
          if (method === "eth_chainId") return Promise.resolve("0xaa36a7");
          if (method === "eth_accounts") return Promise.resolve([]);
          return Promise.reject(new Error(`unexpected ${method}`));
        },
      },
      "https://rpc.example",
    );
    try {
      const err = await deployContracts(conn).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((err as Error).message).to.match(
        /^https:\/\/rpc\.example has no unlocked account to deploy from: give a funded deployer key \(AMP_DEPLOYER_KEY or amp deploy --keystore FILE\)/,
      );
    } finally {
      conn.close();
    }
  });
});

describe("cli: errors name the next step", function () {
  it("a deployment record without the manifest's federation says which --manifest to use", async function () {
    const { runnerFederationsFor } = await import("../../src/cli/session");
    const record = {
      version: 1 as const,
      chainId: "31337",
      contracts: {
        validatorRegistry: "0x" + "11".repeat(20),
        globalProofAnchor: "0x" + "22".repeat(20),
        proofCreditReceipts: "0x" + "33".repeat(20),
      },
      deployBlock: 1,
      deployer: "0x" + "44".repeat(20),
      federations: [],
    };
    const err = await runnerFederationsFor(record, {}, () => undefined).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error).message).to.match(
      /^federation amp\.local\/ssid is not in the deployment record: use the --manifest it was deployed with$/,
    );
  });
});
