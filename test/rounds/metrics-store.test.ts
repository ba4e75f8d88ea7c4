import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { RoundMetricsStore } from "../../src/rounds/metrics-store";
import { tmpDir } from "../consensus/fixture";

describe("rounds/RoundMetricsStore", () => {
  it("stores round rows and lets the anchoring step add latency, gas and tx to the witnessed row", () => {
    const dir = tmpDir("amp-metrics-");
    const file = path.join(dir, "m.sqlite");
    const store = new RoundMetricsStore(file);
    const base = { sealToQuorumMs: { a: 1.5 }, witnessBytes: 10, payloadBytes: 1000, detail: "" };
    store.record({ ...base, round: 1n, status: "failed", quorumToWitnessedMs: null, globalRoot: null });
    store.record({ ...base, round: 1n, status: "witnessed", quorumToWitnessedMs: 2, globalRoot: "ab" });
    store.recordAnchored(1n, { witnessedToAnchoredMs: 3.25, gasUsed: 123456n, txHash: "0x01" });
    store.close();
    const reopened = new RoundMetricsStore(file);
    const rows = reopened.rows();
    expect(rows.map((r) => [r.status, r.gas_used, r.tx_hash, r.witnessed_to_anchored_ms])).to.deep.equal([
      ["failed", null, null, null],
      ["witnessed", 123456, "0x01", 3.25],
    ]);
    expect(JSON.parse(rows[1]!.seal_to_quorum_ms as string)).to.deep.equal({ a: 1.5 });
    reopened.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
