import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import type { FastifyInstance } from "fastify";
import { Wallet } from "ethers";
import { connectEmbedded, type ChainConnection } from "../../src/chain/connect";
import type { Manifest } from "../../src/manifest";
import { Coordinator } from "../../src/node/coordinator";
import { buildNodeServer } from "../../src/node/http";
import { FederationNode } from "../../src/node/node";
import { anchorView } from "../../src/node/service";
import type { Roster } from "../../src/node/roster";
import { SIGNATURE_HEADER, bodyDigestMessage, signBody } from "../../src/transport/wire";
import { deployForRoster, keysOf, loopbackManifest, ndjson, rosterOf, tmpDir } from "./helpers";

describe("node HTTP routes (fastify.inject)", function () {
  this.timeout(60_000);
  let conn: ChainConnection;
  let manifest: Manifest;
  let roster: Roster;
  let dir: string;
  let node: FederationNode;
  let app: FastifyInstance;

  before(async function () {
    process.env.AMP_LOG_LEVEL = "silent";
    conn = await connectEmbedded();
    manifest = await loopbackManifest();
    roster = rosterOf(manifest);
    const record = await deployForRoster(conn, roster);
    dir = tmpDir("amp-node-http-");
    node = new FederationNode({
      roster,
      keys: keysOf("ssid-eu-1"),
      dataDir: path.join(dir, "ssid-eu-1"),
      domain: { chainId: conn.chainId, anchor: record.contracts.globalProofAnchor },
      chain: anchorView(conn, record),
      inboxCapacity: 8,
    });
    app = buildNodeServer(node, new Coordinator(node));
  });

  after(async function () {
    await app.close();
    node.close();
    delete process.env.AMP_LOG_LEVEL;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const post = (url: string, payload: string, headers: Record<string, string> = {}) =>
    app.inject({ method: "POST", url, payload, headers: { "content-type": "application/json", ...headers } });

  describe("POST /v1/events (sender)", () => {
    it("acknowledges each event with its id and leaf hash after storing it", async () => {
      const res = await post("/v1/events", ndjson(manifest, "ssid", 0, 3), {
        "content-type": "application/x-ndjson",
      });
      expect(res.statusCode).to.equal(200);
      const body = res.json<{
        acknowledged: { line: number; eventId: string; leafHash: string; status: string }[];
      }>();
      expect(body.acknowledged.map((a) => [a.line, a.status])).to.deep.equal([
        [1, "queued"],
        [2, "queued"],
        [3, "queued"],
      ]);
      expect(body.acknowledged[0]!.leafHash).to.match(/^[0-9a-f]{64}$/);
      expect(node.inbox.size()).to.equal(3);
      const again = await post("/v1/events", ndjson(manifest, "ssid", 0, 1));
      expect(again.json<{ acknowledged: { status: string }[] }>().acknowledged[0]!.status).to.equal(
        "duplicate",
      );
    });

    it("refuses a bad line with 400 naming the line and field, storing nothing of the body", async () => {
      const good = ndjson(manifest, "ssid", 10, 2).split("\n");
      const bad = JSON.parse(good[1]!) as Record<string, unknown>;
      delete bad.event_type;
      const res = await post("/v1/events", [good[0], JSON.stringify(bad)].join("\n"));
      expect(res.statusCode).to.equal(400);
      const body = res.json<{ error: string; message: string; line: number }>();
      expect(body.message).to.match(/^line 2: .*event_type/);
      expect(body.line).to.equal(2);
      expect(node.inbox.size()).to.equal(3);
      const notJson = await post("/v1/events", "{oops");
      expect(notJson.statusCode).to.equal(400);
      expect(notJson.json<{ message: string }>().message).to.equal("line 1: not JSON");
    });

    it("refuses an event of another federation (400, field named) and stores nothing", async () => {
      const res = await post("/v1/events", ndjson(manifest, "opencore", 0, 1));
      expect(res.statusCode).to.equal(400);
      expect(res.json<{ message: string }>().message).to.match(/federation_context\.federation_id/);
      expect(node.inbox.size()).to.equal(3);
    });

    it("answers a full inbox with 429 and Retry-After (pushback), storing nothing", async () => {
      const res = await post("/v1/events", ndjson(manifest, "ssid", 100, 6));
      expect(res.statusCode).to.equal(429);
      expect(Number(res.headers["retry-after"])).to.be.greaterThan(0);
      expect(node.inbox.size()).to.equal(3);
    });

    it("refuses a body over the limit with 413", async () => {
      const small = buildNodeServer(node, new Coordinator(node), { bodyLimit: 100 });
      const res = await small.inject({ method: "POST", url: "/v1/events", payload: "x".repeat(200) });
      expect(res.statusCode).to.equal(413);
      await small.close();
    });
  });

  describe("validator routes accept only requests signed by a member of the node's federation", () => {
    const batch = JSON.stringify({ origin: "amp.local/ssid", round: "1", entries: [] });
    it("403 without a signature, with another node's key, or from a node of another federation", async () => {
      expect((await post("/v1/validator/batch", batch)).statusCode).to.equal(403);
      const forged = signBody("ssid-us-1", Wallet.createRandom() as unknown as Wallet, batch);
      const r1 = await post("/v1/validator/batch", batch, { [SIGNATURE_HEADER]: forged });
      expect(r1.statusCode).to.equal(403);
      expect(r1.json<{ message: string }>().message).to.match(/not signed by ssid-us-1/);
      const outsider = signBody("opencore-eu-1", keysOf("opencore-eu-1").wallet, batch);
      expect(
        (await post("/v1/validator/batch", batch, { [SIGNATURE_HEADER]: outsider })).statusCode,
      ).to.equal(403);
    });

    it("403 for a member's signature over other bytes, or over the raw body instead of its SHA-256", async () => {
      const member = keysOf("ssid-us-1").wallet;
      const other = batch.replace('"round":"1"', '"round":"2"');
      const moved = await post("/v1/validator/batch", other, {
        [SIGNATURE_HEADER]: signBody("ssid-us-1", member, batch),
      });
      expect(moved.statusCode).to.equal(403);
      expect(moved.json<{ message: string }>().message).to.match(/not signed by ssid-us-1/);
      // The signature covers "amp-http-body/v1 sha256:<hex>" (bodyDigestMessage), not the body itself.
      const whole = `ssid-us-1 ${member.signMessageSync(batch)}`;
      expect((await post("/v1/validator/batch", batch, { [SIGNATURE_HEADER]: whole })).statusCode).to.equal(
        403,
      );
      const digest = `ssid-us-1 ${member.signMessageSync(bodyDigestMessage(batch))}`;
      expect((await post("/v1/validator/batch", batch, { [SIGNATURE_HEADER]: digest })).statusCode).to.equal(
        200,
      );
      expect(bodyDigestMessage(Buffer.from(batch))).to.equal(bodyDigestMessage(batch));
    });

    it("accepts a member's signed batch; a malformed vote request is 400 naming the field", async () => {
      const ok = signBody("ssid-us-1", keysOf("ssid-us-1").wallet, batch);
      expect((await post("/v1/validator/batch", batch, { [SIGNATURE_HEADER]: ok })).statusCode).to.equal(200);
      const vote = JSON.stringify({ origin: "amp.local/ssid", round: "1" });
      const sig = signBody("ssid-us-1", keysOf("ssid-us-1").wallet, vote);
      const res = await post("/v1/validator/vote", vote, { [SIGNATURE_HEADER]: sig });
      expect(res.statusCode).to.equal(400);
      expect(res.json<{ message: string }>().message).to.match(/missing field "epoch"/);
      expect(node.validator.lastSigned()).to.equal(undefined);
    });
  });

  describe("POST /v1/witness/add-checkpoint (C2SP tlog-witness)", () => {
    it("400 on a malformed body, 409 with the last size as text/x.tlog.size on a stale old size", async () => {
      const bad = await app.inject({ method: "POST", url: "/v1/witness/add-checkpoint", payload: "hello" });
      expect(bad.statusCode).to.equal(400);
      const note = "amp.local/opencore\n5\nAAAA\n\n— amp.local/opencore/opencore-eu-1 AAAAAAAA\n";
      const stale = await app.inject({
        method: "POST",
        url: "/v1/witness/add-checkpoint",
        payload: `old 7\n\n${note}`,
      });
      expect(stale.statusCode).to.equal(409);
      expect(stale.headers["content-type"]).to.match(/^text\/x\.tlog\.size/);
      expect(stale.body).to.equal("0\n");
    });

    it("refuses a checkpoint whose QC does not verify (403) without changing the witness state", async () => {
      const note =
        "amp.local/opencore\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\namp-round 1 epoch 1\n\n— amp.local/opencore/opencore-eu-1 AAAAAAAA\n";
      const res = await app.inject({
        method: "POST",
        url: "/v1/witness/add-checkpoint",
        payload: `old 0\n\n${note}`,
      });
      expect([400, 403]).to.include(res.statusCode);
      expect(node.witness.lastWitnessed("amp.local/opencore")).to.equal(undefined);
    });
  });

  describe("status and proofs", () => {
    it("GET /v1/status reports tree size, rounds, pending events and health", async () => {
      const s = (await app.inject({ method: "GET", url: "/v1/status" })).json<Record<string, unknown>>();
      expect(s).to.include({
        nodeId: "ssid-eu-1",
        treeSize: "0",
        lastAnchoredRound: "0",
        pendingEvents: 3,
        health: "ok",
      });
    });

    it("GET /v1/proof/:id is 404 for an unknown event and 503 for one not anchored yet", async () => {
      const unknown = await app.inject({ method: "GET", url: "/v1/proof/nope" });
      expect(unknown.statusCode).to.equal(404);
      const pending = await app.inject({ method: "GET", url: `/v1/proof/${node.pending(1)[0]!.eventId}` });
      expect(pending.statusCode).to.equal(503);
      expect(pending.headers["retry-after"]).to.equal("1");
    });
  });
});
