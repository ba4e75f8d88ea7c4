import { expect } from "chai";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Archive, SqliteLogStore } from "../../src/archive";
import { federationEventEncoder } from "../../src/batching/encode";
import { FederationLog } from "../../src/log";
import { rootHash } from "../../src/merkle/tree";
import { eventUuid, makeEvent } from "../fixtures/events";

const ORIGIN = "amp.local/ssid";
const CHILD = path.join(__dirname, "..", "fixtures", "ingest-child.ts");
const ITERATIONS = Number(process.env.AMP_CRASH_ITERATIONS ?? 16);

interface Run {
  acked: string[];
  ready: boolean;
}

/**
 * Starts the child and kills it with SIGKILL `delayMs` after it printed "ready" (resume done) or,
 * with `afterFirstAck`, after its first acknowledgement; collects the acknowledged ids.
 */
function runAndKill(
  db: string,
  from: number,
  seed: number,
  delayMs: number,
  afterFirstAck: boolean,
): Promise<Run> {
  const child = spawn(
    process.execPath,
    ["-r", require.resolve("ts-node/register"), CHILD, db, String(from), String(seed)],
    {
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "1", AMP_LOG_LEVEL: "silent" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const run: Run = { acked: [], ready: false };
  let buffered = "";
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith("ready")) run.ready = true;
        else run.acked.push(line);
        const trigger = afterFirstAck
          ? run.acked.length === 1 && !line.startsWith("ready")
          : line.startsWith("ready");
        if (trigger) setTimeout(() => child.kill("SIGKILL"), delayMs);
      }
    });
    child.on("exit", (code, signal) => {
      if (signal === "SIGKILL") resolve(run);
      else reject(new Error(`child exited with ${code}: ${stderr}`));
    });
  });
}

/**
 * Every invariant the archive must hold after a crash; returns the number of archived events.
 * Leaves of events from index `checkedFrom` on are recomputed from the generator (earlier ones were).
 */
function checkArchive(db: string, everAcked: Set<string>, checkedFrom: number): number {
  const archive = Archive.open(db);
  try {
    const next = archive.nextSeq(ORIGIN);
    const events = archive.eventsInRange(ORIGIN, 0n, next);
    expect(BigInt(events.length)).to.equal(next, "seqs are contiguous from 0");
    const ids = new Set(events.map((e) => e.eventId));
    expect(ids.size).to.equal(events.length, "no event archived twice");
    for (const id of everAcked) expect(ids.has(id), `acknowledged ${id} is archived`).to.equal(true);
    for (const e of events.slice(checkedFrom)) {
      const i = parseInt(e.eventId.slice(-12), 16);
      expect(e.eventId).to.equal(eventUuid(1, i));
      // Inline payloads are committed with a random salt: recompute with the archived one.
      const encode = federationEventEncoder(undefined, () => e.salt ?? new Uint8Array(32));
      expect(e.leafHash).to.deep.equal(encode(makeEvent(i)).leafHash, `leaf of event ${i}`);
    }
    const log = new FederationLog(ORIGIN, new SqliteLogStore(archive, ORIGIN));
    const rebuilt = rootHash(events.slice(0, Number(log.size)).map((e) => e.leafHash));
    expect(log.root()).to.deep.equal(rebuilt, "log root equals a from-scratch recomputation");
    const batches = archive.batches(ORIGIN);
    batches.forEach((b, k) => expect(b.startSeq).to.equal(k === 0 ? 0n : batches[k - 1]!.endSeq));
    const last = archive.checkpoints(ORIGIN).at(-1);
    if (last) {
      expect(last.size).to.equal(log.size);
      expect(last.root).to.deep.equal(log.root(), "last checkpoint is the log's root");
    }
    return events.length;
  } finally {
    archive.close();
  }
}

describe("batching crash safety (child process killed with SIGKILL)", function () {
  this.timeout(300_000); // ~16 child starts of ts-node; about 30-60 s, longer on a loaded machine

  it(`keeps every acknowledged event exactly once and the log root intact across ${ITERATIONS} kills`, async () => {
    const db = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "amp-crash-")), "archive.db");
    const everAcked = new Set<string>();
    let ackedRuns = 0;
    let highest = -1;
    let checked = 0;
    for (let it = 0; it < ITERATIONS; it++) {
      // Restart a little before the last acknowledged event: the child resubmits some acknowledged
      // events (must be deduplicated) and any unacknowledged in-flight ones.
      const from = Math.max(0, highest - Math.floor(Math.random() * 20));
      const run = await runAndKill(db, from, it + 1, Math.floor(Math.random() * 300), it % 2 === 1);
      for (const id of run.acked) {
        everAcked.add(id);
        highest = Math.max(highest, parseInt(id.slice(-12), 16));
      }
      if (run.acked.length > 0) ackedRuns++;
      const archived = checkArchive(db, everAcked, checked);
      expect(archived).to.be.at.least(everAcked.size);
      checked = archived;
    }
    expect(ackedRuns, "at least the runs killed after an ack acknowledged something").to.be.at.least(
      ITERATIONS / 2,
    );
  });
});
