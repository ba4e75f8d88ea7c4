import { expect } from "chai";
import { AmpMetrics } from "../../src/telemetry";
import { mergeExpositions } from "../../src/telemetry/merge";
import { lintExposition, parseExposition, valueOf } from "../helpers/prom";

describe("telemetry: several nodes' expositions merged into one (amp demo --metrics-listen)", function () {
  it("keeps every node's samples, each family's HELP and TYPE once, and stays a valid exposition", async function () {
    const a = new AmpMetrics({ processMetrics: false, defaultLabels: { federation: "f", node: "a" } });
    const b = new AmpMetrics({ processMetrics: false, defaultLabels: { federation: "f", node: "b" } });
    a.rounds.inc({ status: "failed" });
    b.rounds.inc({ status: "failed" });
    b.rounds.inc({ status: "failed" });
    const texts = [await a.metrics(), await b.metrics()];
    const merged = mergeExpositions(texts);
    expect(lintExposition(merged)).to.deep.equal([]);
    const helps = merged.split("\n").filter((l) => l.startsWith("# HELP amp_rounds_total "));
    expect(helps).to.have.length(1);
    const types = merged.split("\n").filter((l) => l.startsWith("# TYPE "));
    expect(new Set(types).size).to.equal(types.length);
    const parsed = parseExposition(merged);
    expect(valueOf(parsed, "amp_rounds_total", { status: "failed", node: "a" })).to.equal(1);
    expect(valueOf(parsed, "amp_rounds_total", { status: "failed", node: "b" })).to.equal(2);
    // Nothing lost: every sample line of each input is in the output.
    const samples = (t: string) => t.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
    expect(samples(merged).length).to.equal(samples(texts[0]!).length + samples(texts[1]!).length);
  });

  it("merges nothing into nothing and an unreachable node's empty text away", function () {
    expect(mergeExpositions([])).to.equal("");
    expect(mergeExpositions(["", "# HELP x_total X\n# TYPE x_total counter\nx_total 1\n"])).to.equal(
      "# HELP x_total X\n# TYPE x_total counter\nx_total 1\n",
    );
  });
});
