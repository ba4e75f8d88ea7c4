import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import YAML from "yaml";
import { AmpMetrics } from "../../src/telemetry";
import { parseExposition, promtoolRequired, runPromtool } from "../helpers/prom";

const DOCS = path.join(__dirname, "..", "..", "docs");
const PROM = path.join(DOCS, "prometheus");
const doc = () => fs.readFileSync(path.join(DOCS, "operations.md"), "utf8");

/** promtool must run on CI; elsewhere a missing promtool leaves the TypeScript checks. */
function requirePromtool(): boolean {
  const { available, missingOnCi } = promtoolRequired();
  if (missingOnCi) expect.fail("promtool is not installed on CI: .ci/run installs the prometheus package");
  return available;
}

interface Rule {
  alert: string;
  expr: string;
}

describe("docs/operations.md and the example Prometheus files", function () {
  it("lists every amp_ metric with its type in the metrics table", async function () {
    const families = parseExposition(await new AmpMetrics({ processMetrics: false }).metrics());
    const text = doc();
    for (const f of families.values()) {
      const row = new RegExp(`^\\| \`${f.name}\` +\\| ${f.type} +\\|`, "m");
      expect(text, `${f.name} (${f.type})`).to.match(row);
    }
    const documented = [...text.matchAll(/^\| `(amp_[a-z_]+)`/gm)].map((m) => m[1]);
    expect(documented.sort()).to.deep.equal([...families.keys()].sort());
  });

  it("shows the scrape config and the alert rules exactly as in docs/prometheus", function () {
    const text = doc();
    for (const file of ["prometheus.yml", "amp-alerts.yml"]) {
      expect(text, file).to.include(fs.readFileSync(path.join(PROM, file), "utf8").trimEnd());
    }
  });

  it("alerts on round failures, drift alerts, no anchor for N minutes and clock skew, using real metrics", async function () {
    const rules = (
      YAML.parse(fs.readFileSync(path.join(PROM, "amp-alerts.yml"), "utf8")) as {
        groups: { rules: Rule[] }[];
      }
    ).groups.flatMap((g) => g.rules);
    const names = new Set(parseExposition(await new AmpMetrics({ processMetrics: false }).metrics()).keys());
    const byName = new Map(rules.map((r) => [r.alert, r.expr]));
    expect(byName.get("AmpRoundFailures")).to.include('amp_rounds_total{status="failed"}');
    expect(byName.get("AmpDriftAlert")).to.include("amp_drift_alerts_total");
    expect(byName.get("AmpNoAnchor")).to.include("amp_last_anchor_timestamp_seconds");
    expect(byName.get("AmpClockSkew")).to.include("amp_clock_offset_seconds");
    for (const r of rules) {
      for (const used of r.expr.match(/\bamp_[a-z_]+/g) ?? []) {
        const base = used.replace(/_(bucket|sum|count)$/, "");
        expect(names.has(used) || names.has(base), `${r.alert} uses unknown metric ${used}`).to.equal(true);
      }
    }
  });

  it("passes promtool check rules, check config and the rules' unit tests (required on CI)", function () {
    if (!requirePromtool()) return; // the YAML checks above stand in
    const cwd = PROM;
    for (const args of [
      ["check", "rules", path.join(cwd, "amp-alerts.yml")],
      ["check", "config", path.join(cwd, "prometheus.yml")],
      ["test", "rules", path.join(cwd, "amp-alerts.test.yml")],
    ]) {
      const r = runPromtool(args);
      expect(r.status, `${args.join(" ")}: ${r.output}`).to.equal(0);
      expect(r.output).to.match(/SUCCESS/);
    }
  });

  it("promtool refuses a broken rule (the check can fail)", function () {
    if (!requirePromtool()) return;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-rules-"));
    try {
      const bad = path.join(dir, "bad.yml");
      fs.writeFileSync(
        bad,
        "groups:\n  - name: x\n    rules:\n      - alert: Bad\n        expr: rate(amp_rounds_total[5m]\n",
      );
      expect(runPromtool(["check", "rules", bad]).status).to.not.equal(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
