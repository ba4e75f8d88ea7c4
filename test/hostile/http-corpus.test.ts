/**
 * The hostile-input corpus (test/fixtures/hostile) at the node's HTTP entry points, over real HTTP
 * on loopback: the event endpoint (`POST /v1/events`, every `amp ingest` case), peer messages
 * (signed batches and vote requests) and C2SP witness `add-checkpoint` requests. Each case asserts
 * the status, a message naming the line or field, and that nothing was stored or changed (inbox,
 * archive, validator state, witness state).
 */
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import type { FastifyInstance } from "fastify";
import { Wallet } from "ethers";
import { connectEmbedded, type ChainConnection } from "../../src/chain/connect";
import { checkpointBody, makeSigner, type Checkpoint } from "../../src/crypto/note";
import type { Manifest } from "../../src/manifest";
import { Coordinator } from "../../src/node/coordinator";
import { buildNodeServer } from "../../src/node/http";
import { FederationNode } from "../../src/node/node";
import { anchorView } from "../../src/node/service";
import { SIGNATURE_HEADER, signBody } from "../../src/transport/wire";
import { BAD_LINE, INGEST_CASES } from "../fixtures/hostile/ingest-cases";
import { qcCases } from "../fixtures/hostile/peer-cases";
import { makeEvent } from "../fixtures/events";
import { deployForRoster, keysOf, loopbackManifest, rosterOf, tmpDir } from "../node/helpers";

const NODE_MESSAGES: Record<string, RegExp> = {
  "federation not in the manifest":
    /field federation_context\.federation_id: "other" is not this node's federation/,
  "same id as line 1, other content":
    /field event_id: event id .* is already acknowledged with different content/,
};

interface Running {
  node: FederationNode;
  app: FastifyInstance;
  url: string;
}

const counts: Record<string, number> = {};
const count = (k: string) => (counts[k] = (counts[k] ?? 0) + 1);

describe("hostile-input corpus over the node's HTTP (loopback)", function () {
  this.timeout(600_000);
  let conn: ChainConnection;
  let manifest: Manifest;
  let dir: string;
  const running: Running[] = [];

  async function start(id: string): Promise<Running> {
    const roster = rosterOf(manifest);
    const record = await deployForRoster(conn, roster);
    const node = new FederationNode({
      roster,
      keys: keysOf(id),
      dataDir: path.join(dir, id),
      domain: { chainId: conn.chainId, anchor: record.contracts.globalProofAnchor },
      chain: anchorView(conn, record),
    });
    const app = buildNodeServer(node, new Coordinator(node));
    const url = await app.listen({ host: "127.0.0.1", port: 0 });
    const r = { node, app, url };
    running.push(r);
    return r;
  }

  const post = async (url: string, body: string | Buffer, headers: Record<string, string> = {}) => {
    const res = await fetch(url, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", ...headers },
    });
    const text = await res.text();
    return { status: res.status, text, json: () => JSON.parse(text) as { message: string; line?: number } };
  };

  before(async function () {
    process.env.AMP_LOG_LEVEL = "silent";
    conn = await connectEmbedded();
    manifest = await loopbackManifest();
    dir = tmpDir("amp-http-corpus-");
  });

  after(async function () {
    for (const r of running) {
      await r.app.close();
      r.node.close();
    }
    delete process.env.AMP_LOG_LEVEL;
    fs.rmSync(dir, { recursive: true, force: true });
    console.log(`      HTTP corpus: ${JSON.stringify(counts)}`);
  });

  it("POST /v1/events: every amp ingest case is 400 naming line 5 and the field; nothing stored", async () => {
    const { node, url } = await start("ssid-eu-1");
    const good = [0, 1, 2].map((i) => JSON.stringify(makeEvent(i)));
    const seeded = await post(`${url}/v1/events`, good.join("\n"));
    expect(seeded.status, seeded.text).to.equal(200);
    const snapshot = () => ({
      inbox: node.inbox.oldest(100).map((e) => e.eventId),
      archive: node.archive.counts(),
    });
    const before = snapshot();
    for (const c of INGEST_CASES) {
      const bad = typeof c.line === "string" ? Buffer.from(c.line) : c.line;
      // Fresh valid events around the bad line: a partial store would show in the inbox.
      const fresh = [10, 11, 12].map((i) => JSON.stringify(makeEvent(i)));
      const body = Buffer.concat([
        Buffer.from(`${fresh[0]}\n${fresh[1]}\n\n${fresh[2]}\n`),
        bad,
        Buffer.from("\n"),
      ]);
      const res = await post(`${url}/v1/events`, body, { "content-type": "application/x-ndjson" });
      expect(res.status, `${c.name}: ${res.text}`).to.equal(400);
      const msg = res.json().message;
      expect(msg, c.name).to.match(new RegExp(`^line ${BAD_LINE}\\b`));
      // The node knows only its own federation: it names the field with the node's rule.
      // (byte offsets count from the start of the body, not of the line)
      const source = c.message.source.replace(/f\\\.ndjson:/g, "line ").replace(/byte \d+/g, "byte \\d+");
      // A line that is not JSON at all is "line N: not JSON" at the node (as amp submit shows it).
      const expected =
        NODE_MESSAGES[c.name] ??
        (source.includes("malformed JSON") ? /^line 5: not JSON$/ : new RegExp(source, c.message.flags));
      expect(msg, `${c.name}: ${msg}`).to.match(expected);
      count("POST /v1/events");
    }
    expect(snapshot()).to.deep.equal(before);
  });

  it("peer messages (batch, vote request): 403 without a member's signature, 400 naming the field; validator state unchanged", async () => {
    const { node, url } = await start("ssid-us-1");
    const coordinator = keysOf("ssid-eu-1");
    const foreign = keysOf("opencore-eu-1");
    const stranger = new Wallet(Wallet.createRandom().privateKey);
    const origin = node.origin;
    const batch = {
      origin,
      round: "1",
      entries: [Buffer.from(JSON.stringify(makeEvent(1))).toString("base64")],
    };
    const vote = {
      origin,
      epoch: "1",
      round: "1",
      baseSize: "0",
      baseRoot: Buffer.alloc(32).toString("base64"),
      batchSize: 1,
      batchRoot: Buffer.alloc(32, 7).toString("base64"),
      attempt: 1,
      peers: ["ssid-eu-1"],
    };
    const sign = (body: string, id = "ssid-eu-1", wallet = coordinator.wallet) => ({
      [SIGNATURE_HEADER]: signBody(id, wallet, body),
    });
    type Case = [string, string, Record<string, string>, number, RegExp];
    const casesFor = (p: string, good: Record<string, unknown>): Case[] => {
      const g = JSON.stringify(good);
      const w = (o: Record<string, unknown>) => JSON.stringify({ ...good, ...o });
      const without = (k: string) =>
        JSON.stringify(Object.fromEntries(Object.entries(good).filter(([x]) => x !== k)));
      const cases: Case[] = [
        [`${p}: no signature`, g, {}, 403, /missing or malformed/],
        [`${p}: malformed signature header`, g, { [SIGNATURE_HEADER]: "ssid-eu-1 0x12" }, 403, /malformed/],
        [`${p}: unknown signer`, g, sign(g, "nobody-1"), 403, /nobody-1 is not a node/],
        [
          `${p}: another federation's node`,
          g,
          sign(g, "opencore-eu-1", foreign.wallet),
          403,
          /opencore-eu-1 is not a node/,
        ],
        [`${p}: wrong key`, g, sign(g, "ssid-eu-1", stranger), 403, /not signed by ssid-eu-1/],
        [`${p}: signature over another body`, g, sign(g + " "), 403, /not signed by/],
        [`${p}: not JSON`, "{", sign("{"), 400, /not JSON/],
        [`${p}: an array`, "[]", sign("[]"), 400, /body/],
        [
          `${p}: duplicate member`,
          g.replace("{", '{"origin":"x",'),
          sign(g.replace("{", '{"origin":"x",')),
          400,
          /duplicate|origin/,
        ],
        [`${p}: no origin`, without("origin"), sign(without("origin")), 400, /origin/],
        [`${p}: no round`, without("round"), sign(without("round")), 400, /round/],
        [`${p}: round -1`, w({ round: "-1" }), sign(w({ round: "-1" })), 400, /round/],
        [`${p}: round a number`, w({ round: 1 }), sign(w({ round: 1 })), 400, /round/],
        [
          `${p}: round 2^64`,
          w({ round: "18446744073709551616" }),
          sign(w({ round: "18446744073709551616" })),
          400,
          /round/,
        ],
      ];
      return cases;
    };
    const cases: [string, Case[]][] = [
      [
        "/v1/validator/batch",
        [
          ...casesFor("batch", batch),
          [
            "batch: entries not base64",
            JSON.stringify({ ...batch, entries: ["@@"] }),
            sign(JSON.stringify({ ...batch, entries: ["@@"] })),
            400,
            /entries\[0\]/,
          ],
          [
            "batch: entries not an array",
            JSON.stringify({ ...batch, entries: "x" }),
            sign(JSON.stringify({ ...batch, entries: "x" })),
            400,
            /entries/,
          ],
        ],
      ],
      [
        "/v1/validator/vote",
        [
          ...casesFor("vote", vote),
          [
            "vote: short batchRoot",
            JSON.stringify({ ...vote, batchRoot: "AA==" }),
            sign(JSON.stringify({ ...vote, batchRoot: "AA==" })),
            400,
            /batchRoot/,
          ],
          [
            "vote: peers not strings",
            JSON.stringify({ ...vote, peers: [1] }),
            sign(JSON.stringify({ ...vote, peers: [1] })),
            400,
            /peers\[0\]/,
          ],
          [
            "vote: no epoch",
            JSON.stringify({ ...vote, epoch: undefined }),
            sign(JSON.stringify({ ...vote, epoch: undefined })),
            400,
            /epoch/,
          ],
        ],
      ],
    ];
    const stateDir = path.join(dir, "ssid-us-1", "validator");
    const stateBefore = fs.existsSync(stateDir) ? fs.readdirSync(stateDir) : [];
    for (const [route, list] of cases) {
      for (const [name, body, headers, status, message] of list) {
        const res = await post(`${url}${route}`, body, headers);
        expect(res.status, `${name}: ${res.text}`).to.equal(status);
        expect(res.json().message, name).to.match(message);
        count(route);
      }
    }
    expect(node.validator.signedBatch(), "no signed batch").to.equal(undefined);
    expect(node.validator.entries(origin, 1n, 0, 10)).to.deep.equal([]);
    expect(fs.existsSync(stateDir) ? fs.readdirSync(stateDir) : []).to.deep.equal(stateBefore);
  });

  it("witness add-checkpoint: every hostile QC refused with its status and code; no witness state kept", async () => {
    const { url } = await start("opencore-us-1");
    const ssid = manifest.federations.find((f) => f.id === "ssid")!;
    const signers = ssid.nodes.map((n) => {
      const k = keysOf(n.id);
      return makeSigner(`${ssid.origin}/${n.id}`, k.mldsa.publicKey, k.mldsa.secretKey);
    });
    const out = keysOf("opencore-eu-1");
    const outsider = makeSigner(`${ssid.origin}/outsider-1`, out.mldsa.publicKey, out.mldsa.secretKey);
    const cp: Checkpoint = {
      origin: ssid.origin,
      treeSize: 12n,
      rootHash: new Uint8Array(32).fill(9),
      round: 4n,
      epoch: 1n,
    };
    const statusOf = (code: string) =>
      code === "malformed-qc"
        ? 400
        : ["unknown-origin", "wrong-epoch", "bad-qc-signature", "no-quorum"].includes(code)
          ? 403
          : 422;
    const witnessDir = path.join(dir, "opencore-us-1", "witness");
    const before = fs.existsSync(witnessDir) ? fs.readdirSync(witnessDir) : [];
    for (const c of qcCases(cp, signers, outsider)) {
      const res = await post(`${url}/v1/witness/add-checkpoint`, `old 0\n\n${c.note}`, {
        "content-type": "text/plain",
      });
      expect(res.status, `${c.name}: ${res.text}`).to.equal(statusOf(c.code));
      expect((JSON.parse(res.text) as { code: string }).code, c.name).to.equal(c.code);
      count("/v1/witness/add-checkpoint");
    }
    for (const [name, body] of [
      ["no old line", `\n\n${checkpointText(cp)}`],
      ["old not a number", `old x\n\n${checkpointText(cp)}`],
      ["old with leading zero", `old 01\n\n${checkpointText(cp)}`],
      ["no blank line", `old 0\n${checkpointText(cp)}`],
      ["proof line not base64", `old 3\n@@@\n\n${checkpointText(cp)}`],
      ["proof line not 32 bytes", `old 3\nAAAA\n\n${checkpointText(cp)}`],
    ] as const) {
      const res = await post(`${url}/v1/witness/add-checkpoint`, body, { "content-type": "text/plain" });
      expect(res.status, `${name}: ${res.text}`).to.equal(400);
      expect(res.json().message, name).to.match(/old <size>|proof line 1/);
      count("/v1/witness/add-checkpoint");
    }
    expect(fs.existsSync(witnessDir) ? fs.readdirSync(witnessDir) : []).to.deep.equal(before);
  });
});

const checkpointText = (cp: Checkpoint): string => checkpointBody(cp);
