/**
 * Adaptive governance (seed §3.2, opt-in with `credit.adaptive_weights`): the next validator
 * epoch's integer weights of one federation, proposed from its nodes' governance weights.
 *
 * Guards of the feedback loop (all integers):
 * - the weights sum to the federation's current total T (basis points: 10 000);
 * - no node reaches 1/3 of T: 3·w < T (needs at least 4 nodes; with fewer nothing changes);
 * - every node keeps w ≥ 1 (it stays a validator; removal is a separate rotation);
 * - per epoch a node's weight moves by at most C = floor(T·maxChangeBp / 10 000) (default 500 bp:
 *   5 % of T), except that the 1/3 guard overrides the cap for a node already above it.
 * Target: T·g_i / Σg (truncated); clamped to the bounds above; the remainder is handed out (or
 * taken back) greedily, most under-target node first, ties by node id, within the bounds.
 * Applying the proposal needs a rotation signed by the outgoing quorum (ValidatorRegistry).
 */
import { InvalidInputError } from "../util/errors";

export const DEFAULT_MAX_CHANGE_BP = 500n;

export interface WeightProposal {
  /** Node id → proposed integer weight (same key order as the input). */
  readonly weights: ReadonlyMap<string, bigint>;
  readonly changed: boolean;
  /** Why nothing changed, if so. */
  readonly reason?: string;
}

export interface ProposeOptions {
  /** Per-epoch change cap, basis points of the federation total. */
  readonly maxChangeBp?: bigint;
}

export function proposeWeights(
  current: ReadonlyMap<string, bigint>,
  governancePpm: ReadonlyMap<string, bigint>,
  opts: ProposeOptions = {},
): WeightProposal {
  const ids = [...current.keys()];
  let total = 0n;
  for (const [id, w] of current) {
    if (w < 1n) throw new InvalidInputError(`weight of ${id} must be ≥ 1, got ${w}`);
    total += w;
  }
  const keep = (reason: string): WeightProposal => ({ weights: new Map(current), changed: false, reason });
  if (ids.length < 4) return keep(`${ids.length} nodes cannot all stay below 1/3 of the weight`);
  let gSum = 0n;
  for (const id of ids) {
    const g = governancePpm.get(id);
    if (g === undefined || g < 0n) throw new InvalidInputError(`no governance weight for ${id}`);
    gSum += g;
  }
  if (gSum === 0n) return keep("every governance weight is zero");
  const capBp = opts.maxChangeBp ?? DEFAULT_MAX_CHANGE_BP;
  if (capBp < 1n || capBp > 10_000n)
    throw new InvalidInputError(`maxChangeBp must be in [1, 10000], got ${capBp}`);
  const change = (total * capBp) / 10_000n > 0n ? (total * capBp) / 10_000n : 1n;
  const third = (total - 1n) / 3n; // the largest w with 3·w < total
  const target = new Map(ids.map((id) => [id, (total * governancePpm.get(id)!) / gSum]));
  const lo = new Map<string, bigint>();
  const hi = new Map<string, bigint>();
  const w = new Map<string, bigint>();
  for (const id of ids) {
    const cur = current.get(id)!;
    const h = min(third, cur + change);
    const l = min(max(1n, cur - change), h);
    lo.set(id, l);
    hi.set(id, h);
    w.set(id, min(max(target.get(id)!, l), h));
  }
  let rest = total - [...w.values()].reduce((a, b) => a + b, 0n);
  const gap = (id: string) => target.get(id)! - w.get(id)!;
  const order = (sign: bigint) =>
    [...ids].sort((a, b) => {
      const d = sign * (gap(b) - gap(a));
      return d > 0n ? 1 : d < 0n ? -1 : a < b ? -1 : a > b ? 1 : 0;
    });
  if (rest > 0n) {
    for (const id of order(1n)) {
      const add = min(rest, hi.get(id)! - w.get(id)!);
      w.set(id, w.get(id)! + add);
      rest -= add;
    }
  } else if (rest < 0n) {
    for (const id of order(-1n)) {
      const take = min(-rest, w.get(id)! - lo.get(id)!);
      w.set(id, w.get(id)! - take);
      rest += take;
    }
  }
  if (rest !== 0n) return keep("no integer weights within the bounds sum to the total");
  const changed = ids.some((id) => w.get(id) !== current.get(id));
  return { weights: new Map(ids.map((id) => [id, w.get(id)!])), changed };
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
