/**
 * `amp up` killed with SIGKILL leaves its node children running (nothing tells them). Found by the
 * kill campaign: the restarted `amp up` started new children on the same ports; they failed to bind
 * and were restarted forever while the orphans, unsupervised, kept serving. The next `amp up` on
 * the data dir must stop the orphans of a dead one first, and refuse to run next to a live one.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { FEDERATION_FILE, reapOrphans } from "../../src/node/local";
import { tmpDir, until } from "./helpers";

function sleeper(...args: string[]): ChildProcess {
  return spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)", "--", ...args], { stdio: "ignore" });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function deadPid(): Promise<number> {
  const c = spawn(process.execPath, ["-e", "0"], { stdio: "ignore" });
  await new Promise((r) => c.once("exit", r));
  return c.pid!;
}

describe("amp up: orphans of a killed amp up", function () {
  this.timeout(60_000);
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill("SIGKILL");
  });

  it("stops the recorded node processes of a dead supervisor, and only those", async function () {
    const data = tmpDir("amp-orphans-");
    const nodeDir = path.join(data, "nodes", "a");
    const orphan = sleeper("--data", nodeDir);
    const stranger = sleeper("--data", "/somewhere/else"); // pid recorded but not our node: kept
    children.push(orphan, stranger);
    await until("children running", () => (alive(orphan.pid!) && alive(stranger.pid!) ? true : undefined));
    const fed = {
      supervisorPid: await deadPid(),
      chainPid: null,
      nodes: [
        { id: "a", pid: orphan.pid, dataDir: nodeDir },
        { id: "b", pid: stranger.pid, dataDir: path.join(data, "nodes", "b") },
      ],
    };
    fs.writeFileSync(path.join(data, FEDERATION_FILE), JSON.stringify(fed));
    const reaped = await reapOrphans(data, 5000);
    expect(reaped).to.deep.equal([orphan.pid]);
    await until("orphan gone", () =>
      orphan.exitCode !== null || orphan.signalCode !== null ? true : undefined,
    );
    expect(alive(stranger.pid!)).to.equal(true);
  });

  it("refuses to start next to a live amp up on the same data dir", async function () {
    const data = tmpDir("amp-orphans-");
    const live = sleeper("up", "--data", data);
    children.push(live);
    await until("running", () => (alive(live.pid!) ? true : undefined));
    fs.writeFileSync(
      path.join(data, FEDERATION_FILE),
      JSON.stringify({ supervisorPid: live.pid, chainPid: null, nodes: [] }),
    );
    let err: Error | undefined;
    await reapOrphans(data).catch((e: Error) => (err = e));
    expect(err?.message).to.include(`already running on ${data}`);
    expect(alive(live.pid!)).to.equal(true);
  });

  it("does nothing without a federation.json", async function () {
    expect(await reapOrphans(tmpDir("amp-orphans-"))).to.deep.equal([]);
  });
});
