import { expect } from "chai";
import fc from "fast-check";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  Archive,
  ARCHIVE_MIGRATIONS,
  SqliteLogStore,
  appendRound,
  type EventRecord,
  type Migration,
} from "../../src/archive";
import { FederationLog, MemoryLogStore } from "../../src/log";
import { leafHash, sha256 } from "../../src/merkle/hash";
import { verifyInclusion, verifyConsistency } from "../../src/merkle/verify";
import { consistencyProof, inclusionProof, rootHash } from "../../src/merkle/tree";
import { InvalidInputError } from "../../src/util/errors";

const FED = "amp.local/ssid";
const enc = new TextEncoder();

function tmpDb(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), "amp-archive-")), "archive.db");
}

function record(seq: number, withPayload = false): EventRecord {
  const payload = enc.encode(`{"person":"secret-${seq}-e4c1"}`);
  const canonical = enc.encode(
    `{"event_id":"id-${seq}","payload_digest":"${Buffer.from(sha256(payload)).toString("hex")}"}`,
  );
  return {
    seq: BigInt(seq),
    eventId: `id-${seq}`,
    canonical,
    leafHash: leafHash(canonical),
    ...(withPayload ? { payload } : {}),
  };
}

function fill(archive: Archive, n: number, batch: number): FederationLog {
  const log = new FederationLog(FED, new SqliteLogStore(archive, FED));
  for (let at = 0; at < n; at += batch) {
    const recs = Array.from({ length: Math.min(batch, n - at) }, (_, i) => record(at + i, true));
    archive.insertEvents(FED, recs);
    log.append(recs.map((r) => r.leafHash));
  }
  return log;
}

describe("archive/Archive", () => {
  let archive: Archive;
  let file: string;
  beforeEach(() => {
    file = tmpDb();
    archive = Archive.open(file);
  });
  afterEach(() => archive.close());

  it("opens in WAL mode with synchronous=FULL by default", () => {
    expect(archive.db.pragma("journal_mode", { simple: true })).to.equal("wal");
    expect(archive.db.pragma("synchronous", { simple: true })).to.equal(2); // FULL
  });

  it("applies migrations once: reopening applies nothing and keeps one row per version", () => {
    archive.close();
    archive = Archive.open(file);
    const rows = archive.db.prepare("SELECT version FROM schema_migrations ORDER BY version").all();
    expect(rows).to.deep.equal(ARCHIVE_MIGRATIONS.map((m) => ({ version: m.version })));
  });

  it("applies an added migration on the next open, exactly once", () => {
    archive.close();
    const next = ARCHIVE_MIGRATIONS[ARCHIVE_MIGRATIONS.length - 1]!.version + 1;
    const extra: Migration = { version: next, name: "test table", sql: "CREATE TABLE extra (x INTEGER)" };
    archive = Archive.open(file, { migrations: [...ARCHIVE_MIGRATIONS, extra] });
    archive.close();
    archive = Archive.open(file, { migrations: [...ARCHIVE_MIGRATIONS, extra] });
    const rows = archive.db.prepare("SELECT version FROM schema_migrations ORDER BY version").all();
    expect(rows).to.deep.equal([...ARCHIVE_MIGRATIONS, extra].map((m) => ({ version: m.version })));
  });

  it("refuses a migration list that is not strictly ascending", () => {
    const dup: Migration = { version: 1, name: "again", sql: "SELECT 1" };
    expect(() => Archive.open(tmpDb(), { migrations: [...ARCHIVE_MIGRATIONS, dup] })).to.throw(
      InvalidInputError,
      /strictly ascending/,
    );
  });

  it("refuses to open when an applied migration's SQL was changed", () => {
    archive.close();
    const changed: Migration = { ...ARCHIVE_MIGRATIONS[0]!, sql: ARCHIVE_MIGRATIONS[0]!.sql + "\n-- edit" };
    expect(() => Archive.open(file, { migrations: [changed] })).to.throw(/changed after it was applied/);
    archive = Archive.open(file);
  });

  for (const table of [
    "federations",
    "events",
    "tree_nodes",
    "batches",
    "checkpoints",
    "erasures",
    "schema_migrations",
  ]) {
    it(`refuses UPDATE and DELETE on ${table} (append-only trigger) and keeps the rows`, () => {
      fill(archive, 20, 20); // 20 leaves: one stored level-4 node
      archive.insertCheckpoint(FED, { round: 1n, size: 20n, root: new Uint8Array(32) });
      archive.erasePayload("id-0", "test");
      const before = archive.db.prepare(`SELECT * FROM ${table}`).all();
      expect(before.length).to.be.greaterThan(0);
      const cols: Record<string, string> = {
        schema_migrations: "name",
        erasures: "reason",
        federations: "origin",
      };
      const col = cols[table] ?? "fid";
      expect(() => archive.db.prepare(`UPDATE ${table} SET ${col} = 'x'`).run()).to.throw(
        new RegExp(`${table} is append-only \\(UPDATE refused\\)`),
      );
      expect(() => archive.db.prepare(`DELETE FROM ${table}`).run()).to.throw(
        new RegExp(`${table} is append-only \\(DELETE refused\\)`),
      );
      expect(archive.db.prepare(`SELECT * FROM ${table}`).all()).to.deep.equal(before);
    });
  }

  it("stores nothing from a batch that holds a duplicate event id", () => {
    fill(archive, 3, 3);
    const before = archive.counts();
    const dup = { ...record(3, true), eventId: "id-1" };
    expect(() => archive.insertEvents(FED, [record(4, true), dup])).to.throw(/UNIQUE/);
    expect(archive.counts()).to.deep.equal(before);
    expect(archive.nextSeq(FED)).to.equal(3n);
  });

  it("serves the same roots and proofs as an in-memory log, after reopening", () => {
    fill(archive, 300, 64);
    archive.close();
    archive = Archive.open(file);
    const log = new FederationLog(FED, new SqliteLogStore(archive, FED));
    const mem = new FederationLog(FED, new MemoryLogStore());
    mem.append(archive.leafHashes(FED, 0n, 300n));
    expect(log.size).to.equal(300n);
    expect(log.root()).to.deep.equal(mem.root());
    for (const [m, n] of [
      [1, 300],
      [64, 129],
      [255, 256],
      [100, 100],
    ] as const) {
      expect(log.consistencyProof(m, n)).to.deep.equal(mem.consistencyProof(m, n));
      expect(log.inclusionProof(m - 1, n)).to.deep.equal(mem.inclusionProof(m - 1, n));
    }
    expect(archive.batches(FED).map((b) => b.endSeq)).to.deep.equal([64n, 128n, 192n, 256n, 300n]);
  });

  it("serves proofs from stored (every 4th level) nodes equal to the array-based ones (fast-check)", () => {
    const log = fill(archive, 300, 37);
    const all = archive.leafHashes(FED, 0n, 300n);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.nat(), fc.nat(), (n, a, b) => {
        const m = (a % n) + 1;
        const i = b % n;
        expect(log.rootAt(n)).to.deep.equal(rootHash(all.slice(0, n)));
        expect(log.inclusionProof(i, n)).to.deep.equal(inclusionProof(all.slice(0, n), i));
        expect(log.consistencyProof(m, n)).to.deep.equal(consistencyProof(all, m, n));
      }),
      { numRuns: 150 },
    );
  });

  it("refuses an append whose leaves are not the archived ones, changing nothing", () => {
    const log = fill(archive, 10, 10);
    archive.insertEvents(FED, [record(10)]);
    const before = archive.counts();
    expect(() => log.append([leafHash(enc.encode("not archived"))])).to.throw(
      /does not match the archived leaves/,
    );
    expect(() => log.append([record(10).leafHash, record(11).leafHash])).to.throw(/does not match/);
    expect(archive.counts()).to.deep.equal(before);
    expect(log.size).to.equal(10n);
  });

  it("appendRound numbers each batch by its anchored round: gaps for empty rounds, never backwards", () => {
    const log = new FederationLog(FED, new SqliteLogStore(archive, FED));
    archive.insertEvents(
      FED,
      [0, 1, 2, 3, 4].map((i) => record(i)),
    );
    appendRound(log, [record(0).leafHash, record(1).leafHash], 1n);
    appendRound(log, [], 2n); // round 2 had no event of this federation: no batch row
    appendRound(log, [record(2).leafHash], 3n);
    expect(archive.batches(FED).map((b) => [b.batchNo, b.startSeq, b.endSeq])).to.deep.equal([
      [1n, 0n, 2n],
      [3n, 2n, 3n],
    ]);
    const before = archive.counts();
    // A round not after the last batch is refused, and nothing changes (archive and log).
    for (const round of [3n, 2n]) {
      expect(() => appendRound(log, [record(3).leafHash], round)).to.throw(
        /batch \d+ is not after the last batch 3/,
      );
    }
    expect(archive.counts()).to.deep.equal(before);
    expect(log.size).to.equal(3n);
    expect(() => appendRound(new FederationLog(FED), [record(3).leafHash], 4n)).to.throw(
      /stored in the archive/,
    );
    appendRound(log, [record(3).leafHash, record(4).leafHash], 7n);
    expect(archive.lastBatch(FED)).to.include({ batchNo: 7n, endSeq: 5n });
    expect(new FederationLog(FED, new SqliteLogStore(archive, FED)).root()).to.deep.equal(log.root());
  });

  it("appendRound stores a plan the caller prepared, and ignores one prepared from another state", () => {
    const log = new FederationLog(FED, new SqliteLogStore(archive, FED));
    const leaves = [0, 1, 2, 3, 4].map((i) => record(i).leafHash);
    archive.insertEvents(
      FED,
      [0, 1, 2, 3, 4].map((i) => record(i)),
    );
    // Prepared at size 0, used after the log moved to size 2: ignored (appendRound prepares anew).
    const stale = log.prepareAppend(leaves.slice(2, 5));
    appendRound(log, leaves.slice(0, 2), 1n);
    appendRound(log, stale.leaves, 2n, stale);
    const plan = log.prepareAppend([]);
    expect(plan.oldSize).to.equal(5n);
    const reference = new FederationLog(FED);
    reference.append(leaves);
    expect(log.root()).to.deep.equal(reference.root());
    const reopened = new FederationLog(FED, new SqliteLogStore(archive, FED));
    expect(reopened.root()).to.deep.equal(reference.root());
    expect(reopened.inclusionProof(3n, 5n)).to.deep.equal(reference.inclusionProof(3n, 5n));
    // A current plan is stored as computed: same tree.
    archive.insertEvents(FED, [record(5)]);
    const next = log.prepareAppend([record(5).leafHash]);
    appendRound(log, next.leaves, 3n, next);
    reference.append([record(5).leafHash]);
    expect(new FederationLog(FED, new SqliteLogStore(archive, FED)).root()).to.deep.equal(reference.root());
  });
});

describe("archive/Archive background WAL checkpointing", () => {
  it("moves committed WAL frames into the database file from a worker thread, losing nothing", async () => {
    const file = tmpDb();
    const archive = Archive.open(file, { walCheckpoint: "background" });
    const sizeBefore = fs.statSync(file).size;
    const log = fill(archive, 2000, 500);
    const root = log.root();
    const deadline = Date.now() + 20_000;
    while (fs.statSync(file).size <= sizeBefore && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(fs.statSync(file).size).to.be.greaterThan(sizeBefore);
    archive.close();
    const reopened = Archive.open(file);
    expect(new FederationLog(FED, new SqliteLogStore(reopened, FED)).root()).to.deep.equal(root);
    expect(reopened.nextSeq(FED)).to.equal(2000n);
    reopened.close();
  });
});

describe("archive/Archive payload erasure", () => {
  for (const walCheckpoint of ["inline", "background"] as const) {
    it(`removes the payload from the database and WAL (${walCheckpoint} checkpoints), keeps the leaf, and every proof stays valid`, () => {
      const file = tmpDb();
      const archive = Archive.open(file, { walCheckpoint });
      const log = fill(archive, 40, 16);
      const root = log.root();
      const secret = Buffer.from("secret-7-e4c1");
      const ev = archive.getEvent("id-7")!;
      expect(ev.payload).to.not.equal(null);
      const proof = log.inclusionProof(7);

      expect(archive.erasePayload("id-7", "GDPR art. 17 request")).to.equal(true);
      expect(archive.erasePayload("id-7", "again")).to.equal(false);
      const after = archive.getEvent("id-7")!;
      expect(after.payload).to.equal(null);
      expect(after.erased).to.equal(true);
      expect(after.canonical).to.deep.equal(ev.canonical);
      expect(leafHash(after.canonical)).to.deep.equal(ev.leafHash);

      const reopened = new FederationLog(FED, new SqliteLogStore(archive, FED));
      expect(reopened.root()).to.deep.equal(root);
      expect(reopened.inclusionProof(7)).to.deep.equal(proof);
      expect(verifyInclusion(after.leafHash, 7, 40, reopened.inclusionProof(7), root)).to.equal(true);
      expect(verifyConsistency(16, 40, reopened.consistencyProof(16), log.rootAt(16), root)).to.equal(true);
      archive.close();
      for (const f of [file, `${file}-wal`]) {
        if (fs.existsSync(f)) expect(fs.readFileSync(f).includes(secret)).to.equal(false);
      }
      expect(fs.readFileSync(file).includes(Buffer.from("secret-8-e4c1"))).to.equal(true);
    });
  }

  it("refuses to erase an unknown event and records nothing", () => {
    const archive = Archive.open(tmpDb());
    fill(archive, 2, 2);
    const before = archive.counts();
    expect(() => archive.erasePayload("nope", "x")).to.throw(InvalidInputError, /unknown event nope/);
    expect(archive.counts()).to.deep.equal(before);
    archive.close();
  });
});
