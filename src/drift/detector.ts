/**
 * Drift detection for one vote collection, before the round finalises: find the majority
 * checkpoint, and for every node that signed another one, locate the divergent leaves through
 * range hashes (DriftProbe), classify them by recomputing locally, and build the finding.
 */
import { createHash } from "node:crypto";
import type { ObservedProposal, VoteCollection } from "../consensus/observer";
import { bytesEqual } from "../merkle";
import { oneLine } from "../util/errors";
import { recommendedActions, type ActionFacts } from "./actions";
import { classifyLeaf, type LeafDiff } from "./classify";
import { leafHashes, locateDivergence, type DriftProbe } from "./ranges";
import { driftSeverity, findingKind } from "./severity";
import type { DriftCause, DriftConfig, Finding } from "./types";

interface Majority {
  readonly body: string;
  readonly node: string;
}

/** The body the most weight signed among non-equivocating nodes; ties go to the coordinator's. */
function majorityOf(c: VoteCollection): Majority | undefined {
  const weights = new Map<string, { w: bigint; node: string; expected: boolean }>();
  for (const p of c.proposals) {
    if (p.checkpoints.length !== 1) continue;
    const cp = p.checkpoints[0]!;
    const expected =
      cp.checkpoint.treeSize === c.expected.treeSize &&
      bytesEqual(cp.checkpoint.rootHash, c.expected.rootHash);
    const cur = weights.get(cp.body);
    weights.set(cp.body, { w: (cur?.w ?? 0n) + p.weight, node: cur?.node ?? p.nodeId, expected });
  }
  let best: { body: string; w: bigint; node: string; expected: boolean } | undefined;
  for (const [body, v] of weights) {
    if (!best || v.w > best.w || (v.w === best.w && v.expected && !best.expected)) best = { body, ...v };
  }
  return best && { body: best.body, node: best.node };
}

/** Node-level cause from the leaves: data > timestamp > serialization; otherwise unknown. */
function causeOf(leaves: readonly LeafDiff[], sizeDiffers: boolean): DriftCause {
  if (sizeDiffers || leaves.some((l) => l.cause === "data")) return "data_inconsistency";
  if (leaves.some((l) => l.cause === "timestamp")) return "timestamp_drift";
  if (leaves.length > 0 && leaves.every((l) => l.cause === "serialization"))
    return "serialization_divergence";
  return "unknown";
}

function countBy(leaves: readonly LeafDiff[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of leaves) out[l.cause] = (out[l.cause] ?? 0) + 1;
  return out;
}

function noteHash(note: string): string {
  return createHash("sha256").update(note, "utf8").digest("hex");
}

interface Analysis {
  cause: DriftCause;
  divergent: number;
  leaves: LeafDiff[];
  missing: number;
  extra: number;
  seen?: string;
}

async function analyse(
  c: VoteCollection,
  p: ObservedProposal,
  body: string,
  probe: DriftProbe,
  cfg: DriftConfig,
  local: readonly Uint8Array[],
): Promise<Analysis> {
  const cp = p.checkpoints.find((x) => x.body === body)!.checkpoint;
  const n = c.entries.length;
  const theirs = cp.treeSize - c.baseSize;
  if (theirs < 0n || theirs > BigInt(n) * 2n + 1n) {
    const seen = `tree size ${cp.treeSize} is not base ${c.baseSize} plus a batch of about ${n} entries`;
    return { cause: "unknown", divergent: 0, leaves: [], missing: 0, extra: 0, seen };
  }
  const m = Number(theirs);
  const compared = Math.min(n, m);
  try {
    const d = await locateDivergence(probe, p.nodeId, c.origin, c.round, local, compared);
    const fetched = d.indices.length > 0 ? await probe.entriesAt(p.nodeId, c.origin, c.round, d.indices) : [];
    const leaves = d.indices.map((i, k) =>
      classifyLeaf(i, c.entries[i]!, fetched[k] ?? new Uint8Array(0), cfg.timestampToleranceMs),
    );
    const missing = Math.max(0, n - m);
    const extra = Math.max(0, m - n);
    const divergent = d.indices.length + missing + extra;
    if (divergent === 0) {
      const seen =
        "the batch's range hashes equal the majority's, yet the signed root differs: the node's log " +
        "before this batch differs, or its root is not backed by its leaves";
      return { cause: "unknown", divergent, leaves, missing, extra, seen };
    }
    const cause = causeOf(leaves, missing + extra > 0);
    if (cause !== "unknown") return { cause, divergent, leaves, missing, extra };
    const seen = `divergent leaves by kind: ${JSON.stringify(countBy(leaves))}`;
    return { cause, divergent, leaves, missing, extra, seen };
  } catch (e) {
    const seen = `the node did not answer range-hash queries: ${oneLine(e)}`;
    return { cause: "unknown", divergent: 0, leaves: [], missing: 0, extra: 0, seen };
  }
}

/** Findings for every node whose signed checkpoint differs from the majority's. */
export async function detectDrift(
  c: VoteCollection,
  probe: DriftProbe,
  cfg: DriftConfig,
): Promise<Finding[]> {
  const majority = majorityOf(c);
  if (!majority) return [];
  const local = c.leafHashes ?? leafHashes(c.entries);
  const majCp = c.proposals.find((p) => p.nodeId === majority.node)!.checkpoints[0]!.checkpoint;
  const reproducible =
    majCp.treeSize === c.expected.treeSize && bytesEqual(majCp.rootHash, c.expected.rootHash);
  const out: Finding[] = [];
  for (const p of c.proposals) {
    const other = p.checkpoints.find((x) => x.body !== majority.body);
    if (!other) continue;
    const equivocation = p.checkpoints.length > 1;
    const a: Analysis = reproducible
      ? await analyse(c, p, other.body, probe, cfg, local)
      : {
          cause: "unknown",
          divergent: 0,
          leaves: [],
          missing: 0,
          extra: 0,
          seen: "the majority's checkpoint differs from the coordinator's own batch root",
        };
    const n = c.entries.length;
    const score = n === 0 ? (a.divergent > 0 ? 1 : 0) : Math.min(1, a.divergent / n);
    const cause: DriftCause = equivocation ? "equivocation" : a.cause;
    const evidence = equivocation
      ? `evidence/evidence.jsonl: kind equivocation, round ${c.round}, node ${p.nodeId}; notes sha256 ${p.checkpoints.map((x) => noteHash(x.vote.note).slice(0, 16)).join(", ")}`
      : undefined;
    const first = a.leaves[0];
    const facts: ActionFacts = {
      node: p.nodeId,
      majorityNode: majority.node,
      federation: c.origin,
      round: c.round,
      divergentLeaves: a.divergent,
      batchLeaves: n,
      missing: a.missing,
      extra: a.extra,
      toleranceMs: cfg.timestampToleranceMs,
      ...(first ? { first } : {}),
      ...(evidence !== undefined ? { evidence } : {}),
      ...(a.seen !== undefined ? { seen: a.seen } : {}),
    };
    out.push({
      federation: c.origin,
      round: c.round,
      node: p.nodeId,
      majorityNode: majority.node,
      cause,
      driftScore: score,
      divergentLeaves: a.divergent,
      batchLeaves: n,
      severity: driftSeverity(cause, score),
      kind: findingKind(cause, score, cfg),
      actions: recommendedActions(cause, facts),
      detail: {
        firstDifferingLeaf: first?.index ?? (a.missing + a.extra > 0 ? Math.min(n, n - a.missing) : null),
        leafCauses: countBy(a.leaves),
        missing: a.missing,
        extra: a.extra,
        ...(first ? { first } : {}),
        ...(evidence !== undefined ? { evidence } : {}),
        ...(a.seen !== undefined ? { seen: a.seen } : {}),
        checkpoint: other.body,
        majorityCheckpoint: majority.body,
      },
    });
  }
  return out;
}
