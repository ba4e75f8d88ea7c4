/**
 * `amp node --drift CAUSE [--drift-rounds N] [--drift-skip K] [--drift-fraction F]` (TEST-ONLY
 * injection): this node drifts that way in the first N rounds it votes on with a non-empty batch,
 * after K such rounds voted honestly (every round when N is omitted; clock_skew counts every round). Round numbers are not known when the process starts (they come from the chain), so
 * the rule counts rounds as they come instead of naming them. The node's log keeps the delivered
 * entries (src/drift/injector.ts), so it votes with the majority again after N rounds.
 */
import type { DriftHook } from "../consensus/types";
import { InvalidInputError } from "../util/errors";
import { parseAlertCause } from "./api";
import { DriftInjector } from "./injector";

export interface NodeDriftOptions {
  readonly nodeId: string;
  /** A cause of src/drift/types.ts ALERT_CAUSES. */
  readonly cause: string;
  /** Rounds to drift in (counted from the first non-empty one after `skip`); all when omitted. */
  readonly rounds?: number;
  /** Rounds with events to vote on honestly first (default 0). */
  readonly skip?: number;
  /** Share of each batch altered, in (0, 1] (default 0.15). */
  readonly fraction?: number;
}

export class CountedDrift implements DriftHook {
  private readonly injector: DriftInjector;
  /** Index of each counted round among the rounds counted so far. */
  private readonly order = new Map<bigint, number>();
  private readonly clock: boolean;

  constructor(private readonly opts: NodeDriftOptions) {
    const cause = parseAlertCause(opts.cause);
    this.clock = cause === "clock_skew";
    if (opts.rounds !== undefined && !(Number.isSafeInteger(opts.rounds) && opts.rounds > 0)) {
      throw new InvalidInputError(`drift rounds must be a positive integer, got ${opts.rounds}`);
    }
    if (opts.skip !== undefined && !(Number.isSafeInteger(opts.skip) && opts.skip >= 0)) {
      throw new InvalidInputError(`drift skip must be a non-negative integer, got ${opts.skip}`);
    }
    this.injector = new DriftInjector([
      { nodeId: opts.nodeId, cause, ...(opts.fraction !== undefined ? { fraction: opts.fraction } : {}) },
    ]);
  }

  /** True when `round` is one of the counted rounds skip+1 … skip+N (counting it if `count`). */
  private active(round: bigint, count: boolean): boolean {
    let i = this.order.get(round);
    if (i === undefined) {
      if (!count) return false;
      i = this.order.size;
      this.order.set(round, i);
    }
    const skip = this.opts.skip ?? 0;
    return i >= skip && (this.opts.rounds === undefined || i < skip + this.opts.rounds);
  }

  driftedEntries(
    nodeId: string,
    round: bigint,
    entries: readonly Uint8Array[],
  ): { entries: Uint8Array[]; equivocate: boolean } | undefined {
    if (this.clock || !this.active(round, entries.length > 0)) return undefined;
    return this.injector.driftedEntries(nodeId, round, entries);
  }

  clockSkewMs(nodeId: string, round: bigint): number {
    // A clock skew shows in every vote, an empty batch's too: count those rounds.
    return this.clock && this.active(round, true) ? this.injector.clockSkewMs(nodeId, round) : 0;
  }
}

/**
 * `nodeArgs` for startLocalFederation (`amp up --drift`, the demo): `amp node --drift ...` for the
 * one drifting node, nothing for the others. The cause is checked here, before any process starts.
 */
export function driftNodeArgs(opts: {
  readonly cause: string;
  readonly node: string;
  readonly rounds?: number;
  readonly skip?: number;
  readonly fraction?: number;
}): (nodeId: string) => string[] {
  new CountedDrift({ nodeId: opts.node, ...opts });
  const args = [
    "--drift",
    opts.cause,
    ...(opts.rounds !== undefined ? ["--drift-rounds", String(opts.rounds)] : []),
    ...(opts.skip !== undefined ? ["--drift-skip", String(opts.skip)] : []),
    ...(opts.fraction !== undefined ? ["--drift-fraction", String(opts.fraction)] : []),
  ];
  return (nodeId) => (nodeId === opts.node ? args : []);
}
