/**
 * End to end as a user runs it: a separate `hardhat node` process on a free loopback port, and the
 * `amp` CLI invoked as child processes (deploy, ingest, run, events, proof, verify). `amp run` runs
 * the seven nodes in its process (the `amp node` code), so the data dir is the node layout.
 */
import { execFile } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { readDeployment } from "../../src/chain/deployment";
import { loadManifestFederations } from "../../src/cli/context";
import { generateEvents } from "../../src/cli/generate";
import { parseProofFile } from "../../src/proof/format";
import type { ProofFile } from "../../src/proof/format";
import { readTrustPolicy } from "../../src/trust/policy";
import { keepVotes, resignWithFreshKeys, voteCount } from "../helpers/forge";
import { tmpDir } from "./helpers";
import { ampInProcess } from "../helpers/cli";
import { anchoredRounds, startHardhatNode, stopHardhatNode } from "../helpers/node-process";

const ROOT = path.resolve(__dirname, "..", "..");
const AMP = path.join(ROOT, "bin", "amp.js");

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function amp(...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [AMP, ...args],
      {
        cwd: ROOT,
        env: { ...process.env, AMP_LOG_LEVEL: "error", AMP_KEYSTORE_PASSWORD: "e2e-only-password" },
        timeout: 180_000,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * The same CLI code run in this process (no child start-up, ~10 s each on a loaded machine), for
 * the checks beyond the path a user takes; stdout is what the command printed with console.log.
 */
async function ampHere(...args: string[]): Promise<CliResult> {
  const r = await ampInProcess(...args);
  return { code: r.code, stdout: r.out, stderr: r.err };
}

describe("e2e against a separate hardhat node, through the amp CLI", function () {
  this.timeout(600_000);
  let node: ChildProcess | undefined;
  let rpc: string;
  let dir: string;
  let data: string;
  const trustFile = () => path.join(data, "trust.json");

  before(async function () {
    dir = tmpDir("amp-node-e2e-");
    data = path.join(dir, "data");
    ({ child: node, rpc } = await startHardhatNode());
  });

  after(async function () {
    await stopHardhatNode(node);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const anchored = () => anchoredRounds(rpc, data);

  it("deploys through `amp deploy` and writes the deployment record", async function () {
    const r = await amp("deploy", "--rpc", rpc, "--data", data);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/THROWAWAY DEMO KEYS/);
    expect(r.stdout).to.match(/GlobalProofAnchor\s+0x[0-9a-fA-F]{40}/);
    expect(readDeployment(data).federations.map((f) => f.validators.length)).to.deep.equal([4, 3]);
    expect(r.stdout).to.contain(`wrote ${trustFile()}`);
    expect(readTrustPolicy(trustFile()).anchor).to.equal(readDeployment(data).contracts.globalProofAnchor);
  });

  it("ingests an NDJSON file, refusing a bad file whole and naming the line", async function () {
    const [ssid, opencore] = loadManifestFederations();
    const events = [
      ...generateEvents(ssid!, 0n, 3, "node-e2e"),
      ...generateEvents(opencore!, 0n, 2, "node-e2e"),
    ];
    const good = path.join(dir, "events.ndjson");
    fs.writeFileSync(good, events.map((e) => JSON.stringify(e)).join("\n") + "\n");
    const bad = path.join(dir, "bad.ndjson");
    const broken = { ...(events[0] as Record<string, unknown>), event_id: "not-a-uuid" };
    fs.writeFileSync(bad, [JSON.stringify(events[1]), JSON.stringify(broken)].join("\n") + "\n");
    const refused = await amp("ingest", bad, "--data", data);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(/bad\.ndjson:2: invalid federation_event: \/event_id: /);
    const r = await amp("ingest", good, "--data", data);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/queued 5 events/);
  });

  it("runs the nodes with `amp run` (in process, the `amp node` code), one anchor per round", async function () {
    const r = await amp("run", "--rpc", rpc, "--data", data, "--rounds", "2", "--generate", "4");
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/starting at round 1; 5 events queued/);
    expect(r.stderr).to.match(/7 nodes in this process/);
    expect(r.stdout).to.match(/^1 +\+\d+=\d+ 0x[0-9a-f]+… +\+\d+=\d+ 0x/m);
    // The nodes decide the rounds: the 5 queued + 2 × 4 generated per federation took ≥ 2.
    const a = await anchored();
    expect(a.next).to.be.greaterThanOrEqual(3n);
    expect(a.logs).to.equal(Number(a.next - 1n));
  });

  it("resumes at the next round after a restart, with no duplicate anchor", async function () {
    // This run signs in the main thread (--workers 0); the first ran on the worker pool.
    const before = await anchored();
    const r = await amp(
      "run",
      "--rpc",
      rpc,
      "--data",
      data,
      "--rounds",
      "1",
      "--generate",
      "2",
      "--workers",
      "0",
    );
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain(`starting at round ${before.next}; 0 events queued`);
    expect(r.stdout).to.match(new RegExp(`^${before.next} +\\+\\d+=\\d+ `, "m"));
    const after = await anchored();
    expect(after.next).to.be.greaterThan(before.next);
    expect(after.logs).to.equal(Number(after.next - 1n));
  });

  it("lists events, writes a proof, and `amp verify` accepts it and rejects a tampered copy", async function () {
    const list = await amp("events", "--data", data);
    expect(list.code, list.stderr).to.equal(0);
    const rows = list.stdout
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => l.split("\t"));
    // 5 ingested, then ≥ 4 generated per federation in the first run, 2 in the second.
    expect(rows.length).to.be.greaterThanOrEqual(5 + 8 + 4);
    for (const x of rows) expect(x[2]).to.match(/^[1-9]\d*$/);
    const row = rows.find((x) => x[1] === "opencore" && x[2] === "2")!;
    const leaf = await amp("events", "--data", data, "--leaf", row[4]!);
    expect(leaf.stdout).to.contain(row[0]);
    const out = path.join(dir, "proof.json");
    const p = await amp("proof", row[0]!, "--data", data, "--out", out);
    expect(p.code, p.stderr).to.equal(0);
    const ok = await amp("verify", out, "--rpc", rpc, "--trust", trustFile());
    expect(ok.code, ok.stdout + ok.stderr).to.equal(0);
    expect(ok.stdout).to.match(/^VALID event /);
    expect(ok.stdout).to.contain(
      `pinned anchor ${readDeployment(data).contracts.globalProofAnchor} on chain 31337`,
    );
    const proof = JSON.parse(fs.readFileSync(out, "utf8")) as { anchor: { txHash: string } };
    proof.anchor.txHash = "0x" + "ab".repeat(32);
    const bad = path.join(dir, "bad-proof.json");
    fs.writeFileSync(bad, JSON.stringify(proof));
    const no = await amp("verify", bad, "--rpc", rpc, "--trust", trustFile());
    expect(no.code).to.equal(1);
    expect(no.stdout.trim()).to.match(/^INVALID anchor\.txHash: /);
    expect(no.stdout.trim().split("\n")).to.have.length(1);
  });

  const proofFile = () => path.join(dir, "proof.json");
  const rewrite = (name: string, change: (p: ProofFile) => ProofFile): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify(change(parseProofFile(fs.readFileSync(proofFile(), "utf8")))));
    return file;
  };

  it("trust roots (issue 8): refuses to verify without a trust root (exit 2, naming both options)", async function () {
    const r = await amp("verify", proofFile(), "--rpc", rpc);
    expect(r.code).to.equal(2);
    expect(r.stderr.trim().split("\n")).to.have.length(1);
    expect(r.stderr).to.match(/--trust .* or --anchor /);
    expect(r.stdout).to.equal("");
  });

  it("trust roots (issue 8): `amp trust export` writes the same policy after checking the chain", async function () {
    const out = path.join(dir, "exported-trust.json");
    const r = await ampHere("trust", "export", "--rpc", rpc, "--data", data, "--out", out);
    expect(r.code, r.stderr).to.equal(0);
    expect(readTrustPolicy(out)).to.deep.equal(readTrustPolicy(trustFile()));
    // A data dir without trust.json (made before trust policies) gets one from a deploy re-run.
    fs.rmSync(trustFile());
    const again = await ampHere("deploy", "--rpc", rpc, "--data", data);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stdout).to.match(/already deployed[\s\S]*wrote .*trust\.json/);
    expect(readTrustPolicy(trustFile())).to.deep.equal(readTrustPolicy(out));
  });

  it("trust roots (issue 8): with --anchor alone, prints what it read from the chain and trusted", async function () {
    const anchor = readDeployment(data).contracts.globalProofAnchor;
    const r = await ampHere("verify", proofFile(), "--rpc", rpc, "--anchor", anchor);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    const policy = readTrustPolicy(trustFile());
    expect(r.stdout).to.match(/^VALID event /);
    expect(r.stdout).to.contain(`registry ${policy.registry} (code ${policy.registryCodeHash})`);
  });

  it("trust roots (issue 8): prints stable JSON on success and on failure", async function () {
    const ok = await ampHere("verify", proofFile(), "--rpc", rpc, "--trust", trustFile(), "--json");
    expect(ok.code).to.equal(0);
    const v = JSON.parse(ok.stdout) as Record<string, unknown>;
    expect(v).to.include({ valid: true, reason: null, field: null, eventIdChecked: true });
    expect((v.trust as Record<string, unknown>).anchor).to.equal(readTrustPolicy(trustFile()).anchor);
    const no = await ampHere(
      "verify",
      proofFile(),
      "--rpc",
      rpc,
      "--trust",
      trustFile(),
      "--json",
      "--confirmations",
      "999",
    );
    expect(no.code).to.equal(1);
    const failed = JSON.parse(no.stdout) as Record<string, unknown>;
    expect(Object.keys(failed)).to.deep.equal(["valid", "reason", "field"]);
    expect(failed).to.include({ valid: false, field: "anchor.blockNumber" });
    expect((JSON.parse(no.stdout) as { reason: string }).reason).to.match(/fewer than the 999 required/);
  });

  it("trust roots (issue 8): says the event id is not checked for a digest-only proof", async function () {
    const id = parseProofFile(fs.readFileSync(proofFile(), "utf8")).event.id;
    const out = path.join(dir, "digest.json");
    expect((await ampHere("proof", id, "--data", data, "--out", out, "--digest-only")).code).to.equal(0);
    const r = await ampHere("verify", out, "--rpc", rpc, "--trust", trustFile());
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^VALID leaf 0x[0-9a-f]{64} \(event id not checked: digest-only proof\) in /);
    expect(r.stdout).not.to.contain(id);
    const j = await ampHere("verify", out, "--rpc", rpc, "--trust", trustFile(), "--json");
    expect(JSON.parse(j.stdout)).to.include({ valid: true, eventId: null, eventIdChecked: false });
  });

  it("trust roots (issue 8): refuses a proof whose noteKeys are fresh keys with the note re-signed", async function () {
    const r = await amp(
      "verify",
      rewrite("fresh-keys.json", resignWithFreshKeys),
      "--rpc",
      rpc,
      "--trust",
      trustFile(),
    );
    expect(r.code).to.equal(1);
    expect(r.stdout).to.match(
      /^INVALID checkpoint\.signedNote: vote signatures under ML-DSA keys registered for .* weight 0 of/,
    );
  });

  it("trust roots (issue 8): refuses a proof with one vote signature stripped (below 2/3)", async function () {
    const stripped = rewrite("stripped.json", (p) => keepVotes(p, voteCount(p) - 1));
    const r = await amp("verify", stripped, "--rpc", rpc, "--trust", trustFile());
    expect(r.code).to.equal(1);
    expect(r.stdout).to.match(/^INVALID checkpoint\.signedNote: .* not more than 2\/3/);
  });

  it("trust roots (issue 8): refuses the second deployment's forgery with the first deployment's trust policy", async function () {
    // As a new user would: fresh keys, a second deployment with the same origins, a made-up event.
    const keys = path.join(dir, "forger-keys");
    const data2 = path.join(dir, "forger-data");
    expect((await amp("keys", "generate", "--out", keys)).code).to.equal(0);
    const d = await amp("deploy", "--rpc", rpc, "--data", data2, "--keys", keys);
    expect(d.code, d.stderr).to.equal(0);
    const [ssid] = loadManifestFederations();
    const madeUp = path.join(dir, "made-up.ndjson");
    const event = generateEvents(ssid!, 0n, 1, "made-up")[0]!;
    fs.writeFileSync(madeUp, JSON.stringify(event) + "\n");
    expect((await amp("ingest", madeUp, "--data", data2)).code).to.equal(0);
    const ran = await amp("run", "--rpc", rpc, "--data", data2, "--keys", keys, "--rounds", "1");
    expect(ran.code, ran.stderr).to.equal(0);
    const id = (event as { event_id: string }).event_id;
    const forged = path.join(dir, "forged.json");
    expect((await amp("proof", id, "--data", data2, "--out", forged)).code).to.equal(0);
    const mine = await amp("verify", forged, "--rpc", rpc, "--trust", path.join(data2, "trust.json"));
    expect(mine.code, mine.stdout).to.equal(0); // sound under its own deployment's policy ...
    const r = await amp("verify", forged, "--rpc", rpc, "--trust", trustFile());
    expect(r.code).to.equal(1); // ... refused under the real one, naming what did not match
    const pinned = readTrustPolicy(trustFile()).anchor;
    expect(r.stdout.trim()).to.match(/^INVALID anchor\.contract: 0x[0-9a-fA-F]{40} is not the pinned anchor/);
    expect(r.stdout).to.contain(`the trust policy pins ${pinned}`);
  });

  it("refuses to run against a restarted chain with a clear one-line reason", async function () {
    // The same port: the data dir's deployment record names this RPC URL.
    await stopHardhatNode(node);
    ({ child: node } = await startHardhatNode(Number(new URL(rpc).port)));
    const r = await amp("run", "--rpc", rpc, "--data", data, "--rounds", "1");
    expect(r.code).to.equal(1);
    expect(r.stderr.trim()).to.match(
      /^amp: DeploymentMismatchError: no contract code for .* restarted or reset/,
    );
    const v = await amp("verify", path.join(dir, "proof.json"), "--rpc", rpc, "--trust", trustFile());
    expect(v.code).to.equal(1);
    expect(v.stdout).to.match(/^INVALID anchor\.contract: holds no contract code/);
  });
});
