#!/usr/bin/env node
"use strict";
// Thin launcher. Runs the compiled CLI (dist/) when it is there and not older than the sources;
// else the TypeScript sources through ts-node (a checkout being edited, or AMP_FROM_SOURCE=1).
// An installed package ships only dist/, so it always runs compiled.
const path = require("node:path");
const fs = require("node:fs");

const root = path.join(__dirname, "..");
const compiled = path.join(root, "dist", "src", "cli", "main.js");
const SOURCE_DIRS = ["src", "ignition", "typechain-types"];

/** Newest modification time of the .ts files under `dir` (0 when there are none). */
function newestTs(dir) {
  let newest = 0;
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestTs(p));
    else if (e.name.endsWith(".ts")) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

function useCompiled() {
  if (process.env.AMP_FROM_SOURCE === "1" || !fs.existsSync(compiled)) return false;
  if (!fs.existsSync(path.join(root, "src"))) return true;
  const built = fs.statSync(compiled).mtimeMs;
  return SOURCE_DIRS.every((d) => newestTs(path.join(root, d)) <= built);
}

if (useCompiled()) {
  require(compiled).main(process.argv);
} else if (!fs.existsSync(path.join(root, "src"))) {
  process.stderr.write(`amp: no compiled CLI at ${compiled}: reinstall the package\n`);
  process.exit(3);
} else if (!fs.existsSync(path.join(root, "typechain-types", "index.ts"))) {
  process.stderr.write(
    `amp: the contracts are not compiled (no typechain-types/ in ${root}): run "npm run build" there (npm ci does it)\n`,
  );
  process.exit(3);
} else {
  process.env.TS_NODE_TRANSPILE_ONLY ??= "1";
  process.env.TS_NODE_PROJECT ??= path.join(root, "tsconfig.json");
  require("ts-node/register");
  require(path.join(root, "src", "cli", "main.ts")).main(process.argv);
}
