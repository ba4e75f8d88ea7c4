/**
 * The node's HTTP service (Fastify 5). Handlers only parse, authenticate and map errors; the
 * protocol lives in FederationNode, Coordinator and ValidatorNode. Every body is bounded
 * (`bodyLimit`), read as raw bytes (signatures are checked over exactly what was sent) and decoded
 * by the field-checking decoders of src/transport/wire.ts. docs/http.md lists every path.
 *
 * Errors map the way C2SP tlog-witness does: 400 malformed, 403 unknown or bad signer, 404 not
 * found, 409 stale (witness: last size as text/x.tlog.size), 422 valid but refused, 429/503
 * pushback with Retry-After, 500 bug. Bodies of errors: `{ "error": name, "message": one line, ...meta }`.
 */
import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import { decodeBase64Strict } from "../crypto/note";
import { decodeUtf8Strict } from "../events/ijson";
import { WitnessError } from "../nexus/witness";
import {
  SIGNATURE_HEADER,
  UnauthenticatedError,
  decodeBatch,
  decodePromiseRequest,
  decodeVoteRequest,
  encodeEntries,
  parseJson,
  uint,
  verifyBody,
  type SignedBatchWire,
} from "../transport/wire";
import { AmpError, InvalidInputError, PushbackError } from "../util/errors";
import type { Coordinator } from "./coordinator";
import { WitnessConflictError, type FederationNode } from "./node";
import { encodeOutcome } from "./outcome";
import { decodeRecord, encodeRecord } from "./anchored-record";
import { evidenceLimit, readEvidence } from "./evidence-view";
import { PARTICIPATION_SCHEMA, readParticipation } from "./participation";

export interface NodeServerOptions {
  /** Largest request body in bytes (default 8 MiB: 1000 events of 8 KB). */
  readonly bodyLimit?: number;
  /** Called after a round is announced as anchored (the service catches up). */
  readonly onAnchored?: () => void;
  /** Called after events are acknowledged (the service starts a round if it is the proposer). */
  readonly onEvents?: () => void;
}

const MAX_ENTRIES = 10_000;

function query(q: unknown): Record<string, unknown> {
  return (q ?? {}) as Record<string, unknown>;
}

function qUint(q: Record<string, unknown>, name: string): bigint {
  const v = q[name];
  if (typeof v !== "string")
    throw new InvalidInputError(`query parameter "${name}" is required`, { meta: { field: name } });
  return uint({ [name]: v }, name, "query");
}

export function sendError(reply: FastifyReply, e: unknown): FastifyReply {
  if (e instanceof WitnessConflictError) {
    return reply.code(409).type("text/x.tlog.size").send(`${e.lastSize}\n`);
  }
  const body = (name: string, message: string, meta: Record<string, unknown> = {}) => ({
    error: name,
    message,
    ...meta,
  });
  if (e instanceof PushbackError) {
    return reply
      .code(429)
      .header("retry-after", String(Math.max(1, Math.ceil(e.retryAfterMs / 1000))))
      .send(body(e.name, e.shortMessage));
  }
  if (e instanceof UnauthenticatedError) return reply.code(403).send(body(e.name, e.shortMessage));
  if (e instanceof WitnessError) {
    const forbidden = ["unknown-origin", "wrong-epoch", "bad-qc-signature", "no-quorum"].includes(e.code);
    const status = e.code === "malformed-qc" ? 400 : forbidden ? 403 : 422;
    return reply.code(status).send(body(e.name, e.shortMessage, { code: e.code }));
  }
  if (e instanceof AmpError) {
    const status = { "invalid-input": 400, "not-found": 404, conflict: 422, "retry-later": 503, bug: 500 }[
      e.kind
    ];
    if (status === 503) reply.header("retry-after", "1");
    return reply.code(status).send(body(e.name, e.shortMessage, e.meta));
  }
  return reply.code(500).send(body("Error", (e as Error).message?.split("\n")[0] ?? String(e)));
}

/** A validator's signed batch in its wire form (`{}` when it signed nothing). */
export function signedWire(s: ReturnType<FederationNode["validator"]["signedBatch"]>): SignedBatchWire {
  if (!s) return {};
  return {
    round: s.round.toString(),
    baseSize: s.baseSize.toString(),
    batchRoot: Buffer.from(s.batchRoot).toString("hex"),
    batchSize: Number(s.treeSize - s.baseSize),
  };
}

/** Build the Fastify app for one node (not listening; call `listen` or use `inject`). */
export function buildNodeServer(
  node: FederationNode,
  coordinator: Coordinator,
  opts: NodeServerOptions = {},
): FastifyInstance {
  const app = Fastify({ bodyLimit: opts.bodyLimit ?? 8 * 1024 * 1024, logger: false });
  // Raw bytes for every body: signatures are checked over exactly what was sent.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, b: Buffer, done) => done(null, b));
  const raw = (b: unknown): string => (Buffer.isBuffer(b) ? b.toString("utf8") : "");
  const federationMember = (id: string) => node.federation.nodes.find((n) => n.id === id)?.member.address;
  const anyMember = (id: string) =>
    node.cfg.roster.has(id) ? node.cfg.roster.node(id).member.address : undefined;
  const guard =
    <T>(
      h: (req: {
        body: unknown;
        query: unknown;
        headers: Record<string, unknown>;
        params: unknown;
      }) => Promise<T> | T,
    ) =>
    async (
      req: { body: unknown; query: unknown; headers: Record<string, unknown>; params: unknown },
      reply: FastifyReply,
    ) => {
      try {
        return await h(req);
      } catch (e) {
        return sendError(reply, e);
      }
    };
  const signed = (
    req: { body: unknown; headers: Record<string, unknown> },
    addressOf: (id: string) => string | undefined,
  ) => {
    const body = raw(req.body);
    verifyBody(req.headers[SIGNATURE_HEADER] as string | undefined, body, addressOf);
    return parseJson(body, "body");
  };

  // sender
  app.post(
    "/v1/events",
    // Strict UTF-8: a byte that is not UTF-8 is refused (line:column), never replaced by U+FFFD.
    guard((req) => {
      const acknowledged = node.submit(
        decodeUtf8Strict(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)),
      );
      opts.onEvents?.();
      return { acknowledged };
    }),
  );
  app.get(
    "/v1/inbox",
    guard((req) => {
      const limit = Number(qUint(query(req.query), "limit"));
      return { events: encodeEntries(node.pending(Math.min(limit, MAX_ENTRIES)).map((e) => e.canonical)) };
    }),
  );

  // validator (requests signed by a member of this node's federation: the round's coordinator)
  app.post(
    "/v1/validator/batch",
    guard((req) => {
      node.validator.receiveBatch(decodeBatch(signed(req, federationMember)));
      return { accepted: true };
    }),
  );
  app.post(
    "/v1/validator/vote",
    guard(async (req) => {
      const res = await node.validator.handleVoteRequest(decodeVoteRequest(signed(req, federationMember)));
      return res;
    }),
  );
  // Prepare (Paxos-style): the promise is persisted before the answer (see ValidatorNode.promise).
  app.post(
    "/v1/validator/promise",
    guard(async (req) => {
      const p = decodePromiseRequest(signed(req, federationMember));
      if (p.origin !== node.origin) {
        throw new InvalidInputError(`promise request: origin ${p.origin} is not this node's ${node.origin}`, {
          meta: { field: "origin" },
        });
      }
      const a = await node.validator.promise(p.round, p.ballot);
      return { promised: a.promised, ballot: a.ballot.toString(), signed: signedWire(a.signed) };
    }),
  );
  app.get(
    "/v1/validator/signed",
    guard(() => {
      return signedWire(node.validator.signedBatch());
    }),
  );

  // archive
  app.get(
    "/v1/archive/batch-entries",
    guard((req) => {
      const q = query(req.query);
      const origin = typeof q.origin === "string" ? q.origin : node.origin;
      const from = Number(qUint(q, "from"));
      const count = Math.min(Number(qUint(q, "count")), MAX_ENTRIES);
      return { entries: encodeEntries(node.batchEntries(origin, qUint(q, "round"), from, count)) };
    }),
  );
  app.get(
    "/v1/archive/entries",
    guard((req) => {
      const q = query(req.query);
      const from = qUint(q, "from");
      const to = qUint(q, "to");
      if (to < from || to - from > BigInt(MAX_ENTRIES)) {
        throw new InvalidInputError(`from..to must be a range of at most ${MAX_ENTRIES} entries`);
      }
      return { entries: encodeEntries(node.logEntries(from, to)) };
    }),
  );

  // log views for `amp consistency`
  app.get(
    "/v1/log/consistency",
    guard((req) => {
      const q = query(req.query);
      const from = qUint(q, "from");
      const to = qUint(q, "to");
      const size = node.archiveLog.size;
      if (from > to || to > size) throw new InvalidInputError(`need from <= to <= ${size}`);
      const proof = from === 0n || from === to ? [] : node.archiveLog.consistencyProof(from, to);
      return {
        origin: node.origin,
        size: to.toString(),
        root: Buffer.from(node.archiveLog.rootAt(to)).toString("hex"),
        proof: encodeEntries(proof),
      };
    }),
  );
  app.get(
    "/v1/log/leaf-hashes",
    guard((req) => {
      const q = query(req.query);
      const from = qUint(q, "from");
      const to = qUint(q, "to");
      if (to < from || to - from > BigInt(MAX_ENTRIES)) {
        throw new InvalidInputError(`from..to must be a range of at most ${MAX_ENTRIES} entries`);
      }
      return {
        leafHashes: node.archive.leafHashes(node.name, from, to).map((h) => Buffer.from(h).toString("hex")),
      };
    }),
  );

  // witness: C2SP tlog-witness add-checkpoint ("old N", proof lines, blank line, checkpoint note)
  app.post(
    "/v1/witness/add-checkpoint",
    guard(async (req) => {
      const text = raw(req.body);
      const split = text.indexOf("\n\n");
      const head = split < 0 ? [] : text.slice(0, split).split("\n");
      const m = /^old (0|[1-9][0-9]{0,19})$/.exec(head[0] ?? "");
      if (!m || split < 0)
        throw new InvalidInputError(
          'add-checkpoint: body must start with "old <size>" and a blank line before the checkpoint',
        );
      const proof = head.slice(1).map((l, i) => {
        const b = decodeBase64Strict(l, `proof line ${i + 1}`);
        if (b.length !== 32)
          throw new InvalidInputError(`add-checkpoint: proof line ${i + 1} is not a 32-byte hash`);
        return b;
      });
      return node.addCheckpoint(BigInt(m[1]!), proof, text.slice(split + 2));
    }),
  );

  // rounds
  app.post(
    "/v1/round/consensus",
    guard(async (req) => {
      const o = signed(req, anyMember);
      return encodeOutcome(await coordinator.run(uint(o, "round", "body")));
    }),
  );
  app.post(
    "/v1/round/anchored",
    guard(async (req) => {
      // Unauthenticated on purpose: the node keeps the record only when it matches the chain and
      // passes the checks `amp verify` runs on its proofs (./record-check.ts; else 400 naming the field).
      // The round loop is woken first: its tick catches up (the answer does not wait for that).
      const record = decodeRecord(parseJson(raw(req.body), "body"));
      opts.onAnchored?.();
      // The record is checked against the chain on its own (no archive needed): kept before the
      // catch-up, so that catch-up finds it held instead of asking every peer for it.
      return { stored: await node.acceptRecord(record) };
    }),
  );
  app.get(
    "/v1/anchors/:round",
    guard((req) => {
      const round = uint(req.params as Record<string, unknown>, "round", "path");
      const r = node.anchors.get(round);
      if (!r) throw new AmpError(`round ${round} is not anchored here`, { kind: "not-found" });
      return encodeRecord(r);
    }),
  );
  app.get(
    "/v1/proof/:id",
    guard((req) => node.proof(String((req.params as Record<string, unknown>).id))),
  );

  app.get(
    "/v1/status",
    guard(() => node.status()),
  );
  // measurements: bytes to each peer, round stage timings (records newer than ?since=<ms>)
  app.get(
    "/v1/stats",
    guard((req) => {
      const q = query(req.query);
      const since = q.since === undefined ? 0 : Number(qUint(q, "since"));
      return { nodeId: node.id, federation: node.name, wire: node.wire(), ...node.timings.snapshot(since) };
    }),
  );
  // Byzantine evidence this node recorded (read-only, newest first; ./evidence-view.ts)
  app.get(
    "/v1/evidence",
    guard((req) =>
      readEvidence(
        node.cfg.dataDir,
        { id: node.id, name: node.name, origin: node.origin },
        evidenceLimit(query(req.query)),
      ),
    ),
  );
  // Participation counters this node recorded as a coordinator (read-only; ./participation.ts)
  app.get(
    "/v1/participation",
    { schema: { response: { 200: PARTICIPATION_SCHEMA } } },
    guard(() => readParticipation(node.cfg.dataDir, { id: node.id, name: node.name, origin: node.origin })),
  );
  return app;
}
