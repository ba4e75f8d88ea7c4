/**
 * LiveNodes (src/dashboard/live.ts) against HTTP servers on loopback: drift routes present or
 * absent, alerts of every node merged as `<node>/<id>`, acknowledge / resolve forwarded with that
 * node's operator token (the real requireAdmin of src/node/admin.ts guards the stand-in route, as
 * it guards the node's), and a node's malformed credit records shown invalid. The real nodes'
 * routes are exercised by test/dashboard/live.test.ts (amp up, Chromium).
 */
import { expect } from "chai";
import Fastify, { type FastifyInstance } from "fastify";
import { DashboardActionError } from "../../src/dashboard/drift";
import { LiveNodes } from "../../src/dashboard/live";
import { ensureAdminToken, requireAdmin } from "../../src/node/admin";
import { tmpDir } from "../node/helpers";

describe("dashboard live source: drift from the nodes, acknowledge with the operator token", function () {
  let withDrift: FastifyInstance;
  let without: FastifyInstance;
  let urls: { drift: string; none: string };
  const token = ensureAdminToken(tmpDir("amp-live-src-"));
  const received: { id: string; action: string; body: unknown }[] = [];

  before(async function () {
    withDrift = Fastify();
    withDrift.get("/v1/drift", () => ({ alerts: [{ id: "7", state: "open" }], findings: [], clock: [] }));
    for (const action of ["ack", "resolve"]) {
      withDrift.post(`/v1/drift/alerts/:id/${action}`, { preHandler: requireAdmin(token) }, (req) => {
        const id = (req.params as { id: string }).id;
        if (id !== "7") return Promise.reject(Object.assign(new Error("no alert"), { statusCode: 404 }));
        received.push({ id, action, body: req.body });
        return Promise.resolve({ alert: { id, state: action === "ack" ? "acknowledged" : "resolved" } });
      });
    }
    without = Fastify();
    without.get("/v1/status", () => ({}));
    without.get("/v1/credits/epochs", () => ({ epochSeconds: 30, epochs: [{ epoch: "5" }] }));
    without.get("/v1/credits/epochs/5", () => ({
      epoch: "5",
      txHash: "0x" + "11".repeat(32),
      blockNumber: 9,
      records: [{ format: "amp-credit-allocation/v1", origin: "o", node: "n", epoch: "5", forged: true }],
    }));
    urls = {
      drift: await withDrift.listen({ host: "127.0.0.1", port: 0 }),
      none: await without.listen({ host: "127.0.0.1", port: 0 }),
    };
  });
  after(async () => {
    await withDrift.close();
    await without.close();
  });

  it("says not available when no node serves drift", async function () {
    const live = new LiveNodes([{ url: urls.none }]);
    const d = (await live.drift()) as { available: boolean; reason: string };
    expect(d.available).to.equal(false);
    expect(d.reason).to.match(/no node serves \/v1\/drift/);
  });

  it("shows a node's malformed credit record as invalid, naming the field, and says when the next epoch comes", async function () {
    const live = new LiveNodes([{ url: urls.drift }, { url: urls.none }]);
    const c = (await live.credits()) as {
      source: string;
      allocations: { node: string; verification: { status: string; detail: string } }[];
      ranking: unknown[];
      next: { epoch: string; message: string };
    };
    expect(c.source).to.equal(urls.none);
    expect(c.allocations).to.have.length(1);
    expect(c.allocations[0]!.node).to.equal("n");
    expect(c.allocations[0]!.verification.status).to.equal("invalid");
    expect(c.allocations[0]!.verification.detail).to.match(/field forged: is not a field/);
    expect(c.ranking).to.deep.equal([]); // nothing unchecked is ranked
    expect(c.next.epoch).to.equal("6");
    expect(c.next.message).to.match(/Epochs are 30 s of chain time \(amp up --epoch-seconds N/);
    const none = (await new LiveNodes([{ url: urls.drift }]).credits()) as { available: boolean };
    expect(none.available).to.equal(false);
  });

  it("merges the nodes serving drift (alerts named <node>/<id>) and sends ack / resolve to that node with its token", async function () {
    const live = new LiveNodes([
      { id: "a", url: urls.none },
      { id: "b", url: urls.drift, token },
    ]);
    const d = (await live.drift()) as { alerts: { id: string; observedBy: string }[]; source: string };
    expect(d.source).to.equal("b");
    expect(d.alerts.map((a) => [a.id, a.observedBy])).to.deep.equal([["b/7", "b"]]);
    const r = await live.driftAction("b/7", "ack", { by: "op", note: "" });
    expect(r).to.deep.include({ id: "b/7", observedBy: "b" });
    await live.driftAction("b/7", "resolve", { by: "op", note: "fixed" });
    expect(received.map((x) => [x.action, x.body])).to.deep.equal([
      ["ack", { by: "op", note: "" }],
      ["resolve", { by: "op", note: "fixed" }],
    ]);
  });

  it("refuses without the token (403) and passes the node's refusals on (401 wrong token, 404 no alert)", async function () {
    const noToken = new LiveNodes([{ id: "b", url: urls.drift }]);
    await noToken.drift();
    const e1 = await noToken.driftAction("b/7", "ack", { by: "op", note: "" }).catch((e: unknown) => e);
    expect(e1).to.be.instanceOf(DashboardActionError);
    expect((e1 as DashboardActionError).status).to.equal(403);
    const wrong = new LiveNodes([{ id: "b", url: urls.drift, token: "ab".repeat(32) }]);
    await wrong.drift();
    const e2 = await wrong.driftAction("b/7", "ack", { by: "op", note: "" }).catch((e: unknown) => e);
    expect((e2 as DashboardActionError).status).to.equal(401);
    const right = new LiveNodes([{ id: "b", url: urls.drift, token }]);
    await right.drift();
    const e3 = await right.driftAction("b/8", "ack", { by: "op", note: "" }).catch((e: unknown) => e);
    expect((e3 as DashboardActionError).status).to.equal(404);
    for (const bad of ["7", "c/7"]) {
      const e4 = await right.driftAction(bad, "ack", { by: "op", note: "" }).catch((e: unknown) => e);
      expect((e4 as DashboardActionError).status, bad).to.equal(404);
    }
    expect(received).to.have.length(2); // nothing more reached the node's store
  });
});
