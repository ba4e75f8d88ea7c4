import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { Archive } from "../../src/archive";
import type { Evidence, RoundVotes } from "../../src/consensus/evidence";
import { checkpointBody, formatSignedNote } from "../../src/crypto/note";
import { epochWindow, evidenceRef, measureEpoch, type CreditSources } from "../../src/credits/measure";
import { rankNodes } from "../../src/credits/rank";
import {
  ALLOCATION_FORMAT,
  AllocationRecordError,
  ZERO_HASH,
  allocationHash,
  buildRecord,
  checkRecord,
  nodeRefOf,
} from "../../src/credits/record";
import { DEFAULT_CREDIT_PARAMS } from "../../src/credits/score";
import { readJsonLines } from "../../src/credits/sources";
import { AllocationStore } from "../../src/credits/store";
import { nodeRefOf as sampleNodeRef } from "../../src/chain/sample";

const ORIGIN = "amp.local/test";
const NODES = ["a", "b", "c", "d"];

function body(round: number, size: number, root = 1): string {
  return checkpointBody({
    origin: ORIGIN,
    treeSize: BigInt(size),
    rootHash: new Uint8Array(32).fill(root),
    round: BigInt(round),
    epoch: 1n,
  });
}

function note(b: string, node: string): string {
  return formatSignedNote({
    body: b,
    signatures: [
      { keyName: `${ORIGIN}/${node}`, keyId: new Uint8Array(4), signature: new Uint8Array(8).fill(7) },
    ],
  });
}

/** Round r appends 10 leaves; node d signs a wrong root in round 2 and withholds in round 3. */
function rounds(startMs: number): RoundVotes[] {
  return [1, 2, 3].map((r) => {
    const final = body(r, r * 10);
    const votes = NODES.flatMap((n) => {
      if (n === "d" && r === 3) return [];
      const b = n === "d" && r === 2 ? body(r, r * 10, 9) : final;
      return [{ nodeId: n, note: note(b, n), eip712Signature: "0x" }];
    });
    const answeredMs = Object.fromEntries(
      NODES.filter((n) => !(n === "d" && r === 3)).map((n, i) => [n, 10 + i]),
    );
    return {
      origin: ORIGIN,
      round: String(r),
      attempt: 1,
      baseSize: String((r - 1) * 10),
      final,
      members: NODES,
      votes,
      answeredMs,
      settledAt: startMs + r,
    };
  });
}

const EVIDENCE: Evidence[] = [
  {
    kind: "wrong-root",
    origin: ORIGIN,
    round: "2",
    nodeId: "d",
    attempt: 1,
    detail: "x",
    notes: [],
    eip712Signatures: [],
    recordedAt: "t",
  },
  {
    kind: "withheld-vote",
    origin: ORIGIN,
    round: "3",
    nodeId: "d",
    attempt: 1,
    detail: "x",
    notes: [],
    eip712Signatures: [],
    recordedAt: "t",
  },
];

function sources(start: number, drift?: CreditSources["drift"]): CreditSources {
  return { rounds: rounds(start), evidence: EVIDENCE, storageBytes: (_o, size) => size * 1000n, drift };
}

describe("credits: measured inputs and allocation records", function () {
  const window = epochWindow(100n, 60);
  const fed = [{ origin: ORIGIN, nodeIds: NODES }];

  it("measures leaves, accuracy, participation, storage and evidence from the signed votes", function () {
    const m = measureEpoch(window, fed, sources(window.startMs));
    const a = m.find((x) => x.nodeId === "a")!;
    const d = m.find((x) => x.nodeId === "d")!;
    expect(a.counts).to.include({ roundsExpected: 3, roundsVoted: 3, correctVotes: 3, penalties: 0 });
    expect(a.inputs).to.deep.equal({
      proofsValidated: 30n,
      validationAccuracyPpm: 1_000_000n,
      storageBytes: 30_000n,
      consensusParticipationPpm: 1_000_000n,
    });
    // d: one correct vote of two cast, one withheld vote (a penalty): 1 / (2 + 1).
    expect(d.counts).to.include({ roundsExpected: 3, roundsVoted: 2, correctVotes: 1, penalties: 1 });
    expect(d.inputs.validationAccuracyPpm).to.equal(333_333n);
    expect(d.inputs.consensusParticipationPpm).to.equal(666_666n);
    expect(d.inputs.proofsValidated).to.equal(10n);
    expect(d.evidence.map((e) => e.kind)).to.deep.equal(["wrong-root", "withheld-vote"]);
    expect(d.evidence[0]).to.deep.equal(evidenceRef(EVIDENCE[0]!));
    expect(a.rounds).to.deep.equal({ from: "1", to: "3" });
  });

  it("lowers accuracy by drift findings from the optional provider", function () {
    const drift = {
      findingsFor: (_o: string, from: bigint, to: bigint) => new Map([["b", Number(to - from)]]),
    };
    const b = measureEpoch(window, fed, sources(window.startMs, drift)).find((x) => x.nodeId === "b")!;
    expect(b.counts.driftFindings).to.equal(2);
    expect(b.inputs.validationAccuracyPpm).to.equal(600_000n); // 3 / (3 + 2)
  });

  it("counts only the rounds settled inside the epoch", function () {
    const m = measureEpoch(epochWindow(101n, 60), fed, sources(window.startMs));
    expect(m.every((x) => x.counts.roundsExpected === 0 && x.rounds === null)).to.equal(true);
    // storage stays what the node signed up to the epoch's end
    expect(m.find((x) => x.nodeId === "a")!.counts.storageBytes).to.equal(30_000n);
  });

  it("builds records whose hash is SHA-256 of their JCS, byte-identical for identical inputs", function () {
    const [m] = measureEpoch(window, fed, sources(window.startMs));
    const salt = new Uint8Array(32).fill(3);
    const opts = {
      epoch: 100n,
      epochSeconds: 60,
      params: DEFAULT_CREDIT_PARAMS,
      prevAllocationHash: ZERO_HASH,
      salt,
    };
    const r1 = buildRecord(m!, opts);
    const r2 = buildRecord(m!, opts);
    expect(allocationHash(r1)).to.equal(allocationHash(r2));
    expect(r1.format).to.equal(ALLOCATION_FORMAT);
    expect(r1.node_ref).to.equal(nodeRefOf(ORIGIN, "a"));
    expect(r1.node_ref).to.equal(sampleNodeRef(ORIGIN, "a"));
    expect(checkRecord(JSON.parse(JSON.stringify(r1)))).to.deep.equal(r1);
    const salted = buildRecord(m!, { ...opts, salt: new Uint8Array(32).fill(4) });
    expect(allocationHash(salted)).to.not.equal(allocationHash(r1));
    expect(() => buildRecord(m!, { ...opts, salt: new Uint8Array(31) })).to.throw(/32 bytes/);
  });

  it("refuses records with a missing, extra or inconsistent field, naming it", function () {
    const [m] = measureEpoch(window, fed, sources(window.startMs));
    const r = buildRecord(m!, {
      epoch: 100n,
      epochSeconds: 60,
      params: DEFAULT_CREDIT_PARAMS,
      prevAllocationHash: ZERO_HASH,
    });
    const cases: [Record<string, unknown>, string][] = [
      [{ ...r, salt: "0x12" }, "salt"],
      [{ ...r, governance_weight: "1.000000" }, "governance_weight"],
      [{ ...r, credit_score: "1.0000" }, "credit_score"],
      [{ ...r, inputs: { ...r.inputs, proofs_validated: "31" } }, "inputs.proofs_validated"],
      [{ ...r, counts: { ...r.counts, rounds_answered: 9 } }, "counts.rounds_answered"],
      [{ ...r, params: { ...r.params, max_score: "x" } }, "params.max_score"],
      [{ ...r, epoch: 100 }, "epoch"],
      [{ ...r, node: "z" }, "node_ref"],
      [{ ...r, weight: "1" }, "weight"],
    ];
    for (const [bad, field] of cases) {
      try {
        checkRecord(bad);
        expect.fail(`accepted a bad ${field}`);
      } catch (e) {
        expect(e, field).to.be.instanceOf(AllocationRecordError);
        expect((e as AllocationRecordError).field).to.equal(field);
      }
    }
    const { format: _f, ...missing } = r;
    expect(() => checkRecord(missing)).to.throw(/field format: is missing/);
  });

  it("ranks by score, then accuracy, participation, latency, uptime and node reference", function () {
    const ms = measureEpoch(window, fed, sources(window.startMs));
    const recs = ms.map((m) =>
      buildRecord(m, {
        epoch: 100n,
        epochSeconds: 60,
        params: DEFAULT_CREDIT_PARAMS,
        prevAllocationHash: ZERO_HASH,
      }),
    );
    const ranked = rankNodes(recs);
    expect(ranked.at(-1)!.node).to.equal("d");
    // a, b, c tie on score, accuracy and participation: the faster median latency ranks first.
    expect(ranked.slice(0, 3).map((n) => n.node)).to.deep.equal(["a", "b", "c"]);
    expect(rankNodes([...recs].reverse())).to.deep.equal(ranked);
  });

  describe("archive store", function () {
    let dir: string;
    let archive: Archive;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-credits-store-"));
      archive = Archive.open(path.join(dir, "archive.sqlite"));
    });
    afterEach(() => {
      archive.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it("keeps an epoch's records in one transaction, append-only, never twice", function () {
      const store = new AllocationStore(archive);
      const recs = measureEpoch(window, fed, sources(window.startMs)).map((m) =>
        buildRecord(m, {
          epoch: 100n,
          epochSeconds: 60,
          params: DEFAULT_CREDIT_PARAMS,
          prevAllocationHash: ZERO_HASH,
        }),
      );
      store.insertEpoch(100n, recs);
      expect(store.epoch(100n).map((r) => r.allocationHash)).to.deep.equal(recs.map(allocationHash));
      expect(() => store.insertEpoch(100n, recs)).to.throw(/allocated already/);
      expect(() => archive.db.prepare("UPDATE credit_allocations SET record = 'x'").run()).to.throw(
        /append-only/,
      );
      expect(() => archive.db.prepare("DELETE FROM credit_allocations").run()).to.throw(/append-only/);
      const bad = [recs[0]!, { ...recs[1]!, epoch: "7" }];
      expect(() => store.insertEpoch(101n, bad)).to.throw(/record of epoch/);
      expect(store.epoch(101n)).to.deep.equal([]);
      expect(store.lastHash(ORIGIN, "a")).to.equal(allocationHash(recs[0]!));
      expect(store.lastEpoch()).to.equal(100n);
    });
  });

  it("reads JSON lines, skipping a last line torn by a crash and naming a bad line", function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-credits-lines-"));
    const f = path.join(dir, "votes.jsonl");
    fs.writeFileSync(f, '{"a":1}\n{"a":2}\n{"a":');
    expect(readJsonLines(f)).to.deep.equal([{ a: 1 }, { a: 2 }]);
    fs.writeFileSync(f, '{"a":1}\nnot json\n');
    expect(() => readJsonLines(f)).to.throw(/votes.jsonl:2: not a JSON line/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
