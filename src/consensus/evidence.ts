/**
 * Byzantine evidence and per-node accuracy/participation counters (PROTOCOL §5.6, §9).
 *
 * Evidence is appended to `<dir>/evidence.jsonl` (one JSON object a line, fsynced) and keeps the
 * signed material that proves it (signed notes, EIP-712 signatures). Counters live in
 * `<dir>/node-counters.json` (atomic rewrite) for the credit registry to read. A torn last
 * evidence line (crash mid-append) is cut off on open (json-lines.ts).
 */
import fs from "node:fs";
import path from "node:path";
import { appendLineDurable, writeFileAtomic } from "./atomic-file";
import { readJsonLines, repairJsonLines } from "./json-lines";

export type FaultKind =
  "wrong-root" | "equivocation" | "invalid-signature" | "wrong-length-signature" | "withheld-vote";

export interface Evidence {
  readonly kind: FaultKind;
  readonly origin: string;
  readonly round: string;
  readonly nodeId: string;
  readonly attempt: number;
  readonly detail: string;
  /** Signed notes the node produced (both, for equivocation). */
  readonly notes: readonly string[];
  readonly eip712Signatures: readonly string[];
  readonly recordedAt: string;
}

/**
 * The settled outcome of one round of one federation (`votes.jsonl`, one line a round): every
 * validly signed vote the coordinator received in the last attempt, the final checkpoint body (null
 * when the round failed) and the base size, so anyone can recount the credit inputs from signed
 * material (src/credits/README.md). `answeredMs` (who answered at all, and how fast) is the
 * coordinator's own measurement, not signed.
 */
export interface RoundVotes {
  readonly origin: string;
  readonly round: string;
  readonly attempt: number;
  /** Log size before this round's batch. */
  readonly baseSize: string;
  /** The final checkpoint body (signed-note text), null if the round failed. */
  readonly final: string | null;
  /** Node ids expected to vote. */
  readonly members: readonly string[];
  /** Validly signed votes (an equivocator has two). */
  readonly votes: readonly { nodeId: string; note: string; eip712Signature: string }[];
  /** Vote latency (ms, integer) of every node that answered in the last attempt. */
  readonly answeredMs: Readonly<Record<string, number>>;
  /** Unix ms when the round settled (assigns it to a credit epoch). */
  readonly settledAt: number;
}

export interface NodeCounters {
  /** Vote requests the node was asked (one per round it was expected to vote in). */
  roundsExpected: number;
  /** Rounds in which the node returned at least one validly signed vote. */
  roundsParticipated: number;
  /** Validly signed votes received from the node. */
  votesCast: number;
  /** Votes for the checkpoint that became final. */
  correctVotes: number;
  faults: Partial<Record<FaultKind, number>>;
}

function emptyCounters(): NodeCounters {
  return { roundsExpected: 0, roundsParticipated: 0, votesCast: 0, correctVotes: 0, faults: {} };
}

export class EvidenceStore {
  private readonly evidenceFile: string;
  private readonly countersFile: string;
  private readonly counters: Map<string, NodeCounters>;

  /** `onRecord` (telemetry) is told of each evidence after it is on disk; it MUST NOT throw. */
  constructor(
    readonly dir: string,
    private readonly onRecord?: (e: Evidence) => void,
  ) {
    fs.mkdirSync(dir, { recursive: true });
    this.evidenceFile = path.join(dir, "evidence.jsonl");
    this.countersFile = path.join(dir, "node-counters.json");
    this.counters = new Map();
    repairJsonLines(this.evidenceFile);
    if (fs.existsSync(this.countersFile)) {
      const raw = JSON.parse(fs.readFileSync(this.countersFile, "utf8")) as Record<string, NodeCounters>;
      for (const [k, v] of Object.entries(raw)) this.counters.set(k, v);
    }
  }

  record(e: Omit<Evidence, "recordedAt">): Evidence {
    const full: Evidence = { ...e, recordedAt: new Date().toISOString() };
    appendLineDurable(this.evidenceFile, JSON.stringify(full));
    const c = this.countersFor(e.origin, e.nodeId);
    c.faults[e.kind] = (c.faults[e.kind] ?? 0) + 1;
    this.onRecord?.(full);
    return full;
  }

  /** Append the settled votes of a round to `votes.jsonl` (fsynced). */
  recordRound(r: RoundVotes): void {
    appendLineDurable(path.join(this.dir, "votes.jsonl"), JSON.stringify(r));
  }

  /** All evidence recorded so far (read back from disk). */
  all(): Evidence[] {
    return readJsonLines<Evidence>(this.evidenceFile);
  }

  countersFor(origin: string, nodeId: string): NodeCounters {
    const key = `${origin}/${nodeId}`;
    let c = this.counters.get(key);
    if (!c) {
      c = emptyCounters();
      this.counters.set(key, c);
    }
    return c;
  }

  /** Persist counters (called once per round). */
  flush(): void {
    writeFileAtomic(this.countersFile, JSON.stringify(Object.fromEntries(this.counters), null, 2) + "\n");
  }
}
