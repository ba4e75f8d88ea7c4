/**
 * InMemoryAuditBus: typed, in-process publish/subscribe with bounded queues (the seed's name).
 *
 * Every subscriber has its own FIFO of at most `maxQueue` messages, drained by one asynchronous
 * loop that awaits the handler. `publish` is all-or-nothing: if any subscriber of the topic is full
 * it throws PushbackError (retryAfterMs = estimated time for that queue to drain half-way) and
 * enqueues nowhere, so memory stays bounded and a slow consumer slows its producers down.
 */
import { PushbackError } from "../util/errors";
import { createLogger } from "../util/log";
import type { AmpTopics } from "./topics";
import { safeMetrics, type MetricsCallback } from "./metrics";

export type Handler<M> = (message: M) => void | Promise<void>;

export interface BusOptions {
  /** Default queue bound per subscriber (default 1024 messages). */
  maxQueue?: number;
  /** Called once per stage measurement (bus: "publish", "deliver"; processor: ingest, seal, ...). */
  metricsCallback?: MetricsCallback;
}

export interface SubscribeOptions {
  /** Queue bound for this subscriber (default: the bus's maxQueue). */
  maxQueue?: number;
  /** Name used in pushback errors and logs. */
  name?: string;
}

export interface Subscription {
  readonly name: string;
  /** Messages queued and not yet handed to the handler. */
  readonly queueLength: number;
  readonly maxQueue: number;
  unsubscribe(): void;
}

const log = createLogger("batching/bus");

class Subscriber<M> implements Subscription {
  readonly queue: M[] = [];
  active = true;
  draining = false;
  meanHandlerMs = 1;
  private readonly drainWaiters: (() => void)[] = [];

  constructor(
    readonly name: string,
    readonly maxQueue: number,
    readonly maxBatch: number,
    readonly deliver: (messages: M[]) => void | Promise<void>,
    private readonly detach: () => void,
  ) {}

  get queueLength(): number {
    return this.queue.length;
  }

  unsubscribe(): void {
    this.active = false;
    this.queue.length = 0;
    this.detach();
    this.notifyRoom();
  }

  /** Estimated ms until half the queue has been handled (at least 1). */
  retryAfterMs(): number {
    return Math.max(1, Math.min(1000, Math.ceil((this.meanHandlerMs * this.queue.length) / 2)));
  }

  waitForRoom(): Promise<void> {
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  notifyRoom(): void {
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }
}

export class InMemoryAuditBus<T extends object = AmpTopics> {
  readonly maxQueue: number;
  readonly metricsCallback: MetricsCallback;
  private readonly subscribers = new Map<keyof T, Set<Subscriber<unknown>>>();

  constructor(options: BusOptions = {}) {
    const maxQueue = options.maxQueue ?? 1024;
    if (!Number.isSafeInteger(maxQueue) || maxQueue < 1) {
      throw new RangeError(`bus maxQueue must be a positive integer, got ${maxQueue}`);
    }
    this.maxQueue = maxQueue;
    this.metricsCallback = safeMetrics(options.metricsCallback, (err) =>
      log.warn("metricsCallback threw", { err }),
    );
  }

  /** Calls `handler` once per message of `topic`, in publish order, one at a time. */
  subscribe<K extends keyof T>(
    topic: K,
    handler: Handler<T[K]>,
    options: SubscribeOptions = {},
  ): Subscription {
    return this.attach(topic, 1, (batch) => handler(batch[0]!), options);
  }

  /**
   * Calls `handler` with up to `maxBatch` queued messages at a time (group commit: a consumer that
   * writes to disk pays one transaction per call instead of one per message).
   */
  subscribeBatch<K extends keyof T>(
    topic: K,
    handler: Handler<T[K][]>,
    options: SubscribeOptions & { maxBatch?: number } = {},
  ): Subscription {
    const maxBatch = options.maxBatch ?? 1000;
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) {
      throw new RangeError(`subscribeBatch maxBatch must be a positive integer, got ${maxBatch}`);
    }
    return this.attach(topic, maxBatch, handler, options);
  }

  private attach<K extends keyof T>(
    topic: K,
    maxBatch: number,
    deliver: (batch: T[K][]) => void | Promise<void>,
    options: SubscribeOptions,
  ): Subscription {
    const set = this.subscribers.get(topic) ?? new Set();
    this.subscribers.set(topic, set);
    const name = options.name ?? `${String(topic)}#${set.size + 1}`;
    const maxQueue = options.maxQueue ?? this.maxQueue;
    if (!Number.isSafeInteger(maxQueue) || maxQueue < 1) {
      throw new RangeError(`subscriber maxQueue must be a positive integer, got ${maxQueue}`);
    }
    const sub: Subscriber<T[K]> = new Subscriber(name, maxQueue, maxBatch, deliver, () =>
      set.delete(sub as unknown as Subscriber<unknown>),
    );
    set.add(sub as unknown as Subscriber<unknown>);
    return sub;
  }

  /** Number of active subscribers of `topic`. */
  subscriberCount(topic: keyof T): number {
    return this.subscribers.get(topic)?.size ?? 0;
  }

  /** Enqueues `message` for every subscriber of `topic`, or throws PushbackError and enqueues nowhere. */
  publish<K extends keyof T>(topic: K, message: T[K]): void {
    const subs = [...(this.subscribers.get(topic) ?? [])] as unknown as Subscriber<T[K]>[];
    for (const sub of subs) {
      if (sub.queue.length >= sub.maxQueue) {
        throw new PushbackError(
          `bus subscriber ${sub.name} of topic ${String(topic)} is full (${sub.queue.length} queued)`,
          sub.retryAfterMs(),
          { meta: { topic: String(topic), subscriber: sub.name, queued: sub.queue.length } },
        );
      }
    }
    for (const sub of subs) {
      sub.queue.push(message);
      if (!sub.draining) {
        sub.draining = true;
        setImmediate(() => void this.drain(sub, String(topic)));
      }
    }
    this.metricsCallback({ stage: "publish", topic: String(topic), count: 1, latencyMs: 0 });
  }

  /** Like publish, but on pushback waits for room (up to `timeoutMs`, default 30 s) and retries. */
  async publishWhenReady<K extends keyof T>(topic: K, message: T[K], timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        this.publish(topic, message);
        return;
      } catch (err) {
        if (!(err instanceof PushbackError) || Date.now() >= deadline) throw err;
        await this.roomOrTimeout(topic, Math.min(err.retryAfterMs, Math.max(1, deadline - Date.now())));
      }
    }
  }

  /** Resolves once every queue is empty and no handler is running. */
  async idle(): Promise<void> {
    for (;;) {
      const busy = [...this.subscribers.values()].flatMap((s) => [...s]).find((s) => s.draining);
      if (!busy) return;
      await busy.waitForRoom();
      await new Promise((r) => setImmediate(r));
    }
  }

  private roomOrTimeout(topic: keyof T, ms: number): Promise<void> {
    const full = [...(this.subscribers.get(topic) ?? [])].filter((s) => s.queue.length >= s.maxQueue);
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      void Promise.race(full.map((s) => s.waitForRoom())).then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private async drain<M>(sub: Subscriber<M>, topic: string): Promise<void> {
    while (sub.active && sub.queue.length > 0) {
      const batch = sub.queue.splice(0, sub.maxBatch);
      const started = performance.now();
      try {
        await sub.deliver(batch);
      } catch (err) {
        log.error("bus handler failed", { topic, subscriber: sub.name, err });
      }
      const ms = performance.now() - started;
      sub.meanHandlerMs = sub.meanHandlerMs * 0.9 + (ms / batch.length) * 0.1;
      this.metricsCallback({ stage: "deliver", topic, count: batch.length, latencyMs: ms });
      sub.notifyRoom();
    }
    sub.draining = false;
    sub.notifyRoom();
  }
}
