#!/usr/bin/env node
"use strict";
// Thin launcher: run the compiled CLI when built, else the TypeScript sources through ts-node.
const path = require("node:path");
const fs = require("node:fs");
const compiled = path.join(__dirname, "..", "dist", "src", "cli", "main.js");
if (fs.existsSync(compiled)) {
  require(compiled).main(process.argv);
} else {
  process.env.TS_NODE_TRANSPILE_ONLY ??= "1";
  process.env.TS_NODE_PROJECT ??= path.join(__dirname, "..", "tsconfig.json");
  require("ts-node/register");
  require(path.join(__dirname, "..", "src", "cli", "main.ts")).main(process.argv);
}
