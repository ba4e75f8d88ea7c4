/**
 * Measured credit inputs of every node for one allocation epoch, from what the nodes actually did:
 * the settled rounds' signed votes (`RoundVotes`, consensus `votes.jsonl`), Byzantine evidence,
 * drift findings (optional provider) and the bytes a node's archive holds. Pure: the sources are
 * passed in, nothing is read here (see ./sources.ts for the data-dir reader).
 */
import { createHash } from "node:crypto";
import type { Evidence, FaultKind, RoundVotes } from "../consensus/evidence";
import { parseCheckpointBody, parseSignedNote } from "../crypto/note";
import { canonicalJson } from "../merkle";
import { InvalidInputError } from "../util/errors";
import { ratioPpm, type CreditInputs } from "./score";

/** Findings the drift monitor (src/drift) holds against each node; wired in after merging. */
export interface DriftFindingsProvider {
  /** Count of findings against each node of `origin` in rounds [fromRound, toRound]. */
  findingsFor(origin: string, fromRound: bigint, toRound: bigint): ReadonlyMap<string, number>;
}

/** Everything the measurement reads. */
export interface CreditSources {
  /** Settled rounds of every federation, any order. */
  readonly rounds: readonly RoundVotes[];
  /** Byzantine evidence of every federation. */
  readonly evidence: readonly Evidence[];
  /** Bytes a full replica of `origin`'s log holds at `size` entries. */
  storageBytes(origin: string, size: bigint): bigint;
  readonly drift?: DriftFindingsProvider | undefined;
}

/** A federation's nodes, as allocated (every member gets an allocation, active or not). */
export interface CreditFederation {
  readonly origin: string;
  readonly nodeIds: readonly string[];
}

/** Half-open window [startMs, endMs) of epoch `epoch` (epoch·epochSeconds seconds since 1970). */
export interface EpochWindow {
  readonly epoch: bigint;
  readonly startMs: number;
  readonly endMs: number;
}

export function epochWindow(epoch: bigint, epochSeconds: number): EpochWindow {
  const len = BigInt(epochSeconds) * 1000n;
  return { epoch, startMs: Number(epoch * len), endMs: Number((epoch + 1n) * len) };
}

export function epochOf(ms: number, epochSeconds: number): bigint {
  return BigInt(Math.floor(ms / (epochSeconds * 1000)));
}

/** Evidence an allocation used: what and where, and SHA-256 of the evidence line's JCS. */
export interface EvidenceRef {
  readonly kind: FaultKind;
  readonly round: string;
  readonly sha256: string;
}

/** The raw counts behind the inputs (all recomputable from the signed votes and evidence). */
export interface CreditCounts {
  readonly roundsExpected: number;
  readonly roundsVoted: number;
  readonly roundsAnswered: number;
  readonly votesCast: number;
  readonly correctVotes: number;
  /** Evidence without a counted vote (invalid/wrong-length signature, withheld vote). */
  readonly penalties: number;
  readonly driftFindings: number;
  readonly leavesValidated: bigint;
  /** Largest final tree size the node signed up to the epoch's end. */
  readonly storedTreeSize: bigint;
  readonly storageBytes: bigint;
  /** Median vote latency (ms) over the rounds it answered; null if it answered none. */
  readonly medianLatencyMs: number | null;
}

export interface NodeMeasurement {
  readonly origin: string;
  readonly nodeId: string;
  /** First and last round of the node's federation in the epoch (null: none settled). */
  readonly rounds: { readonly from: string; readonly to: string } | null;
  readonly counts: CreditCounts;
  readonly inputs: CreditInputs;
  /** Uptime: rounds answered / rounds expected, ppm (ranking only). */
  readonly uptimePpm: bigint;
  readonly evidence: readonly EvidenceRef[];
}

/** Evidence kinds without a counted vote: each one is a penalty in the accuracy denominator. */
const PENALTY_KINDS: ReadonlySet<FaultKind> = new Set([
  "invalid-signature",
  "wrong-length-signature",
  "withheld-vote",
]);

export function evidenceRef(e: Evidence): EvidenceRef {
  const sha256 = createHash("sha256").update(canonicalJson(e)).digest("hex");
  return { kind: e.kind, round: e.round, sha256 };
}

function treeSizeOf(body: string, where: string): bigint {
  try {
    return parseCheckpointBody(body).treeSize;
  } catch (cause) {
    throw new InvalidInputError(`${where}: final checkpoint body does not parse`, { cause });
  }
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

function measureNode(
  fed: CreditFederation,
  nodeId: string,
  inEpoch: readonly RoundVotes[],
  upToEnd: readonly RoundVotes[],
  evidence: readonly Evidence[],
  sources: CreditSources,
): NodeMeasurement {
  let expected = 0;
  let voted = 0;
  let answered = 0;
  let correct = 0;
  let leaves = 0n;
  const latencies: number[] = [];
  for (const r of inEpoch) {
    if (!r.members.includes(nodeId)) continue;
    expected++;
    const bodies = new Set(r.votes.filter((v) => v.nodeId === nodeId).map((v) => noteBody(v.note)));
    if (bodies.size > 0) voted++;
    const ms = r.answeredMs[nodeId];
    if (ms !== undefined) {
      answered++;
      latencies.push(ms);
    }
    if (r.final !== null && bodies.size === 1 && bodies.has(r.final)) {
      correct++;
      leaves += treeSizeOf(r.final, `${r.origin} round ${r.round}`) - BigInt(r.baseSize);
    }
  }
  let stored = 0n;
  for (const r of upToEnd) {
    if (r.final === null) continue;
    const signed = r.votes.some((v) => v.nodeId === nodeId && noteBody(v.note) === r.final);
    if (!signed) continue;
    const size = treeSizeOf(r.final, `${r.origin} round ${r.round}`);
    if (size > stored) stored = size;
  }
  const mine = evidence.filter((e) => e.nodeId === nodeId);
  const penalties = new Set(mine.filter((e) => PENALTY_KINDS.has(e.kind)).map((e) => `${e.kind}/${e.round}`))
    .size;
  const rounds = roundRange(inEpoch);
  const drift =
    rounds && sources.drift
      ? (sources.drift.findingsFor(fed.origin, BigInt(rounds.from), BigInt(rounds.to)).get(nodeId) ?? 0)
      : 0;
  const storageBytes = stored > 0n ? sources.storageBytes(fed.origin, stored) : 0n;
  const counts: CreditCounts = {
    roundsExpected: expected,
    roundsVoted: voted,
    roundsAnswered: answered,
    votesCast: voted,
    correctVotes: correct,
    penalties,
    driftFindings: drift,
    leavesValidated: leaves,
    storedTreeSize: stored,
    storageBytes,
    medianLatencyMs: median(latencies),
  };
  return {
    origin: fed.origin,
    nodeId,
    rounds,
    counts,
    inputs: {
      proofsValidated: leaves,
      validationAccuracyPpm: ratioPpm(BigInt(correct), BigInt(voted + penalties + drift)),
      storageBytes,
      consensusParticipationPpm: ratioPpm(BigInt(voted), BigInt(expected)),
    },
    uptimePpm: ratioPpm(BigInt(answered), BigInt(expected)),
    evidence: mine.map(evidenceRef).sort((a, b) => cmp(a.round, b.round) || cmp(a.sha256, b.sha256)),
  };
}

function cmp(a: string, b: string): number {
  if (a.length !== b.length && /^\d+$/.test(a) && /^\d+$/.test(b)) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

function roundRange(rs: readonly RoundVotes[]): { from: string; to: string } | null {
  if (rs.length === 0) return null;
  const ns = rs.map((r) => BigInt(r.round));
  const min = ns.reduce((a, b) => (b < a ? b : a));
  const max = ns.reduce((a, b) => (b > a ? b : a));
  return { from: min.toString(), to: max.toString() };
}

/** The checkpoint body of a signed note (the text before the blank line). */
export function noteBody(note: string): string {
  try {
    return parseSignedNote(note).body;
  } catch (cause) {
    throw new InvalidInputError("a vote in the ledger is not a signed note", { cause });
  }
}

/**
 * Inputs of every member of every federation for `window`. A round belongs to the epoch in which
 * it settled (`settledAt`); the last settlement of a round number wins (a re-proposed round).
 */
export function measureEpoch(
  window: EpochWindow,
  federations: readonly CreditFederation[],
  sources: CreditSources,
): NodeMeasurement[] {
  const latest = new Map<string, RoundVotes>();
  for (const r of sources.rounds) {
    if (r.settledAt >= window.endMs) continue;
    const key = `${r.origin}\n${r.round}`;
    const prev = latest.get(key);
    if (!prev || prev.settledAt <= r.settledAt) latest.set(key, r);
  }
  const out: NodeMeasurement[] = [];
  for (const fed of federations) {
    const upToEnd = [...latest.values()].filter((r) => r.origin === fed.origin);
    const inEpoch = upToEnd.filter((r) => r.settledAt >= window.startMs);
    const roundSet = new Set(inEpoch.map((r) => r.round));
    const evidence = sources.evidence.filter((e) => e.origin === fed.origin && roundSet.has(e.round));
    for (const nodeId of fed.nodeIds) out.push(measureNode(fed, nodeId, inEpoch, upToEnd, evidence, sources));
  }
  return out;
}
