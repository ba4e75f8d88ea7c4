import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { FaultInjector } from "../../src/consensus/fault-injector";
import { recoverCheckpointSigner } from "../../src/consensus/anchor-signature";
import { WITNESS_CONTEXT, makeVerifier, parseSignedNote, verifyNote } from "../../src/crypto/note";
import { verifyConsistency } from "../../src/merkle";
import { globalRoot } from "../../src/nexus/global-root";
import { RoundMetricsStore } from "../../src/rounds/metrics-store";
import { RoundEngine, type RoundResult } from "../../src/rounds/round-engine";
import { MlDsaWorkerPool } from "../../src/crypto/mldsa";
import { DOMAIN, entries, expectedRoot, spec, tmpDir, quietLogs } from "../consensus/fixture";

const SSID = "amp.local/ssid";
const OPENCORE = "amp.local/opencore";
type Witnessed = Extract<RoundResult, { status: "witnessed" }>;

function witnessed(r: RoundResult): Witnessed {
  if (r.status !== "witnessed") throw new Error(`round ${r.round} failed: ${r.reason}`);
  return r;
}

describe("rounds/RoundEngine", () => {
  quietLogs();
  let dir: string;
  let metrics: RoundMetricsStore;
  const engineConfig = (dataDir: string, faults = new FaultInjector()) => ({
    dataDir,
    domain: DOMAIN,
    federations: [spec(SSID, 4), spec(OPENCORE, 3, [3334n, 3333n, 3333n])],
    faults,
    voteTimeoutMs: 100,
    metrics,
  });
  const make = (faults = new FaultInjector()) => new RoundEngine(engineConfig(dir, faults));
  beforeEach(() => {
    dir = tmpDir("amp-rounds-");
    metrics = new RoundMetricsStore(path.join(dir, "metrics.sqlite"));
  });
  afterEach(() => {
    metrics.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("runs rounds 1..3 to witnessed global roots equal to the nexus global-root function", async () => {
    const engine = make();
    const all = new Map<string, Uint8Array[]>([
      [SSID, []],
      [OPENCORE, []],
    ]);
    let prev: Witnessed | undefined;
    for (let r = 1; r <= 3; r++) {
      for (const o of [SSID, OPENCORE]) {
        const b = entries(o, r, 4 + r);
        all.get(o)!.push(...b);
        engine.enqueue(o, b);
      }
      const res = witnessed(await engine.runRound());
      expect(res.round).to.equal(BigInt(r));
      const expected = globalRoot(
        BigInt(r),
        [SSID, OPENCORE].map((o) => ({
          origin: o,
          treeSize: BigInt(all.get(o)!.length),
          rootHash: expectedRoot(all.get(o)!),
        })),
      );
      expect(Buffer.from(res.globalRoot)).to.deep.equal(Buffer.from(expected));
      if (prev) {
        for (const f of res.federations) {
          const old = prev.federations.find((p) => p.origin === f.origin)!;
          expect(f.anchoredFromSize).to.equal(old.checkpoint.treeSize);
          expect(
            verifyConsistency(
              old.checkpoint.treeSize,
              f.checkpoint.treeSize,
              [...f.consistencyProof],
              old.checkpoint.rootHash,
              f.checkpoint.rootHash,
            ),
          ).to.equal(true);
        }
      } else {
        expect(res.federations.every((f) => f.consistencyProof.length === 0)).to.equal(true);
      }
      engine.markAnchored(res);
      prev = res;
    }
    expect(engine.nextRound).to.equal(4n);
    expect(metrics.rows().map((r) => r.status)).to.deep.equal(["witnessed", "witnessed", "witnessed"]);
  });

  it("returns sorted EIP-712 signatures and cosigned notes carrying the other federation's witnesses", async () => {
    const engine = make();
    engine.enqueue(SSID, entries(SSID, 1, 3));
    engine.enqueue(OPENCORE, entries(OPENCORE, 1, 3));
    const res = witnessed(await engine.runRound());
    const oc = engine.runtimes.get(OPENCORE)!;
    const ssidResult = res.federations.find((f) => f.origin === SSID)!;
    const signers = ssidResult.eip712Signatures.map((s) =>
      BigInt(recoverCheckpointSigner(DOMAIN, ssidResult.checkpoint, s)!),
    );
    expect(signers).to.deep.equal([...signers].sort((a, b) => (a < b ? -1 : 1)));
    const witnesses = oc.config.members.map((m) => makeVerifier(`${OPENCORE}/${m.nodeId}`, m.mldsaPublicKey));
    const cosigned = parseSignedNote(ssidResult.cosignedNote);
    expect(verifyNote(cosigned, witnesses, WITNESS_CONTEXT, {})).to.have.length(3);
    expect(res.witnessBytes).to.be.greaterThan(0);
    expect(res.payloadBytes).to.equal(
      [...entries(SSID, 1, 3), ...entries(OPENCORE, 1, 3)].reduce((a, e) => a + e.length, 0),
    );
  });

  it("fails a round safely at >= 1/3 faulty weight, keeps its number, and includes its events on the retry", async () => {
    // opencore-1 holds 3334 of 10000: at least 1/3.
    const faults = new FaultInjector([{ nodeId: "opencore-1", kind: "wrong-root", rounds: [1n] }]);
    const engine = make(faults);
    const b1 = entries(OPENCORE, 1, 6);
    engine.enqueue(SSID, entries(SSID, 1, 2));
    engine.enqueue(OPENCORE, b1);
    const failed = await engine.runRound();
    expect(failed).to.deep.include({ status: "failed", round: 1n, carriedEntries: 8 });
    expect(engine.nextRound).to.equal(1n);
    engine.enqueue(OPENCORE, entries(OPENCORE, 2, 4)); // waits behind the carried batch
    faults.clear();
    const res = witnessed(await engine.runRound());
    expect(res.round).to.equal(1n);
    const oc = res.federations.find((f) => f.origin === OPENCORE)!;
    expect(oc.checkpoint.treeSize).to.equal(6n);
    expect(Buffer.from(oc.checkpoint.rootHash)).to.deep.equal(Buffer.from(expectedRoot(b1)));
    const next = witnessed(await engine.runRound());
    expect(next.federations.find((f) => f.origin === OPENCORE)!.checkpoint.treeSize).to.equal(10n);
    expect(metrics.rows().map((r) => r.status)).to.deep.equal(["failed", "witnessed", "witnessed"]);
  });

  it("produces byte-identical rounds with ML-DSA on a worker pool and in this thread", async () => {
    const pool = new MlDsaWorkerPool(2);
    try {
      await pool.warmUp();
      // Which validators sign a QC depends on which votes arrive before the timeout; a generous
      // timeout keeps every vote in, so the certificates (not only the roots) must match too.
      const cfg = (sub: string) => ({ ...engineConfig(path.join(dir, sub)), voteTimeoutMs: 30_000 });
      const engines = [new RoundEngine(cfg("inline")), new RoundEngine({ ...cfg("pooled"), mldsa: pool })];
      const results: Witnessed[][] = [[], []];
      for (let r = 1; r <= 2; r++) {
        for (const [i, engine] of engines.entries()) {
          for (const o of [SSID, OPENCORE]) engine.enqueue(o, entries(o, r, 3 + r));
          const res = witnessed(await engine.runRound());
          engine.markAnchored(res);
          results[i]!.push(res);
        }
      }
      const bytes = (rs: Witnessed[]) =>
        rs.map((res) => ({
          globalRoot: Buffer.from(res.globalRoot).toString("hex"),
          feds: res.federations.map((f) => ({
            qc: f.qc.note,
            cosigned: f.cosignedNote,
            eip712: f.eip712Signatures,
            proof: f.consistencyProof.map((h) => Buffer.from(h).toString("hex")),
          })),
        }));
      expect(bytes(results[1]!)).to.deep.equal(bytes(results[0]!));
      // Every witness of the other federation cosigned (the ones past the quorum too).
      expect(
        results[1]![1]!.federations.map((f) => parseSignedNote(f.cosignedNote).signatures.length),
      ).to.deep.equal([
        3 + 3, // ssid: minimal QC of 3 of 4, then 3 opencore witnesses
        2 + 4, // opencore: minimal QC of 2 of 3, then 4 ssid witnesses
      ]);
    } finally {
      await pool.close();
    }
  });

  it("refuses events for an unknown federation without queueing anything", async () => {
    const engine = make();
    expect(() => engine.enqueue("amp.local/x", entries(SSID, 1, 1))).to.throw(/unknown federation/);
    const res = witnessed(await engine.runRound());
    expect(res.federations.map((f) => f.checkpoint.treeSize)).to.deep.equal([0n, 0n]);
  });
});
