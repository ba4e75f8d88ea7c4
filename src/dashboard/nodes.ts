/**
 * The Nodes page's data, from the data dir: each federation's registration (deployment.json) and
 * latest anchored checkpoint, each node's participation counters and the Byzantine evidence the
 * coordinators recorded (`engine/<federation>/evidence/{node-counters.json,evidence.jsonl}`), and
 * the node weights of the manifest the run used (passed in; the record holds only addresses).
 * Per node also its clock offset, rank and governance weight (`nodeExtras`, the same computation
 * for the data dir and for running nodes): from the drift store's clock offsets and the Credits
 * page's checked records.
 *
 * On a node-layout data dir (DIR/nodes/<id>/, `amp run`/`amp up`/`amp demo`) the per-node files are
 * read with the node's own readers (src/node/evidence-view.ts, participation.ts: what GET
 * /v1/evidence and /v1/participation serve) and merged by the same code as live mode
 * ({@link mergeEvidence}, {@link sumCounters}): evidence with the node that recorded it, counters
 * summed over the coordinators that counted them.
 */
import fs from "node:fs";
import path from "node:path";
import type { Evidence, NodeCounters } from "../consensus/evidence";
import type { DeploymentRecord } from "../chain/deployment";
import type { ClockOffsetView } from "../drift/api";
import type { CreditAllocationView, CreditRankView } from "./credits";
import type { DashboardData, RoundView } from "./data";
import { readEvidence as readNodeEvidence, type EvidenceRecord } from "../node/evidence-view";
import { readParticipation, type ParticipationAnswer } from "../node/participation";

/** An evidence record with the node that recorded it (live mode, node-layout data dir). */
export type LiveEvidence = EvidenceRecord & { readonly recordedBy: string };

/** Evidence records read from nodes shown; each node's newest EVIDENCE_PER_NODE are read. */
const EVIDENCE_SHOWN = 200;
const EVIDENCE_PER_NODE = 100;

export interface ManifestWeights {
  /** Manifest name (the archive's key; the Proof lookup maps it to the origin). */
  readonly name?: string;
  readonly origin: string;
  readonly nodes: readonly { readonly id: string; readonly weight: bigint }[];
}

export interface FederationView {
  readonly origin: string;
  readonly epoch: number | null;
  readonly validators: number;
  readonly totalWeight: string | null;
  readonly lastAnchoredRound: number | null;
  readonly treeSize: string | null;
  readonly rootHash: string | null;
  readonly signedWeight: string | null;
}

/** A node's clock offset, rank and governance weight; null when not known. */
export interface NodeExtras {
  readonly clockOffsetMs: number | null;
  readonly clockRound: string | null;
  readonly rank: number | null;
  readonly governanceWeight: string | null;
  /** The epoch of that weight's allocation. */
  readonly weightEpoch: string | null;
}

export interface NodeView extends NodeCounters, NodeExtras {
  readonly federation: string;
  readonly node: string;
  readonly weight: string | null;
}

export interface NodesSnapshot {
  readonly federations: readonly FederationView[];
  readonly nodes: readonly NodeView[];
  /** Newest first; with `recordedBy` when read from the nodes. */
  readonly evidence: readonly (Evidence | LiveEvidence)[];
  /** Why a column is "—" for every node: `clock`, `credits` (and, live, `evidence`, `participation`). */
  readonly unavailable: Record<string, string>;
}

export interface CreditsLike {
  readonly allocations: readonly CreditAllocationView[];
  readonly ranking: readonly CreditRankView[];
}

/**
 * Per node: its newest clock offset in `clocks` (measured by a round's coordinator; the newest
 * round wins), its rank in the checked `credits` ranking and the governance weight of its newest
 * allocation that is not `invalid` — never a number a node states about itself.
 */
export function nodeExtras(
  clocks: readonly ClockOffsetView[],
  credits: CreditsLike | undefined,
): (nodeId: string | null, origin: string | null) => NodeExtras {
  const clock = new Map<string, ClockOffsetView>();
  for (const c of clocks) {
    const had = clock.get(c.node);
    if (!had || BigInt(c.round) > BigInt(had.round)) clock.set(c.node, c);
  }
  return (id, origin) => {
    const k = clock.get(id ?? "");
    const mine = (x: { node: string; origin: string }) =>
      x.node === id && (origin === null || x.origin === origin);
    const rank = credits?.ranking.find(mine);
    const alloc = credits?.allocations.filter((a) => mine(a) && a.verification.status !== "invalid").at(-1);
    return {
      clockOffsetMs: k?.offsetMs ?? null,
      clockRound: k?.round ?? null,
      rank: rank?.rank ?? null,
      governanceWeight: alloc?.weight ?? null,
      weightEpoch: alloc?.epoch ?? null,
    };
  };
}

function evidenceDirs(dataDir: string): string[] {
  const engine = path.join(dataDir, "engine");
  if (!fs.existsSync(engine)) return [];
  return fs
    .readdirSync(engine, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => path.join(engine, d.name, "evidence"))
    .filter((d) => fs.existsSync(d));
}

function readCounters(dir: string): [string, NodeCounters][] {
  const file = path.join(dir, "node-counters.json");
  if (!fs.existsSync(file)) return [];
  return Object.entries(JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, NodeCounters>);
}

function readEvidence(dir: string): Evidence[] {
  const file = path.join(dir, "evidence.jsonl");
  if (!fs.existsSync(file)) return [];
  // The last line may be torn while a run appends: only whole JSON lines count.
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .flatMap((l) => {
      try {
        return l.trim() === "" ? [] : [JSON.parse(l) as Evidence];
      } catch {
        return [];
      }
    });
}

/** Each federation's registered set (pinned deployment record) and its checkpoint in `latest`. */
export function federationViews(
  origins: Iterable<string>,
  record: DeploymentRecord | undefined,
  latest: RoundView | undefined,
): FederationView[] {
  return [...origins].sort().map((origin): FederationView => {
    const fed = record?.federations.find((f) => f.origin === origin);
    const cp = latest?.checkpoints.find((c) => c.origin === origin);
    return {
      origin,
      epoch: fed?.epoch ?? null,
      validators: fed?.validators.length ?? 0,
      totalWeight: fed ? fed.weights.reduce((s, w) => s + BigInt(w), 0n).toString() : null,
      lastAnchoredRound: latest && cp ? latest.round : null,
      treeSize: cp?.treeSize ?? null,
      rootHash: cp?.rootHash ?? null,
      signedWeight: cp?.signedWeight ?? null,
    };
  });
}

/**
 * From a data dir; `clocks` are the drift store's offsets (driftSnapshot), `credits` the Credits
 * page's snapshot (CreditsData: records with their receipt checks).
 */
export function nodesSnapshot(
  data: DashboardData,
  manifest: readonly ManifestWeights[] = [],
  clocks: readonly ClockOffsetView[] = [],
  credits?: CreditsLike,
): NodesSnapshot {
  const snap = data.snapshot(50);
  const record = data.deployment();
  const latest = snap.rounds.find((r) => r.status === "anchored");
  const origins = new Set([
    ...(record?.federations.map((f) => f.origin) ?? []),
    ...manifest.map((m) => m.origin),
  ]);
  const federations = federationViews(origins, record, latest);
  const weightOf = (origin: string, node: string) =>
    manifest
      .find((m) => m.origin === origin)
      ?.nodes.find((n) => n.id === node)
      ?.weight.toString() ?? null;
  const extras = nodeExtras(clocks, credits);
  const unavailable: Record<string, string> = {};
  if (clocks.length === 0) unavailable.clock = "no clock offsets in this data dir's drift.sqlite yet";
  if (!credits || credits.ranking.length === 0)
    unavailable.credits = "no credit allocation in this data dir yet (amp run --epoch-seconds N)";
  const layout = data.nodeLayout();
  if (layout) {
    // Each node's own files, read as the node serves them, merged as live mode merges them.
    const nameOf = new Map(manifest.flatMap((m) => (m.name !== undefined ? [[m.name, m.origin]] : [])));
    const evidenceOf: { recordedBy: string; evidence: readonly EvidenceRecord[] }[] = [];
    const counted: ParticipationAnswer[] = [];
    for (const n of layout.nodes) {
      const origin = nameOf.get(n.federation);
      if (origin === undefined) continue;
      const who = { id: n.id, name: n.federation, origin };
      evidenceOf.push(readNodeEvidence(n.dir, who, EVIDENCE_PER_NODE));
      try {
        counted.push(readParticipation(n.dir, who));
      } catch {
        // An unreadable counters file: that coordinator's counts are left out (as a node down live).
      }
    }
    const nodes = sumCounters(counted).map(({ origin, ...c }) => ({
      ...c,
      federation: origin,
      weight: weightOf(origin, c.node),
      ...extras(c.node, origin),
    }));
    return { federations, nodes, evidence: mergeEvidence(evidenceOf), unavailable };
  }
  const nodes: NodeView[] = [];
  const evidence: Evidence[] = [];
  for (const dir of evidenceDirs(data.dataDir)) {
    for (const [key, c] of readCounters(dir)) {
      const cut = key.lastIndexOf("/");
      const federation = key.slice(0, cut);
      const node = key.slice(cut + 1);
      nodes.push({ ...c, federation, node, weight: weightOf(federation, node), ...extras(node, federation) });
    }
    evidence.push(...readEvidence(dir));
  }
  nodes.sort((a, b) => a.federation.localeCompare(b.federation) || a.node.localeCompare(b.node));
  evidence.sort((a, b) => b.recordedAt.localeCompare(a.recordedAt));
  return { federations, nodes, evidence, unavailable };
}

/** Several nodes' evidence answers merged, each record with its recorder, newest first. */
export function mergeEvidence(
  answers: readonly { readonly recordedBy: string; readonly evidence: readonly EvidenceRecord[] }[],
): LiveEvidence[] {
  return answers
    .flatMap((a) => a.evidence.map((e): LiveEvidence => ({ ...e, recordedBy: a.recordedBy })))
    .sort((a, b) => (a.recordedAt < b.recordedAt ? 1 : a.recordedAt > b.recordedAt ? -1 : 0))
    .slice(0, EVIDENCE_SHOWN);
}

/** Participation counters per node, summed over the coordinators that counted them. */
export function sumCounters(
  answers: readonly ParticipationAnswer[],
): (NodeCounters & { readonly origin: string; readonly node: string })[] {
  const sum = new Map<string, NodeCounters & { origin: string; node: string }>();
  for (const a of answers) {
    for (const r of a.nodes) {
      const key = `${a.origin}/${r.node}`;
      const t = sum.get(key) ?? {
        origin: a.origin,
        node: r.node,
        roundsExpected: 0,
        roundsParticipated: 0,
        votesCast: 0,
        correctVotes: 0,
        faults: {},
      };
      t.roundsExpected += r.roundsExpected;
      t.roundsParticipated += r.roundsParticipated;
      t.votesCast += r.votesCast;
      t.correctVotes += r.correctVotes;
      for (const [k, n] of Object.entries(r.faults) as [keyof NodeCounters["faults"], number][])
        t.faults[k] = (t.faults[k] ?? 0) + n;
      sum.set(key, t);
    }
  }
  return [...sum.values()].sort((x, y) => x.origin.localeCompare(y.origin) || x.node.localeCompare(y.node));
}
