/**
 * PeerClient: the one place where AMP talks HTTP to another node. Per-call timeout (default 1 s),
 * at most 3 tries with jittered exponential backoff, retrying only what is safe to retry (network
 * errors, 409, 429, 503, honouring `Retry-After`), keep-alive connections (Node's fetch pools them
 * per origin), and a bound on the bytes read from an answer.
 */
import { AmpError, type AmpErrorKind } from "../util/errors";

export interface PeerClientOptions {
  /** Per-try timeout in ms (default 1000). */
  readonly timeoutMs?: number;
  /** Tries per call, at most 3 (default 3). */
  readonly tries?: number;
  /** First backoff in ms (default 50); doubles per try, with ±50 % jitter. */
  readonly backoffMs?: number;
  /** Largest answer body read, in bytes (default 32 MiB). */
  readonly maxBodyBytes?: number;
}

export interface PeerRequest {
  readonly method: "GET" | "POST";
  /** Path and query, e.g. `/v1/status`. */
  readonly path: string;
  readonly body?: string;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Overrides the client's timeout for slow calls (a whole consensus round). */
  readonly timeoutMs?: number;
  /** Fewer tries than the client's (1: the caller has its own retry, e.g. a round or a quorum). */
  readonly tries?: number;
  /** Retry a 409 (default true); false when the caller adapts the request to the answer. */
  readonly retryConflict?: boolean;
}

export interface PeerResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: Buffer;
}

/** A peer call that failed: `status` is the HTTP status when the peer answered. */
export class PeerError extends AmpError {
  override name = "PeerError";
  constructor(
    shortMessage: string,
    kind: AmpErrorKind,
    readonly status: number | undefined,
    readonly body: string,
    cause?: unknown,
  ) {
    super(shortMessage, { kind, ...(cause === undefined ? {} : { cause }), meta: { status } });
  }
}

const RETRY_STATUS = new Set([409, 429, 503]);
const MAX_TRIES = 3;

function kindOf(status: number): AmpErrorKind {
  if (status === 404) return "not-found";
  if (status === 409 || status === 422) return "conflict";
  if (status === 429 || status === 503) return "retry-later";
  if (status >= 400 && status < 500) return "invalid-input";
  return "retry-later";
}

async function readBounded(res: Response, max: number): Promise<Buffer> {
  if (!res.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    n += chunk.length;
    if (n > max) throw new Error(`answer larger than ${max} bytes`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

function retryAfterMs(res: Response): number | undefined {
  const v = res.headers.get("retry-after");
  if (v === null) return undefined;
  const s = Number(v);
  return Number.isFinite(s) && s >= 0 ? Math.min(s * 1000, 2000) : undefined;
}

/** Bytes one client exchanged with one peer (base URL), counted as they cross the socket. */
export interface WireCount {
  /** Tries sent (a retry counts again: its bytes crossed the wire again). */
  requests: number;
  /** Request line, headers this client sets, and body. */
  sentBytes: number;
  /** Status line, response headers and body (0 for a try that got no answer). */
  receivedBytes: number;
  /** The same counts per route: method and path, query dropped, numbers as `:n` (`GET /v1/anchors/:n`). */
  routes: Record<string, { requests: number; sentBytes: number; receivedBytes: number }>;
}

/** `GET /v1/anchors/:n` for `GET /v1/anchors/12?x=1`: the route a request's bytes are counted under. */
export function routeOf(method: string, pathAndQuery: string): string {
  return `${method} ${pathAndQuery.split("?")[0]!.replace(/\/\d+(?=\/|$)/g, "/:n")}`;
}

/** Bytes of an HTTP/1.1 request head with these headers (undici adds ≈ 100 B of its own, not counted). */
function requestHeadBytes(method: string, url: URL, headers: Record<string, string>, body: number): number {
  let n = `${method} ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n`.length;
  for (const [k, v] of Object.entries(headers)) n += k.length + 2 + Buffer.byteLength(v) + 2;
  if (body > 0) n += `content-length: ${body}\r\n`.length;
  return n + 2;
}

function responseHeadBytes(res: Response): number {
  let n = `HTTP/1.1 ${res.status} ${res.statusText}\r\n`.length;
  res.headers.forEach((v, k) => (n += k.length + 2 + Buffer.byteLength(v) + 2));
  return n + 2;
}

export class PeerClient {
  private readonly counts = new Map<string, WireCount>();
  private readonly timeoutMs: number;
  private readonly tries: number;
  private readonly backoffMs: number;
  private readonly maxBodyBytes: number;

  constructor(opts: PeerClientOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 1000;
    this.tries = Math.min(Math.max(opts.tries ?? MAX_TRIES, 1), MAX_TRIES);
    this.backoffMs = opts.backoffMs ?? 50;
    this.maxBodyBytes = opts.maxBodyBytes ?? 32 * 1024 * 1024;
  }

  /** Bytes exchanged so far with each peer, by base URL (no trailing slash). */
  wire(): ReadonlyMap<string, Readonly<WireCount>> {
    return this.counts;
  }

  private count(base: string): WireCount {
    let c = this.counts.get(base);
    if (!c) this.counts.set(base, (c = { requests: 0, sentBytes: 0, receivedBytes: 0, routes: {} }));
    return c;
  }

  /** Send `req` to `baseUrl`; resolves with a 2xx answer, else throws PeerError. */
  async request(baseUrl: string, req: PeerRequest): Promise<PeerResponse> {
    const base = baseUrl.replace(/\/$/, "");
    const url = base + req.path;
    const counter = this.count(base);
    const route = (counter.routes[routeOf(req.method, req.path)] ??= {
      requests: 0,
      sentBytes: 0,
      receivedBytes: 0,
    });
    let last: PeerError | undefined;
    const tries = Math.min(req.tries ?? this.tries, this.tries);
    for (let attempt = 1; attempt <= tries; attempt++) {
      let wait: number | undefined;
      try {
        const headers = {
          ...(req.body !== undefined ? { "content-type": req.contentType ?? "application/json" } : {}),
          ...req.headers,
        };
        const bodyBytes = req.body === undefined ? 0 : Buffer.byteLength(req.body);
        const sent = requestHeadBytes(req.method, new URL(url), headers, bodyBytes) + bodyBytes;
        counter.requests++;
        counter.sentBytes += sent;
        route.requests++;
        route.sentBytes += sent;
        const res = await fetch(url, {
          method: req.method,
          headers,
          ...(req.body !== undefined ? { body: req.body } : {}),
          signal: AbortSignal.timeout(req.timeoutMs ?? this.timeoutMs),
        });
        const head = responseHeadBytes(res);
        counter.receivedBytes += head;
        route.receivedBytes += head;
        const body = await readBounded(res, this.maxBodyBytes);
        counter.receivedBytes += body.length;
        route.receivedBytes += body.length;
        const contentType = res.headers.get("content-type") ?? "";
        if (res.ok) return { status: res.status, contentType, body };
        const text = body.toString("utf8").slice(0, 500);
        last = new PeerError(
          `${req.method} ${url}: HTTP ${res.status} ${text.split("\n")[0] ?? ""}`,
          kindOf(res.status),
          res.status,
          text,
        );
        if (!RETRY_STATUS.has(res.status) || (res.status === 409 && req.retryConflict === false)) throw last;
        wait = retryAfterMs(res);
      } catch (e) {
        if (e instanceof PeerError) throw e; // thrown above: not retryable
        last = new PeerError(
          `${req.method} ${url}: ${(e as Error).message}`,
          "retry-later",
          undefined,
          "",
          e,
        );
      }
      if (attempt < tries) {
        const backoff = this.backoffMs * 2 ** (attempt - 1) * (0.5 + Math.random());
        await new Promise((r) => setTimeout(r, wait ?? backoff));
      }
    }
    throw last!;
  }

  async json<T>(baseUrl: string, req: PeerRequest): Promise<T> {
    const res = await this.request(baseUrl, req);
    try {
      return JSON.parse(res.body.toString("utf8")) as T;
    } catch (e) {
      throw new PeerError(`${baseUrl}${req.path}: answer is not JSON`, "retry-later", res.status, "", e);
    }
  }
}
