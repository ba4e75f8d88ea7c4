/**
 * The CI federation smoke step (.ci/run, after `npm test`): `amp up` starts a local federation
 * (a child hardhat node, the deployment, seven `amp node` processes from dist/), `amp submit`
 * sends generated events to one node of each federation, the script waits until every node
 * archived them (anchored rounds), then `amp consistency --data` must exit 0. Exit 0 on success,
 * 1 on any failure (with the reason and the tail of the logs). `amp up` runs in its own process
 * group, stopped with SIGTERM (SIGKILL after 20 s) whatever happened, also on SIGINT/SIGTERM.
 *
 *   npx ts-node scripts/federation-smoke.ts [--events N] [--timeout-seconds S]
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { generateEvents } from "../src/cli/generate";
import { loadManifestFederations } from "../src/cli/context";
import type { FederationFile } from "../src/node/local";
import type { NodeStatus } from "../src/node/node";
import { ensureDist } from "./ensure-dist";

const ROOT = path.resolve(__dirname, "..");
const AMP = path.join(ROOT, "bin", "amp.js");

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i < 0 ? fallback : Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(v) || v < 1) throw new Error(`${name} must be an integer ≥ 1`);
  return v;
}

const say = (l: string) => process.stdout.write(`federation smoke: ${l}\n`);

function amp(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [AMP, ...args], { cwd: ROOT, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, out: stdout + stderr });
    });
  });
}

async function until<T>(
  what: string,
  f: () => Promise<T | undefined> | T | undefined,
  end: number,
): Promise<T> {
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function status(url: string): Promise<NodeStatus | undefined> {
  try {
    const res = await fetch(`${url}/v1/status`, { signal: AbortSignal.timeout(2000) });
    return res.ok ? ((await res.json()) as NodeStatus) : undefined;
  } catch {
    return undefined;
  }
}

function stop(up: ChildProcess | undefined): Promise<void> {
  if (up?.pid === undefined || up.exitCode !== null || up.signalCode !== null) return Promise.resolve();
  const pid = up.pid;
  return new Promise((resolve) => {
    const kill = setTimeout(() => {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // gone
      }
      resolve();
    }, 20_000);
    up.once("exit", () => {
      clearTimeout(kill);
      try {
        process.kill(-pid, "SIGKILL"); // anything left in the group
      } catch {
        // all gone
      }
      resolve();
    });
    process.kill(-pid, "SIGTERM");
  });
}

async function main(): Promise<void> {
  const events = arg("--events", 20);
  const end = Date.now() + arg("--timeout-seconds", 240) * 1000;
  ensureDist();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-ci-smoke-"));
  const upLog = path.join(dir, "amp-up.log");
  const out = fs.openSync(upLog, "a");
  const up = spawn(process.execPath, [AMP, "up", "--data", dir], {
    cwd: ROOT,
    detached: true, // its own process group, stopped as a whole
    stdio: ["ignore", out, out],
    env: { ...process.env, AMP_LOG_LEVEL: "warn" },
  });
  fs.closeSync(out);
  const onSignal = () => void stop(up).finally(() => process.exit(1));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let ok = false;
  try {
    const fed = await until(
      "federation.json",
      () => {
        const f = path.join(dir, "federation.json");
        if (up.exitCode !== null) throw new Error(`amp up exited with ${up.exitCode}`);
        return fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, "utf8")) as FederationFile) : undefined;
      },
      end,
    );
    await until(
      "every node answering",
      async () =>
        (await Promise.all(fed.nodes.map((n) => status(n.url)))).every(Boolean) ? true : undefined,
      end,
    );
    say(`${fed.nodes.length} nodes up (chain ${fed.rpc})`);
    const want = new Map<string, number>();
    for (const f of loadManifestFederations(fed.manifest)) {
      const file = path.join(dir, `${f.name}.ndjson`);
      const lines = generateEvents(f, 0n, events, "ci-smoke").map((e) => JSON.stringify(e));
      fs.writeFileSync(file, lines.join("\n") + "\n");
      const target = fed.nodes.find((n) => n.federation === f.name)!;
      const r = await amp(["submit", file, "--node", target.url]);
      if (r.code !== 0) throw new Error(`amp submit to ${target.id} exited ${r.code}: ${r.out.trim()}`);
      say(`amp submit: ${events} ${f.name} events acknowledged by ${target.id}`);
      want.set(f.name, events);
    }
    await until(
      "every node archived the submitted events (anchored rounds)",
      async () => {
        const st = await Promise.all(fed.nodes.map((n) => status(n.url)));
        const done = st.every(
          (s) =>
            s &&
            s.pendingEvents === 0 &&
            s.treeSize === String(want.get(s.federation)) &&
            s.lastAnchoredRound !== "0",
        );
        return done ? st[0]!.lastAnchoredRound : undefined;
      },
      end,
    );
    const cons = await amp(["consistency", "--data", dir]);
    process.stdout.write(cons.out);
    if (cons.code !== 0) throw new Error(`amp consistency exited ${cons.code}`);
    say("ok: events anchored, every node consistent with the anchored roots");
    ok = true;
  } catch (e) {
    say(`FAILED: ${(e as Error).message}`);
    const logs = path.join(dir, "logs");
    for (const f of [
      upLog,
      ...(fs.existsSync(logs) ? fs.readdirSync(logs).map((x) => path.join(logs, x)) : []),
    ]) {
      const text = fs.readFileSync(f, "utf8").trim().split("\n").slice(-5).join("\n");
      if (text) process.stdout.write(`--- ${path.basename(f)} (last lines)\n${text}\n`);
    }
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    await stop(up);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.exit(ok ? 0 : 1);
}

void main();
