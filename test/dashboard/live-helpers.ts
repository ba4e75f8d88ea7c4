/**
 * Helpers of the live dashboard test (test/dashboard/live.test.ts): `amp up` as a child process
 * group (stopped as a whole), the compiled `amp` CLI, reads of every node's HTTP API, and an
 * alert's state and history straight from a node's drift.sqlite (read-only).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import Database from "better-sqlite3";
import { DRIFT_DB_FILE } from "../../src/drift/store";
import type { FederationFile } from "../../src/node/local";

const ROOT = path.resolve(__dirname, "..", "..");
export const AMP = path.join(ROOT, "bin", "amp.js");

export function amp(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [AMP, ...args], { cwd: ROOT, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

export interface AmpUp {
  readonly child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM to the whole process group, SIGKILL after 20 s; resolves once it exited. */
  stop(): Promise<void>;
}

/** `amp up --data dir ...args` in its own process group. */
export function spawnAmpUp(dir: string, args: readonly string[]): AmpUp {
  const env: NodeJS.ProcessEnv = { ...process.env, AMP_LOG_LEVEL: "warn" };
  delete env.HARDHAT_NETWORK;
  const child = spawn(process.execPath, [AMP, "up", "--data", dir, ...args], {
    cwd: ROOT,
    env,
    detached: true, // its own process group: stopped as a whole
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (b: Buffer) => (out += b.toString("utf8")));
  child.stderr.on("data", (b: Buffer) => (out += b.toString("utf8")));
  const kill = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // already gone
    }
  };
  return {
    child,
    output: () => out,
    async stop() {
      if (child.pid === undefined || child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      kill("SIGTERM");
      const timer = setTimeout(() => kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** `GET path` of every node as JSON (undefined for a node that does not answer). */
export function everyNode<T>(fed: FederationFile, p: string): Promise<(T | undefined)[]> {
  return Promise.all(
    fed.nodes.map((n) =>
      fetch(`${n.url}${p}`)
        .then((r) => (r.ok ? (r.json() as Promise<T>) : undefined))
        .catch(() => undefined),
    ),
  );
}

/** An open drift alert of some node's monitor, or undefined. */
export async function openAlert(fed: FederationFile): Promise<{ node: string; id: number } | undefined> {
  const all = await everyNode<{ alerts: { id: number; state: string }[] }>(fed, "/v1/drift");
  for (const [i, d] of all.entries()) {
    const a = d?.alerts.find((x) => x.state === "open");
    if (a) return { node: fed.nodes[i]!.id, id: a.id };
  }
  return undefined;
}

/** Alert `id`'s state and the history rows `actor` wrote, from the node's drift.sqlite. */
export function storedAlert(
  dataDir: string,
  id: number,
  actor: string,
): { state: string; history: { to: string; actor: string; note: string }[] } {
  const db = new Database(path.join(dataDir, DRIFT_DB_FILE), { readonly: true, fileMustExist: true });
  try {
    const a = db.prepare("SELECT state FROM drift_alerts WHERE id = ?").get(id) as { state: string };
    const history = db
      .prepare(
        "SELECT to_state AS 'to', actor, note FROM drift_alert_history WHERE alert_id = ? AND actor = ? ORDER BY id",
      )
      .all(id, actor) as { to: string; actor: string; note: string }[];
    return { state: a.state, history };
  } finally {
    db.close();
  }
}
