/**
 * Build step (`npm run build`, after tsc): copy the dashboard's static files next to the compiled
 * server — its own pages from src/dashboard/public, each page's shared head and navigation
 * included (layout.ts `expandLayout`), and uPlot's script and style from the `uplot` npm package —
 * into dist/src/dashboard/public(/assets). The compiled dashboard then serves only
 * files bundled at build time (no CDN, no node_modules lookup at run time, works offline and from
 * the packed tarball, which ships dist/ but not src/). Run: `node dist/src/dashboard/bundle.js`.
 */
import fs from "node:fs";
import path from "node:path";
import { expandLayout } from "./layout";

export const UPLOT_FILES = ["uPlot.iife.min.js", "uPlot.min.css"] as const;

/** Write the pages (layout included) and uPlot into `outDir` (created); returns the files written. */
export function bundleDashboard(srcPublic: string, outDir: string): string[] {
  const written: string[] = [];
  fs.mkdirSync(path.join(outDir, "assets"), { recursive: true });
  for (const f of fs.readdirSync(srcPublic)) {
    if (!/\.(html|js|css)$/.test(f)) continue;
    if (f.endsWith(".html")) {
      const page = fs.readFileSync(path.join(srcPublic, f), "utf8");
      fs.writeFileSync(path.join(outDir, f), expandLayout(page, path.join(srcPublic, f)));
    } else fs.copyFileSync(path.join(srcPublic, f), path.join(outDir, f));
    written.push(path.join(outDir, f));
  }
  const uplot = path.dirname(require.resolve("uplot/dist/uPlot.iife.min.js"));
  for (const f of UPLOT_FILES) {
    fs.copyFileSync(path.join(uplot, f), path.join(outDir, "assets", f));
    written.push(path.join(outDir, "assets", f));
  }
  return written;
}

if (require.main === module) {
  // dist/src/dashboard/bundle.js → the sources' public dir is ../../../src/dashboard/public.
  const root = path.resolve(__dirname, "..", "..", "..");
  const files = bundleDashboard(
    path.join(root, "src", "dashboard", "public"),
    path.join(__dirname, "public"),
  );
  process.stdout.write(`dashboard: bundled ${files.length} files into ${path.join(__dirname, "public")}\n`);
}
