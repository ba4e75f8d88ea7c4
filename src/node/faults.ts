/**
 * Fault injection for `amp node --fault KIND[:ROUNDS]` — TEST AND DEMO ONLY. A node started with a
 * fault computes, persists and keeps its honest vote, then sends a Byzantine one instead (see
 * src/consensus/fault-injector.ts and faulty-vote.ts): the round's coordinator records evidence and
 * the round stays final with the honest nodes' weight. The node never holds another node's keys.
 */
import { FaultInjector, type FaultRule, type InjectedFault } from "../consensus/fault-injector";
import { UsageError } from "../cli/exit";

/** Every fault `amp node --fault` accepts, with what the node does. */
export const FAULT_KINDS: Readonly<Record<InjectedFault, string>> = {
  "wrong-root": "signs a checkpoint whose root is altered (validly signed, wrong root)",
  equivocation: "sends two different signed checkpoints for the round",
  "invalid-signature": "sends its vote with a corrupted ML-DSA signature",
  "wrong-length-signature": "sends its vote with an ML-DSA signature one byte short",
  "withheld-vote": "never answers the vote request (the coordinator times out)",
  "drop-events": "loses every other entry of the batches it receives (it cannot vote)",
};

/** Largest round number a rule may name (a typo like 1e9 is refused rather than never firing). */
const MAX_RULE_ROUND = 1_000_000n;

function parseRounds(spec: string, text: string): bigint[] {
  const out: bigint[] = [];
  for (const part of text.split(",")) {
    const m = /^([1-9][0-9]{0,6})(?:-([1-9][0-9]{0,6}))?$/.exec(part);
    if (!m) throw new UsageError(`--fault ${spec}: rounds must look like 3, 3-5 or 3,5 (got "${part}")`);
    const from = BigInt(m[1]!);
    const to = m[2] === undefined ? from : BigInt(m[2]);
    if (to < from || to > MAX_RULE_ROUND || to - from > 1000n) {
      throw new UsageError(`--fault ${spec}: bad round range "${part}"`);
    }
    for (let r = from; r <= to; r++) if (!out.includes(r)) out.push(r);
  }
  return out;
}

/** One `--fault KIND[:ROUNDS]` value as a rule for `nodeId` (all rounds when ROUNDS is omitted). */
export function parseFaultSpec(spec: string, nodeId: string): FaultRule {
  const i = spec.indexOf(":");
  const kind = i < 0 ? spec : spec.slice(0, i);
  if (!Object.hasOwn(FAULT_KINDS, kind)) {
    throw new UsageError(
      `--fault ${spec}: unknown fault "${kind}"; one of ${Object.keys(FAULT_KINDS).join(", ")}`,
    );
  }
  const rule: FaultRule = { nodeId, kind: kind as InjectedFault };
  return i < 0 ? rule : { ...rule, rounds: parseRounds(spec, spec.slice(i + 1)) };
}

/** The injector for a node's `--fault` values; undefined when there are none (an honest node). */
export function faultsFromSpecs(specs: readonly string[], nodeId: string): FaultInjector | undefined {
  if (specs.length === 0) return undefined;
  return new FaultInjector(specs.map((s) => parseFaultSpec(s, nodeId)));
}

/** The `--fault` value for `kind` in `rounds` (what the demo passes to `amp node`). */
export function faultArg(kind: InjectedFault, rounds: readonly bigint[]): string {
  return rounds.length === 0 ? kind : `${kind}:${rounds.join(",")}`;
}

/** Help text for `amp node --help`. */
export function faultHelp(): string {
  const w = Math.max(...Object.keys(FAULT_KINDS).map((k) => k.length));
  return Object.entries(FAULT_KINDS)
    .map(([k, d]) => `  ${k.padEnd(w)}  ${d}`)
    .join("\n");
}
