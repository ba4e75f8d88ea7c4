/** The version of the `amp` package, read from its package.json (works from src/ and dist/src/). */
import fs from "node:fs";
import path from "node:path";

const PACKAGE_NAME = "amp-audit-mesh";

export function packageVersion(start: string = __dirname): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const file = path.join(dir, "package.json");
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, "utf8")) as { name?: unknown; version?: unknown };
      if (pkg.name === PACKAGE_NAME && typeof pkg.version === "string") return pkg.version;
    }
    if (path.dirname(dir) === dir) return "unknown";
  }
}
