/**
 * `GET /v1/evidence?limit=N`: the Byzantine evidence this node recorded, read back from its data
 * dir (read-only): what it recorded as a round's coordinator (`evidence/evidence.jsonl`,
 * src/consensus/evidence.ts) and the forged entries a peer sent it while catching up
 * (`evidence/catch-up.jsonl`, FederationNode: `forged-entries`, or `forged-record` for an
 * anchored-round record that would not make verifiable proofs). Newest first, at most `limit` (default 100, at
 * most 1000) and `total` says how many there are. The signed material (notes, EIP-712
 * signatures) is served as recorded: a reader checks it, it does not trust this node's word.
 */
import path from "node:path";
import type { Evidence } from "../consensus/evidence";
import { readJsonLines } from "../consensus/json-lines";
import { InvalidInputError } from "../util/errors";

export const DEFAULT_EVIDENCE_LIMIT = 100;
export const MAX_EVIDENCE_LIMIT = 1000;

/** One evidence record as served: the coordinator's (Evidence) or a catch-up finding. */
export type EvidenceRecord =
  | (Evidence & { readonly source: "coordinator" })
  | {
      readonly source: "catch-up";
      readonly kind: "forged-entries" | "forged-record";
      readonly origin: string;
      readonly round: string;
      readonly nodeId: string;
      readonly detail: string;
      readonly recordedAt: string;
    };

export interface EvidenceAnswer {
  /** The node that recorded the evidence (this node). */
  readonly recordedBy: string;
  readonly federation: string;
  readonly total: number;
  readonly evidence: readonly EvidenceRecord[];
}

/** `limit` from the query: absent = default; else an integer in [1, MAX_EVIDENCE_LIMIT]. */
export function evidenceLimit(q: Record<string, unknown>): number {
  const v = q.limit;
  if (v === undefined) return DEFAULT_EVIDENCE_LIMIT;
  if (typeof v !== "string" || !/^[1-9][0-9]{0,3}$/.test(v) || Number(v) > MAX_EVIDENCE_LIMIT) {
    throw new InvalidInputError(
      `query: field "limit" must be an integer in [1, ${MAX_EVIDENCE_LIMIT}], got ${JSON.stringify(v)}`,
      { meta: { field: "limit" } },
    );
  }
  return Number(v);
}

export function readEvidence(
  dataDir: string,
  who: { id: string; name: string; origin: string },
  limit: number,
): EvidenceAnswer {
  const dir = path.join(dataDir, "evidence");
  const own = readJsonLines<Evidence>(path.join(dir, "evidence.jsonl")).map((e): EvidenceRecord => ({
    ...e,
    source: "coordinator",
  }));
  const caught = readJsonLines<{
    kind?: "forged-entries" | "forged-record";
    nodeId: string;
    round: string;
    detail: string;
    recordedAt: string;
  }>(path.join(dir, "catch-up.jsonl")).map((e): EvidenceRecord => ({
    source: "catch-up",
    kind: e.kind === "forged-record" ? "forged-record" : "forged-entries",
    origin: who.origin,
    round: e.round,
    nodeId: e.nodeId,
    detail: e.detail,
    recordedAt: e.recordedAt,
  }));
  // Oldest first in each file; a stable sort by time keeps the file order of equal times.
  const all = [...own, ...caught]
    .map((e, i) => ({ e, i }))
    .sort((a, b) =>
      a.e.recordedAt === b.e.recordedAt ? b.i - a.i : a.e.recordedAt < b.e.recordedAt ? 1 : -1,
    )
    .map((x) => x.e);
  return { recordedBy: who.id, federation: who.name, total: all.length, evidence: all.slice(0, limit) };
}
