/**
 * The dashboard's live source for the node layout (`amp up`, `amp dashboard --nodes URL,…`): every
 * answer is read from the running nodes' HTTP APIs (docs/http.md), never from their files.
 *
 * - Rounds: the newest anchored-round records (`GET /v1/anchors/:round`, immutable, cached), up to
 *   the highest `lastAnchoredRound` any node reports (`GET /v1/status`); quorum weight recomputed
 *   from the anchored EIP-712 signatures with the pinned deployment record, as for a data dir.
 * - Nodes: each node's status (up, tree size and root, last signed and anchored round, inbox).
 * - Proof lookup: `GET /v1/proof/:id` of each node until one has it, verified against the pinned
 *   trust policy (never anything the node sends).
 * - Drift and credits: the node routes when a node serves them (`GET /v1/drift`), else
 *   `{available: false, reason}`; acknowledge / resolve are sent to the node the alerts came from
 *   with that node's operator token (src/node/admin.ts).
 */
import type { AnchoredRound } from "../chain/anchored-rounds";
import type { DeploymentRecord } from "../chain/deployment";
import { adminHeader } from "../node/admin";
import { decodeRecord } from "../node/anchored-record";
import type { NodeStatus } from "../node/node";
import { PeerClient, PeerError } from "../transport/client";
import { weigh, type DashboardSnapshot, type RoundView } from "./data";
import type { FederationView, ManifestWeights, NodesSnapshot } from "./nodes";
import { ProofLookupError, checkProofText, type ProofCheck, type ProofLookup } from "./proof";
import { DashboardActionError } from "./drift";

export interface LiveNode {
  readonly id?: string;
  readonly url: string;
  /** The node's operator token (its data dir's admin.token), for acknowledge / resolve. */
  readonly token?: string;
}

export interface LiveNodeView {
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
  /** The node whose drift data was shown last (acknowledge / resolve go there). */
  private driftSource: LiveNode | undefined;

  constructor(
    readonly nodes: readonly LiveNode[],
    private readonly record?: DeploymentRecord,
    private readonly manifest: readonly ManifestWeights[] = [],
  ) {}

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

  async rounds(): Promise<DashboardSnapshot> {
    const st = await this.statuses();
    const up = this.nodes.filter((_, i) => st[i] !== undefined);
    const latest = st.reduce(
      (m, s) => (s && BigInt(s.lastAnchoredRound) > m ? BigInt(s.lastAnchoredRound) : m),
      0n,
    );
    const rounds: RoundView[] = [];
    for (let r = latest; r >= 1n && r > latest - BigInt(ROUNDS); r--) {
      const a = await this.recordOf(r, up);
      if (!a) continue;
      const round = Number(a.round);
      rounds.push({
        round,
        status: "anchored",
        globalRoot: a.globalRoot,
        txHash: a.txHash,
        blockNumber: a.blockNumber,
        gasUsed: a.gasUsed.toString(),
        checkpoints: a.checkpoints.map((cp) => weigh(round, cp, this.record)),
        sealToQuorumMs: {},
        quorumToWitnessedMs: null,
        witnessedToAnchoredMs: null,
        detail: "",
        at: null,
      });
    }
    const any = rounds.length > 0 ? this.records.get(BigInt(rounds[0]!.round)) : undefined;
    return {
      chainId: this.record?.chainId ?? any?.chainId ?? null,
      anchor: this.record?.contracts.globalProofAnchor ?? any?.contract ?? null,
      rounds,
    };
  }

  async nodesView(): Promise<NodesSnapshot & { live: LiveNodeView[] }> {
    const [snap, st] = await Promise.all([this.rounds(), this.statuses()]);
    const latest = snap.rounds[0];
    const origins = new Set([
      ...(this.record?.federations.map((f) => f.origin) ?? []),
      ...this.manifest.map((m) => m.origin),
      ...(latest?.checkpoints.map((c) => c.origin) ?? []),
    ]);
    const federations = [...origins].sort().map((origin): FederationView => {
      const fed = this.record?.federations.find((f) => f.origin === origin);
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
      };
    });
    return { federations, nodes: [], evidence: [], live };
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

  /** `GET path` of the first node serving it; unavailable when none does (route not there, or down). */
  private async first(path: string): Promise<{ node: LiveNode; body: unknown } | Unavailable> {
    for (const n of this.nodes) {
      try {
        return { node: n, body: await this.client.json<unknown>(n.url, { method: "GET", path }) };
      } catch {
        // next node
      }
    }
    return { available: false, reason: `no node serves ${path} (not enabled on these nodes, or none is up)` };
  }

  async drift(): Promise<unknown> {
    const got = await this.first("/v1/drift");
    if ("available" in got) return got;
    this.driftSource = got.node;
    return { ...(got.body as Record<string, unknown>), source: got.node.id ?? got.node.url };
  }

  async credits(): Promise<unknown> {
    const got = await this.first("/v1/credits/ranking");
    if ("available" in got) return got;
    return {
      available: false,
      reason: `credits are served by ${got.node.id ?? got.node.url} (GET /v1/credits/…); this dashboard does not show them yet`,
    };
  }

  /** Acknowledge / resolve an alert on the node the Drift page's alerts came from, with its token. */
  async driftAction(
    id: string,
    action: "ack" | "resolve",
    body: { by: string; note: string },
  ): Promise<unknown> {
    const node = this.driftSource ?? this.nodes[0];
    if (!node) throw new DashboardActionError(404, "no node");
    if (!node.token) {
      throw new DashboardActionError(
        403,
        `no operator token for ${node.id ?? node.url} (its data dir's admin.token)`,
      );
    }
    try {
      return await this.client.json<unknown>(node.url, {
        method: "POST",
        path: `/v1/drift/alerts/${encodeURIComponent(id)}/${action}`,
        body: JSON.stringify(body),
        contentType: "application/json",
        headers: adminHeader(node.token),
      });
    } catch (e) {
      if (e instanceof PeerError && e.status !== undefined && e.status < 500) {
        let msg = e.body;
        try {
          msg = (JSON.parse(e.body) as { message?: string }).message ?? e.body;
        } catch {
          // not JSON: the body as it came
        }
        throw new DashboardActionError(e.status === 422 ? 409 : e.status, msg);
      }
      throw e;
    }
  }
}
