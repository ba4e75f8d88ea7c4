/**
 * The drift monitor's node routes (src/drift/node-routes.ts) on a Fastify app set up as the node's
 * (raw body bytes): alert reads, ack/resolve behind the operator token, and the signed peer calls
 * the HTTP probe makes — each bad input refused with a named field and nothing changed.
 */
import path from "node:path";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import Fastify, { type FastifyInstance } from "fastify";
import { DEMO_KEY_LABEL } from "../../src/cli/context";
import { deriveThrowawayKeys } from "../../src/crypto/keys";
import {
  CountedDrift,
  DriftStore,
  HttpDriftProbe,
  InProcessDriftProbe,
  addDriftRoutes,
  driftSeverity,
  outbox,
  recommendedActions,
  type Finding,
} from "../../src/drift";
import { driftNodeArgs } from "../../src/drift/node-injection";
import { adminHeader } from "../../src/node/admin";
import { PeerClient } from "../../src/transport/client";
import { SIGNATURE_HEADER, decodeVoteResponse, signBody } from "../../src/transport/wire";
import { quietLogs, tmpDir } from "../consensus/fixture";
import { events } from "./fixture";

const ORIGIN = "amp.local/routes";
const TOKEN = "ab".repeat(32);
const member = deriveThrowawayKeys(DEMO_KEY_LABEL, "routes-eu-1");
const stranger = deriveThrowawayKeys(DEMO_KEY_LABEL, "routes-outsider");
const HOOK = "http://127.0.0.1:9/hook";

function finding(round: bigint, driftScore: number): Finding {
  const cause = "serialization_divergence";
  return {
    federation: ORIGIN,
    round,
    node: "routes-apac-1",
    majorityNode: "routes-eu-1",
    cause,
    driftScore,
    divergentLeaves: Math.round(driftScore * 20),
    batchLeaves: 20,
    severity: driftSeverity(cause, driftScore),
    kind: driftScore > 0.1 ? "alert" : "observation",
    actions: recommendedActions(cause, {
      node: "routes-apac-1",
      majorityNode: "routes-eu-1",
      federation: ORIGIN,
      round,
      divergentLeaves: Math.round(driftScore * 20),
      batchLeaves: 20,
    }),
    detail: { firstDifferingLeaf: 0 },
  };
}

describe("drift: node HTTP routes and the HTTP probe", () => {
  quietLogs();
  let app: FastifyInstance;
  let store: DriftStore;
  let url: string;
  const batch = events(ORIGIN, 5, 20);
  const voted = {
    nodeId: "routes-apac-1",
    votedEntries: (o: string, r: bigint) => (o === ORIGIN && r === 5n ? batch : undefined),
  };
  let kicked = 0;

  before(async () => {
    store = new DriftStore(path.join(tmpDir("amp-drift-routes-"), "drift.sqlite"));
    store.recordFinding(finding(4n, 0.05), 1);
    store.recordFinding(finding(5n, 0.15), 2);
    app = Fastify({ logger: false });
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, b: Buffer, done) => done(null, b));
    addDriftRoutes(app, {
      store,
      adminToken: TOKEN,
      memberAddress: (id) => (id === "routes-eu-1" ? member.wallet.address : undefined),
      voted,
      webhooks: [HOOK],
      changed: () => void kicked++,
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await app.close();
    store.close();
  });

  const act = (
    action: string,
    body: string,
    headers: Record<string, string> = adminHeader(TOKEN),
    id = "1",
  ) =>
    app.inject({
      method: "POST",
      url: `/v1/drift/alerts/${id}/${action}`,
      payload: body,
      headers: { "content-type": "application/json", ...headers },
    });

  it("lists, shows and snapshots alerts in the dashboard's shapes (rounds as strings, history)", async () => {
    const list = (await app.inject({ url: "/v1/drift/alerts?state=open" })).json<{
      alerts: Record<string, unknown>[];
    }>();
    expect(list.alerts).to.have.length(1);
    expect(list.alerts[0]).to.include({
      id: 1,
      node: "routes-apac-1",
      majorityNode: "routes-eu-1",
      firstRound: "5",
      lastRound: "5",
      severity: "medium",
      driftScore: 0.15,
      state: "open",
    });
    expect(list.alerts[0]!.history).to.have.length(1);
    const shown = (await app.inject({ url: "/v1/drift/alerts/1" })).json<{
      alert: { state: string };
      history: unknown[];
      findings: { round: string; latencyMs: number }[];
    }>();
    expect(shown.alert.state).to.equal("open");
    expect(shown.findings.map((f) => f.round)).to.deep.equal(["5"]);
    const snap = (await app.inject({ url: "/v1/drift" })).json<{
      alerts: unknown[];
      findings: { round: string; kind: string }[];
      clock: unknown[];
    }>();
    expect(snap.findings.map((f) => [f.round, f.kind])).to.deep.equal([
      ["5", "alert"],
      ["4", "observation"],
    ]);
    expect(snap.clock).to.deep.equal([]);
    const counts = (await app.inject({ url: "/v1/drift/counts?fromRound=4&toRound=5" })).json<{
      counts: { round: string; alerts: number; observations: number }[];
    }>();
    expect(counts.counts.map((c) => [c.round, c.alerts, c.observations])).to.deep.equal([
      ["4", 0, 1],
      ["5", 1, 0],
    ]);
  });

  it("refuses bad queries and ids with 400/404 naming the problem", async () => {
    const st = await app.inject({ url: "/v1/drift/alerts?state=closed" });
    expect(st.statusCode).to.equal(400);
    expect(st.json<{ message: string }>().message).to.match(/unknown alert state "closed"/);
    expect((await app.inject({ url: "/v1/drift/alerts/one" })).statusCode).to.equal(400);
    expect((await app.inject({ url: "/v1/drift/alerts/99" })).statusCode).to.equal(404);
    const r = await app.inject({ url: "/v1/drift/clock?fromRound=x" });
    expect(r.statusCode).to.equal(400);
    expect(r.json<{ field: string }>().field).to.equal("fromRound");
  });

  it("ack/resolve need the operator token (401), a valid body (400) and an allowed transition (409); webhooks are queued", async () => {
    expect((await act("ack", '{"by":"alice"}', {})).statusCode).to.equal(401);
    expect((await act("ack", '{"by":"alice"}', adminHeader("cd".repeat(32)))).statusCode).to.equal(401);
    for (const [body, re] of [
      ["not json", /not JSON/],
      ['{"by":"alice","extra":1}', /unknown field "extra"/],
      ['{"by":""}', /field "by"/],
      ['{"by":"alice","note":5}', /field "note"/],
      [`{"by":"alice","note":"${"x".repeat(5000)}"}`, /larger than 4096/],
    ] as const) {
      const res = await act("ack", body);
      expect(res.statusCode, body).to.equal(400);
      expect(res.json<{ message: string }>().message).to.match(re);
    }
    expect((await act("resolve", '{"by":"bob","note":"  "}')).statusCode).to.equal(400);
    expect((await act("ack", '{"by":"alice"}', adminHeader(TOKEN), "99")).statusCode).to.equal(404);
    expect(store.history(1)).to.have.length(1); // nothing changed so far
    expect(outbox(store)).to.have.length(0);
    const ack = await act("ack", '{"by":"alice","note":"looking"}');
    expect(ack.statusCode).to.equal(200);
    expect(ack.json()).to.include({ state: "acknowledged", firstRound: "5" });
    const res = await act("resolve", '{"by":"bob","note":"pinned the JCS library"}');
    expect(
      res.json<{ history: { to: string; actor: string }[] }>().history.map((h) => `${h.to}/${h.actor}`),
    ).to.deep.equal(["open/drift-monitor", "acknowledged/alice", "resolved/bob"]);
    expect((await act("ack", '{"by":"carol"}')).statusCode).to.equal(409);
    expect(outbox(store).map((o) => o.event)).to.deep.equal(["acknowledged", "resolved"]);
    expect(kicked).to.equal(2);
  });

  it("peer calls answer only signed requests of a federation member; the HTTP probe matches the in-process one", async () => {
    const body = JSON.stringify({ origin: ORIGIN, round: "5", ranges: [[0, 20]] });
    const post = (p: string, b: string, sig?: string) =>
      app.inject({
        method: "POST",
        url: p,
        payload: b,
        headers: sig === undefined ? {} : { [SIGNATURE_HEADER]: sig },
      });
    expect((await post("/v1/drift/range-hashes", body)).statusCode).to.equal(403);
    expect(
      (await post("/v1/drift/range-hashes", body, signBody("routes-outsider", stranger.wallet, body)))
        .statusCode,
    ).to.equal(403);
    expect(
      (await post("/v1/drift/range-hashes", body, signBody("routes-eu-1", stranger.wallet, body))).statusCode,
    ).to.equal(403);
    const signed = (b: unknown) => {
      const s = JSON.stringify(b);
      return post(
        typeof b === "object" && b !== null && "indices" in b
          ? "/v1/drift/entries"
          : "/v1/drift/range-hashes",
        s,
        signBody("routes-eu-1", member.wallet, s),
      );
    };
    expect((await signed({ origin: ORIGIN, round: "5", ranges: [[0, 20]] })).statusCode).to.equal(200);
    const beyond = await signed({ origin: ORIGIN, round: "5", ranges: [[0, 21]] });
    expect(beyond.statusCode).to.equal(400);
    expect(beyond.json<{ message: string }>().message).to.match(/beyond the 20 leaves/);
    expect(
      (await signed({ origin: ORIGIN, round: "5", ranges: [[3]] })).json<{ field: string }>().field,
    ).to.equal("ranges[0]");
    expect((await signed({ origin: ORIGIN, round: "6", ranges: [[0, 1]] })).statusCode).to.equal(404);
    expect((await signed({ origin: ORIGIN, round: "5", indices: [20] })).statusCode).to.equal(400);
    expect((await signed({ origin: ORIGIN, round: "5", indices: [-1] })).statusCode).to.equal(400);

    const probe = new HttpDriftProbe({
      nodeId: "routes-eu-1",
      wallet: member.wallet,
      client: new PeerClient({ timeoutMs: 5000 }),
      url: () => url,
    });
    const local = new InProcessDriftProbe().register(voted);
    const ranges = [
      { from: 0, to: 20 },
      { from: 0, to: 16 },
      { from: 16, to: 20 },
      { from: 7, to: 8 },
    ];
    expect(await probe.rangeHashes("routes-apac-1", ORIGIN, 5n, ranges)).to.deep.equal(
      await local.rangeHashes("routes-apac-1", ORIGIN, 5n, ranges),
    );
    expect(await probe.entriesAt("routes-apac-1", ORIGIN, 5n, [0, 19])).to.deep.equal([batch[0], batch[19]]);
  });
});

describe("drift: amp node --drift injection (CountedDrift)", () => {
  const e = events(ORIGIN, 1, 10);
  it("drifts the first N rounds with events after K skipped ones; empty batches are not counted", () => {
    const d = new CountedDrift({
      nodeId: "n1",
      cause: "data_inconsistency",
      skip: 1,
      rounds: 2,
      fraction: 0.2,
    });
    expect(d.driftedEntries("n1", 1n, [])).to.equal(undefined); // empty: not counted
    expect(d.driftedEntries("n1", 2n, e)).to.equal(undefined); // skipped
    expect(d.driftedEntries("n1", 3n, e)!.entries.filter((x, i) => x !== e[i])).to.have.length(2);
    expect(d.driftedEntries("n1", 3n, e)).to.not.equal(undefined); // the same round again (a retry)
    expect(d.driftedEntries("n1", 4n, e)).to.not.equal(undefined);
    expect(d.driftedEntries("n1", 5n, e)).to.equal(undefined); // rule over: honest again
    expect(d.clockSkewMs("n1", 3n)).to.equal(0);
    const c = new CountedDrift({ nodeId: "n1", cause: "clock_skew", rounds: 1 });
    expect(c.driftedEntries("n1", 1n, e)).to.equal(undefined);
    expect(c.clockSkewMs("n1", 1n)).to.equal(2000);
    expect(c.clockSkewMs("n1", 2n)).to.equal(0);
  });

  it("refuses an unknown cause, bad counts and fractions with a clear error", () => {
    expect(() => new CountedDrift({ nodeId: "n1", cause: "cosmic_rays" })).to.throw(
      /unknown drift cause "cosmic_rays"/,
    );
    expect(() => new CountedDrift({ nodeId: "n1", cause: "unknown", rounds: 0 })).to.throw(
      /positive integer/,
    );
    expect(() => new CountedDrift({ nodeId: "n1", cause: "unknown", skip: -1 })).to.throw(/non-negative/);
    expect(() => new CountedDrift({ nodeId: "n1", cause: "unknown", fraction: 2 })).to.throw(
      /fraction must be in/,
    );
    expect(() => driftNodeArgs({ cause: "nope", node: "n1" })).to.throw(/unknown drift cause/);
    const args = driftNodeArgs({ cause: "timestamp_drift", node: "n2", rounds: 3, skip: 1, fraction: 0.5 });
    expect(args("n1")).to.deep.equal([]);
    expect(args("n2")).to.deep.equal([
      "--drift",
      "timestamp_drift",
      "--drift-rounds",
      "3",
      "--drift-skip",
      "1",
      "--drift-fraction",
      "0.5",
    ]);
  });
});

describe("drift: a vote's clock stamp over HTTP (decodeVoteResponse)", () => {
  const sig = "0x" + "ab".repeat(65);
  const vote = { nodeId: "n1", note: "body\n", eip712Signature: sig };
  it("keeps a well-formed stamp and drops a malformed one, the vote still counting", () => {
    const ok = decodeVoteResponse({
      kind: "vote",
      votes: [{ ...vote, clock: { wallClockMs: 1700000000000, signature: sig } }],
    });
    expect(ok).to.deep.equal({
      kind: "vote",
      votes: [{ ...vote, clock: { wallClockMs: 1700000000000, signature: sig } }],
    });
    for (const clock of [
      "x",
      null,
      { wallClockMs: -1, signature: sig },
      { wallClockMs: 1.5, signature: sig },
      { wallClockMs: "1", signature: sig },
      { wallClockMs: 1, signature: "0x12" },
      { wallClockMs: 1 },
    ]) {
      expect(
        decodeVoteResponse({ kind: "vote", votes: [{ ...vote, clock }] }),
        JSON.stringify(clock),
      ).to.deep.equal({ kind: "vote", votes: [vote] });
    }
  });
});
