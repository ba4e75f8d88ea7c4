/**
 * RoundTimings: what this node measured of the rounds it took part in, for the federation
 * benchmark and for operators (`GET /v1/stats`). Two kinds of record, kept in bounded rings:
 *
 * - `final`: a federation round this node coordinated — when it became final (QC), its tree size,
 *   the batch size and how long each stage took (catch-up, batch, votes, witnessing).
 * - `anchored`: a round this node relayed — when the anchor transaction's receipt arrived, every
 *   federation's anchored tree size, and the relay's stages (status polls, coordination, anchor
 *   transaction, catch-up and record, announcement).
 *
 * Times are `Date.now()` milliseconds (wall clock: comparable across processes of one machine).
 * Nothing here feeds back into the protocol.
 */

export interface FinalRecord {
  readonly round: string;
  readonly federation: string;
  readonly treeSize: string;
  readonly entries: number;
  readonly startedAt: number;
  readonly finalAt: number;
  readonly stagesMs: Readonly<Record<string, number>>;
}

export interface AnchoredRecordTiming {
  readonly round: string;
  /** Anchored tree size per federation name. */
  readonly sizes: Readonly<Record<string, string>>;
  readonly entries: number;
  readonly status: "anchored" | "already-anchored";
  readonly startedAt: number;
  readonly anchoredAt: number;
  readonly stagesMs: Readonly<Record<string, number>>;
}

/** Measures consecutive stages: `lap(name)` records the time since the previous lap. */
export class Stopwatch {
  readonly startedAt = Date.now();
  private last = performance.now();
  readonly stages: Record<string, number> = {};

  lap(name: string): void {
    const now = performance.now();
    this.stages[name] = Math.round((this.stages[name] ?? 0) + now - this.last);
    this.last = now;
  }
}

const KEEP = 5000;

export class RoundTimings {
  private readonly finals: FinalRecord[] = [];
  private readonly anchoreds: AnchoredRecordTiming[] = [];

  recordFinal(r: FinalRecord): void {
    push(this.finals, r);
  }

  recordAnchored(r: AnchoredRecordTiming): void {
    push(this.anchoreds, r);
  }

  /** Records newer than `since` (Date.now() ms; 0: all kept). */
  snapshot(since = 0): { final: FinalRecord[]; anchored: AnchoredRecordTiming[] } {
    return {
      final: this.finals.filter((r) => r.finalAt > since),
      anchored: this.anchoreds.filter((r) => r.anchoredAt > since),
    };
  }
}

function push<T>(ring: T[], r: T): void {
  ring.push(r);
  if (ring.length > KEEP) ring.splice(0, ring.length - KEEP);
}
