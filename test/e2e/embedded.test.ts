import fs from "node:fs";
import { expect } from "chai";
import type { PublicClient } from "viem";
import { AnchorReader } from "../../src/chain/round-records";
import { connectEmbedded } from "../../src/chain/connect";
import type { ChainConnection } from "../../src/chain/connect";
import type { DeploymentRecord } from "../../src/chain/deployment";
import { federationIdOf } from "../../src/chain/ids";
import type { AnchoringRunner, RoundReport } from "../../src/chain/runner";
import { rootHash } from "../../src/merkle";
import { globalRoot } from "../../src/nexus/global-root";
import { buildProofFile } from "../../src/proof/build";
import type { ProofFile } from "../../src/proof/format";
import { parseProofFile, serializeProofFile } from "../../src/proof/format";
import { ProofInvalidError, publicClientFor, verifyProof } from "../../src/proof/verify";
import { GlobalProofAnchor__factory } from "../../typechain-types";
import { deployFresh, ingestGenerated, openRunner, runnerFederations, tmpDir, trustOf } from "./helpers";
import type { TrustRoot } from "../../src/proof/verify";

const hex = (b: Uint8Array): string => "0x" + Buffer.from(b).toString("hex");

describe("e2e on the in-process network: rounds, anchors, proofs", function () {
  let conn: ChainConnection;
  let record: DeploymentRecord;
  let dir: string;
  let runner: AnchoringRunner;
  let client: PublicClient;
  const reports: RoundReport[] = [];
  let sample: ProofFile;
  let trust: TrustRoot;

  before(async function () {
    conn = await connectEmbedded();
    dir = tmpDir("amp-e2e-");
    record = await deployFresh(conn, dir);
    runner = await openRunner(conn, record, dir);
    const { manifest } = await runnerFederations();
    for (let r = 0; r < 3; r++) {
      ingestGenerated(runner, manifest, 5 + r * 3);
      reports.push(await runner.runRound());
    }
    client = publicClientFor(conn.eip1193);
    trust = await trustOf(conn, record);
  });

  after(function () {
    runner.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("anchors one round per runRound with the global root of the archived logs", async function () {
    expect(reports.map((r) => r.status)).to.deep.equal(["anchored", "anchored", "anchored"]);
    const anchor = GlobalProofAnchor__factory.connect(record.contracts.globalProofAnchor, conn.provider);
    expect(await anchor.nextRound()).to.equal(4n);
    for (const [i, r] of reports.entries()) {
      if (r.status === "failed") throw new Error("unreachable");
      const round = BigInt(i + 1);
      const checkpoints = (await runnerFederations()).feds.map((f) => {
        const size = r.federations.find((x) => x.origin === f.origin)!.treeSize;
        const leaves = runner.archive.leafHashes(f.name, 0n, size);
        return { origin: f.origin, treeSize: size, rootHash: rootHash(leaves) };
      });
      expect((await new AnchorReader(anchor).anchorOf(round)).globalRoot).to.equal(
        hex(globalRoot(round, checkpoints)),
      );
      for (const cp of checkpoints) {
        const { treeSize: size, rootHash: root } = await new AnchorReader(anchor).checkpointOf(
          round,
          federationIdOf(cp.origin),
        );
        expect([size, root]).to.deep.equal([cp.treeSize, hex(cp.rootHash)]);
      }
    }
    expect(runner.anchors.all().map((a) => a.round)).to.deep.equal([1n, 2n, 3n]);
  });

  it("builds proofs for random archived events that verify against the chain", async function () {
    const { feds } = await runnerFederations();
    let verified = 0;
    for (let i = 0; i < 6; i++) {
      const f = feds[i % feds.length]!;
      const n = Number(runner.archive.nextSeq(f.name));
      const seq = BigInt(Math.floor(Math.random() * n));
      const [ev] = runner.archive.eventsInRange(f.name, seq, seq + 1n);
      const proof = buildProofFile({
        archive: runner.archive,
        anchors: runner.anchors,
        eventId: ev!.eventId,
        originOf: (name) => feds.find((x) => x.name === name)!.origin,
      });
      const text = serializeProofFile(proof);
      const v = await verifyProof(parseProofFile(text), client, trust);
      expect(v.index).to.equal(seq);
      verified++;
      sample = proof;
    }
    expect(verified).to.equal(6);
  });

  describe("rejects a proof with any single field changed, naming the field", function () {
    const flipHex = (h: string): string => h.slice(0, -1) + (h.endsWith("0") ? "1" : "0");
    const cases: [string, string, (p: ProofFile) => void][] = [
      [
        "event content (still canonical JSON)",
        "event.leafHash",
        (p) => (p.event.canonical = p.event.canonical!.replace(/"timestamp":"2026/, '"timestamp":"2027')),
      ],
      [
        "event bytes (no longer canonical JSON)",
        "event.canonical",
        (p) => (p.event.canonical = p.event.canonical!.replace(/^\{/, "{ ")),
      ],
      ["event id", "event.id", (p) => (p.event.id = "00000000-0000-4000-a000-000000000000")],
      ["leaf hash", "event.leafHash", (p) => (p.event.leafHash = flipHex(p.event.leafHash))],
      [
        "federation id",
        "federation.federationId",
        (p) => (p.federation.federationId = flipHex(p.federation.federationId)),
      ],
      [
        "inclusion index",
        "inclusion.path",
        (p) => (p.inclusion.index = String((BigInt(p.inclusion.index) + 1n) % BigInt(p.inclusion.treeSize))),
      ],
      ["inclusion path hash", "inclusion.path", (p) => (p.inclusion.path[0] = flipHex(p.inclusion.path[0]!))],
      ["inclusion path length", "inclusion.path", (p) => p.inclusion.path.pop()],
      [
        "inclusion tree size",
        "inclusion.treeSize",
        (p) => (p.inclusion.treeSize = String(BigInt(p.inclusion.treeSize) + 1n)),
      ],
      [
        "checkpoint tree size",
        "checkpoint.treeSize",
        (p) => {
          const s = String(BigInt(p.checkpoint.treeSize) + 1n);
          p.checkpoint.treeSize = s;
          p.inclusion.treeSize = s;
          p.nexus.checkpoints.find((c) => c.origin === p.federation.origin)!.treeSize = s;
        },
      ],
      [
        "checkpoint root",
        "checkpoint.rootHash",
        (p) => {
          const r = flipHex(p.checkpoint.rootHash);
          p.checkpoint.rootHash = r;
          p.nexus.checkpoints.find((c) => c.origin === p.federation.origin)!.rootHash = r;
        },
      ],
      ["checkpoint epoch", "checkpoint.epoch", (p) => (p.checkpoint.epoch = "2")],
      [
        "EIP-712 signature",
        "checkpoint.signatures",
        (p) =>
          (p.checkpoint.signatures[0] =
            p.checkpoint.signatures[0]!.slice(0, 10) + "00" + p.checkpoint.signatures[0]!.slice(12)),
      ],
      [
        "dropped EIP-712 signature (no quorum)",
        "checkpoint.signatures",
        (p) => (p.checkpoint.signatures = p.checkpoint.signatures.slice(0, 1)),
      ],
      [
        "signed note",
        "checkpoint.signedNote",
        (p) =>
          (p.checkpoint.signedNote = p.checkpoint.signedNote!.replace(
            /\n\n— (\S+) ([A-Za-z0-9+/]{8})/,
            (_m, k: string, b: string) => `\n\n— ${k} ${b.slice(0, 7)}${b[7] === "A" ? "B" : "A"}`,
          )),
      ],
      [
        "note key",
        "checkpoint.signedNote",
        (p) => {
          const [a, b] = p.checkpoint.noteKeys!;
          [a!.publicKey, b!.publicKey] = [b!.publicKey, a!.publicKey];
        },
      ],
      [
        "witness cosignature line",
        "checkpoint.signedNote",
        (p) => {
          const lines = p.checkpoint.signedNote!.split("\n");
          const i = lines.findIndex((l) => l.startsWith("— ") && !l.startsWith(`— ${p.federation.origin}/`));
          lines.splice(i, 1);
          p.checkpoint.signedNote = lines.join("\n");
          if (!lines.some((l) => l.startsWith("— ") && !l.startsWith(`— ${p.federation.origin}/`))) return;
          // still other cosignatures: forge one instead so the check must catch a bad signature
          const j = lines.findIndex((l) => l.startsWith("— ") && !l.startsWith(`— ${p.federation.origin}/`));
          const parts = lines[j]!.split(" ");
          const sig = parts[2]!;
          parts[2] = sig.slice(0, 20) + (sig[20] === "A" ? "B" : "A") + sig.slice(21);
          lines[j] = parts.join(" ");
          p.checkpoint.signedNote = lines.join("\n");
        },
      ],
      [
        "other federation's checkpoint",
        "nexus.checkpoints",
        (p) => {
          const other = p.nexus.checkpoints.find((c) => c.origin !== p.federation.origin)!;
          other.rootHash = flipHex(other.rootHash);
        },
      ],
      ["global root", "nexus.globalRoot", (p) => (p.nexus.globalRoot = flipHex(p.nexus.globalRoot))],
      ["nexus round", "anchor.round", (p) => (p.nexus.round = String(BigInt(p.nexus.round) + 1n))],
      [
        "anchor round",
        "anchor.round",
        (p) => {
          p.anchor.round = "99";
          p.nexus.round = "99";
        },
      ],
      [
        "anchor round (another anchored round)",
        "nexus.globalRoot",
        (p) => {
          const r = p.anchor.round === "1" ? "2" : "1";
          p.anchor.round = r;
          p.nexus.round = r;
        },
      ],
      ["chain id", "anchor.chainId", (p) => (p.anchor.chainId = "1")],
      [
        "anchor contract",
        "anchor.contract",
        (p) => (p.anchor.contract = "0x000000000000000000000000000000000000dEaD"),
      ],
      ["transaction hash", "anchor.txHash", (p) => (p.anchor.txHash = flipHex(p.anchor.txHash))],
      [
        "block number",
        "anchor.blockNumber",
        (p) => (p.anchor.blockNumber = String(BigInt(p.anchor.blockNumber) + 1n)),
      ],
    ];
    for (const [what, field, mutate] of cases) {
      it(`rejects a changed ${what} (${field})`, async function () {
        const p = JSON.parse(JSON.stringify(sample)) as ProofFile;
        mutate(p);
        try {
          await verifyProof(p, client, trust);
        } catch (err) {
          expect(err, String(err)).to.be.instanceOf(ProofInvalidError);
          expect((err as ProofInvalidError).field).to.equal(field);
          return;
        }
        expect.fail(`a proof with a changed ${what} verified`);
      });
    }

    it("rejects a transaction hash of another anchor round", async function () {
      const p = JSON.parse(JSON.stringify(sample)) as ProofFile;
      const other = runner.anchors.all().find((a) => a.txHash !== p.anchor.txHash)!;
      p.anchor.txHash = other.txHash;
      const err = await verifyProof(p, client, trust).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((err as ProofInvalidError).field).to.equal("anchor.txHash");
    });

    it("refuses a malformed file naming the field", function () {
      const p = JSON.parse(JSON.stringify(sample)) as Record<string, Record<string, unknown>>;
      p.inclusion!.index = 5;
      expect(() => parseProofFile(JSON.stringify(p))).to.throw(/inclusion\.index/);
      const q = JSON.parse(JSON.stringify(sample)) as Record<string, Record<string, unknown>>;
      q.anchor!.extra = "x";
      expect(() => parseProofFile(JSON.stringify(q))).to.throw(/unknown field "extra"/);
    });
  });
});
