/**
 * A RUNNING `amp node` whose disk fills up (issue 13): `amp up` with seven node processes on a
 * separate `hardhat node`, a steady load, and one node's writes made to fail under it, two ways:
 *
 * - `prlimit --pid <pid> --fsize=4096:` (RLIMIT_FSIZE, soft limit). Node ignores SIGXFSZ (its
 *   SigIgn mask includes signal 25, checked below), so a write past the limit is cut short, then
 *   fails with EFBIG (SQLite: SQLITE_IOERR_WRITE) instead of the process being killed.
 * - a real full disk (ENOSPC): that node's data dir is a 64 MiB tmpfs (mounted by the test, root
 *   only); a filler file takes every free byte, deleting it gives the space back.
 *
 * While full, `POST /v1/events` on that node answers 503 with a JSON error naming the file and the
 * cause and acknowledges nothing; the other nodes go on anchoring. Once space returns the SAME
 * process (no restart) takes events again and catches up; every acknowledged event ends up anchored
 * once in every node's log, SQLite's integrity check passes on its archive and inbox, and nothing
 * it refused was stored. Each part is skipped, saying so, where the machine cannot do it.
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

function works(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

interface Fault {
  /** Make the victim's writes fail (its pid given). */
  fill(pid: number): void;
  /** Give the space back. */
  free(pid: number): void;
  /** The cause the 503 must name. */
  cause: RegExp;
  /** Where this test process reads a file of the victim's data dir. */
  file(name: string): string;
}

/** The scenario: writes fail under the running victim, then space returns. */
async function fullUnderRunningNode(w: KillWorld, fault: Fault): Promise<void> {
  const victim = w.fed.nodes.find((n) => n.id === VICTIM)!;
  const others = w.fed.nodes.filter((n) => n.id !== VICTIM);
  const pid = w.pidOf(VICTIM)!;
  for (const n of w.fed.nodes) expect(await w.submit(n.id, 5), n.id).to.equal(true);
  expect((await checkInvariants(w, 300_000)).stalled).to.equal(null);
  fault.fill(pid);
  let load = true;
  const background = (async () => {
    for (let i = 0; load; i++) {
      await w.submit(others[i % others.length]!.id, 5);
      await sleep(300);
    }
  })();
  let refused: string[] = [];
  try {
    const round0 = await w.nextRound();
    const { body, ids: refusedIds } = w.events(victim.federation, 5);
    refused = refusedIds;
    const res = await fetch(`${victim.url}/v1/events`, {
      method: "POST",
      headers: { "content-type": "application/x-ndjson" },
      body,
    });
    const text = await res.text();
    console.log(`      while full: HTTP ${res.status} ${text}`);
    expect(res.status, text).to.equal(503);
    const err = JSON.parse(text) as { error: string; message: string; path?: string; acknowledged?: unknown };
    expect(err.acknowledged).to.equal(undefined);
    expect(err.error).to.equal("StorageWriteError");
    expect(err.path).to.equal(path.join(victim.dataDir, "inbox.sqlite"));
    expect(err.message).to.include(path.join(victim.dataDir, "inbox.sqlite"));
    expect(err.message).to.match(fault.cause);
    // Rounds go on without it (the other nodes anchor).
    await until(
      "two more rounds anchored while the victim's disk is full",
      async () => ((await w.nextRound()) >= round0 + 2n ? true : undefined),
      300_000,
    );
    expect(w.pidOf(VICTIM), "the victim was not restarted").to.equal(pid);
    fault.free(pid);
    await until(
      "the victim acknowledging events again",
      async () => ((await w.submit(VICTIM, 5)) ? true : undefined),
      120_000,
    );
  } finally {
    load = false;
    await background;
    try {
      fault.free(pid);
    } catch {
      // already freed, or the process is gone (the test failed on the way)
    }
  }
  const after = await checkInvariants(w, 600_000);
  console.log(`      after: ${JSON.stringify(after)}`);
  expect(after.stalled).to.equal(null);
  expect(after.lost, "acknowledged events lost").to.equal(0);
  expect(after.duplicates).to.equal(0);
  expect(after.notAnchored).to.equal(0);
  expect(after.roundsAnchoredTwice).to.equal(0);
  expect(after.consistencyExit).to.equal(0);
  expect(w.pidOf(VICTIM), "resumed in the same process, no restart").to.equal(pid);
  for (const f of ["archive.sqlite", "inbox.sqlite"]) expect(integrity(fault.file(f)), f).to.equal("ok");
  const archived = ids(fault.file("archive.sqlite"), "events");
  const pending = ids(fault.file("inbox.sqlite"), "inbox");
  for (const id of refused)
    expect(archived.has(id) || pending.has(id), `refused event ${id} was stored`).to.equal(false);
}

describe("node: a running amp node whose disk fills up (real processes)", function () {
  this.timeout(20 * 60_000);

  describe("file size limit (prlimit --fsize on the running node)", function () {
    let dir: string;
    let w: KillWorld;
    before(async function () {
      if (!works("prlimit", ["--version"])) {
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

    it("503 naming the file, nothing acknowledged or corrupted; the same process resumes once the limit is lifted", async function () {
      const pid = w.pidOf(VICTIM)!;
      const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
      const sigIgn = BigInt(`0x${/SigIgn:\s*([0-9a-f]+)/.exec(status)![1]}`);
      expect(sigIgn & (1n << 24n), "node ignores SIGXFSZ (signal 25)").to.not.equal(0n);
      const dataDir = w.fed.nodes.find((n) => n.id === VICTIM)!.dataDir;
      // Soft limit only: raising a hard limit back needs CAP_SYS_RESOURCE.
      await fullUnderRunningNode(w, {
        fill: (p) => execFileSync("prlimit", ["--pid", String(p), "--fsize=4096:"]),
        free: (p) => execFileSync("prlimit", ["--pid", String(p), "--fsize=unlimited:"]),
        cause: /file size limit/,
        file: (name) => path.join(dataDir, name),
      });
    });
  });

  describe("ENOSPC (the node's data dir on a 64 MiB tmpfs that a filler file fills)", function () {
    let dir: string;
    let w: KillWorld;
    let nodeDir: string;
    let mounted = false;
    before(async function () {
      ensureDist();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-running-enospc-"));
      nodeDir = path.join(dir, "data", "nodes", VICTIM);
      fs.mkdirSync(nodeDir, { recursive: true });
      // A real disk that can fill up: a size-limited tmpfs as that node's data dir (root only).
      if (!works("mount", ["-t", "tmpfs", "-o", "size=64m", "tmpfs", nodeDir])) {
        console.log("      skipped: mounting a tmpfs is not permitted here (needs root)");
        this.skip();
      }
      mounted = true;
      w = new KillWorld(dir, "running-enospc");
      await w.startChain();
      await w.startUp();
    });
    after(async function () {
      await w?.destroy();
      if (mounted) execFileSync("umount", ["-l", nodeDir]);
      if (dir && process.env.AMP_KEEP_DIR !== "1") fs.rmSync(dir, { recursive: true, force: true });
    });

    it("503 naming the file, nothing acknowledged or corrupted; the same process resumes once space is freed", async function () {
      const filler = path.join(nodeDir, "filler");
      await fullUnderRunningNode(w, {
        // Every free byte (the write stops with ENOSPC), then the disk must really be full.
        fill: () => {
          try {
            execFileSync("dd", ["if=/dev/zero", `of=${filler}`, "bs=64k"], { stdio: "ignore" });
          } catch {
            // "No space left on device": what we want
          }
          expect(fs.statfsSync(nodeDir).bavail, "free blocks left").to.be.at.most(1);
        },
        free: () => fs.rmSync(filler, { force: true }),
        cause: /disk is full/,
        file: (name) => path.join(nodeDir, name),
      });
    });
  });
});
