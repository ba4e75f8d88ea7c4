import { expect } from "chai";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import {
  DriftInjector,
  DriftMonitor,
  DriftStore,
  WebhookDispatcher,
  acknowledgeAlert,
  outbox,
} from "../../src/drift";
import { quietLogs, tmpDir } from "../consensus/fixture";
import { events, SEED_NODES, staticProbe, syntheticCollection } from "./fixture";

const ORIGIN = "amp.local/hookfed";
const FAST = { baseDelayMs: 20, maxDelayMs: 200, pollMs: 20, timeoutMs: 2000 };

interface Received {
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
}

/** A webhook receiver on 127.0.0.1 (port 0 = ephemeral, or a given port to come back on). */
async function receiver(port = 0): Promise<{ server: http.Server; port: number; got: Received[] }> {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString("utf8")));
    req.on("end", () => {
      got.push({ headers: req.headers, body: JSON.parse(text) as Record<string, unknown> });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port, got };
}

const close = (s: http.Server) => new Promise<void>((resolve) => s.close(() => resolve()));

async function until(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** One drifting round (apac-node-003 serialises 20 % differently) through a monitor with webhooks. */
async function driftRound(store: DriftStore, url: string, dispatcher?: WebhookDispatcher): Promise<void> {
  const byNode = new Map<string, readonly Uint8Array[]>();
  const monitor = new DriftMonitor({
    store,
    probe: staticProbe(byNode, ORIGIN, () => 1n),
    webhooks: [url],
    ...(dispatcher ? { dispatcher } : {}),
  });
  const batch = events(ORIGIN, 1, 10);
  const inj = new DriftInjector([
    { nodeId: "apac-node-003", cause: "serialization_divergence", fraction: 0.2 },
  ]);
  for (const n of SEED_NODES) byNode.set(n, inj.driftedEntries(n, 1n, batch)?.entries ?? batch);
  monitor.observe(
    syntheticCollection(
      ORIGIN,
      1n,
      batch,
      SEED_NODES.map((nodeId) => ({ nodeId, entries: byNode.get(nodeId)! })),
    ),
  );
  await monitor.idle();
}

describe("drift/webhooks: persisted queue, retries with backoff, real HTTP on loopback", () => {
  quietLogs();

  it("retries while the receiver is down and delivers once it is up", async () => {
    const probe = await receiver();
    const port = probe.port;
    await close(probe.server); // the receiver is down: connections are refused
    const store = new DriftStore(path.join(tmpDir("amp-hooks-"), "drift.sqlite"));
    const dispatcher = new WebhookDispatcher(store, FAST);
    dispatcher.start();
    try {
      await driftRound(store, `http://127.0.0.1:${port}/hook`, dispatcher);
      await until("two failed attempts", () => (outbox(store)[0]?.attempts ?? 0) >= 2);
      expect(outbox(store)[0]!.deliveredAt).to.equal(null);
      expect(outbox(store)[0]!.lastError).to.be.a("string");
      const up = await receiver(port);
      try {
        await until("delivery", () => up.got.length === 1 && outbox(store)[0]!.deliveredAt !== null);
        const { body, headers } = up.got[0]!;
        expect(headers["content-type"]).to.equal("application/json");
        expect(headers["amp-delivery-id"]).to.equal(String(outbox(store)[0]!.id));
        expect(body).to.include({ type: "amp.drift.alert", version: 1, event: "opened" });
        expect(body.alert).to.include({
          node: "apac-node-003",
          majorityNode: "eu-node-001",
          cause: "serialization_divergence",
          driftScore: 0.2,
          state: "open",
        });
        expect((body.finding as { actions: string[] }).actions.length).to.be.at.least(3);
        // A state change is queued and delivered the same way.
        acknowledgeAlert(store, 1, "alice", "on it", [`http://127.0.0.1:${port}/hook`]);
        dispatcher.kick();
        await until("ack delivery", () => up.got.length === 2);
        expect(up.got[1]!.body).to.include({ event: "acknowledged" });
        expect(up.got[1]!.body.change).to.include({
          from: "open",
          to: "acknowledged",
          actor: "alice",
          note: "on it",
        });
      } finally {
        await close(up.server);
      }
    } finally {
      await dispatcher.stop();
      store.close();
    }
  });

  it("delivers after a node restart from the persisted queue", async () => {
    const file = path.join(tmpDir("amp-hooks-restart-"), "drift.sqlite");
    const up = await receiver();
    try {
      // First life: the alert and its webhook are queued, then the node stops before delivering.
      const first = new DriftStore(file);
      await driftRound(first, `http://127.0.0.1:${up.port}/hook`);
      expect(outbox(first)).to.have.length(1);
      first.close();
      expect(up.got).to.deep.equal([]);
      // Second life: a new dispatcher on the same file delivers it.
      const second = new DriftStore(file);
      const dispatcher = new WebhookDispatcher(second, FAST);
      dispatcher.start();
      try {
        await until("delivery after restart", () => up.got.length === 1);
        expect(up.got[0]!.body).to.include({ event: "opened" });
        await until("marked delivered", () => outbox(second)[0]!.deliveredAt !== null);
      } finally {
        await dispatcher.stop();
        second.close();
      }
    } finally {
      await close(up.server);
    }
  });

  it("refuses a webhook URL that is not http(s)", () => {
    const store = new DriftStore(path.join(tmpDir("amp-hooks-bad-"), "drift.sqlite"));
    const mk = (url: string) => () =>
      new DriftMonitor({ store, probe: staticProbe(new Map(), ORIGIN, () => 1n), webhooks: [url] });
    expect(mk("ftp://127.0.0.1/x")).to.throw(/must be http or https/);
    expect(mk("not a url")).to.throw(/is not a URL/);
    store.close();
  });
});
