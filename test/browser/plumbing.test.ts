import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { launchBrowser } from "../helpers/browser";
import type { TestBrowser } from "../helpers/browser";

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>AMP browser check</title></head>
<body><main><h1>Rounds</h1>
<label for="q">Event id</label><input id="q" name="q">
<output id="echo" aria-live="polite"></output>
<script>
document.getElementById("q").addEventListener("input", (e) => {
  document.getElementById("echo").textContent = e.target.value;
});
if (location.hash === "#broken") console.error("deliberate error");
</script></main></body></html>`;

describe("browser plumbing: Debian Chromium through playwright-core", function () {
  this.timeout(120_000);
  let server: http.Server;
  let url: string;
  let browser: TestBrowser;

  before(async function () {
    server = http.createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end(PAGE));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    browser = await launchBrowser();
  });

  after(async function () {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it("loads a loopback page, types through its label, takes a screenshot, no console errors", async function () {
    const { page, errors } = await browser.page();
    await page.goto(url);
    expect(await page.title()).to.equal("AMP browser check");
    await page.getByLabel("Event id").fill("abc-123");
    expect(await page.locator("#echo").textContent()).to.equal("abc-123");
    const shot = await browser.screenshot(page, "browser-plumbing");
    expect(fs.statSync(shot).size).to.be.greaterThan(1000);
    expect(errors).to.deep.equal([]);
  });

  it("collects console errors so a test can fail on them", async function () {
    const { page, errors } = await browser.page();
    await page.goto(url + "#broken");
    await page.waitForLoadState("load");
    expect(errors).to.deep.equal(["console: deliberate error"]);
  });
});
