import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { FaultInjector, type InjectedFault } from "../../src/consensus/fault-injector";
import { ConsensusValidator, type RoundAlert } from "../../src/consensus/consensus-validator";
import { FederationLog } from "../../src/log";
import { VOTE_CONTEXT, makeVerifier, parseSignedNote, verifyNote } from "../../src/crypto/note";
import { recoverCheckpointSigner } from "../../src/consensus/anchor-signature";
import { buildFederation } from "../../src/rounds/federation";
import { ValidatorNode } from "../../src/consensus/validator-node";
import { MlDsaWorkerPool } from "../../src/crypto/mldsa";
import { DOMAIN, entries, expectedRoot, spec, tmpDir, quietLogs } from "./fixture";

const SSID = "amp.local/ssid";
const OPENCORE = "amp.local/opencore";

function setup(origin: string, n: number, faults: FaultInjector, weights?: bigint[]) {
  const dir = tmpDir("amp-consensus-");
  const alerts: RoundAlert[] = [];
  const fed = buildFederation(spec(origin, n, weights), {
    dataDir: dir,
    domain: DOMAIN,
    faults,
    voteTimeoutMs: 100,
    onAlert: (a) => alerts.push(a),
  });
  return { dir, fed, alerts };
}

describe("consensus/ConsensusValidator: honest rounds", () => {
  quietLogs();
  it("finalises the round with the recomputed root, a verifiable QC and sorted EIP-712 signatures", async () => {
    const { dir, fed } = setup(SSID, 4, new FaultInjector());
    const batch = entries(SSID, 1, 10);
    const out = await fed.coordinator.runRound(1n, batch);
    expect(out.status).to.equal("final");
    if (out.status !== "final") return;
    expect(out.attempts).to.equal(1);
    expect(Buffer.from(out.qc.checkpoint.rootHash)).to.deep.equal(Buffer.from(expectedRoot(batch)));
    expect(out.qc.checkpoint.treeSize).to.equal(10n);
    // A minimal quorum: 3 of 4 equal weights exceed 2/3.
    expect(out.qc.signedWeight).to.equal(7500n);
    expect(out.qc.signers).to.deep.equal(["ssid-1", "ssid-2", "ssid-3"]);
    const verifiers = fed.config.members.map((m) => makeVerifier(m.keyName, m.mldsaPublicKey));
    expect(verifyNote(parseSignedNote(out.qc.note), verifiers, VOTE_CONTEXT)).to.have.length(3);
    const signers = out.qc.eip712Signatures.map((s) =>
      recoverCheckpointSigner(DOMAIN, out.qc.checkpoint, s)!,
    );
    const sorted = [...signers].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    expect(signers).to.deep.equal(sorted);
    expect(new Set(signers)).to.deep.equal(new Set(fed.config.members.slice(0, 3).map((m) => m.address)));
    expect(fed.log.size).to.equal(10n);
    expect(fed.evidence.all()).to.deep.equal([]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("counts a node that fails to answer (its signing backend is gone) as no vote and finalises", async () => {
    const { dir, fed } = setup(SSID, 4, new FaultInjector());
    const closed = new MlDsaWorkerPool(1);
    await closed.close();
    const keys = spec(SSID, 4).nodes[3]!.keys;
    const broken = new ValidatorNode({
      origin: SSID,
      keys,
      dataDir: path.join(dir, "broken"),
      domain: DOMAIN,
      mldsa: closed,
    });
    fed.transport.register(broken); // replaces ssid-4 on the transport
    const out = await fed.coordinator.runRound(1n, entries(SSID, 1, 6));
    expect(out.status).to.equal("final");
    if (out.status !== "final") return;
    expect(out.qc.signers).to.deep.equal(["ssid-1", "ssid-2", "ssid-3"]);
    expect(broken.log.size).to.equal(0n); // the failed signature left its log as it was
    expect(broken.lastSigned()).to.equal(undefined);
    expect(fed.evidence.countersFor(SSID, "ssid-4").roundsParticipated).to.equal(0);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("records no evidence against honest nodes when its own ML-DSA workers fail; the round fails", async () => {
    const { dir, fed } = setup(SSID, 4, new FaultInjector());
    const alerts: RoundAlert[] = [];
    const closed = new MlDsaWorkerPool(1);
    await closed.close();
    const coordinator = new ConsensusValidator({
      federation: fed.config,
      domain: DOMAIN,
      transport: fed.transport,
      evidence: fed.evidence,
      log: new FederationLog(SSID),
      voteTimeoutMs: 100,
      mldsa: closed, // the coordinator cannot check any vote
      onAlert: (a) => alerts.push(a),
    });
    const out = await coordinator.runRound(1n, entries(SSID, 1, 3));
    expect(out).to.deep.include({ status: "failed", attempts: 3 });
    expect(fed.evidence.all()).to.deep.equal([]);
    expect(alerts.map((a) => a.reason)).to.deep.equal(["no checkpoint reached more than 2/3 of the weight"]);
    expect(
      coordinator.federation.members.map((m) => fed.evidence.countersFor(SSID, m.nodeId).votesCast),
    ).to.deep.equal([0, 0, 0, 0]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("extends the log over consecutive rounds", async () => {
    const { fed } = setup(OPENCORE, 3, new FaultInjector(), [3334n, 3333n, 3333n]);
    const all: Uint8Array[] = [];
    for (let r = 1; r <= 3; r++) {
      const b = entries(OPENCORE, r, 5 + r);
      all.push(...b);
      const out = await fed.coordinator.runRound(BigInt(r), b);
      expect(out.status).to.equal("final");
      if (out.status === "final") {
        expect(Buffer.from(out.qc.checkpoint.rootHash)).to.deep.equal(Buffer.from(expectedRoot(all)));
      }
    }
    expect(fed.evidence.countersFor(OPENCORE, "opencore-1")).to.include({
      roundsExpected: 3,
      correctVotes: 3,
    });
  });
});

const KINDS: InjectedFault[] = [
  "wrong-root",
  "equivocation",
  "invalid-signature",
  "wrong-length-signature",
  "withheld-vote",
];

describe("consensus/ConsensusValidator: Byzantine weight below 1/3 (1 of 4 in ssid)", () => {
  quietLogs();
  for (const kind of KINDS) {
    it(`finalises the honest root and stores ${kind} evidence against the faulty node`, async () => {
      const faults = new FaultInjector([{ nodeId: "ssid-3", kind, rounds: [2n] }]);
      const { fed, alerts } = setup(SSID, 4, faults);
      const b1 = entries(SSID, 1, 8);
      const b2 = entries(SSID, 2, 8);
      expect((await fed.coordinator.runRound(1n, b1)).status).to.equal("final");
      const out = await fed.coordinator.runRound(2n, b2);
      expect(out.status).to.equal("final");
      if (out.status !== "final") return;
      expect(Buffer.from(out.qc.checkpoint.rootHash)).to.deep.equal(
        Buffer.from(expectedRoot([...b1, ...b2])),
      );
      expect(out.qc.signers).to.not.include("ssid-3");
      expect(out.qc.signedWeight).to.equal(7500n);
      const ev = fed.evidence.all();
      expect(ev.map((e) => [e.kind, e.nodeId, e.round])).to.deep.equal([[kind, "ssid-3", "2"]]);
      if (kind === "equivocation") expect(ev[0]!.notes).to.have.length(2);
      if (kind !== "withheld-vote") expect(ev[0]!.notes[0]).to.match(/^amp\.local\/ssid\n/);
      const c = fed.evidence.countersFor(SSID, "ssid-3");
      expect(c.correctVotes).to.equal(1);
      expect(c.faults[kind as "wrong-root"]).to.equal(1);
      expect(alerts).to.deep.equal([]);
    });
  }

  it("finalises in opencore when the faulty node holds 3333 of 10000 (below 1/3)", async () => {
    const faults = new FaultInjector([{ nodeId: "opencore-3", kind: "wrong-root" }]);
    const { fed } = setup(OPENCORE, 3, faults, [3334n, 3333n, 3333n]);
    const b = entries(OPENCORE, 1, 5);
    const out = await fed.coordinator.runRound(1n, b);
    expect(out.status).to.equal("final");
    if (out.status !== "final") return;
    expect(out.qc.signedWeight).to.equal(6667n);
    expect(Buffer.from(out.qc.checkpoint.rootHash)).to.deep.equal(Buffer.from(expectedRoot(b)));
    expect(fed.evidence.all().map((e) => e.kind)).to.deep.equal(["wrong-root"]);
  });

  it("lets a node that missed events and the quorum catch up from its peers in the next round", async () => {
    const faults = new FaultInjector([{ nodeId: "ssid-2", kind: "drop-events", rounds: [1n] }]);
    const { fed } = setup(SSID, 4, faults);
    const b = entries(SSID, 1, 9);
    const out = await fed.coordinator.runRound(1n, b);
    expect(out.status).to.equal("final");
    if (out.status !== "final") return;
    // ssid-2 did not vote in attempt 1 but 3 of 4 did, so quorum came in attempt 1 without it.
    expect(out.attempts).to.equal(1);
    expect(out.qc.signers).to.not.include("ssid-2");
    // In round 2 it completes round 1 from its peers first, then votes for the right checkpoint.
    const b2 = entries(SSID, 2, 3);
    const out2 = await fed.coordinator.runRound(2n, b2);
    expect(out2.status).to.equal("final");
    expect(fed.evidence.countersFor(SSID, "ssid-2")).to.include({ roundsExpected: 2, correctVotes: 1 });
    expect(fed.nodes[1]!.log.size).to.equal(12n);
    expect(Buffer.from(fed.nodes[1]!.log.root())).to.deep.equal(Buffer.from(expectedRoot([...b, ...b2])));
  });

  it("retries with resync when missing events block the quorum", async () => {
    const faults = new FaultInjector([
      { nodeId: "ssid-2", kind: "drop-events", rounds: [1n] },
      { nodeId: "ssid-4", kind: "drop-events", rounds: [1n] },
    ]);
    const { fed } = setup(SSID, 4, faults);
    const b = entries(SSID, 1, 9);
    const out = await fed.coordinator.runRound(1n, b);
    expect(out.status).to.equal("final");
    if (out.status !== "final") return;
    expect(out.attempts).to.equal(2);
    expect(out.qc.signers).to.include("ssid-2");
    expect(fed.evidence.countersFor(SSID, "ssid-4").correctVotes).to.equal(1);
    expect(Buffer.from(out.qc.checkpoint.rootHash)).to.deep.equal(Buffer.from(expectedRoot(b)));
  });
});

describe("consensus/ConsensusValidator: Byzantine weight at or above 1/3", () => {
  quietLogs();
  const cases: [string, number, bigint[] | undefined, { nodeId: string; kind: InjectedFault }[]][] = [
    [OPENCORE, 3, [1n, 1n, 1n], [{ nodeId: "opencore-2", kind: "wrong-root" }]],
    [OPENCORE, 3, [1n, 1n, 1n], [{ nodeId: "opencore-3", kind: "withheld-vote" }]],
    [
      SSID,
      4,
      undefined,
      [
        { nodeId: "ssid-1", kind: "wrong-root" },
        { nodeId: "ssid-4", kind: "wrong-root" },
      ],
    ],
    [
      SSID,
      4,
      undefined,
      [
        { nodeId: "ssid-1", kind: "equivocation" },
        { nodeId: "ssid-2", kind: "invalid-signature" },
      ],
    ],
  ];
  for (const [origin, n, weights, rules] of cases) {
    const what = rules.map((r) => `${r.nodeId} ${r.kind}`).join(", ");
    it(`fails round 1 safely after 3 attempts (${what}), then includes its events once the fault clears`, async () => {
      const faults = new FaultInjector(rules.map((r) => ({ ...r, rounds: [1n] })));
      const { fed, alerts } = setup(origin, n, faults, weights);
      const b = entries(origin, 1, 6);
      const out = await fed.coordinator.runRound(1n, b);
      expect(out).to.deep.include({ status: "failed", attempts: 3 });
      expect(alerts).to.have.length(1);
      expect(alerts[0]).to.include({ origin, round: 1n, attempts: 3 });
      expect(fed.log.size).to.equal(0n);
      faults.clear();
      const again = await fed.coordinator.runRound(1n, b);
      expect(again.status).to.equal("final");
      if (again.status !== "final") return;
      expect(Buffer.from(again.qc.checkpoint.rootHash)).to.deep.equal(Buffer.from(expectedRoot(b)));
      expect(fed.log.size).to.equal(6n);
    });
  }
});
