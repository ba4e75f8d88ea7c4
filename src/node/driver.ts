/**
 * RoundDriver: who drives a round, and when.
 *
 * - Proposer of round R: the node at position (R - 1 + view) mod N of the manifest's node list
 *   (federations in order, nodes in order). `view` starts at 0 and grows by one every
 *   `takeoverMs` that round R stays the chain's next round while there is work (counted from when
 *   each node first saw that work), so a dead or stopped proposer is replaced by the next node. Safety never depends on the rotation:
 *   validators sign one batch per round, and a coordinator re-proposes a batch already signed.
 * - No events, no round: the proposer asks every node's status; with no pending event and no
 *   signed-but-unanchored batch anywhere it does nothing (no gas spent idling).
 * - The proposer asks one node of each federation to coordinate that federation's consensus and
 *   witnessing (itself for its own federation; otherwise that federation's node at position
 *   (R - 1) mod n, then the next ones), computes the global root, relays the anchor transaction
 *   (a second relay of the same round is "already anchored", never a second anchor) and tells
 *   every node to catch up.
 * - Inclusion bound: an event acknowledged by a reachable node is in the oldest `maxBatch` of its
 *   inbox after at most ceil(k / ⌊maxBatch / n⌋) rounds, k its position in that inbox and n the
 *   federation's node count (each coordinator takes pending events round-robin across the nodes).
 *   With the defaults (maxBatch 1000) an inbox below 250 events is drained by the next anchored
 *   round. An event acknowledged by a node that is down waits on that node's disk until it is back.
 */
import fs from "node:fs";
import path from "node:path";
import { federationIdOf } from "../chain/ids";
import type { AnchorSubmitter } from "../chain/anchor";
import { globalRoot } from "../nexus/global-root";
import { PeerError } from "../transport/client";
import { SIGNATURE_HEADER, signBody } from "../transport/wire";
import { AmpError } from "../util/errors";
import type { Coordinator, FederationRoundOutcome } from "./coordinator";
import type { FederationNode, NodeStatus } from "./node";
import { decodeOutcome } from "./outcome";
import { writeFileAtomic } from "../consensus/atomic-file";
import { anchoredRecord, decodeRecord, encodeAnnouncement, encodeRecord } from "./anchored-record";
import type { AnchoredRound } from "../chain/anchored-rounds";
import { Stopwatch } from "./timings";

export interface RoundDriverConfig {
  readonly node: FederationNode;
  readonly coordinator: Coordinator;
  readonly submitter: AnchorSubmitter;
  /** A proposer that makes no progress for this long is replaced by the next node (default 8 s). */
  readonly takeoverMs?: number;
  /** TEST ONLY: called once the anchor transaction is mined, before the record is kept or announced. */
  readonly afterAnchorTx?: (round: bigint) => void | Promise<void>;
}

/** `<data>/pending-records/<round>.json`: a relay's record of a round, written before its anchor tx. */
export const PENDING_RECORDS_DIR = "pending-records";

export type TickResult =
  | { kind: "not-proposer" | "idle" }
  | { kind: "anchored" | "already-anchored"; round: bigint; txHash: string }
  | { kind: "failed"; round: bigint; reason: string };

const hex = (b: Uint8Array): string => "0x" + Buffer.from(b).toString("hex");
/** The transaction fields of a record written before its transaction (completed from the chain). */
const NO_TX = { txHash: "0x", blockNumber: 0, gasUsed: 0n } as const;

export class RoundDriver {
  private watching: { round: bigint; since: number | undefined; checkedAt: number } | undefined;

  constructor(private readonly cfg: RoundDriverConfig) {}

  private get node(): FederationNode {
    return this.cfg.node;
  }

  /** The proposer of `round` after `view` takeovers. */
  proposerOf(round: bigint, view: number): string {
    const nodes = this.node.cfg.roster.nodes;
    return nodes[Number((round - 1n + BigInt(view)) % BigInt(nodes.length))]!.id;
  }

  /**
   * One step: catch up, then drive the next round if this node is its proposer and there is work.
   * `view` counts takeover periods since THIS node first saw work for the round (each node looks
   * at the federation's work at most every takeoverMs / 4; the round's first proposer at every
   * tick), so nodes agree on the proposer up to that granularity.
   */
  async tick(now = Date.now()): Promise<TickResult> {
    const sw = new Stopwatch();
    await this.node.catchUp();
    const round = this.node.chainNextRound; // read by that catch-up
    await this.completePending().catch((e: Error) =>
      this.node.logger.warn("pending record not completed", { error: e.message }),
    );
    sw.lap("chain");
    const takeover = this.cfg.takeoverMs ?? 8000;
    if (this.watching?.round !== round) this.watching = { round, since: undefined, checkedAt: 0 };
    const w = this.watching;
    const first = this.proposerOf(round, 0) === this.node.id;
    if (first || now - w.checkedAt >= takeover / 4) {
      w.checkedAt = now;
      const work = await this.hasWork(round);
      sw.lap("status");
      if (!work)
        w.since = undefined; // no work, no round, no takeover
      else w.since ??= now;
    }
    if (w.since === undefined) return { kind: first ? "idle" : "not-proposer" };
    const view = Math.floor((now - w.since) / takeover);
    if (this.proposerOf(round, view) !== this.node.id) return { kind: "not-proposer" };
    try {
      return await this.drive(round, sw);
    } catch (e) {
      this.node.refreshSets(); // a rotation may have made the round's epoch stale
      this.node.logger.warn("round failed", { round, error: (e as Error).message });
      return { kind: "failed", round, reason: (e as Error).message };
    }
  }

  private async statuses(): Promise<NodeStatus[]> {
    const all = await Promise.all(
      this.node.cfg.roster.nodes.map((n) =>
        n.id === this.node.id
          ? Promise.resolve(this.node.status())
          : this.node.transport.client
              .json<NodeStatus>(n.url, { method: "GET", path: "/v1/status" })
              .catch(() => undefined),
      ),
    );
    return all.filter((s): s is NodeStatus => s !== undefined);
  }

  private async hasWork(round: bigint): Promise<boolean> {
    // A node not yet caught up to `round` may still count events anchored in an earlier round as
    // pending: its count is not work (it would start an empty round); it reports again once caught up.
    const work = (s: NodeStatus) =>
      (s.pendingEvents > 0 && BigInt(s.chainNextRound) >= round) || BigInt(s.lastSignedRound) >= round;
    // This node's own inbox is enough to know there is work: no status round trip to every peer.
    if (work(this.node.status())) return true;
    return (await this.statuses()).some(work);
  }

  private async drive(round: bigint, sw: Stopwatch): Promise<TickResult> {
    // The federations' coordinators run side by side (different processes).
    const outcomes: FederationRoundOutcome[] = await Promise.all(
      this.node.cfg.roster.federations.map((fed) => this.coordinate(fed.name, round)),
    );
    sw.lap("coordinate");
    const root = globalRoot(
      round,
      outcomes.map((o) => ({ origin: o.origin, treeSize: o.treeSize, rootHash: o.rootHash })),
    );
    const checkpoints = [];
    for (const o of outcomes) {
      checkpoints.push({
        federationId: federationIdOf(o.origin),
        epoch: o.epoch,
        treeSize: o.treeSize,
        rootHash: hex(o.rootHash),
        consistencyProof: o.consistencyProof.map(hex),
        signatures: [...o.qc.eip712Signatures],
      });
    }
    checkpoints.sort((a, b) => (BigInt(a.federationId) < BigInt(b.federationId) ? -1 : 1));
    const chain = { chainId: this.node.cfg.domain.chainId, contract: this.node.cfg.domain.anchor };
    // The record (all but the transaction) is on disk BEFORE the transaction: a relay that dies
    // after sending it completes and announces the record when it is back (completePending).
    const draft = anchoredRecord(this.node.cfg.roster, round, hex(root), chain, NO_TX, outcomes);
    const pendingFile = this.pendingFile(round);
    fs.mkdirSync(path.dirname(pendingFile), { recursive: true });
    writeFileAtomic(pendingFile, JSON.stringify(encodeRecord(draft)));
    const input = { round, globalRoot: hex(root), checkpoints };
    const res = await this.cfg.coordinator.stages.time("anchor", () => this.cfg.submitter.submit(input));
    sw.lap("anchorTx");
    await this.cfg.afterAnchorTx?.(round);
    const anchoredAt = Date.now();
    this.node.logger.info("round anchored", { round, status: res.status, tx: res.txHash });
    const record = anchoredRecord(this.node.cfg.roster, round, hex(root), chain, res, outcomes);
    const names = new Map(this.node.cfg.roster.federations.map((f) => [f.config.origin, f.name]));
    // Recorded now (the later laps, announce and record, still land in the same stagesMs object):
    // a reader of GET /v1/stats sees the round as soon as it is anchored.
    this.node.timings.recordAnchored({
      round: round.toString(),
      sizes: Object.fromEntries(outcomes.map((o) => [names.get(o.origin)!, o.treeSize.toString()])),
      entries: outcomes.reduce((a, o) => a + o.batchEntries, 0),
      status: res.status,
      startedAt: sw.startedAt,
      anchoredAt,
      stagesMs: sw.stages,
    });
    // Tell every node (the next proposer starts on it) while this one catches up itself.
    await Promise.all([
      this.node
        .catchUp()
        .then(() => this.node.acceptRecord(record))
        .then((kept) => kept && fs.rmSync(pendingFile, { force: true })),
      this.announce(record).then(() => sw.lap("announce")),
    ]);
    sw.lap("record");
    return { kind: res.status, round, txHash: res.txHash };
  }

  private pendingFile(round: bigint): string {
    return path.join(this.node.cfg.dataDir, PENDING_RECORDS_DIR, `${round}.json`);
  }

  /**
   * Complete the records this node wrote as relay and never kept (it died or failed after sending
   * the transaction): once the chain anchored the round with the same global root, the transaction
   * is read from the GlobalRootAnchored log, the record is kept and announced. A round anchored
   * with another root drops the draft; a round not anchored yet keeps it.
   */
  private async completePending(): Promise<void> {
    const dir = path.join(this.node.cfg.dataDir, PENDING_RECORDS_DIR);
    if (!fs.existsSync(dir)) return;
    for (const name of fs.readdirSync(dir).filter((f) => /^\d+\.json$/.test(f))) {
      const file = path.join(dir, name);
      let draft: AnchoredRound;
      try {
        draft = decodeRecord(JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>);
      } catch (e) {
        // Kept as it is for the operator; the other drafts are still completed.
        this.node.logger.warn("unreadable pending record", { file, error: (e as Error).message });
        continue;
      }
      if (draft.round >= this.node.chainNextRound) continue; // not anchored (yet)
      const root = await this.node.cfg.chain.globalRootOf(draft.round);
      if (root?.toLowerCase() !== draft.globalRoot.toLowerCase()) {
        fs.rmSync(file, { force: true }); // another batch was anchored in that round
        continue;
      }
      const tx = await this.cfg.submitter.anchoredTx(draft.round);
      if (!tx) continue;
      const record = { ...draft, ...tx };
      if (!(await this.node.acceptRecord(record))) continue;
      await this.announce(record);
      fs.rmSync(file, { force: true });
      this.node.logger.info("pending record completed", { round: draft.round, tx: tx.txHash });
    }
  }

  /** Ask a node of federation `name` to coordinate its round (this node when it is a member). */
  private async coordinate(name: string, round: bigint): Promise<FederationRoundOutcome> {
    if (name === this.node.name) return this.cfg.coordinator.run(round);
    const fed = this.node.cfg.roster.federations.find((f) => f.name === name)!;
    const n = fed.nodes.length;
    let last: unknown;
    for (let k = 0; k < n; k++) {
      const target = fed.nodes[Number((round - 1n + BigInt(k)) % BigInt(n))]!;
      const body = JSON.stringify({ round: round.toString() });
      try {
        const res = await this.node.transport.client.request(target.url, {
          method: "POST",
          path: "/v1/round/consensus",
          body,
          headers: { [SIGNATURE_HEADER]: signBody(this.node.id, this.node.cfg.keys.wallet, body) },
          timeoutMs: 30_000,
          tries: 1, // on failure the next node of that federation coordinates
        });
        return decodeOutcome(
          JSON.parse(res.body.toString("utf8")) as Record<string, unknown>,
          this.node.cfg.roster,
        );
      } catch (e) {
        if (!(e instanceof PeerError)) throw e;
        last = e;
      }
    }
    throw new AmpError(`no node of ${name} coordinated round ${round}: ${(last as Error).message}`, {
      kind: "retry-later",
      cause: last,
    });
  }

  private async announce(record: AnchoredRound): Promise<void> {
    const body = JSON.stringify(encodeAnnouncement(record));
    await Promise.all(
      this.node.cfg.roster.nodes
        .filter((n) => n.id !== this.node.id)
        .map((n) =>
          this.node.transport.client
            .request(n.url, { method: "POST", path: "/v1/round/anchored", body, timeoutMs: 2000 })
            .catch(() => undefined),
        ),
    );
  }
}
