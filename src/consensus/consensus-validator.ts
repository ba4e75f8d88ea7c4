/**
 * ConsensusValidator: runs one federation's round as coordinator. Delivers the sealed batch,
 * collects votes over the Transport, verifies every vote, records Byzantine evidence, and
 * finalises a checkpoint once validly signed weight is strictly > 2/3 of the federation total.
 * Up to `maxAttempts` (3) attempts, with resync of missing entries between them; then the round
 * fails safely (nothing final, coordinator log unchanged) and an alert is raised.
 */
import { performance } from "node:perf_hooks";
import { FederationLog } from "../log";
import { leafHash, rootHash } from "../merkle";
import { formatSignedNote, parseSignedNote, type Checkpoint, type NoteVerifier } from "../crypto/note";
import { AmpError, InvalidInputError } from "../util/errors";
import { createLogger, type Logger } from "../util/log";
import { sortBySigner } from "./anchor-signature";
import type { EvidenceStore, FaultKind } from "./evidence";
import { hasQuorum, totalWeight } from "./quorum";
import type {
  AnchorDomain,
  FederationConfig,
  FederationMember,
  QuorumCertificate,
  Transport,
  Vote,
  VoteResponse,
} from "./types";
import { checkVote, memberVerifier } from "./vote-check";
import type { MlDsaBackend } from "../crypto/mldsa";
import type { ObservedProposal, VoteObserver } from "./observer";

export interface RoundAlert {
  readonly origin: string;
  readonly round: bigint;
  readonly attempts: number;
  readonly reason: string;
  /** Signed weight per distinct checkpoint body seen in the last attempt. */
  readonly tally: Record<string, string>;
}

export interface ConsensusValidatorConfig {
  readonly federation: FederationConfig;
  readonly domain: AnchorDomain;
  readonly transport: Transport;
  readonly evidence: EvidenceStore;
  /** The coordinator's reference copy of the log; advanced only by final checkpoints. */
  readonly log: FederationLog;
  readonly voteTimeoutMs?: number;
  readonly maxAttempts?: number;
  readonly onAlert?: (alert: RoundAlert) => void;
  readonly logger?: Logger;
  /** Where vote signatures are verified (ML-DSA); this thread by default. */
  readonly mldsa?: MlDsaBackend;
  /** Shown every node's checkpoint after each vote collection, before the round finalises. */
  readonly onVotes?: VoteObserver;
}

export type ConsensusOutcome =
  | {
      readonly status: "final";
      readonly qc: QuorumCertificate;
      readonly attempts: number;
      /** performance.now() when the quorum was first reached. */
      readonly quorumAt: number;
    }
  | { readonly status: "failed"; readonly attempts: number; readonly reason: string };

interface Seen {
  readonly vote: Vote;
  readonly checkpoint: Checkpoint;
}

/** Per-round bookkeeping across attempts. */
class RoundTally {
  readonly seen = new Map<string, Map<string, Seen>>();
  readonly equivocators = new Set<string>();
  readonly recorded = new Set<string>();
  /** Nodes that answered in the last attempt → latency in ms (for the credit ledger). */
  answeredMs = new Map<string, number>();
  /** Date.now() of each node's last answer (for the observer's clock offsets). */
  readonly receivedAt = new Map<string, number>();
  /** Date.now() when the request behind each node's last answer was sent (clock-offset bound). */
  readonly askedAt = new Map<string, number>();
  lastVoteAt = 0;
  quorumAt: number | undefined;

  /** The single body a non-equivocating node signed, if any. */
  bodyOf(nodeId: string): string | undefined {
    const m = this.seen.get(nodeId);
    if (!m || m.size !== 1 || this.equivocators.has(nodeId)) return undefined;
    return [...m.keys()][0];
  }

  weights(members: readonly FederationMember[]): Map<string, bigint> {
    const w = new Map<string, bigint>();
    for (const m of members) {
      const b = this.bodyOf(m.nodeId);
      if (b !== undefined) w.set(b, (w.get(b) ?? 0n) + m.weight);
    }
    return w;
  }
}

const TIMEOUT = Symbol("timeout");

/** A vote request that timed out in an attempt; its answer may still come (observeLate). */
interface LateAnswer {
  readonly member: FederationMember;
  readonly response: Promise<VoteResponse>;
  readonly askedWall: number;
}

/**
 * The certificate carries a minimal quorum: voters in ascending key-name order until their weight
 * exceeds 2/3 (fewer bytes across federations, fewer checks for witnesses, less gas on-chain).
 */
function minimalQuorum(voters: readonly FederationMember[], total: bigint): FederationMember[] {
  const sorted = [...voters].sort((a, b) => (a.keyName < b.keyName ? -1 : a.keyName > b.keyName ? 1 : 0));
  const out: FederationMember[] = [];
  let w = 0n;
  for (const m of sorted) {
    if (hasQuorum(w, total)) break;
    out.push(m);
    w += m.weight;
  }
  return out;
}

export class ConsensusValidator {
  readonly origin: string;
  private readonly members: readonly FederationMember[];
  private readonly verifiers: Map<string, NoteVerifier>;
  private readonly total: bigint;
  private readonly logger: Logger;
  private finalised: { qc: QuorumCertificate; entries: number } | undefined;

  constructor(private readonly cfg: ConsensusValidatorConfig) {
    this.origin = cfg.federation.origin;
    this.members = cfg.federation.members;
    if (this.members.length === 0) throw new InvalidInputError(`federation ${this.origin} has no members`);
    this.verifiers = new Map(this.members.map((m) => [m.nodeId, memberVerifier(m)]));
    this.total = totalWeight(new Map(this.members.map((m) => [m.nodeId, m.weight])));
    this.logger = (cfg.logger ?? createLogger("consensus")).child({ federation: this.origin });
  }

  get federation(): FederationConfig {
    return this.cfg.federation;
  }

  /**
   * Run round `round` over `entries` (canonical event bytes, log order). `ballot` (node layout:
   * the coordinator's prepared ballot) is carried by the batch and every vote request.
   */
  async runRound(round: bigint, entries: readonly Uint8Array[], ballot?: bigint): Promise<ConsensusOutcome> {
    const done = this.finalised;
    if (done && done.qc.checkpoint.round === round) {
      // Already final (the nexus round failed elsewhere and is retried): the same certificate again.
      if (done.entries !== entries.length) {
        throw new InvalidInputError(`round ${round} of ${this.origin} is final with ${done.entries} entries`);
      }
      return { status: "final", qc: done.qc, attempts: 0, quorumAt: performance.now() };
    }
    const leaves = entries.map((e) => leafHash(e));
    const plan = this.cfg.log.prepareAppend(leaves);
    const baseSize = this.cfg.log.size;
    const baseRoot = this.cfg.log.root();
    const batchRoot = rootHash(leaves);
    const tally = new RoundTally();
    const maxAttempts = this.cfg.maxAttempts ?? 3;
    await Promise.all(
      this.members.map((m) =>
        this.cfg.transport.deliverBatch(m.nodeId, {
          origin: this.origin,
          round,
          entries,
          ...(ballot !== undefined ? { ballot } : {}),
        }),
      ),
    );
    let timedOut = new Set<string>();
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const late: LateAnswer[] = [];
      timedOut = await this.collect(
        tally,
        round,
        { baseSize, baseRoot, batchRoot, ...(ballot !== undefined ? { ballot } : {}) },
        entries.length,
        attempt,
        late,
      );
      this.observe(tally, round, attempt, baseSize, { entries, leaves }, plan);
      for (const a of late) this.observeLate(a, tally, round, attempt, baseSize, { entries, leaves }, plan);
      // One turn of the event loop for in-process observers (drift detection before finality).
      if (this.cfg.onVotes) await new Promise<void>((resolve) => setImmediate(resolve));
      const final = this.finalBody(tally);
      if (final === undefined) continue;
      const qc = this.certificate(tally, final);
      if (
        !Buffer.from(qc.checkpoint.rootHash).equals(Buffer.from(plan.root)) ||
        qc.checkpoint.treeSize !== plan.newSize
      ) {
        return this.fail(round, attempt, "quorum checkpoint differs from the coordinator's own log", tally);
      }
      this.cfg.log.store.writeAppend(plan);
      this.cfg.log.applyAppend(plan);
      this.settle(tally, round, attempt, final, timedOut);
      this.recordVotes(tally, round, attempt, baseSize, final);
      this.finalised = { qc, entries: entries.length };
      return { status: "final", qc, attempts: attempt, quorumAt: tally.quorumAt ?? performance.now() };
    }
    this.settle(tally, round, maxAttempts, undefined, timedOut);
    this.recordVotes(tally, round, maxAttempts, baseSize, undefined);
    return this.fail(round, maxAttempts, "no checkpoint reached more than 2/3 of the weight", tally);
  }

  /** One attempt: ask every member, check each vote as it arrives. Returns the nodes that timed out. */
  private async collect(
    tally: RoundTally,
    round: bigint,
    base: { baseSize: bigint; baseRoot: Uint8Array; batchRoot: Uint8Array; ballot?: bigint },
    batchSize: number,
    attempt: number,
    late: LateAnswer[],
  ): Promise<Set<string>> {
    const timedOut = new Set<string>();
    tally.answeredMs = new Map();
    const peers = this.members.map((m) => m.nodeId);
    const fed = this.cfg.federation;
    await Promise.all(
      this.members.map(async (m) => {
        const req = { origin: this.origin, epoch: fed.epoch, round, ...base, batchSize, attempt, peers };
        try {
          const asked = performance.now();
          const askedWall = Date.now();
          const pending = this.cfg.transport.requestVote(m.nodeId, req);
          const res = await this.withTimeout(pending);
          if (res === TIMEOUT) {
            timedOut.add(m.nodeId);
            // Still shown to the observer when it arrives (signed, so checkable late): see observeLate.
            if (this.cfg.onVotes) late.push({ member: m, response: pending, askedWall });
          } else {
            tally.answeredMs.set(m.nodeId, Math.round(performance.now() - asked));
            if (res.kind === "vote") tally.askedAt.set(m.nodeId, askedWall);
            await this.absorb(tally, m, res, round, attempt);
          }
        } catch (e) {
          // A node that failed to answer (transport) or a vote this coordinator could not check (its
          // ML-DSA workers) counts as no vote this attempt, with no evidence against the node.
          // Anything else (a bug, a broken invariant) stops the round.
          if (!(e instanceof AmpError && e.kind === "retry-later")) throw e;
          this.logger.warn("no vote: request or check failed", {
            origin: this.origin,
            round,
            node: m.nodeId,
            error: e.message,
          });
          return;
        }
        if (tally.quorumAt === undefined && this.finalBody(tally) !== undefined)
          tally.quorumAt = performance.now();
      }),
    );
    return timedOut;
  }

  private withTimeout(p: Promise<VoteResponse>): Promise<VoteResponse | typeof TIMEOUT> {
    const ms = this.cfg.voteTimeoutMs ?? 2000;
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<typeof TIMEOUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMEOUT), ms);
    });
    return Promise.race([p, t]).finally(() => clearTimeout(timer));
  }

  /** A member's vote for `round` checked against its pinned keys (ML-DSA note, EIP-712, checkpoint). */
  private check(vote: Vote, m: FederationMember, round: bigint): ReturnType<typeof checkVote> {
    const verifier = this.verifiers.get(m.nodeId)!;
    return checkVote(vote, m, verifier, this.cfg.federation, round, this.cfg.domain, this.cfg.mldsa);
  }

  private async absorb(
    tally: RoundTally,
    m: FederationMember,
    res: VoteResponse,
    round: bigint,
    attempt: number,
  ): Promise<void> {
    if (res.kind !== "vote") {
      this.logger.info("no vote", { origin: this.origin, round, node: m.nodeId, response: res });
      return;
    }
    tally.receivedAt.set(m.nodeId, Date.now());
    for (const vote of res.votes) {
      if (vote.nodeId !== m.nodeId) continue;
      const c = await this.check(vote, m, round);
      if (!c.ok) {
        const kind: FaultKind = c.fault === "malformed" ? "invalid-signature" : c.fault;
        this.evidence(tally, kind, m.nodeId, round, attempt, c.detail, [vote]);
        continue;
      }
      const bodies = tally.seen.get(m.nodeId) ?? new Map<string, Seen>();
      tally.seen.set(m.nodeId, bodies);
      if (!bodies.has(c.body)) this.countCast(m.nodeId);
      tally.lastVoteAt = performance.now();
      bodies.set(c.body, { vote, checkpoint: c.checkpoint });
      if (bodies.size > 1 && !tally.equivocators.has(m.nodeId)) {
        tally.equivocators.add(m.nodeId);
        const votes = [...bodies.values()].map((s) => s.vote);
        this.evidence(
          tally,
          "equivocation",
          m.nodeId,
          round,
          attempt,
          "two different signed checkpoints",
          votes,
        );
      }
    }
  }

  /** Show the observer every node's checkpoint(s); its failure never touches the round. */
  private observe(
    tally: RoundTally,
    round: bigint,
    attempt: number,
    baseSize: bigint,
    batch: { entries: readonly Uint8Array[]; leaves: readonly Uint8Array[] },
    plan: { newSize: bigint; root: Uint8Array },
  ): void {
    const observer = this.cfg.onVotes;
    if (!observer) return;
    try {
      const proposals: ObservedProposal[] = [];
      for (const m of this.members) {
        const bodies = tally.seen.get(m.nodeId);
        if (!bodies) continue;
        proposals.push({
          nodeId: m.nodeId,
          weight: m.weight,
          address: m.address,
          checkpoints: [...bodies].map(([body, s]) => ({ body, checkpoint: s.checkpoint, vote: s.vote })),
          receivedAtMs: tally.receivedAt.get(m.nodeId) ?? Date.now(),
          ...(tally.askedAt.has(m.nodeId) ? { askedAtMs: tally.askedAt.get(m.nodeId)! } : {}),
        });
      }
      observer({
        origin: this.origin,
        epoch: this.cfg.federation.epoch,
        round,
        attempt,
        baseSize,
        entries: batch.entries,
        leafHashes: batch.leaves,
        expected: { treeSize: plan.newSize, rootHash: plan.root },
        proposals,
        silent: this.members.filter((m) => !tally.seen.has(m.nodeId)).map((m) => m.nodeId),
        lastVoteAt: tally.lastVoteAt,
      });
    } catch (e) {
      this.logger.warn("vote observer failed", { origin: this.origin, round, error: e });
    }
  }

  /**
   * A vote that missed the timeout is lost for the round, not for the observer (the drift monitor):
   * when it arrives, its signatures are checked as in `absorb` and the observer sees the round's
   * collection with it added (a copy: the round's tally, evidence and counters are untouched).
   * Nothing is recorded against a late vote that does not verify; it is dropped and logged.
   */
  private observeLate(
    a: LateAnswer,
    tally: RoundTally,
    round: bigint,
    attempt: number,
    baseSize: bigint,
    batch: { entries: readonly Uint8Array[]; leaves: readonly Uint8Array[] },
    plan: { newSize: bigint; root: Uint8Array },
  ): void {
    const m = a.member;
    void a.response
      .then(async (res) => {
        if (res.kind !== "vote") return;
        const checked = new Map<string, Seen>();
        for (const vote of res.votes) {
          if (vote.nodeId !== m.nodeId) continue;
          const c = await this.check(vote, m, round);
          if (c.ok) checked.set(c.body, { vote, checkpoint: c.checkpoint });
          else
            this.logger.info("late vote does not verify: dropped", {
              origin: this.origin,
              round,
              node: m.nodeId,
            });
        }
        const known = tally.seen.get(m.nodeId);
        if (checked.size === 0 || [...checked.keys()].every((b) => known?.has(b))) return;
        const view = new RoundTally();
        for (const [id, bodies] of tally.seen) view.seen.set(id, new Map(bodies));
        for (const [id, t] of tally.receivedAt) view.receivedAt.set(id, t);
        for (const [id, t] of tally.askedAt) view.askedAt.set(id, t);
        view.seen.set(m.nodeId, new Map([...(known ?? []), ...checked]));
        view.receivedAt.set(m.nodeId, Date.now());
        view.askedAt.set(m.nodeId, a.askedWall);
        view.lastVoteAt = performance.now();
        this.observe(view, round, attempt, baseSize, batch, plan);
      })
      .catch((e: unknown) =>
        this.logger.info("late vote not observed", { origin: this.origin, round, node: m.nodeId, error: e }),
      );
  }

  private countCast(nodeId: string): void {
    this.cfg.evidence.countersFor(this.origin, nodeId).votesCast++;
  }

  private evidence(
    tally: RoundTally,
    kind: FaultKind,
    nodeId: string,
    round: bigint,
    attempt: number,
    detail: string,
    votes: readonly Vote[],
  ): void {
    const key = `${kind}/${nodeId}`;
    if (tally.recorded.has(key)) return;
    tally.recorded.add(key);
    this.logger.warn("byzantine evidence", { origin: this.origin, round, node: nodeId, kind, detail });
    this.cfg.evidence.record({
      kind,
      origin: this.origin,
      round: round.toString(),
      nodeId,
      attempt,
      detail,
      notes: votes.map((v) => v.note),
      eip712Signatures: votes.map((v) => v.eip712Signature),
    });
  }

  private finalBody(tally: RoundTally): string | undefined {
    for (const [body, w] of tally.weights(this.members)) if (hasQuorum(w, this.total)) return body;
    return undefined;
  }

  private certificate(tally: RoundTally, body: string): QuorumCertificate {
    const voters = minimalQuorum(
      this.members.filter((m) => tally.bodyOf(m.nodeId) === body),
      this.total,
    );
    const seen = voters.map((m) => ({ m, s: tally.seen.get(m.nodeId)!.get(body)! }));
    const signatures = seen
      .map(({ s }) => parseSignedNote(s.vote.note).signatures[0]!)
      .sort((a, b) => (a.keyName < b.keyName ? -1 : a.keyName > b.keyName ? 1 : 0));
    return {
      checkpoint: seen[0]!.s.checkpoint,
      note: formatSignedNote({ body, signatures }),
      signers: voters.map((m) => m.nodeId),
      signedWeight: voters.reduce((a, m) => a + m.weight, 0n),
      totalWeight: this.total,
      eip712Signatures: sortBySigner(
        seen.map(({ m, s }) => ({ address: m.address, signature: s.vote.eip712Signature })),
      ),
    };
  }

  /** Evidence for wrong roots and withheld votes; participation and accuracy counters. */
  private settle(
    tally: RoundTally,
    round: bigint,
    attempt: number,
    final: string | undefined,
    timedOut: Set<string>,
  ): void {
    for (const m of this.members) {
      const c = this.cfg.evidence.countersFor(this.origin, m.nodeId);
      c.roundsExpected++;
      const body = tally.bodyOf(m.nodeId);
      if (tally.seen.has(m.nodeId)) c.roundsParticipated++;
      if (final !== undefined && body === final) c.correctVotes++;
      if (final !== undefined && body !== undefined && body !== final) {
        const s = tally.seen.get(m.nodeId)!.get(body)!;
        this.evidence(
          tally,
          "wrong-root",
          m.nodeId,
          round,
          attempt,
          "signed a checkpoint other than the final one",
          [s.vote],
        );
      }
      if (timedOut.has(m.nodeId) && !tally.seen.has(m.nodeId)) {
        this.evidence(tally, "withheld-vote", m.nodeId, round, attempt, "no vote before the timeout", []);
      }
    }
    this.cfg.evidence.flush();
  }

  /** The round's signed votes for the credit ledger (src/credits). */
  private recordVotes(
    tally: RoundTally,
    round: bigint,
    attempt: number,
    baseSize: bigint,
    final: string | undefined,
  ): void {
    this.cfg.evidence.recordRound({
      origin: this.origin,
      round: round.toString(),
      attempt,
      baseSize: baseSize.toString(),
      final: final ?? null,
      members: this.members.map((m) => m.nodeId),
      votes: this.members.flatMap((m) =>
        [...(tally.seen.get(m.nodeId)?.values() ?? [])].map((s) => ({
          nodeId: m.nodeId,
          note: s.vote.note,
          eip712Signature: s.vote.eip712Signature,
        })),
      ),
      answeredMs: Object.fromEntries(tally.answeredMs),
      settledAt: Date.now(),
    });
  }

  private fail(round: bigint, attempts: number, reason: string, tally: RoundTally): ConsensusOutcome {
    const t: Record<string, string> = {};
    for (const [body, w] of tally.weights(this.members)) t[body] = w.toString();
    const alert: RoundAlert = { origin: this.origin, round, attempts, reason, tally: t };
    this.logger.error("round failed", { ...alert });
    this.cfg.onAlert?.(alert);
    return { status: "failed", attempts, reason };
  }
}
