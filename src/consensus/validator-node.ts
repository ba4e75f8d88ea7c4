/**
 * ValidatorNode: one federation node's validator role. It keeps its own copy of the federation log,
 * appends each round's batch, computes the checkpoint, checks it extends the last checkpoint it
 * signed, persists its signed state (atomic JSON file) and only then releases its vote. It never
 * signs two different checkpoints for one round.
 */
import fs from "node:fs";
import path from "node:path";
import { FederationLog, type AppendPlan } from "../log";
import { leafHash, rootHash, verifyConsistency } from "../merkle";
import type { NodeKeys } from "../crypto/keys";
import {
  VOTE_CONTEXT,
  checkpointBody,
  formatSignedNote,
  makeSigner,
  parseCheckpointBody,
  parseSignedNote,
  signBodyWith,
  type Checkpoint,
  type NoteSigner,
} from "../crypto/note";
import { inlineMlDsa, type MlDsaBackend } from "../crypto/mldsa";
import { AmpError } from "../util/errors";
import { signClockStamp, type ClockStamp } from "./clock-stamp";
import { writeFileAtomic } from "./atomic-file";
import { BallotRefusedError, PromiseStore } from "./ballots";
import { signCheckpoint } from "./anchor-signature";
import type { FaultInjector } from "./fault-injector";
import type { TransportEndpoint } from "./transport";
import type {
  AnchorDomain,
  BatchDelivery,
  DriftHook,
  Transport,
  Vote,
  VoteRequest,
  VoteResponse,
} from "./types";
import { applyFault } from "./faulty-vote";

export interface ValidatorNodeConfig {
  readonly origin: string;
  readonly keys: NodeKeys;
  /** Directory for this node's signed state (`<nodeId>.validator-state.json`). */
  readonly dataDir: string;
  readonly domain: AnchorDomain;
  readonly faults?: FaultInjector;
  /** Log copy; a fresh in-memory log when omitted. */
  readonly log?: FederationLog;
  /** Where the node's ML-DSA vote signature is computed; this thread by default. */
  readonly mldsa?: MlDsaBackend;
  /** Makes this node drift (tests, demo, benchmark; see src/drift). */
  readonly drift?: DriftHook;
  /**
   * The node's own last ANCHORED checkpoint of this federation (chain-verified, from its archive;
   * never from a peer or a request). Lets a validator whose last signed checkpoint lost to another
   * anchored one sign again on the final history (see `supersededBy`). Without it, never.
   */
  readonly anchored?: () => AnchoredCheckpoint | undefined;
  /** Told when a new vote builds on anchored history that superseded the node's last signed one. */
  readonly onSuperseded?: (info: SupersededVote) => void;
}

/** A checkpoint of this federation anchored on the chain in `round`. */
export interface AnchoredCheckpoint {
  readonly round: bigint;
  readonly treeSize: bigint;
  readonly rootHash: Uint8Array;
}

/** A vote that built on anchored history instead of the node's last signed (losing) checkpoint. */
export interface SupersededVote {
  /** The round of the node's own vote that lost. */
  readonly signedRound: bigint;
  /** The anchored round whose checkpoint the new vote extends. */
  readonly anchoredRound: bigint;
  /** The round voted now. */
  readonly round: bigint;
}

/** The entries behind the node's vote of one round, and the drifted vote if it drifted. */
interface VotedBatch {
  readonly entries: readonly Uint8Array[];
  readonly drifted?: { readonly vote: Vote; readonly equivocate: boolean };
}

/** Rounds whose voted entries are kept for the drift monitor's range-hash queries. */
const VOTED_ROUNDS_KEPT = 4n;

/** The last checkpoint the node signed, persisted before the vote is released. */
interface SignedState {
  readonly round: string;
  readonly treeSize: string;
  readonly rootHex: string;
  /** The batch signed for `round` (absent in states written before sealed proposals). */
  readonly baseSize?: string;
  readonly batchRootHex?: string;
  readonly vote: Vote;
}

/**
 * The entries of the batch in the signed state, persisted BEFORE the state: a coordinator must be
 * able to re-propose a signed batch after its signer restarts, or a round that two validators
 * signed differently can halt with every node up (src/consensus/README.md, "Halting case").
 */
interface SignedBatchFile {
  readonly round: string;
  readonly batchRootHex: string;
  readonly entries: readonly string[];
}

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString("hex");

export { BallotRefusedError } from "./ballots";

/** A validator's answer to a prepare: what it signed, and the ballot it has promised for the round. */
export interface PromiseAnswer {
  /** True when `ballot` is now the round's promise (it was >= every earlier promise). */
  readonly promised: boolean;
  /** The highest ballot promised for the round (the request's when `promised`). */
  readonly ballot: bigint;
  readonly signed: ReturnType<ValidatorNode["signedBatch"]>;
}

export class ValidatorNode implements TransportEndpoint {
  readonly nodeId: string;
  readonly origin: string;
  readonly log: FederationLog;
  readonly signer: NoteSigner;
  private readonly stateFile: string;
  private readonly batchFile: string;
  private state: SignedState | undefined;
  private readonly batches = new Map<string, (Uint8Array | undefined)[]>();
  private transport: Transport | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly voted = new Map<string, VotedBatch>();
  /** Highest ballot promised per round, persisted before any promise is answered. */
  private readonly promises: PromiseStore;

  constructor(private readonly cfg: ValidatorNodeConfig) {
    this.nodeId = cfg.keys.nodeId;
    this.origin = cfg.origin;
    this.log = cfg.log ?? new FederationLog(cfg.origin);
    this.signer = makeSigner(
      `${cfg.origin}/${this.nodeId}`,
      cfg.keys.mldsa.publicKey,
      cfg.keys.mldsa.secretKey,
    );
    fs.mkdirSync(cfg.dataDir, { recursive: true });
    this.stateFile = path.join(cfg.dataDir, `${this.nodeId}.validator-state.json`);
    if (fs.existsSync(this.stateFile)) {
      this.state = JSON.parse(fs.readFileSync(this.stateFile, "utf8")) as SignedState;
    }
    this.batchFile = path.join(cfg.dataDir, `${this.nodeId}.validator-batch.json`);
    this.loadSignedBatch();
    this.promises = new PromiseStore(path.join(cfg.dataDir, `${this.nodeId}.validator-promises.json`));
  }

  /**
   * The signed batch's entries after a restart, when the batch file is the signed state's (same
   * round, same batch root, entries reproducing it); otherwise nothing (a kill between the two
   * writes leaves a newer batch file than the state: it was never signed).
   */
  private loadSignedBatch(): void {
    const s = this.state;
    if (!s?.batchRootHex || !fs.existsSync(this.batchFile)) return;
    let f: SignedBatchFile;
    try {
      f = JSON.parse(fs.readFileSync(this.batchFile, "utf8")) as SignedBatchFile;
    } catch {
      return; // unreadable: the batch cannot be re-proposed from here (as before this file existed)
    }
    const list: unknown = f.entries;
    if (f.round !== s.round || f.batchRootHex !== s.batchRootHex || !Array.isArray(list)) return;
    if (!list.every((e): e is string => typeof e === "string")) return;
    const entries = list.map((e) => new Uint8Array(Buffer.from(e, "base64")));
    if (hexOf(rootHash(entries.map((e) => leafHash(e)))) !== s.batchRootHex) return;
    this.batches.set(s.round, entries);
  }

  /** The highest ballot promised for `round` (0 when none). */
  promisedBallot(round: bigint): bigint {
    return this.promises.get(round);
  }

  /**
   * Prepare (Paxos-style): promise `ballot` for `round` unless a higher one was promised, persist
   * the promise (atomic file, fsync) BEFORE answering, and answer what this node signed. Serialized
   * with vote requests: once answered, no batch of a lower ballot is signed for the round.
   */
  promise(round: bigint, ballot: bigint): Promise<PromiseAnswer> {
    const p = this.queue.then((): PromiseAnswer => {
      const held = this.promises.raise(round, ballot, this.lastSigned()?.round ?? 0n);
      return { promised: held === ballot, ballot: held, signed: this.signedBatch() };
    });
    this.queue = p.catch(() => undefined);
    return p;
  }

  attach(transport: Transport): void {
    this.transport = transport;
  }

  /** The last checkpoint this node signed (round, size, root), if any. */
  lastSigned(): { round: bigint; treeSize: bigint; root: Uint8Array } | undefined {
    const s = this.state;
    if (!s) return undefined;
    return { round: BigInt(s.round), treeSize: BigInt(s.treeSize), root: Buffer.from(s.rootHex, "hex") };
  }

  receiveBatch(batch: BatchDelivery): void {
    if (batch.origin !== this.origin) return;
    this.promises.check(batch.round, batch.ballot);
    let entries: (Uint8Array | undefined)[] = [...batch.entries];
    if (this.cfg.faults?.faultFor(this.nodeId, batch.round) === "drop-events") {
      entries = entries.map((e, i) => (i % 2 === 1 ? undefined : e)); // lose every other entry
    }
    this.batches.set(batch.round.toString(), entries);
    // Keep the previous round's batch for peers that still resync it; drop older ones.
    for (const k of this.batches.keys()) if (BigInt(k) < batch.round - 1n) this.batches.delete(k);
  }

  entries(origin: string, round: bigint, from: number, count: number): Uint8Array[] {
    const b = this.batches.get(round.toString());
    if (origin !== this.origin || !b) return [];
    return b.slice(from, from + count).filter((e): e is Uint8Array => e !== undefined);
  }

  async handleVoteRequest(req: VoteRequest): Promise<VoteResponse> {
    // One request at a time: a vote is signed and persisted before the next request is looked at.
    const honestP = this.queue.then(() => this.honestResponse(req));
    this.queue = honestP.catch(() => undefined);
    const honest = await honestP;
    if (honest.kind !== "vote") return honest;
    const drifted = this.voted.get(req.round.toString())?.drifted;
    const base: VoteResponse = !drifted
      ? honest
      : { kind: "vote", votes: drifted.equivocate ? [honest.votes[0]!, drifted.vote] : [drifted.vote] };
    const fault = this.cfg.faults?.faultFor(this.nodeId, req.round);
    if (fault === undefined || fault === "drop-events") return base;
    return applyFault(fault, base.votes[0]!, this.signer, this.cfg.keys.wallet, this.cfg.domain);
  }

  /** The entries behind this node's vote for `round` (drifted ones if it drifted), if still kept. */
  votedEntries(origin: string, round: bigint): readonly Uint8Array[] | undefined {
    return origin === this.origin ? this.voted.get(round.toString())?.entries : undefined;
  }

  /** The node's signed wall clock for a vote on `body` (skewed by the drift hook in tests). */
  private clockFor(req: VoteRequest, body: string): ClockStamp {
    const now = Date.now() + (this.cfg.drift?.clockSkewMs(this.nodeId, req.round) ?? 0);
    const ctx = { origin: this.origin, epoch: req.epoch, round: req.round, body };
    return signClockStamp(this.cfg.keys.wallet, ctx, now);
  }

  /** The checkpoint the tree `plan` gives for this round, and the node's vote on it (ML-DSA note, EIP-712, clock). */
  private async voteOn(
    req: VoteRequest,
    plan: Pick<AppendPlan, "newSize" | "root">,
  ): Promise<{ cp: Checkpoint; vote: Vote }> {
    const cp: Checkpoint = {
      origin: this.origin,
      treeSize: plan.newSize,
      rootHash: plan.root,
      round: req.round,
      epoch: req.epoch,
    };
    const body = checkpointBody(cp);
    const signature = await signBodyWith(body, this.signer, VOTE_CONTEXT, this.cfg.mldsa ?? inlineMlDsa);
    const vote: Vote = {
      nodeId: this.nodeId,
      note: formatSignedNote({ body, signatures: [signature] }),
      eip712Signature: signCheckpoint(this.cfg.keys.wallet, this.cfg.domain, cp),
      clock: this.clockFor(req, body),
    };
    return { cp, vote };
  }

  /**
   * Drift injection (src/drift): sign a checkpoint over the drifted entries, computed on the log as
   * it is before this round's append. The node's log keeps the delivered entries, so it rejoins
   * the majority when the rule ends (a really drifted node would need a state sync).
   */
  private async prepareDrift(req: VoteRequest, entries: Uint8Array[]): Promise<void> {
    const key = req.round.toString();
    for (const k of this.voted.keys()) if (BigInt(k) <= req.round - VOTED_ROUNDS_KEPT) this.voted.delete(k);
    const d = this.cfg.drift?.driftedEntries(this.nodeId, req.round, entries);
    if (!d) {
      this.voted.set(key, { entries });
      return;
    }
    const plan = this.log.prepareAppend(d.entries.map((e) => leafHash(e)));
    const { vote } = await this.voteOn(req, plan);
    this.voted.set(key, { entries: d.entries, drifted: { vote, equivocate: d.equivocate } });
  }

  private async honestResponse(req: VoteRequest): Promise<VoteResponse> {
    if (req.origin !== this.origin) return { kind: "refused", reason: `not a node of ${req.origin}` };
    // Checked inside the queue: no promise can slip between this check and the signature.
    try {
      this.promises.check(req.round, req.ballot);
    } catch (e) {
      if (e instanceof BallotRefusedError) return { kind: "refused", reason: e.shortMessage };
      throw e;
    }
    const last = this.lastSigned();
    if (last && req.round === last.round) {
      const other = this.otherBatch(req);
      if (other) return { kind: "refused", reason: other };
      await this.catchUp(req, last);
      await this.resignForNewerEpoch(req);
      return { kind: "vote", votes: [this.state!.vote] };
    }
    if (last && req.round < last.round) {
      return { kind: "refused", reason: `round ${req.round} is before round ${last.round} already signed` };
    }
    const entries = await this.completeBatch(req);
    if (!entries) return { kind: "missing", have: this.have(req.round) };
    if (this.log.size < req.baseSize) await this.catchUpPreviousRound(req);
    if (this.log.size !== req.baseSize) {
      return {
        kind: "refused",
        reason: `log is at size ${this.log.size}, request builds on ${req.baseSize}`,
      };
    }
    if (req.batchRoot && hexOf(rootHash(entries.map((e) => leafHash(e)))) !== hexOf(req.batchRoot)) {
      this.batches.delete(req.round.toString()); // wrong entries (a forged delivery or peer): drop them
      return {
        kind: "refused",
        reason: `round ${req.round}: the batch held does not reproduce the batch root`,
      };
    }
    await this.prepareDrift(req, entries);
    const vote = await this.appendAndSign(req, entries);
    return { kind: "vote", votes: [vote] };
  }

  /**
   * The federation rotated its validator set (a newer registry epoch) after this node signed the
   * round: the anchor accepts only the current epoch, so the SAME checkpoint (round, size, root)
   * is signed again under the newer epoch and persisted before it is released. Never for an older
   * epoch, never another checkpoint: one tree per round still holds.
   */
  private async resignForNewerEpoch(req: VoteRequest): Promise<void> {
    const s = this.state!;
    const signedEpoch = parseCheckpointBody(parseSignedNote(s.vote.note).body).epoch;
    if (req.epoch <= signedEpoch) return;
    const { vote } = await this.voteOn(req, {
      newSize: BigInt(s.treeSize),
      root: new Uint8Array(Buffer.from(s.rootHex, "hex")),
    });
    const state: SignedState = { ...s, vote };
    writeFileAtomic(this.stateFile, JSON.stringify(state));
    this.state = state;
  }

  /** Why a request for the round already signed names another batch, if it does. */
  private otherBatch(req: VoteRequest): string | undefined {
    const s = this.state!;
    if (s.baseSize !== undefined && BigInt(s.baseSize) !== req.baseSize) {
      return `round ${req.round} already signed for a batch on base size ${s.baseSize}, not ${req.baseSize}`;
    }
    if (req.batchRoot && s.batchRootHex !== undefined && s.batchRootHex !== hexOf(req.batchRoot)) {
      return `round ${req.round} already signed for batch root ${s.batchRootHex}, not ${hexOf(req.batchRoot)}`;
    }
    return undefined;
  }

  /** The round this node last signed and its batch: what a new proposer must re-propose. */
  signedBatch(): { round: bigint; baseSize: bigint; batchRoot: Uint8Array; treeSize: bigint } | undefined {
    const s = this.state;
    if (!s || s.baseSize === undefined || s.batchRootHex === undefined) return undefined;
    return {
      round: BigInt(s.round),
      baseSize: BigInt(s.baseSize),
      batchRoot: Buffer.from(s.batchRootHex, "hex"),
      treeSize: BigInt(s.treeSize),
    };
  }

  /**
   * After a restart the node's log may lag behind the checkpoint it already signed for this round:
   * re-append the round's batch if it reproduces exactly that checkpoint (else leave the log alone).
   */
  private async catchUp(req: VoteRequest, last: { treeSize: bigint; root: Uint8Array }): Promise<void> {
    if (this.log.size !== req.baseSize || this.log.size >= last.treeSize) return;
    const entries = await this.completeBatch(req);
    if (!entries) return;
    const plan = this.log.prepareAppend(entries.map((e) => leafHash(e)));
    if (plan.newSize !== last.treeSize || !Buffer.from(plan.root).equals(Buffer.from(last.root))) return;
    this.log.store.writeAppend(plan);
    this.log.applyAppend(plan);
  }

  /**
   * A node that missed the previous round (it lacked events when the quorum formed without it)
   * completes that round's batch from its peers and appends it if that reproduces the request's
   * base checkpoint exactly. A node further behind needs a full state sync (not done here).
   */
  private async catchUpPreviousRound(req: VoteRequest): Promise<void> {
    const prev = req.round - 1n;
    const b = this.batches.get(prev.toString());
    if (prev < 1n || !b || this.log.size + BigInt(b.length) !== req.baseSize) return;
    const entries = await this.completeBatch({ ...req, round: prev, batchSize: b.length, attempt: 2 });
    if (!entries) return;
    const plan = this.log.prepareAppend(entries.map((e) => leafHash(e)));
    if (!Buffer.from(plan.root).equals(Buffer.from(req.baseRoot))) return;
    this.log.store.writeAppend(plan);
    this.log.applyAppend(plan);
  }

  private have(round: bigint): number {
    return (this.batches.get(round.toString()) ?? []).filter((e) => e !== undefined).length;
  }

  /** The round's full batch, fetching missing entries from peers on a retry (resync). */
  private async completeBatch(req: VoteRequest): Promise<Uint8Array[] | undefined> {
    const key = req.round.toString();
    const b = this.batches.get(key) ?? [];
    if (b.length !== req.batchSize) b.length = req.batchSize;
    if (req.attempt > 1 && this.transport) {
      for (let i = 0; i < b.length; i++) {
        if (b[i] !== undefined) continue;
        for (const peer of req.peers) {
          const got = await this.transport.fetchEntries(peer, this.origin, req.round, i, 1);
          if (got.length === 1) {
            b[i] = got[0];
            break;
          }
        }
      }
    }
    this.batches.set(key, b);
    for (let i = 0; i < b.length; i++) if (b[i] === undefined) return undefined;
    return b as Uint8Array[];
  }

  private async appendAndSign(req: VoteRequest, entries: Uint8Array[]): Promise<Vote> {
    const last = this.lastSigned();
    const leaves = entries.map((e) => leafHash(e));
    const plan = this.log.prepareAppend(leaves);
    // Sign before the log changes: a signature that fails (a lost worker) leaves the node as it was.
    const { cp, vote } = await this.voteOn(req, plan);
    this.appendChecked(plan, last, req.round);
    const batchRootHex = hexOf(rootHash(leaves));
    const state: SignedState = {
      round: req.round.toString(),
      treeSize: cp.treeSize.toString(),
      rootHex: Buffer.from(cp.rootHash).toString("hex"),
      baseSize: req.baseSize.toString(),
      batchRootHex,
      vote,
    };
    const batch: SignedBatchFile = {
      round: state.round,
      batchRootHex,
      entries: entries.map((e) => Buffer.from(e).toString("base64")),
    };
    writeFileAtomic(this.batchFile, JSON.stringify(batch)); // first: a state never names lost entries
    writeFileAtomic(this.stateFile, JSON.stringify(state));
    this.state = state;
    return vote;
  }

  /**
   * Append, then check the result extends the last checkpoint signed (before any vote is released),
   * or, when that checkpoint lost, the anchored checkpoint that superseded it (`supersededBy`).
   */
  private appendChecked(
    plan: AppendPlan,
    last: { round: bigint; treeSize: bigint; root: Uint8Array } | undefined,
    round: bigint,
  ): void {
    this.log.store.writeAppend(plan);
    const appended = this.log.applyAppend(plan);
    if (!last || last.treeSize === 0n || this.extends(last.treeSize, last.root, appended)) return;
    const anchored = this.supersededBy(last.round, round, appended);
    if (!anchored) {
      throw new AmpError(`node ${this.nodeId}: new checkpoint does not extend the last one it signed`, {
        kind: "bug",
      });
    }
    this.cfg.onSuperseded?.({ signedRound: last.round, anchoredRound: anchored.round, round });
  }

  /** Whether the tree `appended` (this node's log) extends the checkpoint (size, root). */
  private extends(size: bigint, root: Uint8Array, appended: { size: bigint; root: Uint8Array }): boolean {
    if (size > appended.size) return false;
    const proof = this.log.consistencyProof(size, appended.size);
    return verifyConsistency(size, appended.size, proof, root, appended.root);
  }

  /**
   * The anchored checkpoint that makes the node's last signed round final history, when its own
   * checkpoint of `signedRound` lost: anchored in a round >= `signedRound`, before the round voted
   * now, and extended by the new tree. Only the node's own anchored state counts (the config
   * callback), never a request's base. One tree per round still holds: `round` > `signedRound`.
   */
  private supersededBy(
    signedRound: bigint,
    round: bigint,
    appended: { size: bigint; root: Uint8Array },
  ): AnchoredCheckpoint | undefined {
    const a = this.cfg.anchored?.();
    if (!a || a.round < signedRound || round <= a.round || round <= signedRound) return undefined;
    if (a.treeSize === 0n) return a;
    return this.extends(a.treeSize, a.rootHash, appended) ? a : undefined;
  }
}
