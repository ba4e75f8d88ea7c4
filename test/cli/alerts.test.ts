import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ampInProcess as amp } from "../helpers/cli";
import { runDemo } from "../../src/cli/demo";
import { DriftStore, type AlertRow } from "../../src/drift";
import { lintExposition, parseExposition } from "../helpers/prom";

/**
 * The in-process `amp demo --drift` runs the node layout's code (seven NodeServices in this process,
 * each with its own drift monitor and drift.sqlite); `amp alerts --data DIR` merges every node's
 * alerts (ids `<node>/<id>`). Which rounds a drifting vote reaches in time varies under load; the
 * cause, pair, score and actions do not.
 */
describe("cli: amp demo --drift and amp alerts (node layout, in process)", function () {
  this.timeout(600_000);
  let dir: string;
  let saved: string | undefined;
  const lines: string[] = [];
  let first: AlertRow & { id: string; observedBy: string };
  /** A scrape of --metrics-listen taken while the demo ran (started when its URL was printed). */
  let scrape: Promise<string> | undefined;
  const say = (l: string) => {
    lines.push(l);
    const url = /^metrics: (http:\/\/\S+)/.exec(l)?.[1];
    if (url) scrape = fetch(url).then((r) => r.text());
  };

  before(async function () {
    saved = process.env.AMP_LOG_LEVEL;
    process.env.AMP_LOG_LEVEL = "silent";
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-cli-alerts-"));
    await runDemo(
      {
        rounds: 4,
        events: 10,
        data: dir,
        drift: "serialization_divergence",
        workers: 0,
        metricsListen: "127.0.0.1:0",
      },
      say,
      (l) => lines.push(l),
    );
  });
  after(() => {
    if (saved === undefined) delete process.env.AMP_LOG_LEVEL;
    else process.env.AMP_LOG_LEVEL = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("the demo makes ssid-apac-1 drift and says what the monitors raised", () => {
    const all = lines.join("\n");
    expect(all).to.match(/drift: ssid-apac-1 drifts \(serialization_divergence, 20 % of each batch\)/);
    expect(all).to.match(
      /drift monitor: [1-9]\d* alert\(s\): ssid-[a-z]+-1\/1 serialization_divergence ssid-apac-1 score 0\.20 open/,
    );
    // Every node ran in this process: only the chain was a child process.
    expect(all).to.match(/7 nodes in this process/);
  });

  it("--metrics-listen served every node's metrics merged into one valid exposition during the run", async () => {
    expect(scrape, "no metrics URL printed").not.to.equal(undefined);
    const text = await scrape!;
    expect(lintExposition(text)).to.deep.equal([]);
    const nodes = new Set<string>();
    for (const f of parseExposition(text).values()) for (const x of f.samples) nodes.add(x.labels.node ?? "");
    nodes.delete("");
    expect([...nodes].sort()).to.deep.equal([
      "opencore-apac-1",
      "opencore-eu-1",
      "opencore-us-1",
      "ssid-apac-1",
      "ssid-eu-1",
      "ssid-eu-2",
      "ssid-us-1",
    ]);
    expect(text.split("\n").filter((l) => l.startsWith("# TYPE amp_rounds_total "))).to.have.length(1);
  });

  it("amp alerts list --data DIR shows the alert with its cause, pair, score and actions (text and --json)", async () => {
    const text = await amp("alerts", "list", "--data", dir);
    expect(text.code, text.err).to.equal(0);
    expect(text.out).to.match(
      /#ssid-[a-z]+-1\/1 open medium serialization_divergence {2}amp\.local\/ssid {2}ssid-apac-1 <-> ssid-eu-1 {2}score 0\.20 {2}round [1-9]/,
    );
    expect(text.out).to.match(/\n {4}4\. Check the event schema version/);
    const j = await amp("alerts", "list", "--data", dir, "--json");
    const alerts = JSON.parse(j.out) as (AlertRow & { id: string; observedBy: string })[];
    expect(alerts.length).to.be.greaterThan(0);
    for (const a of alerts) {
      expect(a).to.include({
        cause: "serialization_divergence",
        node: "ssid-apac-1",
        majorityNode: "ssid-eu-1",
        driftScore: 0.2,
        severity: "medium",
        state: "open",
      });
      expect(a.actions).to.have.length(4);
      expect(a.id).to.equal(`${a.observedBy}/1`);
    }
    first = alerts[0]!;
  });

  it("acknowledges and resolves (a note is required), with the history in amp alerts show", async () => {
    const id = first.id;
    expect((await amp("alerts", "ack", id, "--data", dir, "--by", "alice")).code).to.equal(0);
    const noNote = await amp("alerts", "resolve", id, "--data", dir, "--by", "bob", "--note", "  ");
    expect(noNote.code).to.equal(2);
    expect(noNote.err).to.match(/needs a review note/);
    const missing = await amp("alerts", "resolve", id, "--data", dir, "--by", "bob");
    expect(missing.code).to.equal(2);
    const s = new DriftStore(path.join(dir, "nodes", first.observedBy, "drift.sqlite"));
    expect(s.alert(1)!.state).to.equal("acknowledged");
    expect(s.history(1)).to.have.length(2);
    s.close();
    expect(
      (await amp("alerts", "resolve", id, "--data", dir, "--by", "bob", "--note", "pinned the JCS library"))
        .code,
    ).to.equal(0);
    const show = await amp("alerts", "show", id, "--data", dir);
    expect(show.out).to.match(/acknowledged -> resolved by bob: pinned the JCS library/);
    expect(show.out).to.match(
      /round [1-9]: alert serialization_divergence ssid-apac-1 <-> ssid-eu-1 score 0\.20 \(2\/10 leaves\)/,
    );
    const again = await amp("alerts", "ack", id, "--data", dir, "--by", "carol");
    expect(again.code).to.equal(1);
    expect(again.err).to.match(/alert 1 is resolved; it cannot become acknowledged/);
  });

  it("refuses bad input with a clear error and the right exit code", async () => {
    const nodata = await amp("alerts", "list", "--data", path.join(dir, "nope"));
    expect(nodata.code).to.equal(3);
    expect(nodata.err).to.match(/no drift monitor data at .*drift\.sqlite/);
    expect(fs.existsSync(path.join(dir, "nope"))).to.equal(false);
    const badId = await amp("alerts", "show", "one", "--data", dir);
    expect(badId.code).to.equal(2);
    expect(badId.err).to.match(/alert id in a federation dir is <node>\/<id> .*got "one"/);
    const badNum = await amp("alerts", "show", "ssid-eu-1/one", "--data", dir);
    expect(badNum.code).to.equal(2);
    expect(badNum.err).to.match(/alert id must be a positive integer, got "one"/);
    const badState = await amp("alerts", "list", "--data", dir, "--state", "closed");
    expect(badState.code).to.equal(2);
    expect(badState.err).to.match(/unknown alert state "closed"/);
    const unknown = await amp("alerts", "show", `${first.observedBy}/99`, "--data", dir);
    expect(unknown.code).to.equal(1);
    expect(unknown.err).to.match(/no alert 99/);
    const badCause = await amp("demo", "--drift", "cosmic_rays", "--data", path.join(dir, "d2"));
    expect(badCause.code).to.equal(2);
    expect(badCause.err).to.match(/unknown drift cause "cosmic_rays"/);
    expect(fs.existsSync(path.join(dir, "d2"))).to.equal(false);
  });
});
