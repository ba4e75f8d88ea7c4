/**
 * LiveNodes (src/dashboard/live.ts) against node HTTP servers on loopback: drift routes present or
 * absent, and acknowledge / resolve forwarded with the node's operator token (the real
 * requireAdmin of src/node/admin.ts guards the stand-in route, as it guards the node's).
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
    expect(await live.credits()).to.include({ available: false });
  });

  it("reads drift from the first node serving it and sends ack / resolve there with its token", async function () {
    const live = new LiveNodes([
      { id: "a", url: urls.none },
      { id: "b", url: urls.drift, token },
    ]);
    const d = (await live.drift()) as { alerts: unknown[]; source: string };
    expect(d.source).to.equal("b");
    expect(d.alerts).to.have.length(1);
    const r = await live.driftAction("7", "ack", { by: "op", note: "" });
    expect(r).to.deep.equal({ alert: { id: "7", state: "acknowledged" } });
    await live.driftAction("7", "resolve", { by: "op", note: "fixed" });
    expect(received.map((x) => [x.action, x.body])).to.deep.equal([
      ["ack", { by: "op", note: "" }],
      ["resolve", { by: "op", note: "fixed" }],
    ]);
  });

  it("refuses without the token (403) and passes the node's refusals on (401 wrong token, 404 no alert)", async function () {
    const noToken = new LiveNodes([{ id: "b", url: urls.drift }]);
    await noToken.drift();
    const e1 = await noToken.driftAction("7", "ack", { by: "op", note: "" }).catch((e: unknown) => e);
    expect(e1).to.be.instanceOf(DashboardActionError);
    expect((e1 as DashboardActionError).status).to.equal(403);
    const wrong = new LiveNodes([{ id: "b", url: urls.drift, token: "ab".repeat(32) }]);
    await wrong.drift();
    const e2 = await wrong.driftAction("7", "ack", { by: "op", note: "" }).catch((e: unknown) => e);
    expect((e2 as DashboardActionError).status).to.equal(401);
    const right = new LiveNodes([{ id: "b", url: urls.drift, token }]);
    await right.drift();
    const e3 = await right.driftAction("8", "ack", { by: "op", note: "" }).catch((e: unknown) => e);
    expect((e3 as DashboardActionError).status).to.equal(404);
    expect(received).to.have.length(2); // nothing more reached the node's store
  });
});
