/**
 * Operator (admin) authentication for the node's mutating operator endpoints: alert
 * acknowledgement, erasure, and anything else only the node's operator may do. Peer endpoints are
 * authenticated by signatures instead (src/transport/wire.ts); this is for humans and their tools.
 *
 * The token is 32 random bytes, hex, in `<data>/admin.token` (mode 0600), created on the node's
 * first start. A request carries it as `Authorization: Bearer <token>`. Whoever can read the node's
 * data directory is its operator; `amp` commands and the dashboard started by `amp up` read the
 * token from there. Comparison is constant-time.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { FastifyReply, FastifyRequest } from "fastify";

export const ADMIN_TOKEN_FILE = "admin.token";

/** Read `<dataDir>/admin.token`, creating it (0600) when missing. */
export function ensureAdminToken(dataDir: string): string {
  const file = path.join(dataDir, ADMIN_TOKEN_FILE);
  fs.mkdirSync(dataDir, { recursive: true });
  try {
    fs.writeFileSync(file, crypto.randomBytes(32).toString("hex") + "\n", { mode: 0o600, flag: "wx" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  }
  return readAdminToken(dataDir);
}

/** The operator token of the node whose data dir is `dataDir` (throws ENOENT when absent). */
export function readAdminToken(dataDir: string): string {
  return fs.readFileSync(path.join(dataDir, ADMIN_TOKEN_FILE), "utf8").trim();
}

/** `Authorization` header value for `token`. */
export function adminHeader(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}

/**
 * A Fastify `preHandler` that answers 401 unless the request carries the operator token. Use it on
 * every route that changes operator state: `app.post(path, { preHandler: requireAdmin(token) }, h)`.
 */
export function requireAdmin(token: string) {
  const expected = Buffer.from(token, "utf8");
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const m = /^Bearer ([0-9a-f]{1,128})$/i.exec(req.headers.authorization ?? "");
    const got = Buffer.from(m?.[1] ?? "", "utf8");
    if (got.length !== expected.length || !crypto.timingSafeEqual(got, expected)) {
      await reply.code(401).header("www-authenticate", 'Bearer realm="amp-node-admin"').send({
        error: "UnauthenticatedError",
        message: "operator endpoint: send Authorization: Bearer <admin.token>",
      });
    }
  };
}
