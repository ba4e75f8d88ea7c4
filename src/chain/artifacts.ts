/**
 * Compiled contract artifacts (Hardhat's `artifacts/` folder) for Ignition, without loading a
 * Hardhat runtime: `amp deploy --rpc URL` works against any node from a plain Node process.
 */
import fs from "node:fs";
import path from "node:path";
import type { Artifact, ArtifactResolver, BuildInfo } from "@nomicfoundation/ignition-core";
import { AmpError } from "../util/errors";

/**
 * The repository or installed package root (the folder holding hardhat.embedded.config.js; a
 * package installed from the packed tarball has no hardhat.config.ts), from src/ or dist/src/.
 */
export function projectRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, "hardhat.embedded.config.js"))) return dir;
    const up = path.dirname(dir);
    if (up === dir)
      throw new AmpError("cannot find the project root (hardhat.embedded.config.js) above " + __dirname);
    dir = up;
  }
}

function findArtifactFile(root: string, contractName: string): string | undefined {
  const base = path.join(root, "artifacts", "contracts");
  const stack = [base];
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    if (!fs.existsSync(dir)) continue;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) stack.push(p);
      else if (entry.name === `${contractName}.json`) return p;
    }
  }
  return undefined;
}

/** Reads artifacts compiled by `npx hardhat compile`; a missing one names the fix. */
export class FileArtifactResolver implements ArtifactResolver {
  constructor(private readonly root: string = projectRoot()) {}

  private file(contractName: string): string {
    const f = findArtifactFile(this.root, contractName);
    if (!f) {
      throw new AmpError(`no compiled artifact for ${contractName}: run "npx hardhat compile" first`, {
        kind: "invalid-input",
      });
    }
    return f;
  }

  loadArtifact(contractName: string): Promise<Artifact> {
    return Promise.resolve(JSON.parse(fs.readFileSync(this.file(contractName), "utf8")) as Artifact);
  }

  getBuildInfo(contractName: string): Promise<BuildInfo | undefined> {
    const dbg = this.file(contractName).replace(/\.json$/, ".dbg.json");
    if (!fs.existsSync(dbg)) return Promise.resolve(undefined);
    const rel = (JSON.parse(fs.readFileSync(dbg, "utf8")) as { buildInfo: string }).buildInfo;
    const p = path.join(path.dirname(dbg), rel);
    return Promise.resolve(
      fs.existsSync(p) ? (JSON.parse(fs.readFileSync(p, "utf8")) as BuildInfo) : undefined,
    );
  }
}
