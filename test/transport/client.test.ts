import { expect } from "chai";
import Fastify, { type FastifyInstance } from "fastify";
import { PeerClient, PeerError, routeOf } from "../../src/transport/client";

describe("transport/PeerClient", function () {
  let app: FastifyInstance;
  let url: string;
  const hits = new Map<string, number>();
  const hit = (k: string) => {
    hits.set(k, (hits.get(k) ?? 0) + 1);
    return hits.get(k)!;
  };

  before(async function () {
    app = Fastify({ forceCloseConnections: true });
    app.get("/bad", (_req, reply) => reply.code(400).send({ message: "no" }));
    app.get("/busy-then-ok", (_req, reply) =>
      hit("busy") < 3 ? reply.code(503).header("retry-after", "0").send("busy") : reply.send({ ok: true }),
    );
    app.get("/full", (_req, reply) => {
      hit("full");
      return reply.code(429).header("retry-after", "0").send("full");
    });
    app.get("/conflict", (_req, reply) => {
      hit("conflict");
      return reply.code(409).type("text/x.tlog.size").send("5\n");
    });
    app.get("/slow", async () => {
      hit("slow");
      await new Promise((r) => setTimeout(r, 400));
      return { late: true };
    });
    app.get("/big", () => "x".repeat(5000));
    app.addContentTypeParser("text/plain", { parseAs: "string" }, (_req, b, done) => done(null, b));
    app.post("/echo", (req, reply) => reply.type("text/plain").send(req.body as string));
    url = await app.listen({ host: "127.0.0.1", port: 0 });
  });

  after(async () => app.close());

  const client = new PeerClient({ timeoutMs: 1000, backoffMs: 5 });

  it("does not retry a 400 and reports the status and kind", async () => {
    const e = await client.request(url, { method: "GET", path: "/bad" }).catch((x: unknown) => x);
    expect(e).to.be.instanceOf(PeerError);
    expect((e as PeerError).status).to.equal(400);
    expect((e as PeerError).kind).to.equal("invalid-input");
  });

  it("retries 503 (honouring Retry-After) and succeeds within 3 tries", async () => {
    const res = await client.json<{ ok: boolean }>(url, { method: "GET", path: "/busy-then-ok" });
    expect(res.ok).to.equal(true);
    expect(hits.get("busy")).to.equal(3);
  });

  it("gives up after 3 tries on 429 as retry-later", async () => {
    const e = (await client
      .request(url, { method: "GET", path: "/full" })
      .catch((x: unknown) => x)) as PeerError;
    expect([e.status, e.kind, hits.get("full")]).to.deep.equal([429, "retry-later", 3]);
  });

  it("retries 409 unless the caller adapts to it, and keeps the body", async () => {
    await client.request(url, { method: "GET", path: "/conflict" }).catch(() => undefined);
    expect(hits.get("conflict")).to.equal(3);
    const e = (await client
      .request(url, { method: "GET", path: "/conflict", retryConflict: false })
      .catch((x: unknown) => x)) as PeerError;
    expect([e.status, e.body, hits.get("conflict")]).to.deep.equal([409, "5\n", 4]);
  });

  it("times out a slow peer per try and retries it as a network error", async () => {
    const e = (await client
      .request(url, { method: "GET", path: "/slow", timeoutMs: 100 })
      .catch((x: unknown) => x)) as PeerError;
    expect([e.status, e.kind, hits.get("slow")]).to.deep.equal([undefined, "retry-later", 3]);
    await client
      .request(url, { method: "GET", path: "/slow", timeoutMs: 100, tries: 1 })
      .catch(() => undefined);
    expect(hits.get("slow")).to.equal(4);
  });

  it("counts the bytes it exchanges with each peer: request head and body, answer head and body, every try", async () => {
    const c = new PeerClient({ timeoutMs: 1000, backoffMs: 5 });
    const body = "x".repeat(1000);
    await c.request(url + "/", { method: "POST", path: "/echo", body, contentType: "text/plain" });
    const one = { ...c.wire().get(url)! };
    expect(one.requests).to.equal(1);
    // Exactly the body plus a head of a few dozen bytes each way (the echo answers the body).
    expect(one.sentBytes).to.be.within(1000 + 60, 1000 + 200);
    expect(one.receivedBytes).to.be.within(1000 + 60, 1000 + 400);
    await c.request(url, { method: "GET", path: "/full" }).catch(() => undefined); // 429, 3 tries
    const all = c.wire().get(url)!;
    expect(all.requests).to.equal(one.requests + 3); // each retry crossed the wire again
    await c.request("http://127.0.0.1:9", { method: "GET", path: "/", tries: 1 }).catch(() => undefined);
    expect(c.wire().get("http://127.0.0.1:9")).to.include({ requests: 1, receivedBytes: 0 });
    // The same bytes per route (method + path, query dropped, numbers as :n), adding up to the totals.
    expect(all.routes["POST /echo"]).to.deep.equal({
      requests: 1,
      sentBytes: one.sentBytes,
      receivedBytes: one.receivedBytes,
    });
    expect(all.routes["GET /full"]?.requests).to.equal(3);
    const sum = Object.values(all.routes).reduce((a, r) => a + r.sentBytes + r.receivedBytes, 0);
    expect(sum).to.equal(all.sentBytes + all.receivedBytes);
    expect(routeOf("GET", "/v1/anchors/12")).to.equal("GET /v1/anchors/:n");
    expect(routeOf("GET", "/v1/archive/entries?from=0&to=10")).to.equal("GET /v1/archive/entries");
  });

  it("refuses an answer larger than its bound and a peer that is not there", async () => {
    const small = new PeerClient({ maxBodyBytes: 1000, tries: 1 });
    const e = (await small
      .request(url, { method: "GET", path: "/big" })
      .catch((x: unknown) => x)) as PeerError;
    expect(e.message).to.match(/larger than 1000 bytes/);
    const gone = (await small
      .request("http://127.0.0.1:9", { method: "GET", path: "/" })
      .catch((x: unknown) => x)) as PeerError;
    expect(gone.kind).to.equal("retry-later");
  });
});
