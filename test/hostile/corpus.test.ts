/**
 * The hostile-input corpus (test/fixtures/hostile/): every case is refused at its entry point with
 * the right exit code or error class, a message naming the line or field, and nothing stored or
 * changed. Prints the case count per entry point; the corpus must hold at least 200 cases.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";
import { JsonRpcServer } from "hardhat/internal/hardhat-network/jsonrpc/server";
import { Archive } from "../../src/archive";
import { ARCHIVE_FILE } from "../../src/chain/runner";
import { checkVote, memberVerifier } from "../../src/consensus/vote-check";
import type { FederationConfig } from "../../src/consensus/types";
import { deriveThrowawayKeys, readMlDsaKeyFile } from "../../src/crypto/keys";
import {
  checkpointBody,
  formatSignedNote,
  makeSigner,
  makeVerifier,
  NoteError,
  parseCheckpointBody,
  parseSignedNote,
  signBody,
  verifyNote,
  VOTE_CONTEXT,
  type Checkpoint,
} from "../../src/crypto/note";
import { loadManifest, parseManifest } from "../../src/manifest/loader";
import { Witness, WitnessError } from "../../src/nexus/witness";
import { parseProofFile } from "../../src/proof/format";
import { federationMembers } from "../../src/rounds/federation";
import { InvalidInputError } from "../../src/util/errors";
import { DOMAIN, quietLogs, spec } from "../consensus/fixture";
import { makeEvent } from "../fixtures/events";
import { BAD_LINE, INGEST_CASES } from "../fixtures/hostile/ingest-cases";
import { keyCases } from "../fixtures/hostile/key-cases";
import { MANIFEST_CASES } from "../fixtures/hostile/manifest-cases";
import { noteCases } from "../fixtures/hostile/note-cases";
import { qcCases, voteCases } from "../fixtures/hostile/peer-cases";
import { PROOF_CASES } from "../fixtures/hostile/proof-cases";
import { recordCases, validRecord } from "../fixtures/hostile/record-cases";
import { trustCases, validTrustPolicy } from "../fixtures/hostile/trust-cases";
import { AllocationRecordError, checkRecord } from "../../src/credits/record";
import { decodeUtf8Strict, IJsonError, parseIJson } from "../../src/events/ijson";
import { readTrustPolicy, TrustPolicyError } from "../../src/trust/policy";
import { ampInProcess } from "../helpers/cli";

const amp = ampInProcess;

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

async function rejected(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (err: unknown) => err,
  );
}

const counts: Record<string, number> = {};
const count = (entry: string): void => void (counts[entry] = (counts[entry] ?? 0) + 1);

describe("hostile-input corpus (test/fixtures/hostile)", function () {
  this.timeout(600_000);
  quietLogs();
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-hostile-"))));
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    console.log(`      hostile corpus: ${JSON.stringify({ ...counts, total })}`);
    if (total < 200) throw new Error(`the hostile corpus ran ${total} cases, fewer than 200`);
  });

  it("amp ingest: exit 1, file:line and field named, archive unchanged", async () => {
    const data = path.join(dir, "data");
    const goodLines = [0, 1, 2].map((i) => JSON.stringify(makeEvent(i)));
    const seed = path.join(dir, "seed.ndjson");
    fs.writeFileSync(seed, goodLines.join("\n") + "\n");
    expect((await amp("ingest", seed, "--data", data)).code).to.equal(0);
    const snapshot = (): unknown => {
      const a = Archive.open(path.join(data, ARCHIVE_FILE));
      try {
        return { counts: a.counts(), next: a.nextSeq("ssid") };
      } finally {
        a.close();
      }
    };
    const before = snapshot();
    const file = path.join(dir, "f.ndjson");
    for (const c of INGEST_CASES) {
      const bad = typeof c.line === "string" ? Buffer.from(c.line) : c.line;
      fs.writeFileSync(
        file,
        Buffer.concat([
          Buffer.from(`${goodLines[0]}\n${goodLines[1]}\n\n${goodLines[2]}\n`),
          bad,
          Buffer.from("\n"),
        ]),
      );
      const r = await amp("ingest", file, "--data", data);
      expect(r.code, c.name).to.equal(1);
      expect(r.err, c.name).to.include(`f.ndjson:${BAD_LINE}`);
      expect(r.err, `${c.name}: ${r.err}`).to.match(c.message);
      count("amp ingest");
    }
    expect(snapshot()).to.deep.equal(before);
  });

  describe("proof files", () => {
    let server: JsonRpcServer;
    let rpc: string;
    before(async () => {
      server = new JsonRpcServer({ hostname: "127.0.0.1", port: 0, provider: hre.network.provider });
      const { address, port } = await server.listen();
      rpc = `http://${address}:${port}`;
    });
    after(async () => server.close());

    it("the parser refuses every case naming the field or line:column", () => {
      for (const c of PROOF_CASES) {
        const err = thrown(() => parseProofFile(c.text));
        expect(err, c.name).to.be.instanceOf(InvalidInputError);
        expect(
          (err as InvalidInputError).shortMessage,
          `${c.name}: ${(err as InvalidInputError).shortMessage}`,
        ).to.match(c.message);
        count("proof parser");
      }
    });

    it("amp verify exits 1 with INVALID and the same message, leaving the file unchanged", async () => {
      const file = path.join(dir, "proof.json");
      for (const c of PROOF_CASES) {
        fs.writeFileSync(file, c.text);
        // A malformed file is refused while parsing, before the pinned anchor is looked at.
        const r = await amp("verify", file, "--rpc", rpc, "--anchor", "0x" + "11".repeat(20));
        expect(r.code, c.name).to.equal(1);
        expect(r.out, c.name).to.match(/^INVALID /);
        expect(r.out, `${c.name}: ${r.out}`).to.match(c.message);
        expect(fs.readFileSync(file, "utf8"), c.name).to.equal(c.text);
        count("amp verify");
      }
    });
  });

  it("manifest: each case reports its line and field; loadManifest refuses non-UTF-8", () => {
    const base = fs.readFileSync(path.join(__dirname, "..", "..", "manifest_federation.yaml"), "utf8");
    for (const c of MANIFEST_CASES) {
      const text = base
        .split("\n")
        .map((l, i) => (i === c.line - 1 ? c.content : l))
        .join("\n");
      const err = thrown(() => parseManifest(text, "m.yaml"));
      expect(err, c.name).to.be.instanceOf(InvalidInputError);
      const problems = (err as InvalidInputError).meta.problems as {
        line: number;
        field: string;
        rule: string;
      }[];
      const hit = problems.find((p) => p.line === c.expectLine && c.message.test(`${p.field}: ${p.rule}`));
      expect(hit, `${c.name}: ${JSON.stringify(problems)}`).to.not.equal(undefined);
      expect((err as InvalidInputError).shortMessage, c.name).to.match(/^invalid manifest: m\.yaml:\d+:\d+ /);
      count("manifest");
    }
    const file = path.join(dir, "bad.yaml");
    fs.writeFileSync(
      file,
      Buffer.concat([Buffer.from(base.slice(0, 300)), Buffer.from([0xff]), Buffer.from(base.slice(300))]),
    );
    expect(() => loadManifest(file)).to.throw(
      InvalidInputError,
      /bad\.yaml:\d+:\d+: \/: byte 300 is not valid UTF-8/,
    );
    count("manifest");
  });

  it("trust policies: amp verify --trust exits 2 naming the field or file:line:column; the file is not changed", async () => {
    const file = path.join(dir, "trust.json");
    fs.writeFileSync(file, JSON.stringify(validTrustPolicy()));
    expect(readTrustPolicy(file).chainId).to.equal("31337");
    for (const c of trustCases()) {
      fs.writeFileSync(file, c.bytes);
      const err = thrown(() => readTrustPolicy(file));
      expect(err, c.name).to.be.instanceOf(TrustPolicyError);
      expect((err as TrustPolicyError).shortMessage, `${c.name}: ${String(err)}`).to.match(c.message);
      // Refused before the proof file or the chain are looked at (neither exists here).
      const r = await amp(
        "verify",
        path.join(dir, "no-proof.json"),
        "--rpc",
        "http://127.0.0.1:9",
        "--trust",
        file,
      );
      expect(r.code, `${c.name}: ${r.err}`).to.equal(2);
      expect(r.err, c.name).to.include(`--trust ${file}: trust policy`);
      expect(r.err, `${c.name}: ${r.err}`).to.match(c.message);
      expect(fs.readFileSync(file), c.name).to.deep.equal(c.bytes);
      count("trust policies");
    }
  });

  it("allocation records: amp receipt verify exits 1 INVALID naming the field; a served record is refused alike", async () => {
    const file = path.join(dir, "record.json");
    fs.writeFileSync(file, JSON.stringify(validRecord()));
    expect(checkRecord(parseIJson(fs.readFileSync(file, "utf8")))).to.deep.equal(validRecord());
    for (const c of recordCases()) {
      fs.writeFileSync(file, c.bytes);
      // Refused before the chain is asked (nothing listens on port 9).
      const r = await amp(
        "receipt",
        "verify",
        file,
        "--rpc",
        "http://127.0.0.1:9",
        "--receipts",
        "0x" + "11".repeat(20),
      );
      expect(r.code, `${c.name}: ${r.out}${r.err}`).to.equal(1);
      expect(r.out, c.name).to.match(/^INVALID /);
      expect(r.out, `${c.name}: ${r.out}`).to.match(c.message);
      expect(fs.readFileSync(file), c.name).to.deep.equal(c.bytes);
      count("amp receipt verify");
      // What a peer serves (GET /v1/credits/epochs/E) goes through the same I-JSON parse and checkRecord.
      const err = thrown(() =>
        checkRecord(parseIJson(decodeUtf8Strict(c.bytes, { source: "peer" }), { source: "peer" })),
      );
      expect(err, c.name).to.satisfy(
        (e: unknown) => e instanceof IJsonError || e instanceof AllocationRecordError,
      );
      expect((err as Error).message, `${c.name}: ${String(err)}`).to.match(
        c.served ?? new RegExp(c.message.source.replace(/^allocation record field /, "")),
      );
      count("served records");
    }
  });

  it("ML-DSA key files: refused naming the file and field; the file is not changed", () => {
    const keys = deriveThrowawayKeys("hostile-corpus", "ssid-1");
    const valid = {
      type: "ml-dsa-65",
      seed: Buffer.from(keys.mldsa.seed).toString("hex"),
      publicKey: Buffer.from(keys.mldsa.publicKey).toString("hex"),
    };
    const file = path.join(dir, "ssid-1.mldsa.json");
    fs.writeFileSync(file, JSON.stringify(valid));
    expect(readMlDsaKeyFile(file).publicKey).to.deep.equal(keys.mldsa.publicKey);
    for (const c of keyCases(valid)) {
      fs.writeFileSync(file, c.bytes);
      const err = thrown(() => readMlDsaKeyFile(file));
      expect(err, c.name).to.be.instanceOf(InvalidInputError);
      expect((err as InvalidInputError).shortMessage, c.name).to.include(file);
      expect(
        (err as InvalidInputError).shortMessage,
        `${c.name}: ${(err as InvalidInputError).shortMessage}`,
      ).to.match(c.message);
      expect(fs.readFileSync(file), c.name).to.deep.equal(c.bytes);
      count("key files");
    }
  });

  it("signed notes: strict parsing and signature checks give the named NoteError", () => {
    const keys = deriveThrowawayKeys("hostile-corpus", "ssid-1");
    const signer = makeSigner("amp.local/ssid/ssid-1", keys.mldsa.publicKey, keys.mldsa.secretKey);
    const verifier = makeVerifier(signer.keyName, signer.publicKey);
    const cp: Checkpoint = {
      origin: "amp.local/ssid",
      treeSize: 10n,
      rootHash: new Uint8Array(32).fill(3),
      round: 3n,
      epoch: 1n,
    };
    const body = checkpointBody(cp);
    const valid = formatSignedNote({ body, signatures: [signBody(body, signer, VOTE_CONTEXT)] });
    const check = (text: string): void => {
      const note = parseSignedNote(text);
      parseCheckpointBody(note.body);
      verifyNote(note, [verifier], VOTE_CONTEXT, { rejectUnknown: true });
    };
    check(valid);
    for (const c of noteCases(valid)) {
      const err = thrown(() => check(c.text));
      expect(err, c.name).to.be.instanceOf(NoteError);
      expect((err as NoteError).code, c.name).to.equal(c.code);
      expect((err as NoteError).shortMessage, c.name).to.match(c.message);
      count("signed notes");
    }
  });

  describe("peer messages (in process)", () => {
    const fedSpec = spec("amp.local/ssid", 4);
    const members = federationMembers(fedSpec);
    const fed: FederationConfig = { origin: "amp.local/ssid", epoch: 1n, members };
    const signers = fedSpec.nodes.map((n, i) =>
      makeSigner(members[i]!.keyName, n.keys.mldsa.publicKey, n.keys.mldsa.secretKey),
    );
    const cp: Checkpoint = {
      origin: fed.origin,
      treeSize: 12n,
      rootHash: new Uint8Array(32).fill(9),
      round: 4n,
      epoch: 1n,
    };

    it("votes: checkVote reports the fault (never accepts, never throws)", async () => {
      const cases = voteCases({
        cp,
        signer: signers[0]!,
        wallet: fedSpec.nodes[0]!.keys.wallet,
        other: { signer: signers[1]!, wallet: fedSpec.nodes[1]!.keys.wallet },
        domain: DOMAIN,
      });
      const honest = {
        nodeId: members[0]!.nodeId,
        note: formatSignedNote({
          body: checkpointBody(cp),
          signatures: [signBody(checkpointBody(cp), signers[0]!, VOTE_CONTEXT)],
        }),
        eip712Signature: (await import("../../src/consensus/anchor-signature")).signCheckpoint(
          fedSpec.nodes[0]!.keys.wallet,
          DOMAIN,
          cp,
        ),
      };
      const verdict = (v: unknown) =>
        checkVote(v as never, members[0]!, memberVerifier(members[0]!), fed, cp.round, DOMAIN);
      expect((await verdict(honest)).ok).to.equal(true);
      for (const c of cases) {
        const r = await verdict(c.vote);
        expect(r.ok, c.name).to.equal(false);
        if (r.ok) continue;
        expect(r.fault, `${c.name}: ${r.detail}`).to.equal(c.fault);
        expect(r.detail, c.name).to.match(c.detail);
        count("votes");
      }
    });

    it("witness requests: Witness.cosign refuses with the code and stores no reference", async () => {
      const wdir = path.join(dir, "witness");
      const witness = new Witness({
        witnessOrigin: "amp.local/opencore",
        keys: deriveThrowawayKeys("hostile-corpus", "opencore-1"),
        watched: [fed],
        dataDir: wdir,
      });
      const outsiderKeys = deriveThrowawayKeys("hostile-corpus", "outsider-1");
      const outsider = makeSigner(
        "amp.local/ssid/outsider-1",
        outsiderKeys.mldsa.publicKey,
        outsiderKeys.mldsa.secretKey,
      );
      for (const c of qcCases(cp, signers, outsider)) {
        const err = await rejected(witness.cosign(c.note, []));
        expect(err, c.name).to.be.instanceOf(WitnessError);
        expect((err as WitnessError).code, `${c.name}: ${(err as Error).message}`).to.equal(c.code);
        count("witness requests");
      }
      expect(witness.references()).to.deep.equal([]);
      expect(witness.lastWitnessed(cp.origin)).to.equal(undefined);
      expect(fs.readdirSync(wdir)).to.deep.equal([]);
    });
  });
});
