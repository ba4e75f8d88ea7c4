/**
 * Child `amp` processes run the compiled CLI (bin/amp.js prefers dist/). Tests and benchmarks that
 * spawn them call this first: it compiles (`tsc -p tsconfig.build.json`) when dist is missing or
 * older than any source file, so they never exercise stale JavaScript.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..");

function newest(dir: string): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

export function ensureDist(): void {
  const main = path.join(ROOT, "dist", "src", "cli", "main.js");
  if (fs.existsSync(main) && fs.statSync(main).mtimeMs >= newest(path.join(ROOT, "src"))) return;
  const tsc = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
  execFileSync(process.execPath, [tsc, "-p", path.join(ROOT, "tsconfig.build.json")], {
    cwd: ROOT,
    stdio: "inherit",
    timeout: 600_000,
  });
  fs.utimesSync(main, new Date(), new Date()); // tsc does not rewrite unchanged outputs
}
