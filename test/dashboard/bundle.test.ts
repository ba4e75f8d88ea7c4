/** The build step that bundles the dashboard's static files (src/dashboard/bundle.ts). */
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { UPLOT_FILES, bundleDashboard } from "../../src/dashboard/bundle";
import { tmpDir } from "../node/helpers";

describe("dashboard bundle (build step)", () => {
  it("copies every page, script and style, and uPlot from its npm package", () => {
    const src = path.join(__dirname, "..", "..", "src", "dashboard", "public");
    const out = path.join(tmpDir("amp-bundle-"), "public");
    try {
      const files = bundleDashboard(src, out);
      const pages = fs.readdirSync(src).filter((f) => /\.(html|js|css)$/.test(f));
      expect(pages).to.include.members(["index.html", "app.js", "app.css", "nodes.html", "proof.js"]);
      for (const f of pages)
        expect(fs.readFileSync(path.join(out, f))).to.deep.equal(fs.readFileSync(path.join(src, f)));
      const uplot = path.dirname(require.resolve("uplot/dist/uPlot.iife.min.js"));
      for (const f of UPLOT_FILES) {
        expect(fs.readFileSync(path.join(out, "assets", f))).to.deep.equal(
          fs.readFileSync(path.join(uplot, f)),
        );
      }
      expect(files).to.have.length(pages.length + UPLOT_FILES.length);
    } finally {
      fs.rmSync(path.dirname(out), { recursive: true, force: true });
    }
  });
});
