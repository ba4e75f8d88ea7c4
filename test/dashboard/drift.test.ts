import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { expect } from "chai";
import { AnchoringRunner } from "../../src/chain/runner";
import { connectEmbedded } from "../../src/chain/connect";
import type { ChainConnection } from "../../src/chain/connect";
import { DriftInjector } from "../../src/drift/injector";
import { DRIFT_DB_FILE, DriftStore } from "../../src/drift/store";
import { showAlert } from "../../src/drift/api";
import { driftSnapshot, MAX_ACTION_BYTES } from "../../src/dashboard/drift";
import { serveDashboard } from "../../src/dashboard/server";
import type { DashboardServer } from "../../src/dashboard/server";
import { launchBrowser } from "../helpers/browser";
import type { TestBrowser } from "../helpers/browser";
import { deployFresh, ingestGenerated, runnerFederations, tmpDir } from "../e2e/helpers";

describe("dashboard: the Drift page against a real in-process run with an injected drift, in Chromium", function () {
  this.timeout(300_000);
  let conn: ChainConnection;
  let dir: string;
  let runner: AnchoringRunner;
  let server: DashboardServer;
  let browser: TestBrowser;

  /** Read the store as the drift monitor wrote it (a separate connection, like `amp alerts`). */
  function stored<T>(fn: (s: DriftStore) => T): T {
    const s = new DriftStore(path.join(dir, DRIFT_DB_FILE));
    try {
      return fn(s);
    } finally {
      s.close();
    }
  }

  before(async function () {
    conn = await connectEmbedded();
    dir = tmpDir("amp-dashboard-drift-");
    const record = await deployFresh(conn, dir);
    const { feds, manifest } = await runnerFederations();
    // ssid-apac-1 re-serialises 25 % of the batch in round 2: a serialization_divergence alert.
    const injector = new DriftInjector([
      { nodeId: "ssid-apac-1", cause: "serialization_divergence", fraction: 0.25, rounds: [2n] },
    ]);
    runner = await AnchoringRunner.open({
      dataDir: dir,
      conn,
      record,
      federations: feds,
      voteTimeoutMs: 5_000,
      drift: { injector },
    });
    for (let i = 0; i < 3; i++) {
      ingestGenerated(runner, manifest, 8);
      await runner.runRound();
    }
    await runner.drift.idle();
    server = await serveDashboard(dir, "127.0.0.1:0");
    browser = await launchBrowser();
  });

  after(async function () {
    await browser?.close();
    await server?.close();
    runner?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  function theAlert() {
    const alerts = stored((s) => s.alerts({ node: "ssid-apac-1" }));
    expect(alerts).to.have.length(1);
    return alerts[0]!;
  }

  it("shows the alert with cause, pair, score, severity and actions exactly as stored, and plots", async function () {
    const a = theAlert();
    expect(a.cause).to.equal("serialization_divergence");
    const { page, errors } = await browser.page();
    await page.goto(server.url + "drift");
    const card = page.locator(`article[data-alert-id="${a.id}"]`);
    await card.waitFor();
    expect(await card.locator("h3").textContent()).to.equal(
      `#${a.id} ${a.cause} — ${a.node} ↔ ${a.majorityNode}`,
    );
    expect(await card.locator('[data-field="severity"]').textContent()).to.equal(a.severity);
    expect(await card.locator('[data-field="drift-score"]').textContent()).to.equal(a.driftScore!.toFixed(3));
    expect(await card.locator('[data-field="state"]').textContent()).to.equal("open");
    expect(await card.locator("ol.actions li").allTextContents()).to.deep.equal(a.actions);
    expect(a.actions.length).to.be.at.least(3);
    const findings = stored((s) => s.findings());
    expect(await page.locator("#findings tr").count()).to.equal(findings.length);
    const f = findings.find((x) => x.alertId === a.id)!;
    const cells = await page.locator(`#findings tr[data-key="${f.id}"] td`).allTextContents();
    expect(cells).to.deep.equal([
      "2",
      f.federation,
      `${f.node} ↔ ${f.majorityNode}`,
      f.cause,
      f.driftScore!.toFixed(3),
      f.severity,
      "alert",
      `#${a.id}`,
    ]);
    expect(stored((s) => s.clockOffsets()).length).to.be.greaterThan(0);
    await page.locator("#score-plot canvas").first().waitFor();
    await page.locator("#clock-plot canvas").first().waitFor();
    await browser.screenshot(page, "dashboard-drift");
    expect(errors).to.deep.equal([]);
  });

  it("acknowledges and then resolves the alert from the page; the store keeps who and the note", async function () {
    const a = theAlert();
    const { page, errors } = await browser.page();
    await page.goto(server.url + "drift");
    const card = page.locator(`article[data-alert-id="${a.id}"]`);
    await card.waitFor();
    await page.getByLabel("Your name").fill("alice");
    await page.getByLabel(`Note for alert ${a.id}`).fill("looking at apac-1's encoder");
    await page.getByRole("button", { name: `Acknowledge alert ${a.id}` }).click();
    await page.locator(`article[data-alert-id="${a.id}"][data-state="acknowledged"]`).waitFor();
    expect(stored((s) => s.alert(a.id)!.state)).to.equal("acknowledged");

    // Resolving without a note is refused on the page, and nothing is sent.
    await page.getByRole("button", { name: `Resolve alert ${a.id}` }).click();
    await page.locator("#action-status", { hasText: "needs a note" }).waitFor();
    expect(stored((s) => s.alert(a.id)!.state)).to.equal("acknowledged");

    await page.getByLabel(`Note for alert ${a.id}`).fill("encoder fixed, RFC 8785 restored");
    await page.getByRole("button", { name: `Resolve alert ${a.id}` }).click();
    await page.locator(`article[data-alert-id="${a.id}"][data-state="resolved"]`).waitFor();
    const detail = stored((s) => showAlert(s, a.id));
    expect(detail.alert.state).to.equal("resolved");
    expect(detail.history.map((h) => [h.from, h.to, h.actor, h.note])).to.deep.equal([
      [null, "open", "drift-monitor", detail.history[0]!.note],
      ["open", "acknowledged", "alice", "looking at apac-1's encoder"],
      ["acknowledged", "resolved", "alice", "encoder fixed, RFC 8785 restored"],
    ]);
    const shown = await page.locator(`article[data-alert-id="${a.id}"] ul.history li`).allTextContents();
    expect(shown.at(-1)).to.match(/acknowledged → resolved by alice: encoder fixed, RFC 8785 restored$/);
    expect(await page.locator(`article[data-alert-id="${a.id}"] form`).count()).to.equal(0);
    await browser.screenshot(page, "dashboard-drift-resolved");
    expect(errors).to.deep.equal([]);
  });

  describe("the POST routes refuse bad or cross-site input and change nothing", function () {
    let id: number;
    const post = (p: string, body: string, headers: Record<string, string> = {}) =>
      fetch(server.url + p, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
      });

    before(function () {
      // A fresh alert to attack: open a new one by recording an alert-kind finding.
      id = stored((s) => {
        const f = s.findings().find((x) => x.kind === "alert")!;
        const { opened } = s.recordFinding({ ...f, node: "ssid-us-1", round: 3n }, 1);
        return opened!.id;
      });
    });

    const cases: [string, () => Promise<Response>, number, RegExp][] = [
      [
        "text/plain body",
        () => post(`api/drift/alerts/${id}/ack`, `{"by":"x"}`, { "content-type": "text/plain" }),
        415,
        /application\/json/,
      ],
      [
        "form body",
        () =>
          post(`api/drift/alerts/${id}/ack`, "by=x", { "content-type": "application/x-www-form-urlencoded" }),
        415,
        /application\/json/,
      ],
      [
        "foreign Origin",
        () => post(`api/drift/alerts/${id}/ack`, `{"by":"x"}`, { origin: "http://evil.example" }),
        403,
        /cross-origin/,
      ],
      [
        "cross-site fetch",
        () => post(`api/drift/alerts/${id}/ack`, `{"by":"x"}`, { "sec-fetch-site": "cross-site" }),
        403,
        /cross-site/,
      ],
      [
        "oversized body",
        () =>
          post(`api/drift/alerts/${id}/ack`, JSON.stringify({ by: "x", note: "n".repeat(MAX_ACTION_BYTES) })),
        413,
        /larger than/,
      ],
      ["not JSON", () => post(`api/drift/alerts/${id}/ack`, "{by:"), 400, /not JSON/],
      ["array body", () => post(`api/drift/alerts/${id}/ack`, "[]"), 400, /JSON object/],
      [
        "unknown field",
        () => post(`api/drift/alerts/${id}/ack`, `{"by":"x","state":"resolved"}`),
        400,
        /unknown field "state"/,
      ],
      ["missing by", () => post(`api/drift/alerts/${id}/ack`, `{"note":"n"}`), 400, /field "by"/],
      [
        "note not a string",
        () => post(`api/drift/alerts/${id}/ack`, `{"by":"x","note":5}`),
        400,
        /field "note"/,
      ],
      [
        "resolve without note",
        () => post(`api/drift/alerts/${id}/resolve`, `{"by":"x","note":"  "}`),
        400,
        /required to resolve/,
      ],
      ["bad id", () => post(`api/drift/alerts/0x1/ack`, `{"by":"x"}`), 400, /positive integer/],
      ["unknown id", () => post(`api/drift/alerts/99999/ack`, `{"by":"x"}`), 404, /no alert 99999/],
    ];
    for (const [name, send, status, message] of cases) {
      it(`${name} → ${status}`, async function () {
        const before = stored((s) => showAlert(s, id));
        const res = await send();
        expect(res.status).to.equal(status);
        expect(((await res.json()) as { error: string }).error).to.match(message);
        expect(stored((s) => showAlert(s, id))).to.deep.equal(before);
      });
    }

    it("a rebound host name (DNS rebinding) → 403; a chunked oversized body → 413", async function () {
      const before = stored((s) => showAlert(s, id));
      const url = new URL(server.url);
      const send = (headers: Record<string, string>, body: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = http.request(
            {
              host: url.hostname,
              port: url.port,
              method: "POST",
              path: `/api/drift/alerts/${id}/ack`,
              headers,
            },
            (res) => {
              let b = "";
              res.on("data", (c: Buffer) => (b += c.toString()));
              res.on("end", () => resolve({ status: res.statusCode ?? 0, body: b }));
            },
          );
          req.on("error", reject);
          req.end(body);
        });
      const rebound = await send(
        {
          host: `evil.example:${url.port}`,
          origin: `http://evil.example:${url.port}`,
          "content-type": "application/json",
        },
        `{"by":"x"}`,
      );
      expect(rebound.status).to.equal(403);
      expect((JSON.parse(rebound.body) as { error: string }).error).to.match(/host "evil\.example/);
      const chunked = await send(
        { "content-type": "application/json", "transfer-encoding": "chunked" },
        JSON.stringify({ by: "x", note: "n".repeat(3 * MAX_ACTION_BYTES) }),
      );
      expect(chunked.status).to.equal(413);
      expect(stored((s) => showAlert(s, id))).to.deep.equal(before);
    });

    it("a transition the workflow forbids → 409; GET on an action route → 405", async function () {
      const ok = await post(`api/drift/alerts/${id}/resolve`, `{"by":"bob","note":"false positive"}`);
      expect(ok.status).to.equal(200);
      const before = stored((s) => showAlert(s, id));
      const res = await post(`api/drift/alerts/${id}/ack`, `{"by":"bob"}`);
      expect(res.status).to.equal(409);
      expect(((await res.json()) as { error: string }).error).to.match(
        /is resolved; it cannot become acknowledged/,
      );
      expect(stored((s) => showAlert(s, id))).to.deep.equal(before);
      expect((await fetch(server.url + `api/drift/alerts/${id}/ack`)).status).to.equal(405);
      expect((await fetch(server.url + "api/drift", { method: "POST" })).status).to.equal(405);
    });
  });

  it("reads a data dir without drift.sqlite as no drift, and creates nothing", function () {
    const empty = tmpDir("amp-dashboard-drift-empty-");
    try {
      expect(driftSnapshot(empty)).to.deep.equal({ alerts: [], findings: [], clock: [] });
      expect(fs.readdirSync(empty)).to.deep.equal([]);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
