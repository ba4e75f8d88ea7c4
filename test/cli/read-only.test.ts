/**
 * A read-only data directory (issue 13). The tests run as root, for whom `chmod a-w` does not stop
 * a write, so the directory is made really read-only for the child only: `unshare -m` gives the
 * child a private mount namespace in which the data dir is bind-mounted onto itself with `-o ro`
 * (EROFS for every write, root included; the rest of the machine still sees it writable).
 * Each command then exits 3 with a message naming the file and the cause, nothing is changed
 * (file bytes, SQLite integrity), and the same command succeeds once the directory is writable.
 * Skipped, saying why, where mount namespaces are not permitted.
 */
import { execFile, execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { expect } from "chai";
import { ensureDist } from "../../scripts/ensure-dist";

const ROOT = path.resolve(__dirname, "..", "..");
const AMP = path.join(ROOT, "bin", "amp.js");

/** Run amp; with `readOnly`, inside a mount namespace where that directory is mounted read-only. */
function amp(
  readOnly: string | undefined,
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
  const run = `exec ${q(process.execPath)} ${q(AMP)} ${args.map(q).join(" ")}`;
  const [cmd, argv] =
    readOnly === undefined
      ? ["sh", ["-c", run]]
      : ["unshare", ["-m", "sh", "-c", `mount --bind -o ro ${q(readOnly)} ${q(readOnly)} && ${run}`]];
  return new Promise((resolve) =>
    execFile(cmd, argv, { cwd: ROOT, timeout: 300_000 }, (e, out, err) =>
      resolve({ code: e ? (typeof e.code === "number" ? e.code : 1) : 0, out, err }),
    ),
  );
}

function events(n: number): string {
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      schema_version: "1.0",
      event_id: crypto.randomUUID(),
      event_type: "auth.login",
      source_module: "ssid-wallet",
      timestamp: "2026-01-01T00:00:00Z",
      federation_context: { federation_id: "ssid", node_id: "n1", region: "EU" },
      payload: { i },
    }),
  ).join("\n");
}

/** Every file of the dir with its SHA-256 (what "nothing changed" compares). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fs.readdirSync(dir).sort())
    out[f] = crypto
      .createHash("sha256")
      .update(fs.readFileSync(path.join(dir, f)))
      .digest("hex");
  return out;
}

function archived(data: string): { events: number; erasures: number; integrity: string } {
  const db = new Database(path.join(data, "archive.sqlite"), { readonly: true, fileMustExist: true });
  try {
    const n = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    const integrity = (db.prepare("PRAGMA integrity_check").get() as { integrity_check: string })
      .integrity_check;
    return {
      events: n("SELECT COUNT(*) AS n FROM events"),
      erasures: n("SELECT COUNT(*) AS n FROM erasures"),
      integrity,
    };
  } finally {
    db.close();
  }
}

describe("cli: a read-only data dir (mount namespace, works as root)", function () {
  this.timeout(600_000);
  let dir: string;
  let data: string;

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-read-only-"));
    data = path.join(dir, "data");
    fs.mkdirSync(data);
    try {
      execFileSync(
        "unshare",
        ["-m", "sh", "-c", `mount --bind -o ro '${data}' '${data}' && ! touch '${data}/x'`],
        {
          stdio: "ignore",
        },
      );
    } catch {
      console.log("      skipped: `unshare -m` + `mount --bind -o ro` is not permitted here");
      this.skip();
    }
    ensureDist();
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("amp ingest: exit 3 naming the archive and the cause, nothing changed; the retry stores it", async () => {
    const first = path.join(dir, "first.ndjson");
    fs.writeFileSync(first, events(20));
    expect((await amp(undefined, "ingest", first, "--data", data)).code).to.equal(0);
    // Checkpoint the WAL so that the snapshot below holds the archive's whole state.
    const db = new Database(path.join(data, "archive.sqlite"));
    db.pragma("wal_checkpoint(TRUNCATE)");
    db.close();
    const before = snapshot(data);
    const more = path.join(dir, "more.ndjson");
    fs.writeFileSync(more, events(30));
    const ro = await amp(data, "ingest", more, "--data", data);
    expect(ro.code, ro.err).to.equal(3);
    expect(ro.err).to.include(path.join(data, "archive.sqlite"));
    expect(ro.err).to.match(/cannot write to storage: .*(read-only|cannot be opened)/);
    expect(ro.err).to.match(/nothing half-written is kept/);
    expect(snapshot(data), "no file of the data dir changed").to.deep.equal(before);
    expect(archived(data)).to.deep.equal({ events: 20, erasures: 0, integrity: "ok" });
    const ok = await amp(undefined, "ingest", more, "--data", data);
    expect(ok.code, ok.err).to.equal(0);
    expect(archived(data)).to.deep.equal({ events: 50, erasures: 0, integrity: "ok" });
  });

  it("amp erase: exit 3 naming the archive, the payload kept and no erasure logged; the retry erases it", async () => {
    const db = new Database(path.join(data, "archive.sqlite"));
    const id = (db.prepare("SELECT event_id AS id FROM events LIMIT 1").get() as { id: string }).id;
    db.pragma("wal_checkpoint(TRUNCATE)");
    db.close();
    const before = snapshot(data);
    const ro = await amp(data, "erase", id, "--data", data, "--reason", "read-only test");
    expect(ro.code, ro.err).to.equal(3);
    expect(ro.err).to.include(path.join(data, "archive.sqlite"));
    expect(snapshot(data), "no file of the data dir changed").to.deep.equal(before);
    expect(archived(data).erasures).to.equal(0);
    const ok = await amp(undefined, "erase", id, "--data", data, "--reason", "read-only test");
    expect(ok.code, ok.err + ok.out).to.equal(0);
    expect(archived(data)).to.include({ erasures: 1, integrity: "ok" });
  });
});
