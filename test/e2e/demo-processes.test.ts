/**
 * `npm start` end to end: the demo on the multi-process layout (a child `hardhat node` and seven
 * `amp node` processes from dist/), one node Byzantine through `amp node --fault`, proofs fetched
 * over HTTP and verified against trust.json, every child stopped, exit 0. The run is its own
 * process group, killed in `after` whatever happens.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { ensureDist } from "../../scripts/ensure-dist";

const ROOT = path.resolve(__dirname, "..", "..");
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  scripts: Record<string, string>;
};

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Processes whose command line names `dir` (every child of the demo passes its data dir). */
function processesUsing(dir: string): string[] {
  const ps = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  return ps
    .split("\n")
    .filter((l) => l.includes(dir))
    .map((l) => l.trim());
}

describe("e2e: npm start — the demo on seven node processes", function () {
  this.timeout(600_000);
  let demo: ChildProcess | undefined;
  let dataDir: string | undefined;

  after(function () {
    if (demo?.pid !== undefined && demo.exitCode === null && demo.signalCode === null) {
      try {
        process.kill(-demo.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    if (dataDir) {
      for (const l of processesUsing(dataDir)) {
        const pid = Number(l.split(/\s+/)[0]);
        if (pid !== process.pid) process.kill(pid, "SIGKILL");
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("npm start is the process demo, run from compiled JavaScript", function () {
    expect(PKG.scripts.start).to.equal("node bin/amp.js demo --processes");
  });

  it("anchors the rounds, shows the Byzantine node's evidence, verifies proofs, leaves no child, exits 0", async function () {
    ensureDist();
    let stdout = "";
    let stderr = "";
    demo = spawn(process.execPath, [path.join(ROOT, "bin", "amp.js"), "demo", "--processes"], {
      cwd: ROOT,
      detached: true, // its own process group: `after` kills the group
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, HARDHAT_NETWORK: undefined },
    });
    demo.stdout!.on("data", (b: Buffer) => (stdout += b.toString()));
    demo.stderr!.on("data", (b: Buffer) => {
      stderr += b.toString();
      dataDir ??= /starting a local federation in (\S+)/.exec(stderr)?.[1];
    });
    const code = await new Promise<number | null>((resolve) => demo!.once("exit", resolve));
    expect(code, stderr).to.equal(0);
    expect(dataDir, stderr).to.be.a("string");

    // stdout: the table, the evidence, the verified proofs; log lines only on stderr.
    expect(stdout).to.match(/^legend: /m);
    expect(stdout).to.match(/^round\s+opencore\s+ssid\s+global\s+tx\s+gas\s+evidence$/m);
    for (const r of [1, 2, 3, 4, 5]) expect(stdout).to.match(new RegExp(`^${r}\\s+\\+\\d+=\\d+ 0x`, "m"));
    expect(stdout).to.match(/^2\s.*ssid-apac-1 wrong-root$/m);
    expect(stdout).to.match(/^4\s.*ssid-apac-1 equivocation$/m);
    expect(stdout).to.match(/^5\s.*ssid-apac-1 invalid-signature$/m);
    expect(stdout).to.match(/^EVIDENCE round 2 ssid-apac-1 wrong-root \(amp\.local\/ssid, recorded by /m);
    // Honest nodes never sign a wrong root: no evidence of a signed fault names them. (On a very
    // loaded machine an honest vote can miss the coordinator's timeout: withheld-vote is not a signature.)
    expect(stdout).not.to.match(
      /^EVIDENCE round \d+ (ssid-eu-1|ssid-us-1|ssid-eu-2|opencore-\S+) (?!withheld-vote)/m,
    );
    const valid =
      stdout.match(/^VALID event \S+ amp\.local\/(ssid|opencore)#\d+ .*pinned trust policy/gm) ?? [];
    expect(valid).to.have.length(6);
    expect(stdout).to.match(/^stopped 8 child processes \(chain \+ nodes\); still running: 0$/m);
    expect(stdout).not.to.match(/starting a local federation|\[\d+\.\d s\]/);
    expect(stderr).to.match(/7 node processes up: /);

    // No child left: no pid the demo reported, no process naming its data dir; the dir is removed.
    const pids = [...stderr.matchAll(/ pid (\d+)/g)].map((m) => Number(m[1]));
    expect(pids).to.have.length(8); // the chain and seven nodes
    expect(pids.filter(alive)).to.deep.equal([]);
    expect(processesUsing(dataDir!)).to.deep.equal([]);
    expect(fs.existsSync(dataDir!)).to.equal(false);
  });
});
