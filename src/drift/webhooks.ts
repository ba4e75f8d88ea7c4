/**
 * Governance webhooks from a persisted queue (`drift_webhook_outbox` in drift.sqlite): an alert
 * change is queued in the same database as the alert, and a dispatcher POSTs it in the background
 * with jittered exponential backoff until the receiver answers 2xx. Nothing here ever blocks a
 * round; a restarted node delivers what is still queued. Delivery is at least once: receivers
 * dedupe on the `AMP-Delivery-Id` header.
 */
import { InvalidInputError, oneLine } from "../util/errors";
import { createLogger, type Logger } from "../util/log";
import type { DriftStore } from "./store";

export const WEBHOOK_PAYLOAD_VERSION = 1;

export interface WebhookOptions {
  /** First retry delay (ms); doubles per failed attempt. Default 500. */
  readonly baseDelayMs?: number;
  /** Largest retry delay (ms). Default 60,000. */
  readonly maxDelayMs?: number;
  /** Per-request timeout (ms). Default 5,000. */
  readonly timeoutMs?: number;
  /** How often the queue is polled when idle (ms). Default 250. */
  readonly pollMs?: number;
  readonly logger?: Logger;
}

export function checkWebhookUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InvalidInputError(`webhook ${JSON.stringify(url)} is not a URL`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new InvalidInputError(`webhook ${url} must be http or https`);
  }
  return u.toString();
}

/** Queue one JSON body for each URL (in the caller's transaction, if any). */
export function enqueueWebhooks(
  store: DriftStore,
  urls: readonly string[],
  alertId: number,
  event: string,
  body: unknown,
): void {
  const ins = store.db.prepare(
    `INSERT INTO drift_webhook_outbox (url, alert_id, event, body, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const text = JSON.stringify(body, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  for (const url of urls) ins.run(url, alertId, event, text, Date.now(), new Date().toISOString());
}

export interface OutboxRow {
  readonly id: number;
  readonly url: string;
  readonly alertId: number;
  readonly event: string;
  readonly attempts: number;
  readonly deliveredAt: string | null;
  readonly lastError: string | null;
}

export function outbox(store: DriftStore): OutboxRow[] {
  const rows = store.db
    .prepare(
      `SELECT id, url, alert_id, event, attempts, delivered_at, last_error FROM drift_webhook_outbox ORDER BY id`,
    )
    .all() as {
    id: number;
    url: string;
    alert_id: number;
    event: string;
    attempts: number;
    delivered_at: string | null;
    last_error: string | null;
  }[];
  return rows.map((r) => ({
    id: r.id,
    url: r.url,
    alertId: r.alert_id,
    event: r.event,
    attempts: r.attempts,
    deliveredAt: r.delivered_at,
    lastError: r.last_error,
  }));
}

export class WebhookDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private readonly logger: Logger;

  constructor(
    private readonly store: DriftStore,
    private readonly opts: WebhookOptions = {},
  ) {
    this.logger = opts.logger ?? createLogger("drift-webhooks");
  }

  /** Poll the queue in the background until `stop()`. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Deliver due rows soon (after a new alert change). */
  kick(): void {
    if (!this.stopped) this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.running) return this.schedule(this.opts.pollMs ?? 250);
      this.running = this.deliverDue()
        .then(() => undefined)
        .catch((e: unknown) => this.logger.error("webhook dispatcher failed", { error: e }))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.schedule(this.opts.pollMs ?? 250);
        });
    }, ms);
    this.timer.unref();
  }

  /** One pass: POST every due row once. Returns how many were delivered. */
  async deliverDue(): Promise<number> {
    const due = this.store.db
      .prepare(
        `SELECT id, url, body, attempts FROM drift_webhook_outbox
         WHERE delivered_at IS NULL AND next_attempt_at <= ? ORDER BY id LIMIT 100`,
      )
      .all(Date.now()) as { id: number; url: string; body: string; attempts: number }[];
    let delivered = 0;
    for (const row of due) {
      const error = await this.post(row.id, row.url, row.body);
      if (this.store.db.open === false) return delivered;
      if (error === undefined) {
        delivered++;
        this.store.db
          .prepare(
            `UPDATE drift_webhook_outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?`,
          )
          .run(new Date().toISOString(), row.id);
      } else {
        const attempts = row.attempts + 1;
        const base = this.opts.baseDelayMs ?? 500;
        const delay = Math.min(this.opts.maxDelayMs ?? 60_000, base * 2 ** (attempts - 1));
        const next = Date.now() + Math.round(delay * (0.5 + Math.random() / 2));
        this.store.db
          .prepare(
            `UPDATE drift_webhook_outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?`,
          )
          .run(attempts, next, error, row.id);
        this.logger.warn("webhook delivery failed; will retry", {
          url: row.url,
          delivery: row.id,
          attempts,
          error,
        });
      }
    }
    return delivered;
  }

  private async post(id: number, url: string, body: string): Promise<string | undefined> {
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", "amp-delivery-id": String(id) },
        body,
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5000),
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.ok ? undefined : `HTTP ${res.status}`;
    } catch (e) {
      return oneLine(e instanceof Error && e.cause instanceof Error ? e.cause : e);
    }
  }
}
