/**
 * Coordinator: runs one federation's consensus for one round from one of that federation's nodes,
 * over HTTP, then has the other federations' nodes witness the final checkpoint.
 *
 * 1. The archive is brought to the chain (catch-up), so the round builds on the anchored log.
 * 2. The batch, once validators of > 2/3 of the weight promised the round's ballot (prepare): the
 *    batch validators already signed for this round, the one with the most signed weight (fetched
 *    from a signer and checked against its batch root: a re-proposal after a crash, by this or
 *    another coordinator, is the same batch); else this node's sealed proposal; else the oldest pending
 *    events of every node's inbox, taken round-robin (≤ maxBatch, duplicates and anchored events
 *    dropped). It is persisted (temp + fsync + rename) BEFORE any vote is asked for.
 * 3. ConsensusValidator collects the votes over HttpTransport (signed requests).
 * 4. Each node of every other federation is sent the QC as a C2SP add-checkpoint; a 409 gives the
 *    size the witness holds and the request is re-sent with a proof from there.
 */
import fs from "node:fs";
import path from "node:path";
import { ConsensusValidator } from "../consensus/consensus-validator";
import { writeFileAtomic } from "../consensus/atomic-file";
import { BallotRefusedError } from "../consensus/validator-node";
import { EvidenceStore } from "../consensus/evidence";
import { hasQuorum } from "../consensus/quorum";
import type {
  BatchDelivery,
  FederationConfig,
  QuorumCertificate,
  Transport,
  VoteRequest,
  VoteResponse,
} from "../consensus/types";
import type { VoteObserver } from "../consensus/observer";
import { formatSignedNote, parseSignedNote, type NoteSignature } from "../crypto/note";
import { FederationLog } from "../log";
import { leafHash, rootHash } from "../merkle";
import { PeerError } from "../transport/client";
import { decodeEntries, type PromiseAnswerWire } from "../transport/wire";
import { AmpError } from "../util/errors";
import type { FederationNode } from "./node";
import type { RosterFederation } from "./roster";
import { signedWire } from "./http";
import { StageClock } from "./stages";
import { Stopwatch } from "./timings";

export interface FederationRoundOutcome {
  readonly origin: string;
  readonly round: bigint;
  readonly epoch: bigint;
  readonly treeSize: bigint;
  readonly rootHash: Uint8Array;
  readonly qc: QuorumCertificate;
  /** The QC note with the witnesses' cosignature lines. */
  readonly cosignedNote: string;
  readonly batchEntries: number;
  /** Size anchored before this round and the RFC 9162 consistency proof from it (empty from 0). */
  readonly anchoredFromSize: bigint;
  readonly consistencyProof: readonly Uint8Array[];
}

interface StoredProposal {
  round: string;
  baseSize: string;
  entries: string[];
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

export class Coordinator {
  private cached:
    { round: bigint; cv: ConsensusValidator; log: FederationLog; federation: FederationConfig } | undefined;
  /** The reference log, kept across rounds: extended by each final batch, rebuilt only on mismatch. */
  private log: FederationLog | undefined;
  private readonly evidence: EvidenceStore;
  private readonly transport: Transport;
  /** Stage timings of the rounds this node runs (seal, quorum, witness; anchor by the driver). */
  readonly stages = new StageClock();
  private readonly voteObservers: VoteObserver[] = [];

  constructor(
    private readonly node: FederationNode,
    private readonly maxBatch = 1000,
  ) {
    this.evidence = new EvidenceStore(path.join(node.cfg.dataDir, "evidence"));
    this.transport = selfFirst(node);
  }

  private get file(): string {
    return path.join(this.node.cfg.dataDir, "sealed-proposal.json");
  }

  /**
   * Show `o` every vote collection of the rounds this node coordinates, before the round finalises
   * (the drift monitor, src/drift). Observers MUST NOT block: see ConsensusValidatorConfig.onVotes.
   */
  addVoteObserver(o: VoteObserver): void {
    this.voteObservers.push(o);
    this.cached = undefined;
  }

  async run(round: bigint): Promise<FederationRoundOutcome> {
    const sw = new Stopwatch();
    await this.node.catchUp();
    sw.lap("catchUp");
    const ballot = this.nextBallot();
    const entries = await this.stages.time("seal", () => this.batch(round, ballot));
    sw.lap("batch");
    const { cv, log } = this.consensus(round);
    sw.lap("log");
    const out = await this.stages.time("quorum", () => cv.runRound(round, entries, ballot));
    if (out.status !== "final") {
      throw new AmpError(`${this.node.origin} round ${round}: ${out.reason}`, { kind: "retry-later" });
    }
    sw.lap("votes");
    const finalAt = Date.now();
    const cosignedNote = await this.stages.time("witness", () => this.witness(out.qc, log));
    sw.lap("witness");
    const cp = out.qc.checkpoint;
    this.node.timings.recordFinal({
      round: round.toString(),
      federation: this.node.name,
      treeSize: cp.treeSize.toString(),
      entries: entries.length,
      startedAt: sw.startedAt,
      finalAt,
      stagesMs: sw.stages,
    });
    const from = this.node.archiveLog.size;
    return {
      origin: this.node.origin,
      round,
      epoch: cp.epoch,
      treeSize: cp.treeSize,
      rootHash: cp.rootHash,
      qc: out.qc,
      cosignedNote,
      batchEntries: entries.length,
      anchoredFromSize: from,
      consistencyProof: from === 0n || from === cp.treeSize ? [] : log.consistencyProof(from, cp.treeSize),
    };
  }

  private consensus(round: bigint): { cv: ConsensusValidator; log: FederationLog } {
    // A rotation followed since (new epoch and weights: a new config object) needs a new validator.
    const federation = this.node.federation.config;
    if (this.cached?.round === round && this.cached.federation === federation) return this.cached;
    const log = this.referenceLog();
    const cv = new ConsensusValidator({
      federation,
      domain: this.node.cfg.domain,
      transport: this.transport,
      evidence: this.evidence,
      log,
      voteTimeoutMs: 3000,
      ...(this.node.cfg.mldsa ? { mldsa: this.node.cfg.mldsa } : {}),
      ...(this.voteObservers.length > 0 ? { onVotes: (c) => this.voteObservers.forEach((o) => o(c)) } : {}),
    });
    this.cached = { round, cv, log, federation };
    return this.cached;
  }

  /**
   * The archived (anchored) log as the coordinator's reference copy, kept across rounds. When the
   * kept copy is a prefix of the archive (the usual case: its final batch was anchored, and rounds
   * coordinated by other nodes since were archived by catch-up) it is extended by the archive's
   * leaf hashes since: O(new entries), not O(log size). Only a copy that is not a prefix (first
   * round, or its final batch was not the one anchored) is rebuilt from the whole archive.
   */
  private referenceLog(): FederationLog {
    const archived = this.node.archiveLog;
    const kept = this.log;
    if (
      kept &&
      kept.size <= archived.size &&
      hex(kept.root()) === hex(kept.size === archived.size ? archived.root() : archived.rootAt(kept.size))
    ) {
      if (kept.size < archived.size) {
        kept.append(this.node.archive.leafHashes(this.node.name, kept.size, archived.size));
      }
      return kept;
    }
    const log = new FederationLog(this.node.origin);
    const base = archived.size;
    if (base > 0n) log.append(this.node.archive.leafHashes(this.node.name, 0n, base));
    this.rebuilds++;
    this.log = log;
    return log;
  }

  /** The highest ballot a validator told this coordinator it promised (to pick a higher one). */
  private ballotSeen = 0n;

  /**
   * This run's ballot: wall clock ms * 1000 + the node's position in its federation (unique per
   * coordinator, so two coordinators never share a ballot), above every promise seen refused.
   */
  private nextBallot(): bigint {
    const pos = BigInt(this.fed.nodes.findIndex((n) => n.id === this.node.id));
    const ms = BigInt(Date.now());
    const floor = this.ballotSeen / 1000n + 1n;
    return (ms > floor ? ms : floor) * 1000n + pos;
  }

  /** Times the reference log was rebuilt from the archive (tests: once, then incremental). */
  rebuilds = 0;

  /** The round's batch (see file comment, step 2), persisted before it is returned. */
  private async batch(round: bigint, ballot: bigint): Promise<Uint8Array[]> {
    const base = this.node.archiveLog.size;
    const stored = this.load(round, base);
    // A batch a validator already signed for R wins over this coordinator's own earlier proposal,
    // which may never have been signed: re-proposing that one would stall R (found by the kill
    // campaign: validators then also dropped the signed batch they held for catch-up).
    const { entries: signed, answered } = await this.signedByPeer(round, base, stored, ballot);
    // Lock rule, liveness side: nothing is proposed — neither a fresh batch nor a re-proposal —
    // unless the validators whose signed state is known weigh > 2/3 (they PROMISED this run's
    // ballot). Otherwise an unreachable validator may hold another signed batch for R; the others
    // would sign a batch that, without the unreachable weight, cannot become final, and once the
    // returning validator's batch and theirs split the weight so that neither can reach > 2/3
    // (a 3-validator federation needs the heaviest node and one other), R halts for good (found by
    // the kill campaign; test/node/halting.test.ts). Waiting costs nothing: without the unknown
    // weight no batch could become final anyway. A validator that promised then signs no batch of
    // a lower ballot, so two coordinators racing with fresh batches cannot both get signatures.
    const total = this.fed.nodes.reduce((a, n) => a + n.member.weight, 0n);
    if (!hasQuorum(answered, total)) {
      throw new AmpError(
        `${this.node.origin} round ${round}: validators of more than 1/3 of the weight did not promise ballot ${ballot}; not proposing a batch`,
        { kind: "retry-later" },
      );
    }
    const entries = signed ?? stored ?? (await this.collectPending());
    if (entries === stored) return stored;
    const p: StoredProposal = {
      round: round.toString(),
      baseSize: base.toString(),
      entries: entries.map((e) => Buffer.from(e).toString("base64")),
    };
    writeFileAtomic(this.file, JSON.stringify(p));
    return entries;
  }

  private load(round: bigint, base: bigint): Uint8Array[] | undefined {
    if (!fs.existsSync(this.file)) return undefined;
    const p = JSON.parse(fs.readFileSync(this.file, "utf8")) as StoredProposal;
    if (BigInt(p.round) !== round || BigInt(p.baseSize) !== base) return undefined;
    return p.entries.map((e) => new Uint8Array(Buffer.from(e, "base64")));
  }

  /**
   * Prepare: every validator is asked to promise `ballot` for the round and say what it signed.
   * Returns the batch a validator already signed for this round on this base, if any (lock rule),
   * and the weight of the validators that promised the ballot (they answered, or this node).
   */
  private async signedByPeer(
    round: bigint,
    base: bigint,
    stored: Uint8Array[] | undefined,
    ballot: bigint,
  ): Promise<{ entries: Uint8Array[] | undefined; answered: bigint }> {
    const storedRoot = stored && hex(rootHash(stored.map((e) => leafHash(e))));
    const answers = await Promise.all(
      this.fed.nodes.map(async (peer): Promise<PromiseAnswerWire | undefined> => {
        if (peer.id === this.node.id) {
          const a = await this.node.validator.promise(round, ballot);
          return { promised: a.promised, ballot: a.ballot.toString(), signed: signedWire(a.signed) };
        }
        // undefined: no answer (unknown state).
        return this.node.transport.promise(peer.id, { origin: this.node.origin, round, ballot });
      }),
    );
    let answered = 0n;
    answers.forEach((a, i) => {
      if (a?.promised === true) answered += this.fed.nodes[i]!.member.weight;
      else if (a && BigInt(a.ballot) > this.ballotSeen) this.ballotSeen = BigInt(a.ballot);
    });
    // Signed batches of this round on this base, heaviest signed weight first (then manifest order).
    // A batch that is final has > 1/3 of its weight among any > 2/3 that promised, every other
    // batch < 1/3: it always comes first. Otherwise the heaviest is the one that can still reach
    // > 2/3 with the validators that signed nothing yet, if any can.
    const groups = new Map<string, { weight: bigint; signers: number[]; size: number }>();
    answers.forEach((a, i) => {
      const signed = a?.signed;
      if (!signed?.batchRoot || signed.round !== round.toString() || signed.baseSize !== base.toString())
        return;
      const g = groups.get(signed.batchRoot) ?? { weight: 0n, signers: [], size: signed.batchSize ?? 0 };
      g.weight += this.fed.nodes[i]!.member.weight;
      g.signers.push(i);
      groups.set(signed.batchRoot, g);
    });
    const ordered = [...groups].sort(([, x], [, y]) =>
      x.weight !== y.weight ? (y.weight > x.weight ? 1 : -1) : x.signers[0]! - y.signers[0]!,
    );
    for (const [root, g] of ordered) {
      if (storedRoot === root) return { entries: stored, answered };
      for (const i of g.signers) {
        const got = await this.entriesOf(this.fed.nodes[i]!.id, round, g.size);
        if (got && hex(rootHash(got.map((e) => leafHash(e)))) === root) return { entries: got, answered };
      }
    }
    return { entries: undefined, answered };
  }

  private async entriesOf(peerId: string, round: bigint, count: number): Promise<Uint8Array[] | undefined> {
    if (peerId === this.node.id) return this.node.batchEntries(this.node.origin, round, 0, count);
    const got = await this.node.transport.fetchEntries(peerId, this.node.origin, round, 0, count);
    return got.length === count ? got : undefined;
  }

  /**
   * Oldest pending events of every reachable node, round-robin, deduplicated, ≤ maxBatch. Each node
   * is asked for its share (⌈maxBatch / n⌉) first, not maxBatch: under load every node holds more
   * than its share and sending maxBatch each moved n times what the batch takes. Only when the
   * shares leave room (uneven load, duplicates) are the nodes that filled theirs asked for more.
   */
  private async collectPending(): Promise<Uint8Array[]> {
    const nodes = this.fed.nodes;
    const share = Math.ceil(this.maxBatch / nodes.length);
    let lists = await Promise.all(nodes.map((peer) => this.inboxOf(peer, share)));
    let out = this.interleave(lists);
    if (out.length < this.maxBatch && lists.some((l) => l.length >= share)) {
      lists = await Promise.all(
        nodes.map((peer, i) =>
          lists[i]!.length >= share ? this.inboxOf(peer, this.maxBatch) : Promise.resolve(lists[i]!),
        ),
      );
      out = this.interleave(lists);
    }
    return out;
  }

  /** The oldest `limit` pending events of `peer` (none when it does not answer). */
  private async inboxOf(peer: { id: string; url: string }, limit: number): Promise<Uint8Array[]> {
    if (peer.id === this.node.id) return this.node.pending(limit).map((e) => e.canonical);
    try {
      const o = await this.node.transport.client.json<{ events?: unknown }>(peer.url, {
        method: "GET",
        path: `/v1/inbox?limit=${limit}`,
      });
      return Array.isArray(o.events) ? decodeEntries(o.events, `inbox of ${peer.id}`) : [];
    } catch (e) {
      if (!(e instanceof PeerError)) throw e;
      return [];
    }
  }

  /** Round-robin over the lists, dropping duplicates and anchored events, ≤ maxBatch. */
  private interleave(lists: readonly Uint8Array[][]): Uint8Array[] {
    const out: Uint8Array[] = [];
    const seen = new Set<string>();
    for (let i = 0; out.length < this.maxBatch && lists.some((l) => i < l.length); i++) {
      for (const l of lists) {
        const e = l[i];
        if (!e || out.length >= this.maxBatch) continue;
        const id = eventIdOf(e);
        if (id === undefined || seen.has(id) || this.node.archive.getEvent(id)) continue;
        seen.add(id);
        out.push(e);
      }
    }
    return out;
  }

  private get fed(): RosterFederation {
    return this.node.federation;
  }

  /** Cosignatures of every other federation's nodes; each needs > 2/3 of its federation's weight. */
  private async witness(qc: QuorumCertificate, log: FederationLog): Promise<string> {
    const note = parseSignedNote(qc.note);
    const cosignatures: NoteSignature[] = [];
    for (const other of this.node.cfg.roster.federations) {
      if (other === this.fed) continue;
      const sigs = await Promise.all(other.nodes.map((w) => this.addCheckpoint(w.url, qc, log)));
      let weight = 0n;
      sigs.forEach((s, i) => {
        if (!s) return;
        cosignatures.push(s);
        weight += other.nodes[i]!.member.weight;
      });
      const total = other.nodes.reduce((a, n) => a + n.member.weight, 0n);
      if (!hasQuorum(weight, total)) {
        throw new AmpError(
          `${this.node.origin} round ${qc.checkpoint.round}: not witnessed by > 2/3 of ${other.name}`,
          {
            kind: "retry-later",
          },
        );
      }
    }
    return formatSignedNote({ body: note.body, signatures: [...note.signatures, ...cosignatures] });
  }

  private async addCheckpoint(
    url: string,
    qc: QuorumCertificate,
    log: FederationLog,
  ): Promise<NoteSignature | undefined> {
    let old = this.node.archiveLog.size; // what the witnesses hold when the last round was anchored
    for (let attempt = 0; attempt < 2; attempt++) {
      const size = qc.checkpoint.treeSize;
      const proof = old === 0n || old >= size ? [] : log.consistencyProof(old, size);
      const body = [`old ${old}`, ...proof.map((p) => Buffer.from(p).toString("base64")), "", qc.note].join(
        "\n",
      );
      try {
        const res = await this.node.transport.client.request(url, {
          method: "POST",
          path: "/v1/witness/add-checkpoint",
          body,
          contentType: "text/plain",
          timeoutMs: 3000,
          tries: 1, // a witness that does not answer in time is one cosignature less, not a stall
          retryConflict: false,
        });
        const line = res.body.toString("utf8");
        return parseSignedNote(`${parseSignedNote(qc.note).body}\n${line}`).signatures[0];
      } catch (e) {
        if (e instanceof PeerError && e.status === 409 && /^\d+\n?$/.test(e.body)) {
          old = BigInt(e.body.trim());
          continue;
        }
        this.node.logger.warn("no cosignature", { url, error: (e as Error).message });
        return undefined;
      }
    }
    return undefined;
  }
}

/**
 * The coordinator's consensus transport: its own validator is called directly (the same methods
 * the HTTP routes call, without a signed HTTP round trip to itself), every peer over HttpTransport.
 */
function selfFirst(node: FederationNode): Transport {
  const http = node.transport;
  return {
    deliverBatch: (id: string, batch: BatchDelivery): Promise<void> => {
      if (id !== node.id) return http.deliverBatch(id, batch);
      // As over HTTP: a batch refused (a higher ballot promised) shows as the vote's refusal.
      try {
        node.validator.receiveBatch(batch);
      } catch (e) {
        if (!(e instanceof BallotRefusedError)) throw e;
      }
      return Promise.resolve();
    },
    requestVote: (id: string, req: VoteRequest): Promise<VoteResponse> =>
      id !== node.id
        ? http.requestVote(id, req)
        : node.validator.handleVoteRequest(req).catch((e: unknown) => {
            // As over HTTP: a validator that fails to answer is "no vote this attempt".
            throw new AmpError(`no vote from ${id}: ${(e as Error).message}`, {
              kind: "retry-later",
              cause: e,
            });
          }),
    fetchEntries: (id, origin, round, from, count) =>
      id === node.id
        ? Promise.resolve(node.batchEntries(origin, round, from, count))
        : http.fetchEntries(id, origin, round, from, count),
  };
}

function eventIdOf(e: Uint8Array): string | undefined {
  try {
    const id = (JSON.parse(Buffer.from(e).toString("utf8")) as { event_id?: unknown }).event_id;
    return typeof id === "string" ? id : undefined;
  } catch {
    return undefined;
  }
}
