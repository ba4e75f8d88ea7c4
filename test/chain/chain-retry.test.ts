import { expect } from "chai";
import { makeError } from "ethers";
import { AnchorConflictError, AnchorNotConfirmedError } from "../../src/chain/anchor";
import { isTransientChainError, withChainRetry } from "../../src/chain/chain-retry";
import { ChainUnavailableError } from "../../src/chain/connect";
import { InvalidInputError } from "../../src/util/errors";
import { quietLogs } from "../consensus/fixture";

describe("chain/withChainRetry: waiting out an unreachable chain", () => {
  quietLogs();

  it("tells transient chain failures from refusals and bugs", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    for (const e of [
      new ChainUnavailableError("down"),
      new AnchorNotConfirmedError(3n, 3, undefined),
      refused,
      new Error("wrapped", { cause: refused }),
      makeError("timeout", "TIMEOUT"),
      makeError("net", "NETWORK_ERROR"),
    ]) {
      expect(isTransientChainError(e), String(e)).to.equal(true);
    }
    for (const e of [
      new AnchorConflictError("another root"),
      new InvalidInputError("bad"),
      makeError("reverted", "CALL_EXCEPTION"),
      new TypeError("bug"),
      "a string",
    ]) {
      expect(isTransientChainError(e), String(e)).to.equal(false);
    }
  });

  it("retries transient failures until they stop, and rethrows anything else at once", async () => {
    let calls = 0;
    const retried: number[] = [];
    const value = await withChainRetry(
      () => (++calls < 3 ? Promise.reject(new ChainUnavailableError("down")) : Promise.resolve("ok")),
      { what: "test", toleranceMs: 60_000, maxPauseMs: 1, onRetry: (n) => retried.push(n) },
    );
    expect([value, calls, retried]).to.deep.equal(["ok", 3, [1, 2]]);
    calls = 0;
    const conflict = new AnchorConflictError("another root");
    const err = await withChainRetry(() => (calls++, Promise.reject(conflict)), {
      what: "t",
      toleranceMs: 60_000,
    }).catch((e: unknown) => e);
    expect([err, calls]).to.deep.equal([conflict, 1]);
  });

  it("gives up after the tolerance with the last error", async () => {
    const down = new ChainUnavailableError("still down");
    const err = await withChainRetry(() => Promise.reject(down), { what: "t", toleranceMs: 0 }).catch(
      (e: unknown) => e,
    );
    expect(err).to.equal(down);
  });
});
