/**
 * Compact proofs (`amp proof --compact`): the inclusion path, the checkpoint, the anchor reference
 * and the EIP-712 quorum signatures, without the ML-DSA signed note. Verification says which layers
 * it checked; a note cannot be half removed; tampering is still caught.
 */
import fs from "node:fs";
import { expect } from "chai";
import { connectEmbedded } from "../../src/chain/connect";
import type { ChainConnection } from "../../src/chain/connect";
import type { AnchoringRunner } from "../../src/chain/runner";
import type { ManifestFederation } from "../../src/cli/context";
import { buildProofFile } from "../../src/proof/build";
import type { BuildProofInput } from "../../src/proof/build";
import { isCompact, parseProofFile, serializeProofFile } from "../../src/proof/format";
import type { ProofFile } from "../../src/proof/format";
import { ProofInvalidError, publicClientFor, verifyProof } from "../../src/proof/verify";
import type { TrustRoot } from "../../src/proof/verify";
import { trustPolicyFromChain } from "../../src/trust/policy";
import { deployFresh, ingestGenerated, openRunner, runnerFederations, tmpDir } from "../e2e/helpers";

describe("proof: compact proofs", function () {
  let conn: ChainConnection;
  let dir: string;
  let runner: AnchoringRunner;
  let manifest: ManifestFederation[];
  let input: BuildProofInput;
  let trust: TrustRoot;

  before(async function () {
    conn = await connectEmbedded();
    dir = tmpDir("amp-compact-");
    const record = await deployFresh(conn, dir);
    trust = {
      policy: await trustPolicyFromChain(
        publicClientFor(conn.eip1193),
        record.contracts.globalProofAnchor,
        record.federations,
      ),
    };
    runner = await openRunner(conn, record, dir);
    manifest = (await runnerFederations()).manifest;
    ingestGenerated(runner, manifest, 5);
    await runner.runRound();
    const [ev] = runner.archive.eventsInRange("ssid", 3n, 4n);
    input = {
      archive: runner.archive,
      anchors: runner.anchors,
      eventId: ev!.eventId,
      originOf: (n) => manifest.find((f) => f.name === n)!.origin,
    };
  });

  after(function () {
    runner.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const client = () => publicClientFor(conn.eip1193);
  const rejection = (p: ProofFile) =>
    verifyProof(p, client(), trust).then(
      () => undefined,
      (e: unknown) => e,
    );

  it("leaves out the signed note and its keys, and is written on one line", function () {
    const full = buildProofFile(input);
    const compact = buildProofFile({ ...input, compact: true });
    expect(isCompact(full)).to.equal(false);
    expect(isCompact(compact)).to.equal(true);
    expect(compact.checkpoint).not.to.have.property("signedNote");
    expect(compact.checkpoint).not.to.have.property("noteKeys");
    const { signedNote: _n, noteKeys: _k, ...rest } = full.checkpoint;
    expect(compact.checkpoint).to.deep.equal(rest);
    expect(compact.inclusion).to.deep.equal(full.inclusion);
    expect(compact.anchor).to.deep.equal(full.anchor);
    const text = serializeProofFile(compact);
    expect(text.trimEnd().split("\n")).to.have.length(1);
    expect(parseProofFile(text)).to.deep.equal(compact);
    expect(Buffer.byteLength(text)).to.be.lessThan(Buffer.byteLength(serializeProofFile(full)) / 10);
  });

  it("verifies, saying that only the on-chain quorum layer was checked; the full proof checks both", async function () {
    const compact = await verifyProof(buildProofFile({ ...input, compact: true }), client(), trust);
    expect(compact.layers).to.deep.equal({ onChainQuorum: true, postQuantumNote: false });
    expect(compact.noteVotes).to.equal(undefined);
    expect(compact.noteWitnesses).to.deep.equal([]);
    const full = await verifyProof(buildProofFile(input), client(), trust);
    expect(full.layers).to.deep.equal({ onChainQuorum: true, postQuantumNote: true });
    expect(full.noteVotes!.signatures).to.be.greaterThan(0);
    expect(full.noteWitnesses.length).to.be.greaterThan(0);
  });

  it("refuses a proof with only one of signedNote and noteKeys, naming both", function () {
    const full = buildProofFile(input);
    for (const drop of ["signedNote", "noteKeys"] as const) {
      const p = JSON.parse(serializeProofFile(full)) as { checkpoint: Record<string, unknown> };
      delete p.checkpoint[drop];
      expect(() => parseProofFile(JSON.stringify(p))).to.throw(
        /checkpoint\.signedNote and checkpoint\.noteKeys come together/,
      );
    }
  });

  it("still catches a tampered compact proof, naming the field", async function () {
    const cases: [string, (p: ProofFile) => void][] = [
      ["checkpoint.signatures", (p) => (p.checkpoint.signatures = p.checkpoint.signatures.slice(0, 1))],
      ["inclusion.path", (p) => (p.inclusion.path[0] = "0x" + "00".repeat(32))],
      ["anchor.txHash", (p) => (p.anchor.txHash = "0x" + "ab".repeat(32))],
    ];
    for (const [field, tamper] of cases) {
      const p = buildProofFile({ ...input, compact: true });
      tamper(p);
      const err = await rejection(p);
      expect(err, field).to.be.instanceOf(ProofInvalidError);
      expect((err as ProofInvalidError).shortMessage, field).to.match(
        new RegExp(`^${field.replace(".", "\\.")}`),
      );
    }
  });

  it("for a log of 10^6 events (20 path hashes), digest-only and compact, the file size is reported", function () {
    const p = buildProofFile({ ...input, compact: true, digestOnly: true });
    p.inclusion.path = Array.from(
      { length: 20 },
      (_, i) => "0x" + i.toString(16).padStart(2, "0").repeat(32),
    );
    p.inclusion.treeSize = p.checkpoint.treeSize = "1000000";
    p.inclusion.index = "999999";
    const bytes = Buffer.byteLength(serializeProofFile(p));
    const full = Buffer.byteLength(serializeProofFile(buildProofFile(input)));
    console.log(
      `      compact digest-only proof, 10^6-event log: ${bytes} bytes (full proof here: ${full} bytes)`,
    );
    expect(bytes).to.be.lessThan(full);
  });

  it("the compact encoding is strict: malformed fields are refused by name, tampering is caught by verify", async function () {
    const text = serializeProofFile(buildProofFile({ ...input, compact: true }));
    const compact = JSON.parse(text) as Record<string, unknown> & {
      format: string;
      path: string[];
      checkpoints: [string, string, string][];
    };
    expect(compact.format).to.equal("amp-proof/v1-compact");
    const bad = (edit: (c: typeof compact) => void) => {
      const c = JSON.parse(text) as typeof compact;
      edit(c);
      return () => parseProofFile(JSON.stringify(c));
    };
    expect(bad((c) => (c.path[0] = c.path[0]!.slice(1)))).to.throw(/compact proof file malformed: path\.0: /);
    expect(bad((c) => (c.extra = 1))).to.throw(
      /compact proof file malformed: \(root\): must NOT have additional/,
    );
    expect(bad((c) => (c.checkpoints = c.checkpoints.filter(([o]) => o !== "amp.local/ssid")))).to.throw(
      /checkpoints: no entry for amp\.local\/ssid/,
    );
    expect(bad((c) => (c.signedNote = "x"))).to.throw(/compact proof file malformed/);
    const B64U = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    // set the lowest (unused) bit of the last character: same bytes, another spelling
    const last = (h: string) => h.slice(0, 42) + B64U[B64U.indexOf(h[42]!) ^ 1]!;
    expect(bad((c) => (c.path[1] = last(c.path[1]!)))).to.throw(/path\.1: not canonical base64url/);
    const flipped = JSON.parse(text) as typeof compact;
    const first = flipped.path[0]!;
    flipped.path[0] = (first[0] === "A" ? "B" : "A") + first.slice(1);
    const err = await rejection(parseProofFile(JSON.stringify(flipped)));
    expect(err).to.be.instanceOf(ProofInvalidError);
    expect((err as ProofInvalidError).shortMessage).to.match(/^inclusion\.path/);
  });
});
