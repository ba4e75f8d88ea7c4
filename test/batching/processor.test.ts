import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Archive } from "../../src/archive";
import { FederationBatchProcessor, type ProcessorOptions } from "../../src/batching/processor";
import { InMemoryAuditBus } from "../../src/batching/bus";
import { EventConflictError } from "../../src/batching/store-events";
import type { CheckpointMessage, RejectedEventMessage, SealedBatchMessage } from "../../src/batching/topics";
import type { StageMetric } from "../../src/batching/metrics";
import { canonicalBytes } from "../../src/events/canonical";
import { digestPayload, payloadCommitment } from "../../src/events/validate";
import { leafHash } from "../../src/merkle/hash";
import { rootHash } from "../../src/merkle/tree";
import { verifyInclusion } from "../../src/merkle/verify";
import { InvalidInputError } from "../../src/util/errors";
import { makeEvent, makeEvents } from "../fixtures/events";

const ORIGIN = "amp.local/ssid";

function tmpDb(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), "amp-proc-")), "archive.db");
}

function open(file: string, extra: Partial<ProcessorOptions> = {}): FederationBatchProcessor {
  return new FederationBatchProcessor({
    archive: Archive.open(file),
    origin: ORIGIN,
    federationId: "ssid",
    maxSize: 10,
    maxAgeMs: 60_000,
    ...extra,
  });
}

async function shut(p: FederationBatchProcessor): Promise<void> {
  await p.close();
  p.archive.close();
}

/** Root recomputed from scratch over every archived leaf up to the log size. */
function rebuiltRoot(archive: Archive, size: bigint): Uint8Array {
  return rootHash(archive.leafHashes(ORIGIN, 0n, size));
}

/** Resolves with the first message of `topic` matching `pred`. */
function next<T>(
  bus: InMemoryAuditBus,
  topic: "checkpoint" | "batch.sealed" | "event.rejected",
  pred: (m: T) => boolean,
) {
  return new Promise<T>((resolve) => {
    const sub = bus.subscribe(topic, (m) => {
      if (pred(m as T)) {
        sub.unsubscribe();
        resolve(m as T);
      }
    });
  });
}

describe("batching/FederationBatchProcessor", () => {
  it("acknowledges only events that another connection already reads from the archive file", async () => {
    const file = tmpDb();
    const p = open(file);
    const ack = await p.ingest(makeEvents(0, 3));
    expect(ack.indices).to.deep.equal([0n, 1n, 2n]);
    const other = Archive.open(file);
    expect(other.eventsInRange(ORIGIN, 0n, 10n).map((e) => e.eventId)).to.deep.equal(
      makeEvents(0, 3).map((e) => e.event_id),
    );
    other.close();
    await shut(p);
  });

  it("seals a batch each time maxSize events are pending, recording batches and checkpoints", async () => {
    const p = open(tmpDb());
    await p.ingest(makeEvents(0, 7));
    expect(p.log.size).to.equal(0n);
    await p.ingest(makeEvents(7, 18));
    expect(p.log.size).to.equal(20n);
    expect(p.pendingCount).to.equal(5);
    expect(p.archive.batches(ORIGIN).map((b) => [b.startSeq, b.endSeq])).to.deep.equal([
      [0n, 10n],
      [10n, 20n],
    ]);
    const cps = p.archive.checkpoints(ORIGIN);
    expect(cps.map((c) => [c.round, c.size])).to.deep.equal([
      [1n, 10n],
      [2n, 20n],
    ]);
    expect(cps[1]!.root).to.deep.equal(rebuiltRoot(p.archive, 20n));
    expect(p.log.root()).to.deep.equal(rebuiltRoot(p.archive, 20n));
    await shut(p);
  });

  it("seals a partial batch after maxAgeMs and publishes batch.sealed then checkpoint", async () => {
    const bus = new InMemoryAuditBus();
    const p = open(tmpDb(), { maxAgeMs: 20, bus });
    const sealed = next<SealedBatchMessage>(bus, "batch.sealed", () => true);
    const checkpoint = next<CheckpointMessage>(bus, "checkpoint", () => true);
    const events = makeEvents(0, 3);
    await p.ingest(events);
    const batch = await sealed;
    expect(batch).to.include({ origin: ORIGIN, batchNo: 1n, startIndex: 0n, endIndex: 3n });
    expect(batch.eventIds).to.deep.equal(events.map((e) => e.event_id));
    const cp = await checkpoint;
    expect(cp).to.include({ origin: ORIGIN, round: 1n, size: 3n });
    expect(cp.root).to.deep.equal(rootHash([...batch.leafHashes]));
    await shut(p);
  });

  it("reports encode, ingest, append, seal and checkpoint stages to metricsCallback", async () => {
    const metrics: StageMetric[] = [];
    const p = open(tmpDb(), { bus: new InMemoryAuditBus(), metricsCallback: (m) => metrics.push(m) });
    await p.ingest(makeEvents(0, 10));
    expect(metrics.map((m) => [m.stage, m.count])).to.deep.equal([
      ["encode", 10],
      ["append", 10],
      ["ingest", 10],
      ["seal", 10],
      ["checkpoint", 1],
    ]);
    await shut(p);
  });

  const invalid: [string, (e: Record<string, unknown>) => unknown, RegExp][] = [
    ["a missing event_id", ({ event_id: _, ...rest }) => rest, /events\[1\].*\/event_id: is required/],
    ["a malformed uuid", (e) => ({ ...e, event_id: "not-a-uuid" }), /events\[1\].*\/event_id/],
    [
      "a non-UTC timestamp",
      (e) => ({ ...e, timestamp: "2026-01-01T00:00:00+01:00" }),
      /events\[1\].*\/timestamp/,
    ],
    [
      "both payload and payload_digest",
      (e) => ({ ...e, payload_digest: "0".repeat(64) }),
      /events\[1\].*payload_digest/,
    ],
    ["an unknown field", (e) => ({ ...e, extra: 1 }), /events\[1\].*\/extra: is not an allowed property/],
    ["a NaN in the payload", (e) => ({ ...e, payload: { x: NaN } }), /events\[1\].*\/payload\/x/],
    [
      "another federation",
      (e) => ({ ...e, federation_context: { federation_id: "opencore", node_id: "n1", region: "EU" } }),
      /events\[1\]: federation "opencore" is not this log's federation "ssid"/,
    ],
  ];
  for (const [what, mutate, message] of invalid) {
    it(`refuses a call holding an event with ${what}, storing nothing`, async () => {
      const p = open(tmpDb());
      await p.ingest(makeEvents(100, 12));
      const before = p.archive.counts();
      const root = p.log.root();
      const bad = mutate(makeEvent(1) as unknown as Record<string, unknown>);
      let caught: unknown;
      await p.ingest([makeEvent(0), bad, makeEvent(2)]).catch((e: unknown) => (caught = e));
      expect(caught).to.be.instanceOf(InvalidInputError);
      expect((caught as InvalidInputError).shortMessage).to.match(message);
      expect(p.archive.counts()).to.deep.equal(before);
      expect(p.log.root()).to.deep.equal(root);
      expect(p.pendingCount).to.equal(2);
      await shut(p);
    });
  }

  it("treats a resubmitted event as already acknowledged (same index, stored once)", async () => {
    const p = open(tmpDb());
    const first = await p.ingest(makeEvents(0, 13));
    const again = await p.ingest([...makeEvents(10, 5), makeEvent(10)]);
    expect(again.indices).to.deep.equal([10n, 11n, 12n, 13n, 14n, 10n]);
    expect(again.duplicates).to.equal(4);
    expect(first.indices.at(-1)).to.equal(12n);
    expect(p.archive.counts().events).to.equal(15);
    await shut(p);
  });

  it("refuses an event id reused with different content, storing nothing", async () => {
    const p = open(tmpDb());
    await p.ingest(makeEvents(0, 3));
    const before = p.archive.counts();
    const forged = { ...makeEvent(1), event_type: "identity.revoked" };
    let caught: unknown;
    await p.ingest([makeEvent(5), forged]).catch((e: unknown) => (caught = e));
    expect(caught).to.be.instanceOf(EventConflictError);
    expect(p.archive.counts()).to.deep.equal(before);
    await shut(p);
  });

  it("resumes after a restart: pending events sealed once, root equal to a from-scratch rebuild", async () => {
    const file = tmpDb();
    const p = open(file);
    await p.ingest(makeEvents(0, 25));
    const rootBefore = p.log.root();
    await shut(p); // 5 acknowledged, unsealed
    const q = open(file);
    expect(q.log.size).to.equal(20n);
    expect(q.log.root()).to.deep.equal(rootBefore);
    expect(q.pendingCount).to.equal(5);
    await q.ingest(makeEvents(25, 2));
    await q.flush();
    expect(q.log.size).to.equal(27n);
    expect(q.log.root()).to.deep.equal(rebuiltRoot(q.archive, 27n));
    expect(q.archive.batches(ORIGIN).map((b) => b.endSeq)).to.deep.equal([10n, 20n, 27n]);
    await shut(q);
  });

  it("hashes inline payloads in salted commitment form, keeps the payload erasable, and proofs survive erasure", async () => {
    const p = open(tmpDb());
    const events = makeEvents(0, 10);
    await p.ingest(events);
    const e3 = events[3]!;
    const stored = p.archive.getEvent(e3.event_id)!;
    const { payload, ...rest } = e3;
    const committed = canonicalBytes({
      ...rest,
      payload_commitment: payloadCommitment(stored.salt!, canonicalBytes(payload)),
    });
    expect(stored.canonical).to.deep.equal(committed);
    expect(stored.leafHash).to.deep.equal(leafHash(committed));
    expect(stored.canonical).to.not.deep.equal(canonicalBytes(digestPayload(e3)));
    expect(stored.payload).to.deep.equal(canonicalBytes(e3.payload));
    const root = p.log.root();
    expect(p.archive.erasePayload(e3.event_id, "GDPR")).to.equal(true);
    const after = p.archive.getEvent(e3.event_id)!;
    expect(after.payload).to.equal(null);
    expect(verifyInclusion(leafHash(after.canonical), 3, 10, p.log.inclusionProof(3), root)).to.equal(true);
    await shut(p);
  });

  it("consumes the bus event topic in batches and routes invalid events to event.rejected", async () => {
    const bus = new InMemoryAuditBus();
    const p = open(tmpDb(), { bus });
    p.attach(bus);
    const rejected = next<RejectedEventMessage>(bus, "event.rejected", () => true);
    const sealed = next<CheckpointMessage>(bus, "checkpoint", (c) => c.size === 10n);
    for (const e of makeEvents(0, 5)) bus.publish("event", e);
    bus.publish("event", { nonsense: true });
    for (const e of makeEvents(5, 5)) bus.publish("event", e);
    const r = await rejected;
    expect(r.event).to.deep.equal({ nonsense: true });
    expect((r.error as InvalidInputError).shortMessage).to.match(/is required/);
    await sealed;
    expect(p.archive.counts().events).to.equal(10);
    await shut(p);
  });
});
