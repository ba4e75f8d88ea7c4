import { expect } from "chai";
import path from "node:path";
import { Wallet } from "ethers";
import { signClockStamp } from "../../src/consensus/clock-stamp";
import {
  clockSamples,
  DriftMonitor,
  DriftStore,
  detectDrift,
  DEFAULT_DRIFT_CONFIG,
  InProcessDriftProbe,
} from "../../src/drift";
import { quietLogs, tmpDir } from "../consensus/fixture";
import { events, SEED_NODES, syntheticCollection } from "./fixture";

const ORIGIN = "amp.local/cleanfed";

describe("drift/monitor: clean rounds", () => {
  quietLogs();

  it("1,000 clean rounds (precomputed checkpoints) raise no finding", async function () {
    this.timeout(300_000);
    const store = new DriftStore(path.join(tmpDir("amp-drift-clean-"), "drift.sqlite"));
    let probed = 0;
    const probe = new InProcessDriftProbe();
    const counting = {
      rangeHashes: (...a: Parameters<InProcessDriftProbe["rangeHashes"]>) => (
        probed++,
        probe.rangeHashes(...a)
      ),
      entriesAt: (...a: Parameters<InProcessDriftProbe["entriesAt"]>) => (probed++, probe.entriesAt(...a)),
    };
    const monitor = new DriftMonitor({ store, probe: counting });
    const pool = events(ORIGIN, 1, 400);
    for (let r = 1; r <= 1000; r++) {
      const size = 1 + ((r * 7) % 40);
      const batch = pool.slice(r % 300, (r % 300) + size);
      monitor.observe(
        syntheticCollection(
          ORIGIN,
          BigInt(r),
          batch,
          SEED_NODES.map((nodeId) => ({ nodeId, entries: batch })),
        ),
      );
    }
    await monitor.idle();
    expect(store.roundsObserved(ORIGIN)).to.equal(1000);
    expect(store.findings()).to.deep.equal([]);
    expect(store.alerts()).to.deep.equal([]);
    expect(probed).to.equal(0);
    store.close();
  });

  it("clocks jittering within the tolerance (±200 ms network delay) raise no clock_skew", async () => {
    const wallets = SEED_NODES.map(() => Wallet.createRandom());
    for (let r = 1; r <= 20; r++) {
      const batch = events(ORIGIN, r, 3);
      const base = syntheticCollection(
        ORIGIN,
        BigInt(r),
        batch,
        SEED_NODES.map((nodeId) => ({ nodeId, entries: batch })),
      );
      const body = base.proposals[0]!.checkpoints[0]!.body;
      const now = Date.now();
      const c = syntheticCollection(
        ORIGIN,
        BigInt(r),
        batch,
        SEED_NODES.map((nodeId, i) => ({
          nodeId,
          entries: batch,
          address: wallets[i]!.address,
          clock: signClockStamp(wallets[i]!, { origin: ORIGIN, epoch: 1n, round: BigInt(r), body }, now),
          receivedAtMs: now + ((r * 37 + i * 101) % 400) - 200,
        })),
      );
      expect(await detectDrift(c, new InProcessDriftProbe(), DEFAULT_DRIFT_CONFIG)).to.deep.equal([]);
      const out = clockSamples(c, DEFAULT_DRIFT_CONFIG);
      expect(out.samples).to.have.length(4);
      expect(out.findings).to.deep.equal([]);
    }
  });
});
