/**
 * Ballots of the node layout's prepare/promise (Paxos-style): a validator keeps, per round, the
 * highest ballot it promised a coordinator, persisted (temp + fsync + rename) before the promise is
 * answered, and refuses batches and vote requests of a lower ballot. See src/node/README.md.
 */
import fs from "node:fs";
import { AmpError } from "../util/errors";
import { writeFileAtomic } from "./atomic-file";

/** Promises of rounds older than the last signed round minus this are dropped. */
const PROMISED_ROUNDS_KEPT = 4n;

/** A batch or vote request carried a ballot below the one the validator promised for the round. */
export class BallotRefusedError extends AmpError {
  override readonly name = "BallotRefusedError";
  constructor(
    readonly round: bigint,
    readonly ballot: bigint,
    readonly promised: bigint,
  ) {
    super(`round ${round}: ballot ${ballot} is below the promised ballot ${promised}`, {
      kind: "conflict",
      meta: { round: round.toString(), ballot: ballot.toString(), promisedBallot: promised.toString() },
    });
  }
}

/** The highest promised ballot per round, on disk (`<node>.validator-promises.json`). */
export class PromiseStore {
  private readonly promises = new Map<string, bigint>();

  constructor(private readonly file: string) {
    if (fs.existsSync(file)) {
      const o = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, string>;
      for (const [r, b] of Object.entries(o)) this.promises.set(r, BigInt(b));
    }
  }

  /** The highest ballot promised for `round` (0 when none). */
  get(round: bigint): bigint {
    return this.promises.get(round.toString()) ?? 0n;
  }

  /**
   * Promise `ballot` for `round` unless a higher ballot was promised; persisted before it returns.
   * `lastSigned` bounds what is kept. Returns the round's promise afterwards.
   */
  raise(round: bigint, ballot: bigint, lastSigned: bigint): bigint {
    const held = this.get(round);
    if (ballot <= held) return held;
    const next = new Map(this.promises);
    next.set(round.toString(), ballot);
    for (const k of next.keys()) if (BigInt(k) < lastSigned - PROMISED_ROUNDS_KEPT) next.delete(k);
    writeFileAtomic(
      this.file,
      JSON.stringify(Object.fromEntries([...next].map(([k, v]) => [k, v.toString()]))),
    );
    this.promises.clear();
    for (const [k, v] of next) this.promises.set(k, v);
    return ballot;
  }

  /** Throws BallotRefusedError when `ballot` (absent = 0) is below the promise for `round`. */
  check(round: bigint, ballot: bigint | undefined): void {
    const promised = this.get(round);
    if ((ballot ?? 0n) < promised) throw new BallotRefusedError(round, ballot ?? 0n, promised);
  }
}
