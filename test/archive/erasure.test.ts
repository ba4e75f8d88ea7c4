import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { Archive, ARCHIVE_MIGRATIONS, eraseEvent, runMigrations, SqliteLogStore } from "../../src/archive";
import { FederationBatchProcessor } from "../../src/batching/processor";
import { ARCHIVE_FILE } from "../../src/chain/runner";
import { canonicalBytes } from "../../src/events/canonical";
import { payloadCommitment } from "../../src/events/validate";
import { FederationLog } from "../../src/log/federation-log";
import { leafHash, sha256 } from "../../src/merkle/hash";
import { verifyInclusion } from "../../src/merkle/verify";
import { InvalidInputError } from "../../src/util/errors";
import { makeEvent, makeEvents } from "../fixtures/events";
import { ampInProcess } from "../helpers/cli";

const ORIGIN = "amp.local/ssid";

const amp = ampInProcess;

/** Archive 20 inline-payload events in sealed batches of 10 at dir/ARCHIVE_FILE. */
async function seeded(dir: string): Promise<void> {
  const p = new FederationBatchProcessor({
    archive: Archive.open(path.join(dir, ARCHIVE_FILE)),
    origin: ORIGIN,
    federationId: "ssid",
    maxSize: 10,
    maxAgeMs: 60_000,
  });
  await p.ingest(makeEvents(0, 20));
  await p.flush();
  await p.close();
  p.archive.close();
}

function fileBytes(file: string): Buffer {
  return Buffer.concat([file, `${file}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));
}

describe("archive: salted erasure and amp erase", function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-erase-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("amp erase removes payload and salt from the file and WAL, logs who/why/when, and the proof still verifies", async () => {
    await seeded(dir);
    const file = path.join(dir, ARCHIVE_FILE);
    const event = makeEvent(7);
    const payload = canonicalBytes(event.payload);
    const plainDigest = sha256(payload);
    let archive = Archive.open(file);
    const before = archive.getEvent(event.event_id)!;
    const salt = before.salt!;
    expect(salt).to.have.length(32);
    const log = new FederationLog(ORIGIN, new SqliteLogStore(archive, ORIGIN));
    const checkpoint = archive.checkpoints(ORIGIN).at(-1)!;
    const proof = log.inclusionProof(7n, checkpoint.size);
    archive.close();
    // The bytes a guesser would look for are all in the files before erasure.
    expect(fileBytes(file).includes(Buffer.from(payload))).to.equal(true);
    expect(fileBytes(file).includes(Buffer.from(salt))).to.equal(true);

    const t0 = Date.now();
    const r = await amp(
      "erase",
      event.event_id,
      "--data",
      dir,
      "--reason",
      "GDPR art. 17 request 4711",
      "--by",
      "dpo@example.org",
    );
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.match(/erased the payload of .* salted commitment/);

    const kept = fileBytes(file);
    expect(kept.includes(Buffer.from(payload)), "payload bytes").to.equal(false);
    expect(kept.includes(Buffer.from(salt)), "salt bytes").to.equal(false);
    expect(kept.includes(Buffer.from(plainDigest)), "raw SHA-256(JCS(payload))").to.equal(false);
    expect(
      kept.includes(Buffer.from(Buffer.from(plainDigest).toString("hex"))),
      "hex SHA-256(JCS(payload))",
    ).to.equal(false);
    expect(kept.includes(Buffer.from(`did:example:7"`))).to.equal(false);
    expect(kept.includes(Buffer.from(`did:example:8"`)), "other payloads are kept").to.equal(true);

    archive = Archive.open(file);
    const after = archive.getEvent(event.event_id)!;
    expect(after.payload).to.equal(null);
    expect(after.salt).to.equal(null);
    expect(after.erased).to.equal(true);
    expect(after.canonical).to.deep.equal(before.canonical);
    const commitment = /"payload_commitment":"([0-9a-f]{64})"/.exec(
      Buffer.from(after.canonical).toString(),
    )![1]!;
    expect(commitment).to.not.equal(Buffer.from(plainDigest).toString("hex"));
    expect(commitment).to.equal(payloadCommitment(salt, payload)); // only with the destroyed salt
    expect(leafHash(after.canonical)).to.deep.equal(after.leafHash);
    expect(verifyInclusion(after.leafHash, 7n, checkpoint.size, proof, checkpoint.root)).to.equal(true);
    const relog = new FederationLog(ORIGIN, new SqliteLogStore(archive, ORIGIN));
    expect(relog.inclusionProof(7n, checkpoint.size)).to.deep.equal(proof);

    const [rec] = archive.erasures();
    expect(rec).to.include({
      eventId: event.event_id,
      reason: "GDPR art. 17 request 4711",
      by: "dpo@example.org",
      commitment: "salted",
    });
    expect(rec!.erasedAt).to.be.within(t0, Date.now());
    expect(() => archive.db.prepare("UPDATE erasures SET reason = 'x'").run()).to.throw(/append-only/);
    expect(() => archive.db.prepare("DELETE FROM erasures").run()).to.throw(/append-only/);
    archive.close();

    const again = await amp("erase", event.event_id, "--data", dir, "--reason", "again");
    expect(again.code).to.equal(0);
    expect(again.out).to.match(/already erased/);
    const listed = await amp("erasures", "--data", dir);
    expect(listed.code).to.equal(0);
    expect(listed.out.trim().split("\n")).to.have.length(2);
    expect(listed.out).to.match(/\tdpo@example\.org\tsalted\tGDPR art\. 17 request 4711/);
  });

  it("refuses bad erase requests with the field named and changes nothing", async () => {
    await seeded(dir);
    const file = path.join(dir, ARCHIVE_FILE);
    const snapshot = (): unknown => {
      const a = Archive.open(file);
      try {
        return a.counts();
      } finally {
        a.close();
      }
    };
    const before = snapshot();
    const id = makeEvent(3).event_id;
    const cases: [string[], number, RegExp][] = [
      [["erase", id, "--data", dir], 2, /required option '--reason/],
      [["erase", id, "--data", dir, "--reason", ""], 2, /reason: must not be empty/],
      [
        ["erase", id, "--data", dir, "--reason", "x".repeat(1001)],
        2,
        /reason: is 1001 characters, limit 1000/,
      ],
      [
        ["erase", id, "--data", dir, "--reason", "a\nforged line"],
        2,
        /reason: must not contain control characters/,
      ],
      [
        ["erase", id, "--data", dir, "--reason", "ok", "--by", "\ud800"],
        2,
        /by: contains a lone UTF-16 surrogate/,
      ],
      [["erase", "nope", "--data", dir, "--reason", "x"], 1, /unknown event nope/],
      [["erase", id, "--data", path.join(dir, "missing"), "--reason", "x"], 1, /no archive at/],
    ];
    for (const [args, code, message] of cases) {
      const r = await amp(...args);
      expect(r.code, args.join(" ")).to.equal(code);
      expect(r.err, args.join(" ")).to.match(message);
    }
    expect(snapshot()).to.deep.equal(before);
  });

  it("migrates a v1 archive: old rows keep no salt and their erasure is logged as 'digest'", () => {
    const file = path.join(dir, "v1.sqlite");
    // An archive as main wrote it before salted commitments: schema v1 only.
    const v1 = new Database(file);
    runMigrations(v1, ARCHIVE_MIGRATIONS.slice(0, 1));
    const legacyPayload = canonicalBytes({ a: 1 });
    v1.prepare("INSERT INTO federations (origin, created_at) VALUES ('x', 0)").run();
    v1.prepare("INSERT INTO events VALUES (1, 0, 'old', x'7b7d', zeroblob(32), 0)").run();
    v1.prepare("INSERT INTO event_payloads VALUES ('old', ?)").run(Buffer.from(legacyPayload));
    v1.close();
    const a = Archive.open(file);
    expect(a.getEvent("old")!.salt).to.equal(null);
    const r = eraseEvent(a, { eventId: "old", reason: "legacy" }, 1234);
    expect(r).to.deep.equal({
      erased: true,
      record: { eventId: "old", erasedAt: 1234, reason: "legacy", by: "", commitment: "digest" },
    });
    expect(() => eraseEvent(a, { eventId: "old", reason: 5 } as never)).to.throw(
      InvalidInputError,
      /reason: must be a string/,
    );
    a.close();
  });

  it("recognises a resubmitted inline-payload event as a duplicate despite the fresh salt; refuses it once erased", async () => {
    const p = new FederationBatchProcessor({
      archive: Archive.open(path.join(dir, "a.db")),
      origin: ORIGIN,
      federationId: "ssid",
      maxSize: 10,
      maxAgeMs: 60_000,
    });
    await p.ingest(makeEvents(0, 3));
    expect(await p.ingest(makeEvents(0, 3))).to.deep.include({ duplicates: 3 });
    const changed = { ...makeEvent(1), payload: { other: true } };
    await p.ingest([changed]).then(
      () => expect.fail("a changed payload must conflict"),
      (err: Error) => expect(err.message).to.match(/already archived with different content/),
    );
    eraseEvent(p.archive, { eventId: makeEvent(2).event_id, reason: "r" });
    await p.ingest([makeEvent(2)]).then(
      () => expect.fail("an erased event cannot be compared"),
      (err: Error) => expect(err.message).to.match(/payload erased/),
    );
    await p.close();
    p.archive.close();
  });
});
