/** The build step that bundles the dashboard's static files (src/dashboard/bundle.ts). */
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { UPLOT_FILES, bundleDashboard } from "../../src/dashboard/bundle";
import { PAGES, expandLayout } from "../../src/dashboard/layout";
import { tmpDir } from "../node/helpers";

describe("dashboard bundle (build step)", () => {
  it("writes every page with its head and nav included, every script and style, and uPlot from its npm package", () => {
    const src = path.join(__dirname, "..", "..", "src", "dashboard", "public");
    const out = path.join(tmpDir("amp-bundle-"), "public");
    try {
      const files = bundleDashboard(src, out);
      const pages = fs.readdirSync(src).filter((f) => /\.(html|js|css)$/.test(f));
      expect(pages).to.include.members(["index.html", "app.js", "app.css", "nodes.html", "proof.js"]);
      for (const f of pages) {
        const source = fs.readFileSync(path.join(src, f), "utf8");
        const want = f.endsWith(".html") ? expandLayout(source, f) : source;
        expect(fs.readFileSync(path.join(out, f), "utf8"), f).to.equal(want);
      }
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

  it("includes one head and nav per page: its title, its link current, uPlot's style where it plots", () => {
    const src = path.join(__dirname, "..", "..", "src", "dashboard", "public");
    const html = fs.readdirSync(src).filter((f) => f.endsWith(".html"));
    expect(html).to.have.length(PAGES.length);
    for (const f of html) {
      const source = fs.readFileSync(path.join(src, f), "utf8");
      expect(source, f).not.to.include("<nav"); // written once, in layout.ts
      const page = expandLayout(source, f);
      expect(page, f).not.to.include("amp:");
      expect(page.match(/<title>AMP dashboard — [^<]+<\/title>/g), f).to.have.length(1);
      expect(page.match(/<nav aria-label="Dashboard pages">/g), f).to.have.length(1);
      const current = [...page.matchAll(/<a href="([^"]+)" aria-current="page">/g)].map((m) => m[1]);
      expect(current, f).to.deep.equal([f === "index.html" ? "/" : `/${f.replace(".html", "")}`]);
      for (const [p] of PAGES) expect(page, f).to.include(`<a href="${p}"`);
      expect(page.includes("uPlot.min.css"), f).to.equal(page.includes("uPlot.iife.min.js"));
      expect(expandLayout(page, f), f).to.equal(page); // expanding again changes nothing
    }
  });

  it("refuses an unknown marker or page, naming the file and line", () => {
    const bad = [
      ["<head>\n  <!-- amp:footer -->\n", /x\.html:2: unknown layout marker amp:footer/],
      ["\n\n<!-- amp:nav /nowhere -->", /x\.html:3: amp:nav "\/nowhere" is not a page/],
      ["<!-- amp:head <b> -->", /x\.html:1: amp:head title must be plain text/],
    ] as const;
    for (const [text, re] of bad) expect(() => expandLayout(text, "x.html")).to.throw(re);
  });
});
