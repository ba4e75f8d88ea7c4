import fs from "node:fs";
import http from "node:http";
import type net from "node:net";
import path from "node:path";
import { expect } from "chai";
import type { AnchoredRound } from "../../src/chain/anchored-rounds";
import { decodeRecord, encodeAnnouncement, encodeRecord } from "../../src/node/anchored-record";
import { RecordRefusedError, checkRecord, checkRecordUncached } from "../../src/node/record-check";
import { readEvidence } from "../../src/node/evidence-view";
import { NodeService } from "../../src/node/service";
import type { ProofFile } from "../../src/proof/format";
import { publicClientFor, verifyProof } from "../../src/proof/verify";
import { keysOf, listenNodes, ndjson, rosterOf, until, type InProcessNodes } from "./helpers";

type Wire = Record<string, unknown> & {
  chainId: string;
  txHash: string;
  checkpoints: (Record<string, unknown> & { origin: string; signedNote: string; signatures: string[] })[];
};

const copy = <T>(o: T): T => JSON.parse(JSON.stringify(o)) as T;

/**
 * Security finding (issue 9, node layout): `POST /v1/round/anchored` is unauthenticated and a node
 * kept the first record whose roots and sizes matched the chain, without checking the cosigned
 * note or the signatures in it. Anyone posting the chain's roots with a junk note before the
 * relay's announcement made the node keep the junk for good (append-only table): every proof it
 * served for that round then failed `amp verify` (a denial of proofs). Now a record is checked as
 * a verifier checks a proof, with what the node pins, before it is kept.
 */
describe("node: a forged anchored-round record is refused, the genuine one is kept", function () {
  this.timeout(300_000);
  let fed: InProcessNodes;
  const fresh: NodeService[] = [];
  let fake: http.Server | undefined;
  let held: AnchoredRound;
  let eventId: string;
  /** What the fake peer serves at GET /v1/anchors/1 (everything else, and before it is set: 404). */
  let forgedServed: unknown;
  let fakeUrl: string;
  /** GET /v1/anchors/1 requests the fake peer answered with the forgery. */
  let forgedHits = 0;
  /** Where the fake peer sends every other request (a genuine node), if set. */
  let proxyTo: URL | undefined;

  before(async function () {
    process.env.AMP_LOG_LEVEL = "silent";
    fake = http.createServer((req, res) => {
      const found = forgedServed !== undefined && req.method === "GET" && req.url === "/v1/anchors/1";
      if (found) forgedHits++;
      if (!found && proxyTo) {
        const to = http.request(
          {
            host: proxyTo.hostname,
            port: proxyTo.port,
            method: req.method,
            path: req.url,
            headers: req.headers,
          },
          (back) => {
            res.writeHead(back.statusCode ?? 502, back.headers);
            back.pipe(res);
          },
        );
        to.on("error", () => res.destroy());
        req.pipe(to);
        return;
      }
      res.writeHead(found ? 200 : 404, { "content-type": "application/json" });
      res.end(JSON.stringify(found ? forgedServed : { error: "NotFound", message: "no" }));
    });
    await new Promise<void>((r) => fake!.listen(0, "127.0.0.1", r));
    fakeUrl = `http://127.0.0.1:${(fake.address() as net.AddressInfo).port}`;
    fed = await listenNodes("amp-node-forged-record-");
    for (const s of fed.services) await s.start();
    const ssid = fed.services.find((s) => s.node.name === "ssid")!;
    eventId = ssid.node.submit(ndjson(fed.manifest, "ssid", 0, 5, "forged-record-test"))[0]!.eventId;
    await until(
      "round 1 anchored and its record held by every node",
      () => fed.services.every((s) => s.node.anchors.get(1n) !== undefined),
      180_000,
    );
    // Nothing else is submitted: no later round is anchored while the fresh nodes are checked.
    held = fed.services[0]!.node.anchors.get(1n)!;
  });

  after(async function () {
    for (const s of fresh) await s.close().catch(() => undefined);
    await new Promise((r) => (fake ? fake.close(r) : r(undefined)));
    await fed?.close();
    delete process.env.AMP_LOG_LEVEL;
  });

  /** A second instance of ssid-eu-1 with an empty data dir (HTTP through inject, not listening). */
  async function freshNode(name: string, roster = fed.roster): Promise<NodeService> {
    const s = await NodeService.create({
      roster,
      keys: keysOf("ssid-eu-1"),
      dataDir: path.join(fed.dir, name),
      conn: fed.conn,
      record: fed.record,
    });
    fresh.push(s);
    return s;
  }

  /** The roster with the URLs of the nodes `via` picks on the fake peer (keys stay pinned). */
  function rosterVia(via: (id: string) => boolean) {
    const manifest = copy(fed.manifest);
    for (const f of manifest.federations)
      for (const n of f.nodes) if (n.id !== "ssid-eu-1" && via(n.id)) n.url = fakeUrl;
    return rosterOf(manifest);
  }

  async function verifiedProof(s: NodeService): Promise<bigint> {
    await s.node.catchUp();
    const res = await s.app.inject({ method: "GET", url: `/v1/proof/${eventId}` });
    expect(res.statusCode, res.body).to.equal(200);
    const p = res.json<ProofFile>();
    const v = await verifyProof(p, publicClientFor(fed.conn.eip1193), {
      anchor: fed.record.contracts.globalProofAnchor,
    });
    return v.round;
  }

  it("POST /v1/round/anchored: junk note, forged signatures, wrong tx or chain -> 400 naming the field; the genuine record is kept", async () => {
    const node = await freshNode("fresh-announce");
    const ssidOrigin = fed.roster.federations.find((f) => f.name === "ssid")!.config.origin;
    const genuine = encodeAnnouncement(held) as Wire;
    const i = genuine.checkpoints.findIndex((c) => c.origin === ssidOrigin);
    const other = 1 - i;

    // The attack: the chain's roots and sizes, a note with one signature line of seven.
    const junkNote = copy(genuine);
    const lines = junkNote.checkpoints[i]!.signedNote.split("\n");
    const firstSig = lines.findIndex((l) => l.startsWith("— "));
    junkNote.checkpoints[i]!.signedNote = [...lines.slice(0, firstSig + 1), ""].join("\n");
    // The witnessing federation's checkpoint with a note that is not a note at all.
    const garbage = copy(genuine);
    garbage.checkpoints[other]!.signedNote = "not a signed note\n";
    const noSigs = copy(genuine);
    noSigs.checkpoints[i]!.signatures = [];
    const wrongTx = copy(genuine);
    wrongTx.txHash = "0x" + "12".repeat(32);
    const wrongChain = copy(genuine);
    wrongChain.chainId = "1";
    // Malformed (a checkpoint field of the wrong type): 400 before anything is read from the chain.
    const malformed = copy(genuine) as unknown as { checkpoints: Record<string, unknown>[] };
    malformed.checkpoints[i]!.rootHash = 5;
    const bad = await node.app.inject({ method: "POST", url: "/v1/round/anchored", payload: malformed });
    expect(bad.statusCode, bad.body).to.equal(400);
    expect(bad.json<{ message: string }>().message).to.include(`checkpoints[${i}].rootHash is not a string`);
    const cases: [Wire, string][] = [
      [junkNote, `checkpoints[${i}].signedNote`],
      [garbage, `checkpoints[${other}].signedNote`],
      [noSigs, `checkpoints[${i}].signatures`],
      [wrongTx, "txHash"],
      [wrongChain, "chainId"],
    ];
    const answers = [];
    for (const [body] of cases) {
      answers.push(await node.app.inject({ method: "POST", url: "/v1/round/anchored", payload: body }));
    }
    // What the attack did to the proofs: the node serves a proof for the event; it must verify.
    // (Before the fix the junk note was kept and this threw ProofInvalidError checkpoint.signedNote.)
    expect(await verifiedProof(node)).to.equal(1n);
    for (const [k, [, field]] of cases.entries()) {
      const res = answers[k]!;
      expect(res.statusCode, `case ${field}: ${res.body}`).to.equal(400);
      const body = res.json<{ error: string; message: string; field: string }>();
      expect(body.error).to.equal("RecordRefusedError");
      expect(body.field).to.equal(field);
      expect(body.message).to.include(`${field}: `);
    }
    // The record kept is the genuine one (fetched from the peers by the catch-up).
    expect(encodeRecord(node.node.anchors.get(1n)!)).to.deep.equal(encodeRecord(held));
    // And a genuine announcement is still answered as held.
    const again = await node.app.inject({ method: "POST", url: "/v1/round/anchored", payload: genuine });
    expect(again.statusCode, again.body).to.equal(200);
    expect(again.json<{ stored: boolean }>().stored).to.equal(true);
  });

  it("a genuine announcement is kept after refused forgeries", async () => {
    // Its peers all answer 404 (fake server): the announcement is the only way to the record.
    const node = await freshNode(
      "fresh-genuine",
      rosterVia(() => true),
    );
    const forged = copy(encodeAnnouncement(held)) as Wire;
    for (const c of forged.checkpoints) c.signatures = [...c.signatures].reverse();
    const refused = await node.app.inject({ method: "POST", url: "/v1/round/anchored", payload: forged });
    expect(refused.statusCode, refused.body).to.equal(400);
    expect(refused.json<{ field: string }>().field).to.match(/^checkpoints\[\d\]\.signatures$/);
    expect(node.node.anchors.get(1n)).to.equal(undefined);
    const ok = await node.app.inject({
      method: "POST",
      url: "/v1/round/anchored",
      payload: encodeAnnouncement(held),
    });
    expect(ok.statusCode, ok.body).to.equal(200);
    expect(ok.json<{ stored: boolean }>().stored).to.equal(true);
    expect(encodeRecord(node.node.anchors.get(1n)!)).to.deep.equal(encodeRecord(held));
  });

  it("catch-up: a peer serving a forged record (GET /v1/anchors/1) is recorded as evidence; the next peer's is kept", async () => {
    const forged = copy(encodeRecord(held)) as Wire;
    for (const c of forged.checkpoints) {
      const lines = c.signedNote.split("\n");
      c.signedNote = [...lines.slice(0, lines.findIndex((l) => l.startsWith("— ")) + 1), ""].join("\n");
    }
    forgedServed = forged;
    const liar = fed.roster.nodes.find((n) => n.id !== "ssid-eu-1")!.id;
    const node = await freshNode(
      "fresh-catch-up",
      rosterVia((id) => id === liar),
    );
    expect(await verifiedProof(node)).to.equal(1n);
    expect(encodeRecord(node.node.anchors.get(1n)!)).to.deep.equal(encodeRecord(held));
    const ev = readEvidence(node.node.cfg.dataDir, { id: "ssid-eu-1", name: "ssid", origin: "-" }, 10);
    const forgedRecord = ev.evidence.filter((e) => e.source === "catch-up" && e.kind === "forged-record");
    expect(forgedRecord).to.have.length.above(0);
    expect(forgedRecord[0]).to.include({ nodeId: liar, round: "1" });
    expect((forgedRecord[0] as { detail: string }).detail).to.match(/checkpoints\[\d\]\.signedNote/);
  });

  it("catch-up: when every peer serves a forged record, each peer is recorded once, however often it is asked again", async function () {
    const forged = copy(encodeRecord(held)) as Wire;
    forged.txHash = "0x" + "ab".repeat(32);
    forgedServed = forged;
    proxyTo = new URL(fed.roster.nodes.find((n) => n.id === "ssid-us-1")!.url);
    forgedHits = 0;
    const node = await freshNode(
      "fresh-all-forged",
      rosterVia(() => true),
    );
    const peers = fed.roster.nodes.filter((n) => n.id !== "ssid-eu-1").length;
    // Three tries of round 1's record (at once, then after 2 s, then after 4 s more); the log itself
    // catches up through the proxy.
    await until(
      "three tries of round 1's record from every peer",
      async () => {
        await node.node.catchUp();
        return forgedHits >= 3 * peers ? true : undefined;
      },
      120_000,
    );
    expect(node.node.archiveLog.size, "the log caught up (entries are proxied)").to.equal(5n);
    expect(node.node.anchors.get(1n), "no forged record kept").to.equal(undefined);
    expect(node.node.missingRecordRounds()).to.deep.equal([1n]);
    const ev = readEvidence(node.node.cfg.dataDir, { id: "ssid-eu-1", name: "ssid", origin: "-" }, 100);
    const lines = ev.evidence.filter((e) => e.source === "catch-up" && e.kind === "forged-record");
    // Every peer served it (all routed to the fake): one line per peer, not one per try.
    expect(lines.map((e) => (e as { nodeId: string }).nodeId).sort()).to.deep.equal(
      fed.roster.nodes
        .filter((n) => n.id !== "ssid-eu-1")
        .map((n) => n.id)
        .sort(),
    );
    for (const e of lines) expect((e as { detail: string }).detail).to.match(/txHash/);
    proxyTo = undefined;
  });

  it("one record check reads each chain value once (per-check memo) and still refuses a forgery", async function () {
    let calls = 0;
    const counting = new Proxy(publicClientFor(fed.conn.eip1193), {
      get(t, prop, recv) {
        const v: unknown = Reflect.get(t, prop, recv);
        if (typeof v !== "function") return v;
        return (...args: unknown[]) => {
          calls++;
          return (v as (...a: unknown[]) => unknown).apply(t, args);
        };
      },
    });
    const pins = {
      chainId: BigInt(held.chainId),
      anchor: fed.record.contracts.globalProofAnchor,
      registry: fed.record.contracts.validatorRegistry,
    };
    await checkRecordUncached(counting, pins, held);
    const uncached = calls;
    calls = 0;
    await checkRecord(counting, pins, held);
    const memoized = calls;
    expect(memoized, `reads with the memo (${memoized}) vs without (${uncached})`).to.be.below(uncached);
    // A new check reads the chain again (a rollback between two checks must be seen).
    calls = 0;
    await checkRecord(counting, pins, held);
    expect(calls).to.equal(memoized);
    for (const check of [checkRecord, checkRecordUncached]) {
      const forged = copy(encodeRecord(held)) as Wire;
      forged.txHash = "0x" + "cd".repeat(32);
      let refused: unknown;
      try {
        await check(counting, pins, decodeRecord(forged));
      } catch (e) {
        refused = e;
      }
      expect(refused, check.name).to.be.instanceOf(RecordRefusedError);
      expect((refused as RecordRefusedError).meta).to.deep.include({ field: "txHash" });
    }
  });

  it("catch-up: evidence a failed write lost is written at the next try (not taken as already recorded)", async function () {
    const forged = copy(encodeRecord(held)) as Wire;
    forged.txHash = "0x" + "ef".repeat(32);
    forgedServed = forged;
    const liar = fed.roster.nodes.find((n) => n.id !== "ssid-eu-1")!.id;
    const node = await freshNode(
      "fresh-evidence-write",
      rosterVia((id) => id === liar),
    );
    // The evidence file cannot be written: a directory stands where it goes.
    const file = path.join(node.node.cfg.dataDir, "evidence", "catch-up.jsonl");
    fs.mkdirSync(file, { recursive: true });
    let failed: unknown;
    try {
      await node.node.catchUp();
    } catch (e) {
      failed = e;
    }
    expect(failed, "the write error surfaces").to.be.instanceOf(Error);
    fs.rmSync(file, { recursive: true });
    expect(await verifiedProof(node)).to.equal(1n);
    const ev = readEvidence(node.node.cfg.dataDir, { id: "ssid-eu-1", name: "ssid", origin: "-" }, 10);
    const lines = ev.evidence.filter((e) => e.source === "catch-up" && e.kind === "forged-record");
    expect(lines.map((e) => (e as { nodeId: string }).nodeId)).to.deep.equal([liar]);
  });
});
