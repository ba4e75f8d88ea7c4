import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { FaultInjector } from "../../src/consensus/fault-injector";
import type { FederationConfig, QuorumCertificate } from "../../src/consensus/types";
import { MlDsaWorkerPool } from "../../src/crypto/mldsa";
import { WITNESS_CONTEXT, makeVerifier, parseSignedNote, verifyNote } from "../../src/crypto/note";
import { GlobalProofNexus, NexusError, type FederationFinal } from "../../src/nexus/global-proof-nexus";
import { globalRoot } from "../../src/nexus/global-root";
import { Witness } from "../../src/nexus/witness";
import { buildFederation, type FederationRuntime } from "../../src/rounds/federation";
import { DOMAIN, entries, spec, tmpDir, quietLogs } from "../consensus/fixture";

const SSID = "amp.local/ssid";
const OPENCORE = "amp.local/opencore";

describe("nexus/GlobalProofNexus", () => {
  quietLogs();
  let dir: string;
  let pool: MlDsaWorkerPool;
  let ssid: FederationRuntime;
  let opencore: FederationRuntime;
  const finals = new Map<string, FederationFinal>();
  const specs = new Map([
    [SSID, spec(SSID, 4)],
    [OPENCORE, spec(OPENCORE, 3, [3334n, 3333n, 3333n])],
  ]);

  before(async () => {
    pool = new MlDsaWorkerPool(2);
    dir = tmpDir("amp-nexus-");
    const opts = { dataDir: dir, domain: DOMAIN, faults: new FaultInjector() };
    ssid = buildFederation(specs.get(SSID)!, opts);
    opencore = buildFederation(specs.get(OPENCORE)!, opts);
    for (const rt of [ssid, opencore]) {
      const out = await rt.coordinator.runRound(1n, entries(rt.config.origin, 1, 7));
      if (out.status !== "final") throw new Error("setup round failed");
      finals.set(rt.config.origin, { qc: out.qc, consistencyProof: (a, b) => rt.log.consistencyProof(a, b) });
    }
  });
  after(async () => {
    await pool.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Witnesses of `rt` watching `other`; the nodes named in `refusing` hold the wrong epoch of it. */
  function witnesses(rt: FederationRuntime, other: FederationRuntime, sub: string, refusing: string[] = []) {
    const wrongEpoch: FederationConfig = { ...other.config, epoch: other.config.epoch + 1n };
    return {
      config: rt.config,
      witnesses: specs.get(rt.config.origin)!.nodes.map(
        ({ keys }) =>
          new Witness({
            witnessOrigin: rt.config.origin,
            keys,
            watched: [refusing.includes(keys.nodeId) ? wrongEpoch : other.config],
            dataDir: path.join(dir, sub, rt.config.origin.replace("/", "_")),
          }),
      ),
    };
  }

  function witnessVerifiers(rt: FederationRuntime) {
    return rt.config.members.map((m) => makeVerifier(`${rt.config.origin}/${m.nodeId}`, m.mldsaPublicKey));
  }

  it("has every witness verify and cosign, in witness order, and computes the global root", async () => {
    const ws = witnesses(ssid, opencore, "all");
    const wo = witnesses(opencore, ssid, "all");
    const nexus = new GlobalProofNexus([ws, wo], { mldsa: pool });
    const round = await nexus.witnessRound(1n, finals);
    const bySsid = round.witnessed.find((w) => w.origin === SSID)!;
    const byOpencore = round.witnessed.find((w) => w.origin === OPENCORE)!;
    // ssid's checkpoint carries all 3 opencore cosignatures, opencore's all 4 of ssid, in node order.
    expect(bySsid.cosignatures.map((c) => c.signature.keyName)).to.deep.equal(
      opencore.nodes.map((n) => `${OPENCORE}/${n.nodeId}`),
    );
    expect(byOpencore.cosignatures.map((c) => c.signature.keyName)).to.deep.equal(
      ssid.nodes.map((n) => `${SSID}/${n.nodeId}`),
    );
    const note = parseSignedNote(bySsid.cosignedNote);
    expect(verifyNote(note, witnessVerifiers(opencore), WITNESS_CONTEXT)).to.have.length(3);
    for (const w of [...ws.witnesses, ...wo.witnesses]) expect(w.references()).to.have.length(1);
    const cp = (qc: QuorumCertificate) => ({
      origin: qc.checkpoint.origin,
      treeSize: qc.checkpoint.treeSize,
      rootHash: qc.checkpoint.rootHash,
    });
    const expected = globalRoot(1n, [cp(finals.get(SSID)!.qc), cp(finals.get(OPENCORE)!.qc)]);
    expect(Buffer.from(round.globalRoot)).to.deep.equal(Buffer.from(expected));
    expect([...round.witnessedAt.keys()].sort()).to.deep.equal([OPENCORE, SSID]);
  });

  it("is witnessed without a refusing witness below 1/3 of its federation's weight", async () => {
    const nexus = new GlobalProofNexus(
      [witnesses(ssid, opencore, "one"), witnesses(opencore, ssid, "one", ["opencore-2"])],
      { mldsa: pool },
    );
    const round = await nexus.witnessRound(1n, finals);
    expect(
      round.witnessed.find((w) => w.origin === SSID)!.cosignatures.map((c) => c.signature.keyName),
    ).to.deep.equal([`${OPENCORE}/opencore-1`, `${OPENCORE}/opencore-3`]);
  });

  it("fails the round (retry later) when refusing witnesses hold 1/3 or more", async () => {
    const nexus = new GlobalProofNexus(
      [witnesses(ssid, opencore, "two"), witnesses(opencore, ssid, "two", ["opencore-1", "opencore-3"])],
      { mldsa: pool },
    );
    let err: unknown;
    try {
      await nexus.witnessRound(1n, finals);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(NexusError);
    expect((err as NexusError).message).to.equal(`${SSID} round 1 not witnessed by > 2/3 of ${OPENCORE}`);
    expect((err as NexusError).kind).to.equal("retry-later");
  });

  it("refuses a checkpoint of another round or a missing federation", async () => {
    const nexus = new GlobalProofNexus([witnesses(ssid, opencore, "bad"), witnesses(opencore, ssid, "bad")]);
    const only = new Map([[SSID, finals.get(SSID)!]]);
    await expectRejection(nexus.witnessRound(1n, only), `no final checkpoint of ${OPENCORE} for round 1`);
    await expectRejection(
      nexus.witnessRound(2n, finals),
      `checkpoint of ${SSID} round 1 given for ${SSID} round 2`,
    );
  });
});

async function expectRejection(p: Promise<unknown>, message: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(NexusError);
    expect((e as Error).message).to.equal(message);
    return;
  }
  throw new Error("expected a NexusError");
}
