/**
 * The Nodes page's per-node columns live from running nodes (`amp up`, `amp dashboard --nodes`):
 * - Byzantine evidence: every node's `GET /v1/evidence` merged, each record with the node that
 *   recorded it (`recordedBy`), newest first;
 * - clock offset: each node's newest offset from the drift routes' `GET /v1/drift` (`clock`,
 *   measured by the round's coordinator; any node's answer, newest round wins);
 * - ranking and governance weight: the Credits page's snapshot (live-credits.ts: records checked
 *   against the pinned receipts contract, never taken on a node's word), the node's rank and the
 *   governance weight of its newest allocation that is not invalid.
 * - participation counters: every node's `GET /v1/participation` (what it counted as a round's
 *   coordinator), summed per node over the coordinators that answered.
 * What no node serves is null, with the reason in `unavailable`.
 */
import type { ClockOffsetView } from "../drift/api";
import type { NodeCounters } from "../consensus/evidence";
import type { EvidenceRecord } from "../node/evidence-view";
import type { ParticipationAnswer } from "../node/participation";
import type { PeerClient } from "../transport/client";
import type { LiveNode, Unavailable } from "./live";
import {
  mergeEvidence,
  nodeExtras,
  sumCounters,
  type CreditsLike,
  type LiveEvidence,
  type NodeExtras,
} from "./nodes";

export type { LiveEvidence, NodeExtras };

export interface LiveNodeExtras {
  readonly evidence: LiveEvidence[];
  readonly extras: (nodeId: string | null, origin: string | null) => NodeExtras;
  /** Participation counters per node, summed over the coordinators that counted them. */
  readonly participation: (NodeCounters & { readonly origin: string; readonly node: string })[];
  /** Why a column is "—" for every node: `evidence`, `clock`, `credits`. */
  readonly unavailable: Record<string, string>;
}

const EVIDENCE_PER_NODE = 100;

export async function liveNodeExtras(
  client: PeerClient,
  nodes: readonly LiveNode[],
  credits: () => Promise<unknown>,
): Promise<LiveNodeExtras> {
  const get = <T>(n: LiveNode, path: string) =>
    client.json<T>(n.url, { method: "GET", path }).catch(() => undefined);
  const [ev, drift, cr, part] = await Promise.all([
    Promise.all(
      nodes.map((n) =>
        get<{ recordedBy: string; evidence: EvidenceRecord[] }>(n, `/v1/evidence?limit=${EVIDENCE_PER_NODE}`),
      ),
    ),
    Promise.all(nodes.map((n) => get<{ clock?: ClockOffsetView[] }>(n, "/v1/drift"))),
    credits().catch((e: unknown) => ({ available: false, reason: String(e) })),
    Promise.all(nodes.map((n) => get<ParticipationAnswer>(n, "/v1/participation"))),
  ]);
  const unavailable: Record<string, string> = {};

  const served = ev.filter((a) => a !== undefined && Array.isArray(a.evidence));
  if (served.length === 0) unavailable.evidence = "no node serves /v1/evidence (older nodes, or none is up)";
  const evidence = mergeEvidence(served as { recordedBy: string; evidence: EvidenceRecord[] }[]);

  const clocks = drift.filter((d) => d !== undefined && Array.isArray(d.clock));
  if (clocks.length === 0)
    unavailable.clock = "no node serves /v1/drift (drift detection not enabled on these nodes)";
  const c = "available" in (cr as object) ? undefined : (cr as CreditsLike);
  if (!c) unavailable.credits = (cr as Unavailable).reason;
  else if (c.ranking.length === 0) unavailable.credits = "no allocation checked yet (see the Credits page)";
  const extras = nodeExtras(
    clocks.flatMap((d) => d!.clock!),
    c,
  );
  const counted = part.filter((p) => p !== undefined && Array.isArray(p.nodes));
  if (counted.length === 0)
    unavailable.participation = "no node serves /v1/participation (older nodes, or none is up)";
  return { evidence, extras, unavailable, participation: sumCounters(counted as ParticipationAnswer[]) };
}
