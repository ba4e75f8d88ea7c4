/**
 * The dashboard's live source for the node layout (`amp up`, `amp dashboard --nodes URL,…`): every
 * answer is read from the running nodes' HTTP APIs (docs/http.md), never from their files.
 *
 * - Rounds: the newest anchored-round records (`GET /v1/anchors/:round`, immutable, cached), up to
 *   the highest `lastAnchoredRound` any node reports (`GET /v1/status`); quorum weight recomputed
 *   from the anchored EIP-712 signatures with the pinned deployment record, as for a data dir.
 * - Nodes: each node's status (up, tree size and root, last signed and anchored round, inbox), its
 *   clock offset (drift routes), rank and governance weight (credits routes), and the Byzantine
 *   evidence every node recorded (`GET /v1/evidence`), merged (live-nodes.ts).
 * - Proof lookup: `GET /v1/proof/:id` of each node until one has it, verified against the pinned
 *   trust policy (never anything the node sends).
 * - Stage latencies: each node's `GET /v1/stats` (live-stats.ts).
 * - Drift: every node's `GET /v1/drift` merged, alerts named `<node>/<id>`; acknowledge / resolve
 *   go to that node with its operator token (live-drift.ts, src/node/admin.ts).
 * - Credits: the nodes' `/v1/credits/epochs` records, verified against the pinned receipts
 *   contract (live-credits.ts). Either is `{available: false, reason}` when no node serves it.
 */
import type { AbstractProvider } from "ethers";
import type { AnchoredRound } from "../chain/anchored-rounds";
import type { DeploymentRecord } from "../chain/deployment";
import { ReceiptsReader } from "../credits/chain";
import { decodeRecord } from "../node/anchored-record";
import type { NodeStatus } from "../node/node";
import { PeerClient, PeerError } from "../transport/client";
import { ReceiptChecker } from "./credits";
import { checkpointViews, type CheckpointView, type DashboardSnapshot, type RoundView } from "./data";
import { federationViews, type ManifestWeights, type NodesSnapshot } from "./nodes";
import { ProofLookupError, checkProofText, type ProofCheck, type ProofLookup } from "./proof";
import { LiveCredits } from "./live-credits";
import { LiveDrift } from "./live-drift";
import { liveNodeExtras, type LiveEvidence, type NodeExtras } from "./live-nodes";
import { LiveStats } from "./live-stats";
import { PinnedKeys, witnessEpochs } from "./witnesses";

export interface LiveNode {
  readonly id?: string;
  readonly url: string;
  /** The node's operator token (its data dir's admin.token), for acknowledge / resolve. */
  readonly token?: string;
}

export interface LiveNodeView extends NodeExtras {
  readonly id: string | null;
  readonly url: string;
  readonly up: boolean;
  readonly federation: string | null;
  readonly treeSize: string | null;
  readonly rootHash: string | null;
  readonly lastSignedRound: string | null;
  readonly lastAnchoredRound: string | null;
  readonly pendingEvents: number | null;
}

export interface Unavailable {
  readonly available: false;
  readonly reason: string;
}

const ROUNDS = 50;

export class LiveNodes {
  private readonly client = new PeerClient({ timeoutMs: 2000, tries: 1 });
  private readonly records = new Map<bigint, AnchoredRound>();
  /** Checked checkpoint views per round, once every key set they need was pinned (immutable). */
  private readonly views = new Map<bigint, CheckpointView[]>();
  private readonly keys: PinnedKeys;
  private readonly liveDrift: LiveDrift;
  private readonly liveCredits: LiveCredits;
  private readonly stats: LiveStats;

  /**
   * `provider`: the pinned chain (amp up's RPC, `--rpc`); with the pinned `record` it verifies the
   * Credits page's receipts (the record's ProofCreditReceipts, never a node's) and gives chain time.
   */
  constructor(
    readonly nodes: readonly LiveNode[],
    private readonly record?: DeploymentRecord,
    private readonly manifest: readonly ManifestWeights[] = [],
    provider?: AbstractProvider,
  ) {
    this.keys = new PinnedKeys(record, provider);
    this.liveDrift = new LiveDrift(this.client, nodes, () => this.statuses());
    const reader =
      provider && record
        ? new ReceiptsReader(record.contracts.proofCreditReceipts, provider, record.deployBlock)
        : undefined;
    this.liveCredits = new LiveCredits({
      client: this.client,
      nodes,
      checker: new ReceiptChecker(
        reader,
        "no chain and deployment pinned (amp dashboard --nodes … --deployment FILE --rpc URL)",
      ),
      provider,
      firstRoundBlock: async () => (await this.recordOf(1n, this.nodes))?.blockNumber,
    });
    this.stats = new LiveStats(this.client, nodes, (name) => manifest.find((m) => m.name === name)?.origin);
  }

  private async statuses(): Promise<(NodeStatus | undefined)[]> {
    return Promise.all(
      this.nodes.map((n) =>
        this.client.json<NodeStatus>(n.url, { method: "GET", path: "/v1/status" }).catch(() => undefined),
      ),
    );
  }

  private async recordOf(round: bigint, up: readonly LiveNode[]): Promise<AnchoredRound | undefined> {
    const cached = this.records.get(round);
    if (cached) return cached;
    for (const n of up) {
      try {
        const r = decodeRecord(
          await this.client.json<Record<string, unknown>>(n.url, {
            method: "GET",
            path: `/v1/anchors/${round}`,
          }),
        );
        if (r.round !== round) continue;
        this.records.set(round, r);
        return r;
      } catch {
        // next node
      }
    }
    return undefined;
  }

  /** Quorum weight and checked witness cosignatures of an anchored round's checkpoints. */
  private async checkpoints(a: AnchoredRound): Promise<CheckpointView[]> {
    const cached = this.views.get(a.round);
    if (cached) return cached;
    // Each checkpoint's own epoch (its quorum weight) and its witnesses' epochs.
    await this.keys.prepare(
      a.checkpoints.flatMap((cp) => [
        { origin: cp.origin, epoch: cp.epoch },
        ...witnessEpochs(cp, a.checkpoints),
      ]),
    );
    const views = checkpointViews(Number(a.round), a.checkpoints, this.record, this.keys.source);
    const complete = views.every((v) => (v.witnesses ?? []).every((w) => w.unavailable === null));
    if (complete) this.views.set(a.round, views);
    return views;
  }

  async rounds(): Promise<DashboardSnapshot> {
    const st = await this.statuses();
    const up = this.nodes.filter((_, i) => st[i] !== undefined);
    const latest = st.reduce(
      (m, s) => (s && BigInt(s.lastAnchoredRound) > m ? BigInt(s.lastAnchoredRound) : m),
      0n,
    );
    await this.stats.refresh();
    const rounds: RoundView[] = [];
    for (let r = latest; r >= 1n && r > latest - BigInt(ROUNDS); r--) {
      const a = await this.recordOf(r, up);
      if (!a) continue;
      const round = Number(a.round);
      const lat = this.stats.latency(a.round);
      rounds.push({
        round,
        status: "anchored",
        globalRoot: a.globalRoot,
        txHash: a.txHash,
        blockNumber: a.blockNumber,
        gasUsed: a.gasUsed.toString(),
        checkpoints: await this.checkpoints(a),
        sealToQuorumMs: lat.sealToQuorumMs,
        quorumToWitnessedMs: lat.quorumToWitnessedMs,
        witnessedToAnchoredMs: lat.witnessedToAnchoredMs,
        detail: "",
        at: lat.anchoredAt === null ? null : new Date(lat.anchoredAt).toISOString(),
      });
    }
    const any = rounds.length > 0 ? this.records.get(BigInt(rounds[0]!.round)) : undefined;
    return {
      chainId: this.record?.chainId ?? any?.chainId ?? null,
      anchor: this.record?.contracts.globalProofAnchor ?? any?.contract ?? null,
      rounds,
      latencies: null,
    };
  }

  async nodesView(): Promise<
    Omit<NodesSnapshot, "evidence"> & {
      evidence: LiveEvidence[];
      live: LiveNodeView[];
      unavailable: Record<string, string>;
    }
  > {
    const [snap, st] = await Promise.all([this.rounds(), this.statuses()]);
    const more = await liveNodeExtras(this.client, this.nodes, () => this.liveCredits.snapshot());
    const latest = snap.rounds[0];
    const origins = new Set([
      ...(this.record?.federations.map((f) => f.origin) ?? []),
      ...this.manifest.map((m) => m.origin),
      ...(latest?.checkpoints.map((c) => c.origin) ?? []),
    ]);
    const federations = federationViews(origins, this.record, latest);
    const live = this.nodes.map((n, i): LiveNodeView => {
      const s = st[i];
      return {
        id: s?.nodeId ?? n.id ?? null,
        url: n.url,
        up: s !== undefined,
        federation: s?.federation ?? null,
        treeSize: s?.treeSize ?? null,
        rootHash: s?.rootHash ?? null,
        lastSignedRound: s?.lastSignedRound ?? null,
        lastAnchoredRound: s?.lastAnchoredRound ?? null,
        pendingEvents: s?.pendingEvents ?? null,
        ...more.extras(s?.nodeId ?? n.id ?? null, s?.origin ?? null),
      };
    });
    const weightOf = (origin: string, node: string) =>
      this.manifest
        .find((m) => m.origin === origin)
        ?.nodes.find((n) => n.id === node)
        ?.weight.toString() ?? null;
    const nodes = more.participation.map(({ origin, ...c }) => ({
      ...c,
      federation: origin,
      weight: weightOf(origin, c.node),
      ...more.extras(c.node, origin),
    }));
    return { federations, nodes, evidence: more.evidence, live, unavailable: more.unavailable };
  }

  /** The proof of `eventId` from the first node that has it, verified against the pinned `check`. */
  async proof(eventId: string, check?: ProofCheck): Promise<ProofLookup> {
    let pending: string | undefined;
    for (const n of this.nodes) {
      let text: string;
      try {
        const res = await this.client.request(n.url, {
          method: "GET",
          path: `/v1/proof/${encodeURIComponent(eventId)}`,
        });
        text = res.body.toString("utf8");
      } catch (e) {
        if (e instanceof PeerError && (e.status === 503 || e.status === 429)) pending = e.body;
        continue; // not this node's federation, not anchored yet, or down: the next node
      }
      return checkProofText(eventId, text, check);
    }
    if (pending !== undefined)
      throw new ProofLookupError(409, `event ${eventId} is acknowledged, not anchored yet`);
    throw new ProofLookupError(404, `no node has an anchored event ${eventId}`);
  }

  drift(): Promise<unknown> {
    return this.liveDrift.snapshot();
  }

  credits(): Promise<unknown> {
    return this.liveCredits.snapshot();
  }

  /** Acknowledge / resolve alert `<node>/<id>` on that node, with its operator token. */
  driftAction(id: string, action: "ack" | "resolve", body: { by: string; note: string }): Promise<unknown> {
    return this.liveDrift.action(id, action, body);
  }
}
