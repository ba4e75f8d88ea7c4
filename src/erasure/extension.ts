/**
 * Erasure on a running node (a NodeExtension): `POST /v1/erase` erases one event's payload and
 * commitment salt from this node's archive, appends to its erasure log (when, why, by whom) and
 * scrubs the inbox file and its WAL; `GET /v1/erasures` lists the log. Both need the operator token
 * (`Authorization: Bearer <data>/admin.token`). The library call is `eraseEvent` (src/archive).
 */
import type { FastifyInstance, FastifyReply } from "fastify";
import { checkErasureRequest, eraseEvent, type ErasureRecord } from "../archive";
import { decodeUtf8Strict, parseIJson } from "../events/ijson";
import { requireAdmin } from "../node/admin";
import type { NodeExtension, NodeExtensionContext } from "../node/service";
import { AmpError, InvalidInputError } from "../util/errors";

/** Largest erase request body (reason ≤ 1000 characters, by ≤ 200, an event id). */
export const MAX_ERASE_BODY = 16 * 1024;

export interface EraseResponse {
  readonly node: string;
  /** True if this call erased the payload; false if it was erased before (nothing changed). */
  readonly erased: boolean;
  /** "salted" / "digest": this node held the payload; "none": it never stored one. */
  readonly record: ErasureRecord;
}

function fail(reply: FastifyReply, status: number, e: AmpError): FastifyReply {
  return reply.code(status).send({ error: e.name, message: e.shortMessage, ...e.meta });
}

/** The request body: I-JSON object `{ eventId, reason, by? }`; throws InvalidInputError naming the field. */
export function parseEraseBody(body: unknown): { eventId: string; reason: string; by: string } {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
  if (bytes.length > MAX_ERASE_BODY) {
    throw new InvalidInputError(`erasure request: body is ${bytes.length} bytes, limit ${MAX_ERASE_BODY}`);
  }
  const value = parseIJson(decodeUtf8Strict(bytes, { source: "body" }), { source: "body" });
  if (Array.isArray(value)) throw new InvalidInputError("erasure request: /: must be an object");
  if (typeof value === "object" && value !== null) {
    const extra = Object.keys(value).filter((k) => !["eventId", "reason", "by"].includes(k));
    if (extra.length > 0) {
      throw new InvalidInputError(`erasure request: ${extra[0]}: unknown field`, {
        meta: { field: extra[0] },
      });
    }
  }
  return checkErasureRequest(value);
}

export function erasureExtension(): NodeExtension {
  return {
    name: "erasure",
    routes(app: FastifyInstance, ctx: NodeExtensionContext): void {
      const guard = { preHandler: requireAdmin(ctx.adminToken) };
      app.post("/v1/erase", guard, async (req, reply) => {
        let r: { eventId: string; reason: string; by: string };
        try {
          r = parseEraseBody(req.body);
        } catch (e) {
          if (e instanceof InvalidInputError) return fail(reply, 400, e);
          throw e;
        }
        const node = ctx.node;
        if (!node.archive.getEvent(r.eventId)) {
          if (node.inbox.get(r.eventId)) {
            void reply.header("retry-after", "5");
            return fail(
              reply,
              409,
              new AmpError(`event ${r.eventId} is acknowledged, not anchored yet: erase it once anchored`, {
                kind: "retry-later",
                meta: { eventId: r.eventId },
              }),
            );
          }
          return fail(
            reply,
            404,
            new AmpError(`no event ${r.eventId} in ${node.name}'s log on ${node.id}`, {
              kind: "not-found",
              meta: { eventId: r.eventId },
            }),
          );
        }
        const { erased, record } = eraseEvent(node.archive, r);
        node.inbox.scrub(); // bytes of the payload it held before anchoring leave its file and WAL
        node.logger.warn("payload erased", { eventId: r.eventId, by: r.by, commitment: record.commitment });
        const res: EraseResponse = { node: node.id, erased, record };
        return res;
      });
      app.get("/v1/erasures", guard, () => ({ node: ctx.node.id, erasures: ctx.node.archive.erasures() }));
    },
  };
}
