import { expect } from "chai";
import { StageClock } from "../../src/node/stages";

describe("node StageClock (src/node/stages.ts)", () => {
  it("tells each listener the stage, a duration and whether it succeeded; returns or rethrows as fn does", async () => {
    const clock = new StageClock();
    const seen: [string, number, boolean][] = [];
    clock.listen((stage, seconds, ok) => seen.push([stage, seconds, ok]));
    clock.listen(() => {
      throw new Error("a broken listener");
    });
    expect(await clock.time("seal", () => Promise.resolve(42))).to.equal(42);
    const err = await clock
      .time("anchor", () => Promise.reject(new Error("reverted")))
      .catch((e: unknown) => e);
    expect((err as Error).message).to.equal("reverted");
    expect(seen.map(([s, , ok]) => [s, ok])).to.deep.equal([
      ["seal", true],
      ["anchor", false],
    ]);
    for (const [, seconds] of seen) expect(seconds).to.be.at.least(0);
  });

  it("without listeners only runs fn", async () => {
    expect(await new StageClock().time("quorum", () => Promise.resolve("qc"))).to.equal("qc");
  });
});
