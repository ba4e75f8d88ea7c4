/**
 * Erasure over HTTP on every node (src/erasure): seven nodes in one process over loopback HTTP, each
 * with the erasure extension. An inline-payload event is anchored; `POST /v1/erase` (operator token)
 * is sent to every node; afterwards no file of any node's data dir (database files, WALs, inbox,
 * sealed proposal, ...) holds the payload, its salt or SHA-256(JCS(payload)); the proof still
 * verifies against the chain; the erasure log says when, why and by whom. Bad requests change nothing.
 */
import { execFile } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { connectEmbedded, type ChainConnection } from "../../src/chain/connect";
import type { DeploymentRecord } from "../../src/chain/deployment";
import { erasureExtension } from "../../src/erasure/extension";
import { eraseOnNodes, type EraseTarget } from "../../src/erasure/remote";
import { canonicalBytes } from "../../src/events/canonical";
import type { Manifest } from "../../src/manifest";
import { adminHeader, readAdminToken } from "../../src/node/admin";
import { NodeService } from "../../src/node/service";
import type { Roster } from "../../src/node/roster";
import type { ProofFile } from "../../src/proof/format";
import { publicClientFor, verifyProof } from "../../src/proof/verify";
import { PeerClient } from "../../src/transport/client";
import { ensureDist } from "../../scripts/ensure-dist";
import { deployForRoster, keysOf, loopbackManifest, ndjson, rosterOf, tmpDir, until } from "../node/helpers";

const ROOT = path.resolve(__dirname, "..", "..");

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    return d.isDirectory() ? filesUnder(p) : [p];
  });
}

/** The files under `dir` whose bytes contain `needle`. */
function holding(dir: string, needle: Buffer): string[] {
  return filesUnder(dir).filter((f) => fs.readFileSync(f).includes(needle));
}

describe("erasure over HTTP on every node holding the payload", function () {
  this.timeout(180_000);
  let conn: ChainConnection;
  let manifest: Manifest;
  let roster: Roster;
  let record: DeploymentRecord;
  let dir: string;
  let services: NodeService[] = [];
  const client = new PeerClient({ timeoutMs: 10_000, tries: 1 });
  const secret = `Alice Example ${crypto.randomBytes(8).toString("hex")}`;
  let eventId: string;
  let payload: Buffer;

  before(async function () {
    process.env.AMP_LOG_LEVEL = "silent";
    conn = await connectEmbedded();
    manifest = await loopbackManifest();
    roster = rosterOf(manifest);
    record = await deployForRoster(conn, roster);
    dir = tmpDir("amp-http-erase-");
    for (const n of roster.nodes) {
      const s = await NodeService.create({
        roster,
        keys: keysOf(n.id),
        dataDir: path.join(dir, n.id),
        conn,
        record,
        tickMs: 100,
        takeoverMs: 1500,
        extensions: [erasureExtension()],
      });
      await s.listen("127.0.0.1", Number(new URL(n.url).port));
      await s.start();
      services.push(s);
    }
    const lines = ndjson(manifest, "ssid", 0, 3, "erase-http").split("\n");
    const e = JSON.parse(lines[1]!) as { event_id: string; payload: unknown };
    e.payload = { name: secret, note: "erase me" };
    eventId = e.event_id;
    payload = Buffer.from(canonicalBytes(e.payload));
    lines[1] = JSON.stringify(e);
    await client.json(roster.nodes[0]!.url, { method: "POST", path: "/v1/events", body: lines.join("\n") });
    await until(
      "every ssid node archived the event",
      () => (services.slice(0, 4).every((s) => s.node.archive.getEvent(eventId)) ? true : undefined),
      120_000,
    );
  });

  after(async function () {
    for (const s of services) await s.close().catch(() => undefined);
    services = [];
    delete process.env.AMP_LOG_LEVEL;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const url = (i: number) => roster.nodes[i]!.url;
  const token = (i: number) => readAdminToken(path.join(dir, roster.nodes[i]!.id));
  const erase = (i: number, body: string, headers: Record<string, string> = adminHeader(token(i))) =>
    fetch(`${url(i)}/v1/erase`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", ...headers },
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as { message?: string } }));

  it("refuses bad or unauthenticated requests (401/400/404) naming the field; nothing changes", async function () {
    const holder = path.join(dir, roster.nodes[0]!.id);
    expect(holding(holder, payload), "payload stored at the receiving node").to.not.deep.equal([]);
    const ok = JSON.stringify({ eventId, reason: "GDPR request 4711", by: "dpo@example.org" });
    const cases: [string, string, Record<string, string> | undefined, number, RegExp][] = [
      ["no token", ok, {}, 401, /Authorization: Bearer/],
      ["wrong token", ok, adminHeader("ab".repeat(32)), 401, /Authorization: Bearer/],
      ["not JSON", "{", undefined, 400, /body:1:2/],
      ["an array", "[]", undefined, 400, /must be an object/],
      [
        "duplicate member",
        `{"eventId":"${eventId}","eventId":"x","reason":"r"}`,
        undefined,
        400,
        /duplicate/,
      ],
      ["no reason", JSON.stringify({ eventId }), undefined, 400, /reason: must be a string/],
      ["empty reason", JSON.stringify({ eventId, reason: "" }), undefined, 400, /reason: must not be empty/],
      [
        "control character",
        JSON.stringify({ eventId, reason: "a\nb" }),
        undefined,
        400,
        /reason: must not contain control/,
      ],
      [
        "reason too long",
        JSON.stringify({ eventId, reason: "x".repeat(1001) }),
        undefined,
        400,
        /reason: is 1001 characters/,
      ],
      [
        "by a number",
        JSON.stringify({ eventId, reason: "r", by: 7 }),
        undefined,
        400,
        /by: must be a string/,
      ],
      [
        "unknown field",
        JSON.stringify({ eventId, reason: "r", force: true }),
        undefined,
        400,
        /force: unknown field/,
      ],
      [
        "unknown event",
        JSON.stringify({ eventId: "no-such-event", reason: "r" }),
        undefined,
        404,
        /no event no-such-event/,
      ],
    ];
    for (const [name, body, headers, status, message] of cases) {
      const r = await erase(0, body, headers);
      expect(r.status, `${name}: ${JSON.stringify(r.body)}`).to.equal(status);
      expect(r.body.message, name).to.match(message);
    }
    expect(services[0]!.node.archive.erasures()).to.deep.equal([]);
    expect(holding(holder, payload)).to.not.deep.equal([]);
  });

  it("erases on every node; no file of any node keeps payload, salt or SHA-256(JCS(payload)); the proof verifies", async function () {
    const salt = services[0]!.node.archive.getEvent(eventId)!.salt;
    expect(salt, "the node stored the payload's salt").to.not.equal(null);
    const targets: EraseTarget[] = roster.nodes.map((n, i) => ({ url: n.url, token: token(i), label: n.id }));
    const request = { eventId, reason: "GDPR request 4711", by: "dpo@example.org" };
    const outcomes = await eraseOnNodes(targets, request);
    const kinds: Record<string, string> = Object.fromEntries(
      outcomes.map((o): [string, string] => [
        o.label ?? o.url,
        o.kind === "erased" ? o.res.record.commitment : o.kind,
      ]),
    );
    expect(kinds).to.deep.equal({
      "ssid-eu-1": "salted", // received it: held payload and salt
      "ssid-us-1": "none",
      "ssid-apac-1": "none",
      "ssid-eu-2": "none",
      "opencore-eu-1": "not-here",
      "opencore-us-1": "not-here",
      "opencore-apac-1": "not-here",
    });
    const digest = crypto.createHash("sha256").update(payload).digest();
    for (const n of roster.nodes) {
      const d = path.join(dir, n.id);
      expect(holding(d, payload), `${n.id}: payload`).to.deep.equal([]);
      expect(holding(d, Buffer.from(secret)), `${n.id}: payload text`).to.deep.equal([]);
      expect(holding(d, Buffer.from(salt!)), `${n.id}: salt`).to.deep.equal([]);
      expect(holding(d, digest), `${n.id}: SHA-256(JCS(payload))`).to.deep.equal([]);
      expect(holding(d, Buffer.from(digest.toString("hex"))), `${n.id}: hex digest`).to.deep.equal([]);
    }
    // (the node keeps the anchored-round record a moment after archiving the round)
    const proof = await until(
      "a proof served",
      () =>
        client
          .json<ProofFile>(url(2), { method: "GET", path: `/v1/proof/${eventId}` })
          .catch(() => undefined),
      60_000,
    );
    const anchor = { anchor: record.contracts.globalProofAnchor };
    expect((await verifyProof(proof, publicClientFor(conn.eip1193), anchor)).round).to.be.greaterThan(0n);

    const log = await client.json<{
      erasures: { eventId: string; reason: string; by: string; erasedAt: number }[];
    }>(url(0), { method: "GET", path: "/v1/erasures", headers: adminHeader(token(0)) });
    expect(log.erasures.map((e) => [e.eventId, e.reason, e.by])).to.deep.equal([
      [eventId, "GDPR request 4711", "dpo@example.org"],
    ]);
    expect(Math.abs(Date.now() - log.erasures[0]!.erasedAt)).to.be.below(120_000);
    const again = await eraseOnNodes(targets.slice(0, 1), request);
    expect(again[0]!.kind).to.equal("already");
  });

  it("amp erase --nodes: one line per node, exit 0; a wrong token is exit 1 naming the node", async function () {
    ensureDist();
    const tokenFile = path.join(dir, "token");
    fs.writeFileSync(tokenFile, token(0) + "\n");
    const run = (...args: string[]) =>
      new Promise<{ code: number; out: string }>((resolve) =>
        execFile(process.execPath, [path.join(ROOT, "bin", "amp.js"), ...args], { cwd: ROOT }, (err, o, e) =>
          resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, out: o + e }),
        ),
      );
    const ok = await run("erase", eventId, "--nodes", url(0), "--token-file", tokenFile, "--reason", "again");
    expect(ok.code, ok.out).to.equal(0);
    expect(ok.out).to.include(`${url(0)}: already erased`);
    const bad = await run(
      "erase",
      eventId,
      "--nodes",
      `${url(0)},${url(1)}`,
      "--token-file",
      tokenFile,
      "--reason",
      "x",
    );
    expect(bad.code, bad.out).to.equal(1);
    expect(bad.out).to.match(new RegExp(`${url(1)}: FAILED \\(HTTP 401\\)`));
  });
});
