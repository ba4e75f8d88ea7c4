import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import Fastify from "fastify";
import { adminHeader, ensureAdminToken, readAdminToken, requireAdmin } from "../../src/node/admin";
import { tmpDir } from "./helpers";

describe("node operator token (src/node/admin.ts)", () => {
  it("is created once, 0600, and kept across starts", () => {
    const dir = tmpDir("amp-admin-");
    const first = ensureAdminToken(dir);
    expect(first).to.match(/^[0-9a-f]{64}$/);
    expect(fs.statSync(path.join(dir, "admin.token")).mode & 0o777).to.equal(0o600);
    expect(ensureAdminToken(dir)).to.equal(first);
    expect(readAdminToken(dir)).to.equal(first);
  });

  it("answers 401 without, or with a wrong, token and runs the handler with the right one", async () => {
    const token = ensureAdminToken(tmpDir("amp-admin-"));
    let ran = 0;
    const app = Fastify();
    app.post("/op", { preHandler: requireAdmin(token) }, () => Promise.resolve({ ok: ++ran }));
    const none = await app.inject({ method: "POST", url: "/op" });
    expect(none.statusCode).to.equal(401);
    expect(none.json<{ message: string }>().message).to.match(/Authorization: Bearer/);
    const wrong = await app.inject({ method: "POST", url: "/op", headers: adminHeader("ab".repeat(32)) });
    expect(wrong.statusCode).to.equal(401);
    const short = await app.inject({ method: "POST", url: "/op", headers: adminHeader("ab") });
    expect(short.statusCode).to.equal(401);
    expect(ran).to.equal(0);
    const right = await app.inject({ method: "POST", url: "/op", headers: adminHeader(token) });
    expect(right.statusCode).to.equal(200);
    expect(ran).to.equal(1);
    await app.close();
  });
});
