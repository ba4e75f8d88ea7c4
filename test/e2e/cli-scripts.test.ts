/**
 * The `amp` command for scripts against a separate `hardhat node`: deploying with a deployer key
 * that is NOT one of the node's unlocked accounts (raw key and encrypted keystore), the
 * AMP_RPC_URL / AMP_DATA_DIR defaults, `--json` results of deploy, ingest, run, events and proof,
 * and `amp proof --out -`.
 */
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider, Wallet } from "ethers";
import { readDeployment } from "../../src/chain/deployment";
import { loadManifestFederations } from "../../src/cli/context";
import { generateEvents } from "../../src/cli/generate";
import { run } from "../../src/cli/main";
import { ValidatorRegistry__factory } from "../../typechain-types";
import { fundedFreshKey, nonceOf, startHardhatNode, stopHardhatNode } from "../helpers/node-process";
import { tmpDir } from "./helpers";

async function amp(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await run(["node", "amp", ...args], {
    writeOut: (s) => (out += s),
    writeErr: (s) => (err += s),
  });
  return { code, out, err };
}

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

interface Ok<T> {
  ok: true;
  command: string;
  result: T;
}

function okJson<T>(r: { code: number; out: string; err: string }): T {
  expect(r.code, r.err).to.equal(0);
  const lines = r.out.trim().split("\n");
  expect(lines, r.out).to.have.length(1);
  const j = JSON.parse(lines[0]!) as Ok<T>;
  expect(j.ok).to.equal(true);
  return j.result;
}

describe("e2e: amp for scripts against a separate hardhat node", function () {
  this.timeout(600_000);
  let node: ChildProcess | undefined;
  let rpc: string;
  let dir: string;
  const clean = {
    AMP_DEPLOYER_KEY: undefined,
    AMP_DEPLOYER_PASSWORD: undefined,
    AMP_DATA_DIR: undefined,
    AMP_RPC_URL: undefined,
  };

  before(async function () {
    dir = tmpDir("amp-scripts-e2e-");
    ({ child: node, rpc } = await startHardhatNode());
  });

  after(async function () {
    await stopHardhatNode(node);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function isGovernance(registryAddress: string, who: string): Promise<boolean> {
    const provider = new JsonRpcProvider(rpc, undefined, { cacheTimeout: -1 });
    try {
      const registry = ValidatorRegistry__factory.connect(registryAddress, provider);
      return await registry.hasRole(await registry.GOVERNANCE_ROLE(), who);
    } finally {
      provider.destroy();
    }
  }

  it("deploys with AMP_DEPLOYER_KEY, a funded key the node does not hold", async function () {
    const key = await fundedFreshKey(rpc);
    const provider = new JsonRpcProvider(rpc, undefined, { cacheTimeout: -1 });
    const unlocked = (await provider.send("eth_accounts", [])) as string[];
    provider.destroy();
    expect(unlocked.map((a) => a.toLowerCase())).not.to.include(key.address.toLowerCase());
    const account0Before = await nonceOf(rpc, unlocked[0]!);
    const data = path.join(dir, "by-key");
    const result = await withEnv({ ...clean, AMP_DEPLOYER_KEY: key.privateKey }, () =>
      amp("deploy", "--json", "--rpc", rpc, "--data", data),
    );
    const r = okJson<{ alreadyDeployed: boolean; deployment: { deployer: string } }>(result);
    expect(r.alreadyDeployed).to.equal(false);
    expect(r.deployment.deployer).to.equal(key.address);
    expect(readDeployment(data).deployer).to.equal(key.address);
    // three contracts and two federation registrations, all sent by the key; account 0 sent nothing
    expect(await nonceOf(rpc, key.address)).to.equal(5);
    expect(await nonceOf(rpc, unlocked[0]!)).to.equal(account0Before);
    expect(await isGovernance(readDeployment(data).contracts.validatorRegistry, key.address)).to.equal(true);
    expect(result.err).to.match(/THROWAWAY DEMO KEYS/); // notes go to stderr with --json
    expect(result.out).not.to.include(key.privateKey.slice(2));
    expect(result.err).not.to.include(key.privateKey.slice(2));
  });

  it("deploys with an encrypted keystore (--keystore, AMP_DEPLOYER_PASSWORD)", async function () {
    const key = await fundedFreshKey(rpc);
    const file = path.join(dir, "deployer.keystore.json");
    fs.writeFileSync(file, key.encryptSync("deployer password"), { mode: 0o600 });
    const data = path.join(dir, "by-keystore");
    const r = await withEnv({ ...clean, AMP_DEPLOYER_PASSWORD: "deployer password" }, () =>
      amp("deploy", "--rpc", rpc, "--data", data, "--keystore", file),
    );
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.include(`by ${key.address}`);
    expect(readDeployment(data).deployer).to.equal(key.address);
    const wrong = await withEnv({ ...clean, AMP_DEPLOYER_PASSWORD: "nope" }, () =>
      amp("deploy", "--rpc", rpc, "--data", path.join(dir, "never"), "--keystore", file),
    );
    expect(wrong.code).to.equal(2);
    expect(wrong.err).to.match(/cannot decrypt the deployer keystore/);
    expect(fs.existsSync(path.join(dir, "never"))).to.equal(false);
  });

  it("a key without funds is refused before any transaction, naming the next step; no record is written", async function () {
    const broke = new Wallet(Wallet.createRandom().privateKey);
    const data = path.join(dir, "broke");
    const r = await withEnv({ ...clean, AMP_DEPLOYER_KEY: broke.privateKey }, () =>
      amp("deploy", "--rpc", rpc, "--data", data),
    );
    expect(r.code).to.not.equal(0);
    expect(r.err).to.match(
      /^amp: InvalidInputError: the deployer 0x[0-9a-fA-F]{40} has no funds on chain 31337: send it ETH/,
    );
    expect(fs.existsSync(path.join(data, "deployment.json"))).to.equal(false);
  });

  it("with AMP_RPC_URL and AMP_DATA_DIR set, ingest, run, events and proof need no flags; --json results", async function () {
    const data = path.join(dir, "by-env");
    const env = { ...clean, AMP_RPC_URL: rpc, AMP_DATA_DIR: data };
    await withEnv(env, async () => {
      okJson(await amp("deploy", "--json"));
      const [ssid, opencore] = loadManifestFederations();
      const file = path.join(dir, "events.ndjson");
      const events = [...generateEvents(ssid!, 0n, 3, "env"), ...generateEvents(opencore!, 0n, 2, "env")];
      fs.writeFileSync(file, events.map((e) => JSON.stringify(e)).join("\n") + "\n");
      expect(okJson(await amp("ingest", file, "--json"))).to.deep.equal({ stored: 5, duplicates: 0 });

      const ran = okJson<{
        startRound: string;
        pending: string;
        rounds: { round: string; txHash: string; evidence: string[] }[];
      }>(await amp("run", "--json", "--workers", "0"));
      expect(ran.startRound).to.equal("1");
      expect(ran.pending).to.equal("5");
      // The nodes decide the rounds: usually one, two when a tick splits the submission.
      expect(ran.rounds.map((x) => [x.round, x.evidence])[0]).to.deep.equal(["1", []]);
      for (const x of ran.rounds) expect(x.txHash).to.match(/^0x[0-9a-f]{64}$/);

      const listed = okJson<{ events: { id: string; round: string; federation: string }[] }>(
        await amp("events", "--json"),
      );
      expect(listed.events).to.have.length(5);
      expect(listed.events.every((e) => ran.rounds.some((x) => x.round === e.round))).to.equal(true);
      const id = listed.events[0]!.id;

      const file2 = path.join(dir, "p.json");
      const proof = okJson<{ file: string; eventId: string; round: string; bytes: number }>(
        await amp("proof", id, "--out", file2, "--json"),
      );
      expect(proof.eventId).to.equal(id);
      expect(proof.bytes).to.equal(fs.statSync(file2).size);

      const stdout = await amp("proof", id, "--out", "-");
      expect(stdout.code, stdout.err).to.equal(0);
      expect(stdout.out).to.equal(fs.readFileSync(file2, "utf8")); // the same bytes as the file
      expect(fs.existsSync("-")).to.equal(false);
      expect(stdout.err).to.match(/wrote the proof to stdout: event /);
      const v = await amp("verify", file2, "--trust", path.join(data, "trust.json"));
      expect(v.code, v.err).to.equal(0);

      const small = path.join(dir, "compact.json");
      const c = okJson<{ compact: boolean; bytes: number }>(
        await amp("proof", id, "--compact", "--digest-only", "--out", small, "--json"),
      );
      expect(c.compact).to.equal(true);
      expect(c.bytes).to.be.lessThan(proof.bytes / 10);
      const vc = await amp("verify", small, "--trust", path.join(data, "trust.json"));
      expect(vc.code, vc.err).to.equal(0);
    });
  });

  it("amp demo --json (in-process node layout) reports rounds with their evidence and the credits; the table goes to stderr", async function () {
    const r = await amp(
      "demo",
      "--json",
      "--rounds",
      "3",
      "--events",
      "2",
      "--workers",
      "0",
      "--epoch-seconds",
      "2",
    );
    const d = okJson<{
      rpc: string;
      trustPolicy: string;
      rounds: { round: string; txHash: string; evidence: string[] }[];
      verified: { txHash: string }[];
      credits: { epoch: string; nodes: number; txHash: string }[];
      processes: { started: number; leftRunning: number };
    }>(r);
    expect(d.rounds.length).to.be.at.least(3);
    expect(d.rounds.slice(0, 3).map((x) => x.round)).to.deep.equal(["1", "2", "3"]);
    // ssid-apac-1 is Byzantine in rounds 2, 4 and 5 (wrong-root in round 2), honest in round 1.
    expect(d.rounds[0]!.evidence).to.deep.equal([]);
    expect(d.rounds[1]!.evidence).to.include("ssid-apac-1 wrong-root");
    expect(d.verified.length).to.equal(6);
    expect(d.credits.length).to.be.greaterThan(0);
    for (const c of d.credits) {
      expect(c.nodes).to.equal(7);
      expect(c.txHash).to.match(/^0x[0-9a-f]{64}$/);
    }
    // Only the chain ran as a child process; the nodes ran in this process.
    expect(d.processes).to.deep.equal({ ...d.processes, started: 1, leftRunning: 0 });
    expect(r.err).to.match(/^legend: /m);
    expect(r.err).to.match(/^2 .*ssid-apac-1 wrong-root/m);
    expect(r.err).not.to.match(/^1 .*wrong-root/m);
    expect(r.err).to.match(/^credits: epoch \d+ allocated to 7 nodes in tx 0x/m);
    expect(r.err).to.match(/7 nodes in this process/);
  });
});
