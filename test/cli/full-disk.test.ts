/**
 * A full disk for `amp ingest`, made real with RLIMIT_FSIZE in a child (`ulimit -f`, SIGXFSZ
 * ignored so that writes fail with EFBIG instead of killing the process): a clear error naming the
 * problem (exit 3), nothing half-stored (the archive keeps exactly what it had and passes SQLite's
 * integrity check), and the same command succeeds once space returns.
 */
import { execFile } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { expect } from "chai";
import { ensureDist } from "../../scripts/ensure-dist";

const ROOT = path.resolve(__dirname, "..", "..");
const AMP = path.join(ROOT, "bin", "amp.js");

/** Run amp in bash with a file size limit of `kb` KiB (none if undefined). */
function amp(kb: number | undefined, ...args: string[]): Promise<{ code: number; err: string }> {
  const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
  const limit = kb === undefined ? "" : `trap '' XFSZ; ulimit -f ${kb}; `;
  const script = `${limit}exec ${q(process.execPath)} ${q(AMP)} ${args.map(q).join(" ")}`;
  return new Promise((resolve) =>
    execFile("bash", ["-c", script], { cwd: ROOT, timeout: 300_000 }, (e, _out, err) =>
      resolve({ code: e ? (typeof e.code === "number" ? e.code : 1) : 0, err }),
    ),
  );
}

function events(n: number, bytes: number): string {
  return (
    Array.from({ length: n }, (_, i) =>
      JSON.stringify({
        schema_version: "1.0",
        event_id: crypto.randomUUID(),
        event_type: "auth.login",
        source_module: "ssid-wallet",
        timestamp: "2026-01-01T00:00:00Z",
        federation_context: { federation_id: "ssid", node_id: "n1", region: "EU" },
        payload: { i, fill: "y".repeat(bytes) },
      }),
    ).join("\n") + "\n"
  );
}

function archived(data: string): { events: number; integrity: string } {
  const db = new Database(path.join(data, "archive.sqlite"), { readonly: true, fileMustExist: true });
  try {
    const events = (db.prepare("SELECT COUNT(*) AS n FROM events").get() as { n: number }).n;
    const integrity = (db.prepare("PRAGMA integrity_check").get() as { integrity_check: string })
      .integrity_check;
    return { events, integrity };
  } finally {
    db.close();
  }
}

describe("cli: amp ingest on a full disk (RLIMIT_FSIZE)", function () {
  this.timeout(600_000);
  let dir: string;
  before(() => {
    ensureDist();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-full-disk-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("a new data dir: exit 3 naming the file size limit, no archive left behind; succeeds once space returns", async () => {
    const file = path.join(dir, "big.ndjson");
    fs.writeFileSync(file, events(3000, 500));
    const data = path.join(dir, "fresh");
    const full = await amp(512, "ingest", file, "--data", data);
    expect(full.code, full.err).to.equal(3);
    expect(full.err).to.match(/cannot write to storage: .*file size limit was hit .*SQLITE_IOERR/);
    expect(full.err).to.match(/rolled back/);
    expect(fs.existsSync(path.join(data, "archive.sqlite")) ? archived(data).events : 0).to.equal(0);
    const ok = await amp(undefined, "ingest", file, "--data", data);
    expect(ok.code, ok.err).to.equal(0);
    expect(archived(data)).to.deep.equal({ events: 3000, integrity: "ok" });
  });

  it("an existing archive: the refused file changes nothing, the archive stays intact, the retry stores it", async () => {
    const data = path.join(dir, "existing");
    const small = path.join(dir, "small.ndjson");
    fs.writeFileSync(small, events(20, 50));
    expect((await amp(undefined, "ingest", small, "--data", data)).code).to.equal(0);
    const size = fs.statSync(path.join(data, "archive.sqlite")).size;
    const big = path.join(dir, "big2.ndjson");
    fs.writeFileSync(big, events(3000, 500));
    const full = await amp(Math.ceil(size / 1024) + 256, "ingest", big, "--data", data);
    expect(full.code, full.err).to.equal(3);
    expect(full.err).to.match(/cannot write to storage/);
    expect(archived(data)).to.deep.equal({ events: 20, integrity: "ok" });
    const ok = await amp(undefined, "ingest", big, "--data", data);
    expect(ok.code, ok.err).to.equal(0);
    expect(archived(data)).to.deep.equal({ events: 3020, integrity: "ok" });
  });
});
