import { expect } from "chai";
import { startProgress } from "../../src/cli/progress";

/** A non-terminal stream (a pipe, CI, a log file) that keeps what is written. */
function sink(isTTY = false): { isTTY: boolean; text: string; write(s: string): boolean } {
  return {
    isTTY,
    text: "",
    write(s: string) {
      this.text += s;
      return true;
    },
  };
}

describe("cli progress (src/cli/progress.ts)", () => {
  let saved: string | undefined;
  beforeEach(() => {
    saved = process.env.AMP_PROGRESS;
    delete process.env.AMP_PROGRESS;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.AMP_PROGRESS;
    else process.env.AMP_PROGRESS = saved;
  });

  it("writes plain lines off a terminal: one per 10 % step, then a final line, no control characters", () => {
    const out = sink();
    let t = 0;
    const p = startProgress("submit", 1000, { stream: out, unit: "lines", now: () => t });
    for (let i = 1; i <= 1000; i++) {
      t += 1;
      p.update(i, `${i} acknowledged`);
    }
    p.stop("1000 acknowledged");
    const lines = out.text.trimEnd().split("\n");
    expect(lines).to.have.length(10); // 10 % … 90 %, then the final line
    expect(lines[0]).to.equal("submit: 100/1000 lines (10%) 1000 lines/s 100 acknowledged");
    expect(lines[8]).to.match(/^submit: 900\/1000 lines \(90%\)/);
    expect(lines[9]).to.equal("submit: 1000/1000 lines in 1.0 s 1000 acknowledged");
    expect(out.text.includes("\r") || out.text.includes("\u001b")).to.equal(false);
  });

  it("without a known total writes at most one line per interval, and stop once", () => {
    const out = sink();
    let t = 0;
    const p = startProgress("ingest", undefined, {
      stream: out,
      unit: "lines",
      intervalMs: 1000,
      now: () => t,
    });
    for (let i = 1; i <= 50; i++) {
      t += 100;
      p.tick(1000);
    }
    p.stop("42 stored");
    p.stop("again");
    const lines = out.text.trimEnd().split("\n");
    expect(lines).to.have.length(6); // at 1 s, 2 s, 3 s, 4 s, 5 s, then the final line
    expect(lines[0]).to.equal("ingest: 10000 lines 10000 lines/s");
    expect(lines.at(-1)).to.equal("ingest: 50000 lines in 5.0 s 42 stored");
  });

  it("redraws one status line on a terminal and ends it with a newline", () => {
    const out = sink(true);
    let t = 0;
    const p = startProgress("rounds", 3, { stream: out, unit: "rounds", now: () => t });
    for (let i = 1; i <= 3; i++) {
      t += 1000;
      p.tick();
    }
    p.stop();
    expect(out.text.split("\r\x1b[2K").filter(Boolean)).to.deep.equal([
      "rounds: 1/3 rounds (33%) 1 rounds/s",
      "rounds: 2/3 rounds (66%) 1 rounds/s",
      "rounds: 3/3 rounds (100%) 1 rounds/s",
      "rounds: 3/3 rounds in 3.0 s\n",
    ]);
  });

  it("is silent with AMP_PROGRESS=off", () => {
    process.env.AMP_PROGRESS = "off";
    const out = sink();
    const p = startProgress("up", 7, { stream: out });
    p.update(7);
    p.stop();
    expect(out.text).to.equal("");
  });
});
