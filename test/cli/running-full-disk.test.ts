/**
 * A RUNNING `amp node` whose writes start failing (issue 13): `amp up` with seven node processes
 * on a separate `hardhat node`, a steady load, and one node's file size limit lowered under it with
 * `prlimit --pid <pid> --fsize=…` (RLIMIT_FSIZE). Node ignores SIGXFSZ (its SigIgn mask includes
 * signal 25, checked below), so a write past the limit fails with EFBIG (a short write first) and
 * SQLite reports SQLITE_FULL / SQLITE_IOERR instead of the process being killed.
 *
 * While limited, `POST /v1/events` on that node answers 503 with a JSON error naming the file and
 * the cause and acknowledges nothing; the other nodes go on anchoring. Once the limit is lifted the
 * SAME process (no restart) takes events again and catches up; every acknowledged event ends up
 * anchored once in every node's log, SQLite's integrity check passes on its archive and inbox, and
 * nothing it refused was stored. Skipped, saying so, where `prlimit` is missing.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { expect } from "chai";
import { ensureDist } from "../../scripts/ensure-dist";
import { KillWorld, checkInvariants, sleep, until } from "../../scripts/bench/kill-world";

const VICTIM = "ssid-us-1";

function integrity(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check;
  } finally {
    db.close();
  }
}

function ids(file: string, table: "events" | "inbox"): Set<string> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return new Set(
      (db.prepare(`SELECT event_id AS id FROM ${table}`).all() as { id: string }[]).map((r) => r.id),
    );
  } finally {
    db.close();
  }
}

describe("node: a running amp node whose file size limit is hit (prlimit --fsize, real processes)", function () {
  this.timeout(20 * 60_000);
  let dir: string;
  let w: KillWorld;

  before(async function () {
    try {
      execFileSync("prlimit", ["--version"], { stdio: "ignore" });
    } catch {
      console.log("      skipped: `prlimit` (util-linux) is not installed here");
      this.skip();
    }
    ensureDist();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-running-full-"));
    w = new KillWorld(dir, "running-full");
    await w.startChain();
    await w.startUp();
  });

  after(async function () {
    await w?.destroy();
    if (dir && process.env.AMP_KEEP_DIR !== "1") fs.rmSync(dir, { recursive: true, force: true });
  });

  it("POST /v1/events answers 503 naming the file, acknowledges nothing, corrupts nothing; the same process resumes once space returns", async function () {
    const victim = w.fed.nodes.find((n) => n.id === VICTIM)!;
    const others = w.fed.nodes.filter((n) => n.id !== VICTIM);
    const pid = w.pidOf(VICTIM)!;
    const sigIgn = BigInt(
      `0x${/SigIgn:\s*([0-9a-f]+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))![1]}`,
    );
    expect(sigIgn & (1n << 24n), "node ignores SIGXFSZ (signal 25)").to.not.equal(0n);
    // Before: events on every node, anchored everywhere.
    for (const n of w.fed.nodes) expect(await w.submit(n.id, 5), n.id).to.equal(true);
    const first = await checkInvariants(w, 300_000);
    expect(first.stalled).to.equal(null);
    // Limit the victim's files to 4 KiB: every database and WAL is past it.
    execFileSync("prlimit", ["--pid", String(pid), "--fsize=4096:"]);
    let load = true;
    let refusedElsewhere = 0;
    const background = (async () => {
      for (let i = 0; load; i++) {
        if (!(await w.submit(others[i % others.length]!.id, 5))) refusedElsewhere++;
        await sleep(300);
      }
    })();
    try {
      const round0 = await w.nextRound();
      const { body, ids: refusedIds } = w.events(victim.federation, 5);
      const res = await fetch(`${victim.url}/v1/events`, {
        method: "POST",
        headers: { "content-type": "application/x-ndjson" },
        body,
      });
      const text = await res.text();
      console.log(`      while limited: HTTP ${res.status} ${text}`);
      expect(res.status, text).to.equal(503);
      const err = JSON.parse(text) as {
        error: string;
        message: string;
        path?: string;
        acknowledged?: unknown;
      };
      expect(err.acknowledged).to.equal(undefined);
      expect(err.error).to.equal("StorageWriteError");
      expect(err.path).to.equal(path.join(victim.dataDir, "inbox.sqlite"));
      expect(err.message).to.include(path.join(victim.dataDir, "inbox.sqlite"));
      expect(err.message).to.match(/file size limit|disk is full/);
      // Rounds go on without it (the other nodes anchor).
      await until(
        "two more rounds anchored while the victim is limited",
        async () => ((await w.nextRound()) >= round0 + 2n ? true : undefined),
        300_000,
      );
      expect(w.pidOf(VICTIM), "the victim was not restarted").to.equal(pid);
      // Space returns.
      execFileSync("prlimit", ["--pid", String(pid), "--fsize=unlimited:"]);
      await until(
        "the victim acknowledging events again",
        async () => ((await w.submit(VICTIM, 5)) ? true : undefined),
        120_000,
      );
      load = false;
      await background;
      const after = await checkInvariants(w, 600_000);
      console.log(`      after: ${JSON.stringify({ ...after, refusedElsewhere })}`);
      expect(after.stalled).to.equal(null);
      expect(after.lost, "acknowledged events lost").to.equal(0);
      expect(after.duplicates).to.equal(0);
      expect(after.notAnchored).to.equal(0);
      expect(after.roundsAnchoredTwice).to.equal(0);
      expect(after.consistencyExit).to.equal(0);
      expect(w.pidOf(VICTIM), "resumed in the same process, no restart").to.equal(pid);
      for (const f of ["archive.sqlite", "inbox.sqlite"])
        expect(integrity(path.join(victim.dataDir, f)), f).to.equal("ok");
      const archived = ids(path.join(victim.dataDir, "archive.sqlite"), "events");
      const pending = ids(path.join(victim.dataDir, "inbox.sqlite"), "inbox");
      for (const id of refusedIds) {
        expect(archived.has(id) || pending.has(id), `refused event ${id} was stored`).to.equal(false);
      }
    } finally {
      load = false;
      await background;
      try {
        execFileSync("prlimit", ["--pid", String(pid), "--fsize=unlimited:"]);
      } catch {
        // the process is gone (the test failed on the way)
      }
    }
  });
});
