/**
 * Child `amp` processes run the compiled CLI (bin/amp.js prefers dist/). Tests and benchmarks that
 * spawn them call this first: it compiles (`tsc -p tsconfig.build.json`) and bundles the dashboard
 * (dist/src/dashboard/bundle.js) when dist is missing or older than any source file, so they never
 * exercise stale JavaScript or serve stale pages.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..");

function newest(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

export function ensureDist(): void {
  // The stamp holds the newest source time seen BEFORE the last successful build: a file changed
  // during a build is newer than the stamp and triggers the next build.
  const stamp = path.join(ROOT, "dist", ".amp-build-stamp");
  // The same directories bin/amp.js compares dist against (`hardhat compile` rewrites typechain-types).
  const sources = Math.max(...["src", "ignition", "typechain-types"].map((d) => newest(path.join(ROOT, d))));
  const built = fs.existsSync(stamp) ? Number(fs.readFileSync(stamp, "utf8")) : 0;
  if (built >= sources && fs.existsSync(path.join(ROOT, "dist", "src", "cli", "main.js"))) return;
  const tsc = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
  execFileSync(process.execPath, [tsc, "-p", path.join(ROOT, "tsconfig.build.json")], {
    cwd: ROOT,
    stdio: "inherit",
    timeout: 600_000,
  });
  // The dashboard's pages and uPlot next to the compiled server (as `npm run build`): never stale.
  execFileSync(process.execPath, [path.join(ROOT, "dist", "src", "dashboard", "bundle.js")], {
    cwd: ROOT,
    stdio: "ignore",
    timeout: 60_000,
  });
  fs.writeFileSync(stamp, String(sources));
}
