/**
 * Recommended actions: at least three concrete steps per cause, filled with what the monitor found
 * (field paths, byte excerpts, first differing leaf, evidence, offsets).
 */
import type { LeafDiff } from "./classify";
import type { AlertCause } from "./types";

export interface ActionFacts {
  readonly node: string;
  readonly majorityNode: string;
  readonly federation: string;
  readonly round: bigint;
  readonly divergentLeaves: number;
  readonly batchLeaves: number;
  /** The first classified divergent leaf, if any. */
  readonly first?: LeafDiff;
  readonly missing?: number;
  readonly extra?: number;
  readonly evidence?: string;
  readonly offsetMs?: number;
  readonly toleranceMs?: number;
  readonly seen?: string;
}

function leafRef(f: ActionFacts): string {
  const l = f.first;
  if (!l) return "the first divergent leaf";
  return `leaf ${l.index}${l.eventId !== undefined ? ` (event ${l.eventId})` : ""}`;
}

export function recommendedActions(cause: AlertCause, f: ActionFacts): string[] {
  const l = f.first;
  const pair = `${f.node} and ${f.majorityNode}`;
  switch (cause) {
    case "serialization_divergence":
      return [
        `Inspect field path ${l?.paths[0] ?? "/"} of ${leafRef(f)}: ${f.node} encodes it differently from RFC 8785 canonical form`,
        `Compare canonical bytes ${JSON.stringify(l?.canonical ?? "")} with received bytes ${JSON.stringify(l?.received ?? "")} (byte offset ${l?.offset ?? 0})`,
        `Check the JSON canonicalisation library and version on ${f.node} (must emit RFC 8785: keys sorted by UTF-16 code units, no whitespace, ECMAScript number form) against ${f.majorityNode}`,
        `Check the event schema version (schema_version "1.0") ${f.node} validates against, then re-canonicalise round ${f.round}'s batch on ${f.node} and compare its ${f.divergentLeaves} divergent leaf hashes with ${f.majorityNode}`,
      ];
    case "timestamp_drift":
      return [
        `Compare time field ${l?.paths[0] ?? "/timestamp"} of ${leafRef(f)}: ${l?.timeDeltaMs ?? 0} ms apart between ${pair} (tolerance ${f.toleranceMs ?? 0} ms)`,
        `Check where ${f.node} rewrites event times (ingest normalisation, time zone, precision): events must keep their RFC 3339 UTC timestamp byte for byte`,
        `Check NTP/chrony synchronisation and the clock_skew offsets of ${f.node} for the rounds around ${f.round}`,
        `Re-fetch round ${f.round}'s entries from ${f.majorityNode} and compare the ${f.divergentLeaves} divergent leaves`,
      ];
    case "data_inconsistency":
      return [
        `Start at the first differing ${leafRef(f)}${l ? ` (fields ${l.paths.join(", ")})` : ""}: compare ${f.node}'s entry with ${f.majorityNode}'s`,
        `Count: ${f.divergentLeaves} of ${f.batchLeaves} leaves differ${f.missing ? `, ${f.missing} missing` : ""}${f.extra ? `, ${f.extra} extra` : ""}; check ${f.node}'s archive and disk for corruption or lost writes`,
        `Re-sync round ${f.round}'s batch on ${f.node} from ${f.majorityNode} and verify the leaf hashes before it votes again`,
        `Review what wrote to ${f.node}'s event store around round ${f.round} (ingest path, manual edits, a second writer)`,
      ];
    case "equivocation":
      return [
        `Review the signed evidence: ${f.evidence ?? "evidence/evidence.jsonl"} (two validly signed checkpoints of ${f.node} for round ${f.round})`,
        `Suspend ${f.node}'s votes pending governance review: its votes do not count while it equivocates`,
        `Check ${f.node} for key compromise or a second instance running with the same keys; rotate its keys in the ValidatorRegistry if in doubt`,
        `Compare the two checkpoint bodies with ${f.majorityNode}'s: ${f.divergentLeaves} of ${f.batchLeaves} leaves differ in the conflicting one`,
      ];
    case "clock_skew":
      return [
        `Check NTP/chrony on ${f.node}: its clock is ${f.offsetMs ?? 0} ms from the federation median (tolerance ${f.toleranceMs ?? 0} ms)`,
        `Compare ${f.node}'s offsets over the last rounds (amp alerts show, or the clock offsets API) to tell a step from a slow drift`,
        `Check the host or VM clock source of ${f.node} (hypervisor time sync, suspended VM, manual clock changes)`,
      ];
    case "unknown":
      return [
        `Seen: ${f.seen ?? "a checkpoint that differs from the majority's"}`,
        `Collect ${f.node}'s logs and validator state for round ${f.round} and compare with ${f.majorityNode}'s`,
        `Ask ${f.node} for range hashes of round ${f.round} by hand (drift probe API) and compare its log before the batch with ${f.majorityNode}'s`,
      ];
  }
}
