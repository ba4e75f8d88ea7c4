/**
 * Stage latencies of the node layout for the Rounds page, from each node's `GET /v1/stats`
 * (src/node/timings.ts): the coordinator of a federation's round records its stages (catchUp,
 * batch, log, votes, witness) and the relay of a global round records its own (chain, status,
 * coordinate, anchorTx, record, announce). Chosen over `/metrics`: those are cumulative
 * histograms without the round, which cannot be plotted per round; `/v1/stats` keeps one record
 * per round (the newest 5000 per node). Read incrementally (`?since=` the newest time seen per
 * node); the records are measurements only, shown as the nodes report them.
 *
 * Mapped onto the data dir's columns: seal→quorum per federation = batch + log + votes of that
 * federation's coordinator; quorum→witnessed = the slowest federation's witness stage;
 * witnessed→anchored = the relay's anchorTx stage.
 */
import type { PeerClient } from "../transport/client";
import type { LiveNode } from "./live";

interface FinalTiming {
  round: string;
  federation: string;
  finalAt: number;
  stagesMs: Record<string, number>;
}
interface AnchoredTiming {
  round: string;
  anchoredAt: number;
  stagesMs: Record<string, number>;
}
interface StatsAnswer {
  final?: FinalTiming[];
  anchored?: AnchoredTiming[];
}

export interface RoundLatency {
  /** Federation (origin when known, else name) → ms from sealing the batch to its quorum. */
  readonly sealToQuorumMs: Record<string, number>;
  readonly quorumToWitnessedMs: number | null;
  readonly witnessedToAnchoredMs: number | null;
  /** The relay's anchor time (wall clock ms), null when the relay's record was not read. */
  readonly anchoredAt: number | null;
}

const KEEP = 1000;
const ROUND = /^[1-9][0-9]{0,18}$/;
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : 0);

export class LiveStats {
  private readonly since = new Map<string, number>();
  private readonly seal = new Map<string, Record<string, number>>();
  private readonly witness = new Map<string, number>();
  private readonly anchor = new Map<string, { ms: number; at: number }>();

  constructor(
    private readonly client: PeerClient,
    private readonly nodes: readonly LiveNode[],
    /** Federation name → origin (the manifest), for the same keys as the data dir's. */
    private readonly originOf: (name: string) => string | undefined,
  ) {}

  /** Read what is new on every node; a node that does not answer is skipped this time. */
  async refresh(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (n) => {
        // Overlap a minute: a record is kept after its time (finalAt is before the witness stage).
        const since = Math.max(0, (this.since.get(n.url) ?? 0) - 60_000);
        const s = await this.client
          .json<StatsAnswer>(n.url, { method: "GET", path: `/v1/stats?since=${since}` })
          .catch(() => undefined);
        if (!s) return;
        let newest = this.since.get(n.url) ?? 0;
        for (const f of Array.isArray(s.final) ? s.final : []) {
          if (!ROUND.test(String(f.round))) continue;
          const fed = this.originOf(String(f.federation)) ?? String(f.federation);
          const st = f.stagesMs ?? {};
          const row = this.seal.get(String(f.round)) ?? {};
          row[fed] = num(st.batch) + num(st.log) + num(st.votes);
          this.seal.set(String(f.round), row);
          this.witness.set(
            String(f.round),
            Math.max(this.witness.get(String(f.round)) ?? 0, num(st.witness)),
          );
          newest = Math.max(newest, num(f.finalAt));
        }
        for (const a of Array.isArray(s.anchored) ? s.anchored : []) {
          if (!ROUND.test(String(a.round))) continue;
          this.anchor.set(String(a.round), { ms: num(a.stagesMs?.anchorTx), at: num(a.anchoredAt) });
          newest = Math.max(newest, num(a.anchoredAt));
        }
        this.since.set(n.url, newest);
      }),
    );
    for (const m of [this.seal, this.witness, this.anchor] as Map<string, unknown>[]) {
      const keys = [...m.keys()].sort((a, b) => Number(BigInt(a) - BigInt(b)));
      for (const k of keys.slice(0, Math.max(0, keys.length - KEEP))) m.delete(k);
    }
  }

  latency(round: bigint): RoundLatency {
    const r = round.toString();
    const a = this.anchor.get(r);
    return {
      sealToQuorumMs: this.seal.get(r) ?? {},
      quorumToWitnessedMs: this.witness.get(r) ?? null,
      witnessedToAnchoredMs: a?.ms ?? null,
      anchoredAt: a?.at ?? null,
    };
  }
}
