import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { deriveThrowawayKeys } from "../../src/crypto/keys";
import {
  VOTE_CONTEXT,
  WITNESS_CONTEXT,
  checkpointBody,
  formatSignedNote,
  makeSigner,
  makeVerifier,
  parseSignedNote,
  signBody,
  verifySignature,
  type NoteSignature,
} from "../../src/crypto/note";
import { FaultInjector } from "../../src/consensus/fault-injector";
import type { QuorumCertificate } from "../../src/consensus/types";
import { Witness, WitnessError } from "../../src/nexus/witness";
import { MlDsaPoolError, MlDsaWorkerPool, inlineMlDsa, type MlDsaBackend } from "../../src/crypto/mldsa";
import { buildFederation } from "../../src/rounds/federation";
import { DOMAIN, entries, spec, tmpDir, quietLogs } from "../consensus/fixture";

const SSID = "amp.local/ssid";

async function code(p: () => Promise<unknown>): Promise<string> {
  try {
    await p();
  } catch (e) {
    expect(e).to.be.instanceOf(WitnessError);
    return (e as WitnessError).code;
  }
  throw new Error("expected a WitnessError");
}

describe("nexus/Witness", () => {
  // The same checks with ML-DSA in this thread and on worker threads.
  let pool: MlDsaWorkerPool;
  before(() => {
    pool = new MlDsaWorkerPool(2);
  });
  after(() => pool.close());
  const modes: [string, () => MlDsaBackend][] = [
    ["ML-DSA in this thread", () => inlineMlDsa],
    ["ML-DSA on a worker pool", () => pool],
  ];
  for (const [mode, backend] of modes) describe(mode, () => witnessTests(backend));
});

function witnessTests(backend: () => MlDsaBackend): void {
  quietLogs();
  const cosign = (w: Witness, note: string, proof: readonly Uint8Array[]): Promise<NoteSignature> =>
    w.cosign(note, proof, backend());
  let dir: string;
  const qcs: QuorumCertificate[] = [];
  let fed: ReturnType<typeof buildFederation>;
  const witnessKeys = deriveThrowawayKeys("witness-test", "opencore-1");
  const newWitness = () =>
    new Witness({
      witnessOrigin: "amp.local/opencore",
      keys: witnessKeys,
      watched: [fed.config],
      dataDir: path.join(dir, "w"),
    });

  before(async () => {
    dir = tmpDir("amp-witness-");
    fed = buildFederation(spec(SSID, 4), { dataDir: dir, domain: DOMAIN, faults: new FaultInjector() });
    for (let r = 1; r <= 2; r++) {
      const out = await fed.coordinator.runRound(BigInt(r), entries(SSID, r, 5));
      if (out.status !== "final") throw new Error("setup round failed");
      qcs.push(out.qc);
    }
  });
  beforeEach(() => fs.rmSync(path.join(dir, "w"), { recursive: true, force: true }));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A QC for `cp` signed by the first `n` ssid validators (they are throwaway keys). */
  function forgedQc(cp: QuorumCertificate["checkpoint"], n: number): string {
    const body = checkpointBody(cp);
    const sigs = fed.nodes.slice(0, n).map((node) => signBody(body, node.signer, VOTE_CONTEXT));
    return formatSignedNote({ body, signatures: sigs });
  }

  it("cosigns a valid QC with an amp/witness/v1 signature and stores only a reference", async () => {
    const w = newWitness();
    const sig = await cosign(w, qcs[0]!.note, []);
    const v = makeVerifier(w.signer.keyName, witnessKeys.mldsa.publicKey);
    verifySignature(parseSignedNote(qcs[0]!.note).body, sig, v, WITNESS_CONTEXT);
    expect(w.lastWitnessed(SSID)?.treeSize).to.equal(5n);
    const refs = w.references();
    expect(refs).to.have.length(1);
    expect(Object.keys(refs[0]!).sort()).to.deep.equal([
      "origin",
      "qcSignatures",
      "rootHex",
      "round",
      "treeSize",
    ]);
  });

  it("cosigns the next checkpoint only with a valid consistency proof from the last witnessed size", async () => {
    const w = newWitness();
    await cosign(w, qcs[0]!.note, []);
    const proof = fed.log.consistencyProof(5n, 10n);
    const bad = proof.map((h, i) => (i === 0 ? Uint8Array.from(h).fill(9) : h));
    expect(await code(() => cosign(w, qcs[1]!.note, bad))).to.equal("bad-consistency-proof");
    expect(await code(() => cosign(w, qcs[1]!.note, []))).to.equal("bad-consistency-proof");
    expect(w.lastWitnessed(SSID)?.treeSize).to.equal(5n);
    await cosign(w, qcs[1]!.note, proof);
    expect(w.lastWitnessed(SSID)?.treeSize).to.equal(10n);
  });

  it("refuses a rollback, also after a restart", async () => {
    const w = newWitness();
    await cosign(w, qcs[0]!.note, []);
    await cosign(w, qcs[1]!.note, fed.log.consistencyProof(5n, 10n));
    expect(await code(() => cosign(w, qcs[0]!.note, []))).to.equal("rollback");
    expect(await code(() => cosign(newWitness(), qcs[0]!.note, []))).to.equal("rollback");
  });

  it("recovers from a torn last reference line: restarts with the state before it and repairs the file", async () => {
    const w = newWitness();
    await cosign(w, qcs[0]!.note, []);
    await cosign(w, qcs[1]!.note, fed.log.consistencyProof(5n, 10n));
    const file = path.join(
      dir,
      "w",
      fs.readdirSync(path.join(dir, "w")).find((f) => f.endsWith(".witnessed.jsonl"))!,
    );
    const whole = fs.readFileSync(file);
    const firstEnd = whole.indexOf(0x0a) + 1;
    fs.truncateSync(file, firstEnd + 40); // crash in the middle of appending the second reference
    const restarted = newWitness(); // used to fail at every start-up once a record was appended
    expect(restarted.lastWitnessed(SSID)?.treeSize).to.equal(5n);
    expect(fs.readFileSync(file)).to.deep.equal(whole.subarray(0, firstEnd));
    expect(restarted.references()).to.have.length(1);
    await cosign(restarted, qcs[1]!.note, fed.log.consistencyProof(5n, 10n));
    expect(newWitness().lastWitnessed(SSID)?.treeSize).to.equal(10n);
    expect(
      newWitness()
        .references()
        .map((r) => r.treeSize),
    ).to.deep.equal(["5", "10"]);
  });

  it("refuses a second root for a size it already witnessed, and re-cosigns the same one", async () => {
    const w = newWitness();
    await cosign(w, qcs[0]!.note, []);
    const root = Uint8Array.from(qcs[0]!.checkpoint.rootHash);
    root[5] = root[5]! ^ 1;
    const fork = forgedQc({ ...qcs[0]!.checkpoint, rootHash: root }, 3);
    expect(await code(() => cosign(w, fork, []))).to.equal("second-root");
    await cosign(w, qcs[0]!.note, []);
    expect(w.references()).to.have.length(2);
  });

  it("refuses QCs without > 2/3 of the weight, with a bad signature, or malformed, storing nothing", async () => {
    const w = newWitness();
    expect(await code(() => cosign(w, forgedQc(qcs[0]!.checkpoint, 2), []))).to.equal("no-quorum");
    const note = parseSignedNote(qcs[0]!.note);
    const s0 = note.signatures[0]!;
    const flipped = Uint8Array.from(s0.signature);
    flipped[10] = flipped[10]! ^ 1;
    const tampered = formatSignedNote({
      body: note.body,
      signatures: [{ ...s0, signature: flipped }, ...note.signatures.slice(1)],
    });
    expect(await code(() => cosign(w, tampered, []))).to.equal("bad-qc-signature");
    const short = formatSignedNote({
      body: note.body,
      signatures: [{ ...s0, signature: s0.signature.slice(1) }],
    });
    expect(await code(() => cosign(w, short, []))).to.equal("bad-qc-signature");
    expect(await code(() => cosign(w, "garbage", []))).to.equal("malformed-qc");
    const stranger = makeSigner(`${SSID}/x`, witnessKeys.mldsa.publicKey, witnessKeys.mldsa.secretKey);
    const foreign = formatSignedNote({
      body: note.body,
      signatures: [signBody(note.body, stranger, VOTE_CONTEXT)],
    });
    expect(await code(() => cosign(w, foreign, []))).to.equal("no-quorum");
    expect(await code(() => cosign(w, forgedQc({ ...qcs[0]!.checkpoint, epoch: 2n }, 4), []))).to.equal(
      "wrong-epoch",
    );
    expect(
      await code(() => cosign(w, forgedQc({ ...qcs[0]!.checkpoint, origin: "amp.local/x" }, 4), [])),
    ).to.equal("unknown-origin");
    expect(w.lastWitnessed(SSID)).to.equal(undefined);
    expect(w.references()).to.deep.equal([]);
  });

  it("decides on the state after its last wait: a checkpoint overtaken by a newer one is a rollback", async () => {
    const w = newWitness();
    // Hold the verification of the first QC until the second has been cosigned.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const body0 = new TextEncoder().encode(parseSignedNote(qcs[0]!.note).body);
    const gated: MlDsaBackend = {
      sign: (m, k, c) => backend().sign(m, k, c),
      verify: async (sig, m, k, c) => {
        if (Buffer.from(m).equals(Buffer.from(body0))) await held;
        return backend().verify(sig, m, k, c);
      },
    };
    const first = w.cosign(qcs[0]!.note, [], gated);
    await w.cosign(qcs[1]!.note, [], gated); // first checkpoint this witness sees: no proof needed
    release();
    expect(await code(() => first)).to.equal("rollback");
    expect(w.lastWitnessed(SSID)?.treeSize).to.equal(10n);
    expect(w.references().map((r) => r.treeSize)).to.deep.equal(["10"]);
  });

  it("keeps its state when its signature fails after the QC verified", async () => {
    const w = newWitness();
    const closed = new MlDsaWorkerPool(1);
    await closed.close();
    const noSigning: MlDsaBackend = {
      verify: (...a) => backend().verify(...a),
      sign: (...a) => closed.sign(...a),
    };
    let err: unknown;
    try {
      await w.cosign(qcs[0]!.note, [], noSigning);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(MlDsaPoolError);
    expect(w.lastWitnessed(SSID)).to.equal(undefined);
    expect(w.references()).to.deep.equal([]);
    await cosign(w, qcs[0]!.note, []); // and it cosigns once its backend works
    expect(w.references()).to.have.length(1);
  });
}
