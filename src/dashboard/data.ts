/**
 * What the dashboard shows, read from a data dir written by `amp run` / `amp demo --data`: the
 * anchored rounds (`anchors.sqlite`, append-only, written after each receipt), the round metrics
 * (`metrics.sqlite`, stage latencies and failed attempts) and the deployment record. Files are
 * opened read-only and re-read on every call, so a running `amp run` is followed live; a file that
 * does not exist yet reads as no rounds.
 *
 * A node-layout data dir (`amp run`, `amp up --data`, `amp demo --data`: DIR/nodes/<id>/…, told
 * apart by src/cli/data-dir.ts `resolveDataDir`) holds no round metrics: its anchored rounds are
 * every node's `anchors.sqlite` merged (each node records the same global round; the union covers
 * a node that was down for some rounds), and {@link DashboardSnapshot.latencies} says why no stage
 * latencies are shown.
 *
 * Quorum weight per checkpoint is recomputed from the anchored EIP-712 signatures: each signer is
 * recovered from the checkpoint's typed-data hash and weighed with the deployment record's weights.
 */
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { recoverAddress } from "ethers";
import { ANCHORS_FILE } from "../chain/anchored-rounds";
import type { AnchoredCheckpoint } from "../chain/anchored-rounds";
import { DEPLOYMENT_FILE } from "../chain/deployment";
import type { DeploymentRecord } from "../chain/deployment";
import { checkpointTypedDataHash } from "../chain/eip712";
import { NODES_DIR, resolveDataDir, type DataDirLayout, type FederationNodes } from "../cli/data-dir";
import { PinnedKeys, witnessViews, type KeySource, type WitnessView } from "./witnesses";

export const METRICS_FILE = "metrics.sqlite";
/** Anchored rounds (newest) of a data dir whose witness cosignatures are checked. */
export const WITNESS_ROUNDS = 50;

export interface CheckpointView {
  readonly origin: string;
  readonly treeSize: string;
  readonly rootHash: string;
  readonly signers: number;
  /** Weight of the recovered signers that are registered validators; null without a record. */
  readonly signedWeight: string | null;
  readonly totalWeight: string | null;
  /**
   * Each other federation's cosignatures of this checkpoint, checked against pinned keys; null for
   * an anchored round older than the newest WITNESS_ROUNDS of a data dir (not checked: ML-DSA
   * verification costs milliseconds per line).
   */
  readonly witnesses: readonly WitnessView[] | null;
}

export interface RoundView {
  readonly round: number;
  readonly status: "anchored" | "witnessed" | "failed";
  readonly globalRoot: string | null;
  readonly txHash: string | null;
  readonly blockNumber: number | null;
  readonly gasUsed: string | null;
  readonly checkpoints: readonly CheckpointView[];
  readonly sealToQuorumMs: Readonly<Record<string, number>>;
  readonly quorumToWitnessedMs: number | null;
  readonly witnessedToAnchoredMs: number | null;
  readonly detail: string;
  readonly at: string | null;
}

export interface DashboardSnapshot {
  readonly chainId: string | null;
  readonly anchor: string | null;
  /** Newest first; failed attempts are separate entries with the round number they kept. */
  readonly rounds: readonly RoundView[];
  /** Why no stage latencies are shown (node-layout data dir), or null when they are stored. */
  readonly latencies: string | null;
}

/** The Rounds page's words for a stopped node-layout data dir. */
export const NO_NODE_LATENCIES =
  "No stage latencies are stored in a node-layout data dir (nodes/<id>/): they are kept in memory by " +
  "the running nodes only. Open the dashboard while the federation runs (amp dashboard --data DIR " +
  "then reads them live from the nodes).";

interface AnchorRow {
  round: number;
  global_root: string;
  tx_hash: string;
  block_number: number;
  gas_used: string;
  checkpoints: string;
}

interface MetricsRow {
  round: number;
  status: "witnessed" | "failed";
  seal_to_quorum_ms: string;
  quorum_to_witnessed_ms: number | null;
  witnessed_to_anchored_ms: number | null;
  global_root: string | null;
  detail: string;
  created_at: string;
}

function readAll<T>(file: string, sql: string): T[] {
  if (!fs.existsSync(file)) return [];
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all() as T[];
  } catch (e) {
    if (e instanceof Error && /no such table/.test(e.message)) return [];
    throw e;
  } finally {
    db.close();
  }
}

export class DashboardData {
  /** Anchored rounds never change: their checkpoint views are computed once. */
  private readonly weighed = new Map<string, CheckpointView[]>();

  /** `federations`: the manifest's, to resolve a node-layout data dir's nodes with. */
  constructor(
    readonly dataDir: string,
    private readonly federations: readonly FederationNodes[] = [],
  ) {}

  /** The nodes of a node-layout data dir, or undefined for a RoundEngine (or empty) one. */
  nodeLayout(): (DataDirLayout & { kind: "nodes" }) | undefined {
    if (!fs.existsSync(path.join(this.dataDir, NODES_DIR))) return undefined;
    try {
      const l = resolveDataDir(this.dataDir, this.federations);
      return l.kind === "nodes" ? l : undefined;
    } catch (e) {
      // Nodes created but no archive written yet: nothing to show (the same as an empty dir).
      if (e instanceof Error && /^no archive at /.test(e.message)) return undefined;
      throw e;
    }
  }

  /** Anchored rounds, newest first: the data dir's, or every node's merged (node layout). */
  private anchored(limit: number, nodes: ReturnType<DashboardData["nodeLayout"]>): AnchorRow[] {
    const sql = `SELECT round, global_root, tx_hash, block_number, gas_used, checkpoints FROM anchored_rounds
       ORDER BY round DESC LIMIT ${limit}`;
    if (!nodes) return readAll<AnchorRow>(path.join(this.dataDir, ANCHORS_FILE), sql);
    const byRound = new Map<number, AnchorRow>();
    for (const n of nodes.nodes) {
      for (const a of readAll<AnchorRow>(path.join(n.dir, ANCHORS_FILE), sql)) {
        if (!byRound.has(Number(a.round))) byRound.set(Number(a.round), a);
      }
    }
    return [...byRound.values()].sort((x, y) => Number(y.round) - Number(x.round)).slice(0, limit);
  }

  /** The deployment record of the data dir, if written yet. */
  deployment(): DeploymentRecord | undefined {
    const file = path.join(this.dataDir, DEPLOYMENT_FILE);
    if (!fs.existsSync(file)) return undefined;
    return JSON.parse(fs.readFileSync(file, "utf8")) as DeploymentRecord;
  }

  snapshot(limit = 500): DashboardSnapshot {
    const record = this.deployment();
    const nodes = this.nodeLayout();
    const anchored = this.anchored(limit, nodes);
    const metrics = nodes
      ? []
      : readAll<MetricsRow>(
          path.join(this.dataDir, METRICS_FILE),
          `SELECT * FROM amp_round_metrics ORDER BY id DESC LIMIT ${limit * 2}`,
        );
    const byRound = new Map(anchored.map((a) => [Number(a.round), a]));
    const checked = new Set(anchored.slice(0, WITNESS_ROUNDS).map((a) => Number(a.round)));
    const views: RoundView[] = [];
    const seen = new Set<number>();
    for (const m of metrics) {
      const round = Number(m.round);
      if (m.status === "failed") {
        views.push(this.view(round, "failed", undefined, m, record, checked));
        continue;
      }
      if (seen.has(round)) continue;
      seen.add(round);
      const a = byRound.get(round);
      views.push(this.view(round, a ? "anchored" : "witnessed", a, m, record, checked));
    }
    for (const [round, a] of byRound)
      if (!seen.has(round)) views.push(this.view(round, "anchored", a, undefined, record, checked));
    // Newest first; at one round number the anchored (final) entry before its failed attempts.
    views.sort(
      (x, y) => y.round - x.round || (x.status === "failed" ? 1 : 0) - (y.status === "failed" ? 1 : 0),
    );
    return {
      chainId: record?.chainId ?? null,
      anchor: record?.contracts.globalProofAnchor ?? null,
      rounds: views.slice(0, limit),
      latencies: nodes ? NO_NODE_LATENCIES : null,
    };
  }

  private view(
    round: number,
    status: RoundView["status"],
    a: AnchorRow | undefined,
    m: MetricsRow | undefined,
    record: DeploymentRecord | undefined,
    checked: ReadonlySet<number>,
  ): RoundView {
    return {
      round,
      status,
      globalRoot: a?.global_root ?? (m?.global_root ? `0x${m.global_root}` : null),
      txHash: a?.tx_hash ?? null,
      blockNumber: a ? Number(a.block_number) : null,
      gasUsed: a?.gas_used ?? null,
      checkpoints: a ? this.checkpoints(round, a, record, checked.has(round)) : [],
      sealToQuorumMs: m ? (JSON.parse(m.seal_to_quorum_ms) as Record<string, number>) : {},
      quorumToWitnessedMs: m?.quorum_to_witnessed_ms ?? null,
      witnessedToAnchoredMs: m?.witnessed_to_anchored_ms ?? null,
      detail: m?.detail ?? "",
      at: m?.created_at ?? null,
    };
  }

  private checkpoints(
    round: number,
    a: AnchorRow,
    record: DeploymentRecord | undefined,
    withWitnesses: boolean,
  ): CheckpointView[] {
    const key = `${round}/${a.tx_hash}`;
    const cached = this.weighed.get(key);
    if (cached && (cached.every((v) => v.witnesses !== null) || !withWitnesses)) return cached;
    const cps = JSON.parse(a.checkpoints) as AnchoredCheckpoint[];
    const views = checkpointViews(round, cps, record, withWitnesses ? new PinnedKeys(record).source : null);
    // Cached once complete (a deployment record written later is then used).
    if (views.every((v) => v.witnesses?.every((w) => w.unavailable === null) ?? !withWitnesses))
      this.weighed.set(key, views);
    return views;
  }
}

/** Every checkpoint of an anchored round: its quorum weight and its witnesses' cosignatures. */
export function checkpointViews(
  round: number,
  cps: readonly AnchoredCheckpoint[],
  record: DeploymentRecord | undefined,
  keys: KeySource | null,
): CheckpointView[] {
  return cps.map((cp) => weigh(round, cp, record, keys, keys && witnessViews(round, cp, cps, keys)));
}

function weigh(
  round: number,
  cp: AnchoredCheckpoint,
  record: DeploymentRecord | undefined,
  keys: KeySource | null,
  witnesses: readonly WitnessView[] | null,
): CheckpointView {
  const base = {
    origin: cp.origin,
    treeSize: cp.treeSize,
    rootHash: cp.rootHash,
    signers: cp.signatures.length,
    witnesses,
  };
  const fed = record?.federations.find((f) => f.origin === cp.origin);
  if (!record || !fed) return { ...base, signedWeight: null, totalWeight: null };
  const digest = checkpointTypedDataHash(BigInt(record.chainId), record.contracts.globalProofAnchor, {
    federationId: cp.federationId,
    epoch: BigInt(cp.epoch),
    round: BigInt(round),
    treeSize: BigInt(cp.treeSize),
    rootHash: cp.rootHash,
  });
  // The weights of the checkpoint's OWN epoch: the record's, or (after a rotation) the pinned
  // registry's through `keys`; unknown (null) rather than another epoch's weights.
  const set = cp.epoch === String(fed.epoch) ? undefined : keys?.(cp.origin, cp.epoch);
  if (cp.epoch !== String(fed.epoch) && (set === undefined || typeof set === "string"))
    return { ...base, signedWeight: null, totalWeight: null };
  const weightOf =
    set && typeof set !== "string"
      ? new Map([...set.keys.values()].map((k) => [k.validator.toLowerCase(), k.weight]))
      : new Map(fed.validators.map((v, i) => [v.toLowerCase(), BigInt(fed.weights[i] ?? "0")]));
  let signed = 0n;
  for (const sig of new Set(cp.signatures)) {
    try {
      signed += weightOf.get(recoverAddress(digest, sig).toLowerCase()) ?? 0n;
    } catch {
      // A malformed signature weighs nothing (the anchor refused it anyway).
    }
  }
  const total = set && typeof set !== "string" ? set.total : fed.weights.reduce((s, w) => s + BigInt(w), 0n);
  return { ...base, signedWeight: signed.toString(), totalWeight: total.toString() };
}
