import { expect } from "chai";
import { DEFAULT_MANIFEST_PATH, loadManifest, parseManifest, type ManifestProblem } from "../../src/manifest";
import { DEFAULT_DRIFT_CONFIG } from "../../src/drift";
import { driftOptionsFromManifest } from "../../src/drift/runtime";

const BASE = `version: 1
federations:
  - id: alpha
    origin: amp.local/alpha
    nodes:
      - id: a-1
        region: EU
        weight: 10000
        mldsa_key: keys/a-1.mldsa.json
        evm_keystore: keys/a-1.keystore.json
`;

function problem(text: string): ManifestProblem {
  try {
    parseManifest(text, "m.yaml");
  } catch (e) {
    return (e as { meta: { problems: ManifestProblem[] } }).meta.problems[0]!;
  }
  throw new Error("expected the manifest to be refused");
}

describe("drift/manifest: the drift section", () => {
  it("defaults to the seed's threshold 0.10, 500 ms clock tolerance, 5 rounds, no webhooks", () => {
    const o = driftOptionsFromManifest(parseManifest(BASE, "m.yaml"));
    expect(o.config).to.deep.equal(DEFAULT_DRIFT_CONFIG);
    expect(o.webhooks).to.deep.equal([]);
  });

  it("the shipped manifest states the defaults", () => {
    expect(driftOptionsFromManifest(loadManifest(DEFAULT_MANIFEST_PATH)).config).to.deep.equal(
      DEFAULT_DRIFT_CONFIG,
    );
  });

  it("reads configured values", () => {
    const m = parseManifest(
      `${BASE}drift:\n  alert_threshold: 0.2\n  clock_skew_tolerance_ms: 250\n  webhooks: [http://127.0.0.1:9/h]\n`,
      "m.yaml",
    );
    const o = driftOptionsFromManifest(m);
    expect(o.config).to.include({ alertThreshold: 0.2, clockSkewToleranceMs: 250, autoResolveRounds: 5 });
    expect(o.webhooks).to.deep.equal(["http://127.0.0.1:9/h"]);
  });

  it("refuses bad values naming file:line and field", () => {
    expect(problem(`${BASE}drift:\n  alert_threshold: 1.5\n`)).to.include({
      line: 12,
      field: "/drift/alert_threshold",
    });
    expect(problem(`${BASE}drift:\n  clock_skew_tolerance_ms: 0\n`)).to.include({
      line: 12,
      field: "/drift/clock_skew_tolerance_ms",
    });
    expect(problem(`${BASE}drift:\n  webhooks: [ftp://x]\n`).field).to.equal("/drift/webhooks/0");
    expect(problem(`${BASE}drift:\n  threshold: 0.1\n`)).to.include({ field: "/drift/threshold" });
  });
});
