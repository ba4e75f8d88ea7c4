/**
 * FederationBatchProcessor: durable ingest and batching for one federation log.
 *
 * ingest(events) → encode every event (validate, digest form, JCS, leaf hash) → one SQLite
 * transaction (committed, fsynced with synchronous=FULL) → acknowledgement. Acknowledged events are
 * "pending" until sealed: a batch is sealed when maxSize events are pending or the oldest has waited
 * maxAgeMs; sealing appends the leaves to the federation log, records batch + checkpoint in one
 * transaction, then publishes `batch.sealed` and `checkpoint` on the bus. A restart resumes from the
 * archive: the log size is the end of the last batch, every archived event beyond it is pending.
 */
import { AmpError, InvalidInputError, PushbackError } from "../util/errors";
import { createLogger } from "../util/log";
import type { Archive } from "../archive/archive";
import { SqliteLogStore } from "../archive/sqlite-log-store";
import { FederationLog, type Checkpoint } from "../log/federation-log";
import { InMemoryAuditBus, type Subscription } from "./bus";
import { safeMetrics, type MetricsCallback, type Stage } from "./metrics";
import { encodeAll, federationEventEncoder, type EncodedEvent, type EventEncoder } from "./encode";
import { storeEvents, type StoreResult } from "./store-events";

interface Sealed {
  readonly batchNo: bigint;
  readonly checkpoint: Checkpoint;
  readonly eventIds: string[];
  readonly leafHashes: Uint8Array[];
  /** performance.now() when sealing began (seal latency = until published). */
  readonly started: number;
}

export interface ProcessorOptions {
  archive: Archive;
  /** The federation log's origin (e.g. "amp.local/ssid"); also the archive's federation key. */
  origin: string;
  /** Turns a raw event into its canonical bytes and leaf (default: federationEventEncoder()). */
  encoder?: EventEncoder;
  /** If set, events whose federation context names another federation are refused. */
  federationId?: string;
  /** Seal when this many events are pending (default 1000). */
  maxSize?: number;
  /** Seal when the oldest pending event has waited this long, in ms (default 250). */
  maxAgeMs?: number;
  /** Refuse ingest with PushbackError while more than this many events are pending (default 100 × maxSize). */
  maxPending?: number;
  bus?: InMemoryAuditBus;
  /** Per-stage metrics (ingest, seal, append, checkpoint); defaults to the bus's callback. */
  metricsCallback?: MetricsCallback;
}

/** The acknowledgement of an ingest call: every event in it is durably archived. */
export interface IngestAck {
  /** Leaf index of each event, in input order (an already-archived duplicate gets its original index). */
  readonly indices: bigint[];
  /** How many of the events were already archived (idempotent resubmission). */
  readonly duplicates: number;
}

const log = createLogger("batching/processor");

export class FederationBatchProcessor {
  readonly origin: string;
  readonly archive: Archive;
  readonly log: FederationLog;
  readonly maxSize: number;
  readonly maxAgeMs: number;
  readonly maxPending: number;
  readonly federationId: string | undefined;
  private readonly encoder: EventEncoder;
  private readonly bus: InMemoryAuditBus | undefined;
  private readonly metrics: MetricsCallback;
  private pendingLeaves: Uint8Array[] = [];
  private pendingIds: string[] = [];
  private nextSeq: bigint;
  private timer: NodeJS.Timeout | undefined;
  private publishChain: Promise<void> = Promise.resolve();
  private lastBatchNo: bigint;
  private subscription: Subscription | undefined;
  private closed = false;

  /** Opens the processor on its archive, resuming any pending (acknowledged, unsealed) events. */
  constructor(options: ProcessorOptions) {
    this.origin = options.origin;
    this.archive = options.archive;
    this.encoder = options.encoder ?? federationEventEncoder();
    this.federationId = options.federationId;
    this.maxSize = positive(options.maxSize ?? 1000, "maxSize");
    this.maxAgeMs = positive(options.maxAgeMs ?? 250, "maxAgeMs");
    this.maxPending = positive(options.maxPending ?? 100 * this.maxSize, "maxPending");
    this.bus = options.bus;
    this.metrics = safeMetrics(options.metricsCallback ?? options.bus?.metricsCallback, (err) =>
      log.warn("metricsCallback threw", { err }),
    );
    this.log = new FederationLog(this.origin, new SqliteLogStore(this.archive, this.origin));
    this.nextSeq = this.archive.nextSeq(this.origin);
    this.lastBatchNo = this.archive.lastBatch(this.origin)?.batchNo ?? 0n;
    this.resumePending();
  }

  /** Events acknowledged but not yet sealed into the log. */
  get pendingCount(): number {
    return this.pendingLeaves.length;
  }

  checkpoint(): Checkpoint {
    return this.log.checkpoint();
  }

  /**
   * Validates, canonicalises and durably archives `events` (all or none), then acknowledges; when
   * that fills a batch, the batch is sealed in the same transaction (one fsync) before the ack.
   * Throws InvalidInputError naming the event index and field for any invalid event (nothing stored),
   * PushbackError when too many events are pending, EventConflictError for an id reused with other content.
   */
  async ingest(events: readonly unknown[]): Promise<IngestAck> {
    this.requireOpen();
    if (this.pendingLeaves.length >= this.maxPending) {
      throw new PushbackError(
        `${this.origin}: ${this.pendingLeaves.length} events pending sealing`,
        this.maxAgeMs,
      );
    }
    const started = performance.now();
    const encoded = encodeAll(this.encoder, events, this.federationId);
    this.metric("encode", events.length, started);
    const { ack, sealed } = this.commit(encoded, false);
    this.metric("ingest", events.length, started);
    this.armTimer();
    await this.publishAll(sealed);
    return ack;
  }

  /** Seals every pending event now (in batches of ≤ maxSize). Resolves when sealed and published. */
  flush(): Promise<void> {
    return this.seal(true);
  }

  /** Consumes the bus's `event` topic in micro-batches; invalid events go to `event.rejected`. */
  attach(bus: InMemoryAuditBus, maxQueue = this.maxPending): Subscription {
    this.subscription?.unsubscribe();
    this.subscription = bus.subscribeBatch("event", (batch) => this.ingestFromBus(bus, batch), {
      name: `processor ${this.origin}`,
      maxBatch: this.maxSize,
      maxQueue,
    });
    return this.subscription;
  }

  /** Stops the timer and the bus subscription; pending events stay archived for the next open. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.subscription?.unsubscribe();
    await this.publishChain;
  }

  /**
   * One transaction: archive `encoded`, then seal every full pending batch (and a partial one if
   * `all`). In-memory state changes only after the commit; on failure the log is reloaded.
   */
  private commit(encoded: EncodedEvent[], all: boolean): { ack: IngestAck; sealed: Sealed[] } {
    let result: StoreResult = { stored: [], indices: [], duplicates: 0 };
    const sealed: Sealed[] = [];
    let consumed = 0;
    try {
      this.archive.transaction(() => {
        if (encoded.length > 0) result = storeEvents(this.archive, this.origin, encoded, this.nextSeq);
        const total = this.pendingLeaves.length + result.stored.length;
        if (total < this.maxSize && !(all && total > 0)) return;
        const leaves = this.pendingLeaves.concat(result.stored.map((e) => e.leafHash));
        const ids = this.pendingIds.concat(result.stored.map((e) => e.eventId));
        while (total - consumed >= this.maxSize || (all && total > consumed)) {
          const n = Math.min(this.maxSize, total - consumed);
          sealed.push(this.sealOne(ids.slice(consumed, consumed + n), leaves.slice(consumed, consumed + n)));
          consumed += n;
        }
      });
    } catch (err) {
      this.log.reload();
      this.lastBatchNo = this.archive.lastBatch(this.origin)?.batchNo ?? 0n;
      throw err;
    }
    for (const e of result.stored) {
      this.pendingLeaves.push(e.leafHash);
      this.pendingIds.push(e.eventId);
    }
    this.pendingLeaves.splice(0, consumed);
    this.pendingIds.splice(0, consumed);
    this.nextSeq += BigInt(result.stored.length);
    return { ack: { indices: result.indices, duplicates: result.duplicates }, sealed };
  }

  /** Bus path: refuse invalid events one by one (to `event.rejected`), archive the rest together. */
  private async ingestFromBus(bus: InMemoryAuditBus, batch: unknown[]): Promise<void> {
    const good: unknown[] = [];
    for (const raw of batch) {
      try {
        encodeAll(this.encoder, [raw], this.federationId);
        good.push(raw);
      } catch (err) {
        await this.reject(bus, raw, err);
      }
    }
    while (good.length > 0) {
      try {
        await this.ingest(good);
        return;
      } catch (err) {
        if (!(err instanceof PushbackError)) return this.reject(bus, good, err);
        await new Promise((r) => setTimeout(r, err.retryAfterMs));
      }
    }
  }

  private async reject(bus: InMemoryAuditBus, event: unknown, error: unknown): Promise<void> {
    log.warn("event refused", { origin: this.origin, err: error });
    if (bus.subscriberCount("event.rejected") > 0)
      await bus.publishWhenReady("event.rejected", { event, error });
  }

  private resumePending(): void {
    const size = this.log.size;
    const events = this.archive.eventsInRange(this.origin, size, this.nextSeq);
    this.pendingLeaves = events.map((e) => e.leafHash);
    this.pendingIds = events.map((e) => e.eventId);
    if (events.length > 0) {
      log.info("resuming pending events", { origin: this.origin, size, pending: events.length });
      this.armTimer();
    }
  }

  private armTimer(): void {
    if (this.timer !== undefined || this.pendingLeaves.length === 0 || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.seal(true).catch((err: unknown) => log.error("timed seal failed", { origin: this.origin, err }));
    }, this.maxAgeMs);
    this.timer.unref();
  }

  /** Seals pending events now (a partial batch if `all`) and publishes them in order. */
  private async seal(all: boolean): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const { sealed } = this.commit([], all);
    this.armTimer();
    await this.publishAll(sealed);
  }

  /** Appends one batch to the log and records batch + checkpoint (inside commit's transaction). */
  private sealOne(eventIds: string[], leafHashes: Uint8Array[]): Sealed {
    const started = performance.now();
    const plan = this.log.prepareAppend(leafHashes);
    const batchNo = this.lastBatchNo + 1n;
    this.log.store.writeAppend(plan);
    this.archive.insertCheckpoint(this.origin, { round: batchNo, size: plan.newSize, root: plan.root });
    const checkpoint = this.log.applyAppend(plan);
    this.lastBatchNo = batchNo;
    this.metric("append", leafHashes.length, started);
    return { batchNo, checkpoint, eventIds, leafHashes, started };
  }

  /** Publishes sealed batches on the bus strictly in batch order, across concurrent callers. */
  private publishAll(sealed: Sealed[]): Promise<void> {
    if (sealed.length === 0) return this.publishChain;
    const next = this.publishChain.then(async () => {
      for (const s of sealed) await this.publish(s);
    });
    this.publishChain = next.catch(() => undefined);
    return next;
  }

  private async publish({ batchNo, checkpoint: cp, eventIds, leafHashes, started }: Sealed): Promise<void> {
    this.metric("seal", leafHashes.length, started);
    if (!this.bus) return;
    const startIndex = cp.size - BigInt(leafHashes.length);
    try {
      await this.bus.publishWhenReady("batch.sealed", {
        origin: this.origin,
        batchNo,
        startIndex,
        endIndex: cp.size,
        eventIds,
        leafHashes,
      });
      await this.bus.publishWhenReady("checkpoint", { round: batchNo, ...cp });
    } catch (err) {
      // The batch and checkpoint are durable; consumers resynchronise from the archive.
      log.error("could not publish sealed batch", { origin: this.origin, batchNo, err });
    }
    this.metric("checkpoint", 1, started);
  }

  private metric(stage: Stage, count: number, started: number): void {
    this.metrics({ stage, count, latencyMs: performance.now() - started, origin: this.origin });
  }

  private requireOpen(): void {
    if (this.closed) throw new AmpError(`processor for ${this.origin} is closed`, { kind: "conflict" });
  }
}

function positive(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidInputError(`processor ${what} must be a positive integer, got ${value}`);
  }
  return value;
}
