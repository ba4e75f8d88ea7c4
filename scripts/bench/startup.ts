/**
 * `npm run bench -- startup [--runs N]`: wall-clock start-up of the `amp` command, as a user starts
 * it (a new `node bin/amp.js …` process each run), for `--help` and `--version`, compiled (dist/,
 * built first by `npm run build`) and from the TypeScript sources (AMP_FROM_SOURCE=1), next to an
 * empty `node -e ""` on the same machine at the same time (the floor). Prints one JSON object with
 * the median and P95 in milliseconds; nothing is asserted.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");
const AMP = path.join(ROOT, "bin", "amp.js");

function timeRuns(runs: number, args: string[], env: NodeJS.ProcessEnv): { medianMs: number; p95Ms: number } {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { env, stdio: "ignore" });
    const t1 = process.hrtime.bigint();
    if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}`);
    ms.push(Number(t1 - t0) / 1e6);
  }
  ms.sort((a, b) => a - b);
  const at = (q: number) => Math.round(ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!);
  return { medianMs: at(0.5), p95Ms: at(0.95) };
}

export function main(args: readonly string[]): Promise<void> {
  const i = args.indexOf("--runs");
  const runs = i >= 0 ? Number(args[i + 1]) : 10;
  if (!Number.isSafeInteger(runs) || runs < 1) throw new Error(`--runs must be an integer ≥ 1`);
  const compiled = path.join(ROOT, "dist", "src", "cli", "main.js");
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(TS_NODE_|AMP_)/.test(k)) delete env[k];
  const result: Record<string, unknown> = {
    bench: "startup",
    runs,
    node: process.version,
    nodeEmpty: timeRuns(runs, ["-e", ""], env),
    sourceHelp: timeRuns(runs, [AMP, "--help"], { ...env, AMP_FROM_SOURCE: "1" }),
  };
  if (fs.existsSync(compiled)) {
    result.compiledHelp = timeRuns(runs, [AMP, "--help"], env);
    result.compiledVersion = timeRuns(runs, [AMP, "--version"], env);
  } else {
    result.compiled = "no dist/: run npm run build first";
  }
  process.stdout.write(JSON.stringify(result) + "\n");
  return Promise.resolve();
}
