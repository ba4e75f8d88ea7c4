/**
 * A local federation on this machine — the chain (a child `hardhat node` unless `rpc` is given),
 * the deployment (first start), and every manifest node as its own child process (`amp node`) on
 * loopback, supervised (restart with backoff). `<data>/federation.json` describes what runs (read by
 * `amp status`). Used by `amp up`, the demo and the benchmarks; each caller adds its own node
 * options through `nodeArgs` (drift injection, epoch length, faults, ...).
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { stringify } from "yaml";
import { writeFileAtomic } from "../consensus/atomic-file";
import { DEFAULT_MANIFEST_PATH, loadManifest, type Manifest } from "../manifest";
import { CannotCheckError } from "../cli/exit";
import { Supervisor } from "./supervisor";
import { THROWAWAY_PASSWORD, writeThrowawayKeys } from "./throwaway-keys";
export const FEDERATION_FILE = "federation.json";
/** The package root (src/cli or dist/src/cli are below it): where bin/amp.js lives. */
function packageRoot(): string {
  for (let d = __dirname; d !== path.dirname(d); d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, "bin", "amp.js"))) return d;
  }
  throw new CannotCheckError(`bin/amp.js not found above ${__dirname}`);
}
const repoRoot = packageRoot();
const AMP_BIN = path.join(repoRoot, "bin", "amp.js");

export interface FederationFile {
  rpc: string;
  trustPolicy: string;
  deployment: string;
  manifest: string;
  supervisorPid: number;
  chainPid: number | null;
  /** The dashboard's URL when `amp up` serves one (absent otherwise). */
  dashboard?: string;
  nodes: {
    id: string;
    federation: string;
    url: string;
    pid: number | null;
    restarts: number;
    dataDir: string;
  }[];
  updatedAt: string;
}

export interface LocalFederationOptions {
  /** Data dir of the federation (absolute or relative to the working directory). */
  readonly data: string;
  /** Use this chain instead of starting a child `hardhat node`. */
  readonly rpc?: string;
  /** Manifest file (default: the shipped default manifest). */
  readonly manifest?: string;
  /** Key dir (password: AMP_KEYSTORE_PASSWORD); default: THROWAWAY DEMO KEYS under <data>/keys. */
  readonly keys?: string;
  /** Extra `amp node` arguments for one node (e.g. `["--drift", "timestamp_drift"]`). */
  readonly nodeArgs?: (nodeId: string) => readonly string[];
  /** Progress lines (default: none). */
  readonly say?: (line: string) => void;
  /**
   * Start one `amp node` child per manifest node (default true). false: only the chain, keys and
   * deployment; the caller runs the nodes itself (in-process mode, `startInProcessNodes`).
   */
  readonly startNodes?: boolean;
}

export interface LocalFederation {
  readonly data: string;
  readonly rpc: string;
  readonly logs: string;
  readonly keysDir: string;
  readonly state: FederationFile;
  readonly supervisor: Supervisor;
  /** Stop every child process (nodes first, then the chain) and remove federation.json. */
  stop(): Promise<void>;
}

/** Whether 127.0.0.1:`port` can be listened on now (0: any port); the port it got, or undefined. */
function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(undefined));
    s.listen(port, "127.0.0.1", () => {
      const got = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(got));
    });
  });
}

/** The kernel's range of local ports for outgoing connections (Linux; the usual default elsewhere). */
function ephemeralPorts(): { lo: number; hi: number } {
  try {
    const [lo, hi] = fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/);
    if (Number(lo) > 0 && Number(hi) >= Number(lo)) return { lo: Number(lo), hi: Number(hi) };
  } catch {
    // not Linux
  }
  return { lo: 32768, hi: 60999 };
}

/** Ports below the ephemeral range tried before falling back to one the kernel picks. */
const PORT_TRIES = 64;
const LOWEST_PORT = 10_000;

/**
 * A loopback port free now, for a listener started later (a node's URL in the data dir's
 * manifest, a chain child). Picked BELOW the kernel's ephemeral range: a port from `listen(0)` is
 * one any process's next outgoing connection may take before the listener binds it, and keep
 * (a keep-alive connection) — seen in CI as `listen EADDRINUSE` on a manifest port, twice in a row.
 * Random within the range, so concurrent pickers rarely meet; checked free by listening on it.
 */
export async function freePort(): Promise<number> {
  const top = ephemeralPorts().lo - 1;
  for (let i = 0; i < PORT_TRIES && top > LOWEST_PORT; i++) {
    const got = await tryListen(LOWEST_PORT + Math.floor(Math.random() * (top - LOWEST_PORT + 1)));
    if (got !== undefined) return got;
  }
  const any = await tryListen(0);
  if (any === undefined) throw new Error("no free loopback port");
  return any;
}

async function waitForRpc(url: string, deadlineMs: number): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      });
      if (res.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > end) throw new CannotCheckError(`no JSON-RPC answer at ${url} within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The effective manifest in the data dir: nodes without an explicit url get a free loopback port. */
async function effectiveManifest(data: string, source: string): Promise<string> {
  const file = path.join(data, "manifest.yaml");
  if (fs.existsSync(file)) return file;
  const m: Manifest = loadManifest(source);
  const raw = fs.readFileSync(source, "utf8");
  for (const f of m.federations) {
    for (const n of f.nodes) {
      const explicit = new RegExp(`id:\\s*${n.id}\\s*\\n(?:\\s+\\w+:.*\\n)*?\\s+url:`).test(raw);
      if (!explicit) n.url = `http://127.0.0.1:${await freePort()}`;
    }
  }
  const { source: _source, ...rest } = m;
  void _source;
  fs.writeFileSync(file, `# written by amp up from ${source}\n${stringify(rest)}`);
  return file;
}

function cmdline(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return undefined; // gone (or not Linux: nothing to check against)
  }
}

/**
 * Children of an earlier `amp up` on `data` that died without stopping them (SIGKILL, OOM) keep
 * running and hold the node ports. Stop them (SIGTERM, SIGKILL after `graceMs`): only pids recorded
 * in `<data>/federation.json` whose command line still names their node's data dir (or, for the
 * chain, `hardhat node`), so a reused pid is never hit. Refuses while that `amp up` still runs.
 * Returns the pids stopped.
 */
export async function reapOrphans(data: string, graceMs = 10_000): Promise<number[]> {
  let old: Pick<FederationFile, "supervisorPid" | "chainPid" | "nodes">;
  try {
    old = JSON.parse(fs.readFileSync(path.join(data, FEDERATION_FILE), "utf8")) as typeof old;
  } catch {
    return [];
  }
  const sup = old.supervisorPid;
  if (sup !== process.pid && / up( |$)/.test(cmdline(sup) ?? "")) {
    throw new CannotCheckError(`amp up is already running on ${data} (pid ${sup}); stop it first`);
  }
  const targets: number[] = [];
  for (const n of old.nodes) {
    if (n.pid !== null && cmdline(n.pid)?.includes(n.dataDir)) targets.push(n.pid);
  }
  if (old.chainPid !== null && /hardhat.* node /.test(cmdline(old.chainPid) ?? ""))
    targets.push(old.chainPid);
  const signal = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  for (const pid of targets) signal(pid, "SIGTERM");
  const end = Date.now() + graceMs;
  while (targets.some((p) => cmdline(p) !== undefined) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const pid of targets) if (cmdline(pid) !== undefined) signal(pid, "SIGKILL");
  return targets;
}

function runChild(args: string[], env: NodeJS.ProcessEnv, logFile: string): Promise<number> {
  return new Promise((resolve) => {
    const out = fs.openSync(logFile, "a");
    const c = spawn(process.execPath, [AMP_BIN, ...args], { env, stdio: ["ignore", out, out] });
    fs.closeSync(out);
    c.on("exit", (code) => resolve(code ?? 1));
  });
}

/** Start a local federation; on failure every child already started is stopped. */
export async function startLocalFederation(opts: LocalFederationOptions): Promise<LocalFederation> {
  const say = opts.say ?? (() => undefined);
  const data = path.resolve(opts.data);
  const logs = path.join(data, "logs");
  fs.mkdirSync(logs, { recursive: true });
  const reaped = await reapOrphans(data);
  if (reaped.length > 0)
    say(`stopped ${reaped.length} processes left by an amp up that died: ${reaped.join(", ")}`);
  const manifestFile = await effectiveManifest(data, path.resolve(opts.manifest ?? DEFAULT_MANIFEST_PATH));
  const manifest = loadManifest(manifestFile);
  const nodes = manifest.federations.flatMap((f) => f.nodes.map((n) => ({ ...n, federation: f.id })));
  let keysDir = opts.keys ? path.resolve(opts.keys) : path.join(data, "keys");
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.HARDHAT_NETWORK;
  if (!opts.keys) {
    await writeThrowawayKeys(
      keysDir,
      nodes.map((n) => n.id),
    );
    env.AMP_KEYSTORE_PASSWORD = THROWAWAY_PASSWORD;
  } else if (!env.AMP_KEYSTORE_PASSWORD) {
    throw new CannotCheckError("set AMP_KEYSTORE_PASSWORD to read the keystores in --keys");
  }
  keysDir = path.resolve(keysDir);
  let state: FederationFile | undefined;
  const sup = new Supervisor(() => {
    if (!state) return;
    state.chainPid = sup.pid("chain") ?? null;
    for (const n of state.nodes) {
      n.pid = sup.pid(n.id) ?? null;
      n.restarts = sup.restarts(n.id);
    }
    state.updatedAt = new Date().toISOString();
    writeFileAtomic(path.join(data, FEDERATION_FILE), JSON.stringify(state, null, 2));
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    say("stopping every child process…");
    await sup.stopAll();
    fs.rmSync(path.join(data, FEDERATION_FILE), { force: true });
  };
  try {
    let rpc = opts.rpc;
    if (!rpc) {
      const port = await freePort();
      rpc = `http://127.0.0.1:${port}`;
      const hardhat = require.resolve("hardhat/internal/cli/cli.js", { paths: [repoRoot] });
      // An installed package ships no hardhat.config.ts: its plain-JS config (the same network).
      const config = fs.existsSync(path.join(repoRoot, "hardhat.config.ts"))
        ? {}
        : { HARDHAT_CONFIG: path.join(repoRoot, "hardhat.embedded.config.js") };
      sup.start({
        name: "chain",
        command: process.execPath,
        args: [hardhat, "node", "--hostname", "127.0.0.1", "--port", String(port)],
        cwd: repoRoot,
        env: { ...env, ...config },
        logFile: path.join(logs, "chain.log"),
        restart: false,
      });
      // A new dev chain holds nothing: an old deployment and old node data no longer apply.
      for (const stale of ["deployment.json", "nodes", "ignition", "trust.json"]) {
        fs.rmSync(path.join(data, stale), { recursive: true, force: true });
      }
    }
    await waitForRpc(rpc, 60_000);
    const deployArgs = ["deploy", "--rpc", rpc, "--data", data, "--manifest", manifestFile];
    if (opts.keys) deployArgs.push("--keys", keysDir);
    const code = await runChild(deployArgs, env, path.join(logs, "deploy.log"));
    if (code !== 0)
      throw new CannotCheckError(`amp deploy failed (exit ${code}); see ${path.join(logs, "deploy.log")}`);
    state = {
      rpc,
      trustPolicy: path.join(data, "trust.json"),
      deployment: path.join(data, "deployment.json"),
      manifest: manifestFile,
      supervisorPid: process.pid,
      chainPid: null,
      nodes: nodes.map((n) => ({
        id: n.id,
        federation: n.federation,
        url: n.url,
        pid: null,
        restarts: 0,
        dataDir: path.join(data, "nodes", n.id),
      })),
      updatedAt: new Date().toISOString(),
    };
    state.chainPid = sup.pid("chain") ?? null;
    for (const n of state.nodes) {
      fs.mkdirSync(n.dataDir, { recursive: true });
      if (opts.startNodes === false) continue;
      sup.start({
        name: n.id,
        command: process.execPath,
        args: [
          AMP_BIN,
          "node",
          ...["--manifest", manifestFile, "--node", n.id, "--data", n.dataDir, "--keys", keysDir],
          ...["--rpc", rpc, "--deployment", state.deployment],
          ...(opts.nodeArgs?.(n.id) ?? []),
        ],
        env,
        logFile: path.join(logs, `${n.id}.log`),
      });
    }
    return { data, rpc, logs, keysDir, state, supervisor: sup, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
