/**
 * The Nodes page's data, from the data dir: each federation's registration (deployment.json) and
 * latest anchored checkpoint, each node's participation counters and the Byzantine evidence the
 * coordinators recorded (`engine/<federation>/evidence/{node-counters.json,evidence.jsonl}`), and
 * the node weights of the manifest the run used (passed in; the record holds only addresses).
 */
import fs from "node:fs";
import path from "node:path";
import type { Evidence, NodeCounters } from "../consensus/evidence";
import type { DeploymentRecord } from "../chain/deployment";
import type { DashboardData, RoundView } from "./data";

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

export interface NodeView extends NodeCounters {
  readonly federation: string;
  readonly node: string;
  readonly weight: string | null;
}

export interface NodesSnapshot {
  readonly federations: readonly FederationView[];
  readonly nodes: readonly NodeView[];
  /** Newest first. */
  readonly evidence: readonly Evidence[];
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

export function nodesSnapshot(data: DashboardData, manifest: readonly ManifestWeights[] = []): NodesSnapshot {
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
  const nodes: NodeView[] = [];
  const evidence: Evidence[] = [];
  for (const dir of evidenceDirs(data.dataDir)) {
    for (const [key, c] of readCounters(dir)) {
      const cut = key.lastIndexOf("/");
      const federation = key.slice(0, cut);
      const node = key.slice(cut + 1);
      nodes.push({ ...c, federation, node, weight: weightOf(federation, node) });
    }
    evidence.push(...readEvidence(dir));
  }
  nodes.sort((a, b) => a.federation.localeCompare(b.federation) || a.node.localeCompare(b.node));
  evidence.sort((a, b) => b.recordedAt.localeCompare(a.recordedAt));
  return { federations, nodes, evidence };
}
