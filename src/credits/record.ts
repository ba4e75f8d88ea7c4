/**
 * The allocation record (RFC 8785 JSON) and its hash: allocation_hash = SHA-256(JCS(record)).
 * Every derived field (node_ref, inputs, credit_score, governance_weight) is recomputed by
 * `checkRecord`, which names the first field that does not follow from the others.
 */
import { createHash, randomBytes } from "node:crypto";
import { canonicalJson } from "../merkle";
import { InvalidInputError } from "../util/errors";
import type { EvidenceRef, NodeMeasurement } from "./measure";
import {
  BYTES_PER_GB,
  PPM,
  creditScore,
  formatFixed,
  governanceWeight,
  ratioPpm,
  type CreditInputs,
  type CreditParams,
} from "./score";

export const ALLOCATION_FORMAT = "amp-credit-allocation/v1";
export const ZERO_HASH = "0x" + "00".repeat(32);

export interface AllocationRecord {
  readonly format: typeof ALLOCATION_FORMAT;
  readonly epoch: string;
  readonly epoch_seconds: number;
  readonly origin: string;
  readonly node: string;
  /** SHA-256("amp/node/v1\n" + origin + "\n" + node), 0x-hex: the receipt's node reference. */
  readonly node_ref: string;
  readonly rounds: { readonly from: string; readonly to: string } | null;
  readonly counts: {
    readonly rounds_expected: number;
    readonly rounds_voted: number;
    readonly rounds_answered: number;
    readonly votes_cast: number;
    readonly correct_votes: number;
    readonly penalties: number;
    readonly drift_findings: number;
    readonly leaves_validated: string;
    readonly stored_tree_size: string;
    readonly storage_bytes: string;
    readonly median_latency_ms: number | null;
  };
  readonly inputs: {
    readonly proofs_validated: string;
    readonly validation_accuracy: string;
    readonly storage_contribution_gb: string;
    readonly consensus_participation: string;
  };
  readonly params: {
    readonly coefficients_bp: {
      readonly proofs_validated: string;
      readonly validation_accuracy: string;
      readonly storage_contribution_gb: string;
      readonly consensus_participation: string;
    };
    readonly max_score: string;
  };
  readonly credit_score: string;
  readonly governance_weight: string;
  readonly evidence: readonly EvidenceRef[];
  readonly prev_allocation_hash: string;
  /** 32 random bytes, 0x-hex: the hash cannot be brute-forced back to the inputs. */
  readonly salt: string;
}

/** nodeRef per docs/interfaces.md: SHA-256("amp/node/v1\n" + origin + "\n" + nodeId), 0x-hex. */
export function nodeRefOf(origin: string, nodeId: string): string {
  return "0x" + createHash("sha256").update(`amp/node/v1\n${origin}\n${nodeId}`, "utf8").digest("hex");
}

export function allocationHash(record: AllocationRecord): string {
  return "0x" + createHash("sha256").update(canonicalJson(record), "utf8").digest("hex");
}

function inputsText(i: CreditInputs): AllocationRecord["inputs"] {
  return {
    proofs_validated: i.proofsValidated.toString(),
    validation_accuracy: formatFixed(i.validationAccuracyPpm, 6),
    storage_contribution_gb: formatFixed(i.storageBytes, 9),
    consensus_participation: formatFixed(i.consensusParticipationPpm, 6),
  };
}

function paramsText(p: CreditParams): AllocationRecord["params"] {
  const c = p.coefficientsBp;
  return {
    coefficients_bp: {
      proofs_validated: c.proofsValidated.toString(),
      validation_accuracy: c.validationAccuracy.toString(),
      storage_contribution_gb: c.storageContributionGb.toString(),
      consensus_participation: c.consensusParticipation.toString(),
    },
    max_score: p.maxScore.toString(),
  };
}

export interface BuildRecordOptions {
  readonly epoch: bigint;
  readonly epochSeconds: number;
  readonly params: CreditParams;
  readonly prevAllocationHash: string;
  /** 32 bytes; random by default. */
  readonly salt?: Uint8Array;
}

export function buildRecord(m: NodeMeasurement, o: BuildRecordOptions): AllocationRecord {
  const salt = o.salt ?? randomBytes(32);
  if (salt.length !== 32) throw new InvalidInputError(`salt must be 32 bytes, got ${salt.length}`);
  const score = creditScore(m.inputs, o.params);
  const c = m.counts;
  return {
    format: ALLOCATION_FORMAT,
    epoch: o.epoch.toString(),
    epoch_seconds: o.epochSeconds,
    origin: m.origin,
    node: m.nodeId,
    node_ref: nodeRefOf(m.origin, m.nodeId),
    rounds: m.rounds,
    counts: {
      rounds_expected: c.roundsExpected,
      rounds_voted: c.roundsVoted,
      rounds_answered: c.roundsAnswered,
      votes_cast: c.votesCast,
      correct_votes: c.correctVotes,
      penalties: c.penalties,
      drift_findings: c.driftFindings,
      leaves_validated: c.leavesValidated.toString(),
      stored_tree_size: c.storedTreeSize.toString(),
      storage_bytes: c.storageBytes.toString(),
      median_latency_ms: c.medianLatencyMs,
    },
    inputs: inputsText(m.inputs),
    params: paramsText(o.params),
    credit_score: score.decimal,
    governance_weight: governanceWeight(score, o.params.maxScore).decimal,
    evidence: m.evidence,
    prev_allocation_hash: o.prevAllocationHash,
    salt: "0x" + Buffer.from(salt).toString("hex"),
  };
}

/** A record field that is missing, of the wrong shape or inconsistent with the others. */
export class AllocationRecordError extends InvalidInputError {
  override name = "AllocationRecordError";
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`allocation record field ${field}: ${problem}`, { meta: { field } });
  }
}

const HASH_RE = /^0x[0-9a-f]{64}$/;
const UINT_RE = /^(0|[1-9][0-9]*)$/;

function need(cond: boolean, field: string, problem: string): void {
  if (!cond) throw new AllocationRecordError(field, problem);
}

function uintField(v: unknown, field: string): bigint {
  need(typeof v === "string" && UINT_RE.test(v), field, "must be a decimal integer string");
  return BigInt(v as string);
}

function countField(v: unknown, field: string): number {
  need(typeof v === "number" && Number.isSafeInteger(v) && v >= 0, field, "must be a non-negative integer");
  return v as number;
}

function obj(v: unknown, field: string): Record<string, unknown> {
  need(typeof v === "object" && v !== null && !Array.isArray(v), field, "must be an object");
  return v as Record<string, unknown>;
}

/** `o` holds no member other than `keys` (the record's hash covers every byte: nothing unchecked). */
function only(o: Record<string, unknown>, keys: readonly string[], field: string): void {
  for (const k of Object.keys(o))
    need(keys.includes(k), `${field}.${k}`, "is not a field of an allocation record");
}

const COUNT_KEYS = [
  "rounds_expected",
  "rounds_voted",
  "rounds_answered",
  "votes_cast",
  "correct_votes",
  "penalties",
  "drift_findings",
  "leaves_validated",
  "stored_tree_size",
  "storage_bytes",
  "median_latency_ms",
];

const KEYS = [
  "format",
  "epoch",
  "epoch_seconds",
  "origin",
  "node",
  "node_ref",
  "rounds",
  "counts",
  "inputs",
  "params",
  "credit_score",
  "governance_weight",
  "evidence",
  "prev_allocation_hash",
  "salt",
];

/**
 * Checks shape and every derived field: node_ref from origin/node, inputs from counts, score from
 * inputs and params, weight from score. Throws AllocationRecordError naming the field.
 */
export function checkRecord(raw: unknown): AllocationRecord {
  const r = obj(raw, "/");
  for (const k of Object.keys(r)) need(KEYS.includes(k), k, "is not a field of an allocation record");
  for (const k of KEYS) need(k in r, k, "is missing");
  need(r.format === ALLOCATION_FORMAT, "format", `must be "${ALLOCATION_FORMAT}"`);
  uintField(r.epoch, "epoch");
  need(countField(r.epoch_seconds, "epoch_seconds") > 0, "epoch_seconds", "must be positive");
  need(typeof r.origin === "string" && r.origin.length > 0, "origin", "must be a non-empty string");
  need(typeof r.node === "string" && r.node.length > 0, "node", "must be a non-empty string");
  need(
    r.node_ref === nodeRefOf(r.origin as string, r.node as string),
    "node_ref",
    "is not SHA-256(amp/node/v1, origin, node)",
  );
  need(
    typeof r.prev_allocation_hash === "string" && HASH_RE.test(r.prev_allocation_hash),
    "prev_allocation_hash",
    "must be a 0x-hex 32-byte hash",
  );
  need(typeof r.salt === "string" && HASH_RE.test(r.salt), "salt", "must be 32 bytes of 0x-hex");
  need(Array.isArray(r.evidence), "evidence", "must be an array");
  for (const [i, e] of (r.evidence as unknown[]).entries()) {
    const ev = obj(e, `evidence.${i}`);
    only(ev, ["kind", "round", "sha256"], `evidence.${i}`);
    need(
      typeof ev.kind === "string" && /^[a-z-]{1,64}$/.test(ev.kind),
      `evidence.${i}.kind`,
      "must be a fault kind",
    );
    uintField(ev.round, `evidence.${i}.round`);
    need(
      typeof ev.sha256 === "string" && /^[0-9a-f]{64}$/.test(ev.sha256),
      `evidence.${i}.sha256`,
      "must be 64 hex digits",
    );
  }
  if (r.rounds !== null) {
    const rr = obj(r.rounds, "rounds");
    only(rr, ["from", "to"], "rounds");
    need(
      uintField(rr.from, "rounds.from") <= uintField(rr.to, "rounds.to"),
      "rounds.to",
      "is before rounds.from",
    );
  }
  const c = obj(r.counts, "counts");
  only(c, COUNT_KEYS, "counts");
  need(
    c.median_latency_ms === null ||
      (Number.isSafeInteger(c.median_latency_ms) && (c.median_latency_ms as number) >= 0),
    "counts.median_latency_ms",
    "must be null or a non-negative integer",
  );
  const n = (k: string) => countField(c[k], `counts.${k}`);
  const expected = n("rounds_expected");
  const voted = n("rounds_voted");
  n("rounds_answered");
  need(n("votes_cast") === voted, "counts.votes_cast", "must equal counts.rounds_voted");
  const correct = n("correct_votes");
  need(correct <= voted, "counts.correct_votes", "exceeds counts.votes_cast");
  need(voted <= expected, "counts.rounds_voted", "exceeds counts.rounds_expected");
  need(n("rounds_answered") <= expected, "counts.rounds_answered", "exceeds counts.rounds_expected");
  const denominator = voted + n("penalties") + n("drift_findings");
  const leaves = uintField(c.leaves_validated, "counts.leaves_validated");
  uintField(c.stored_tree_size, "counts.stored_tree_size");
  const bytes = uintField(c.storage_bytes, "counts.storage_bytes");
  const inputs: CreditInputs = {
    proofsValidated: leaves,
    validationAccuracyPpm: ratioPpm(BigInt(correct), BigInt(denominator)),
    storageBytes: bytes,
    consensusParticipationPpm: ratioPpm(BigInt(voted), BigInt(expected)),
  };
  const want = inputsText(inputs);
  const got = obj(r.inputs, "inputs");
  only(got, Object.keys(want), "inputs");
  for (const [k, v] of Object.entries(want)) {
    need(got[k] === v, `inputs.${k}`, `is ${JSON.stringify(got[k])} but the counts give ${v}`);
  }
  const p = obj(r.params, "params");
  only(p, ["coefficients_bp", "max_score"], "params");
  const cb = obj(p.coefficients_bp, "params.coefficients_bp");
  only(
    cb,
    ["proofs_validated", "validation_accuracy", "storage_contribution_gb", "consensus_participation"],
    "params.coefficients_bp",
  );
  const coef = (k: string) => uintField(cb[k], `params.coefficients_bp.${k}`);
  const params: CreditParams = {
    coefficientsBp: {
      proofsValidated: coef("proofs_validated"),
      validationAccuracy: coef("validation_accuracy"),
      storageContributionGb: coef("storage_contribution_gb"),
      consensusParticipation: coef("consensus_participation"),
    },
    maxScore: uintField(p.max_score, "params.max_score"),
  };
  need(params.maxScore > 0n, "params.max_score", "must be positive");
  const score = creditScore(inputs, params);
  need(
    r.credit_score === score.decimal,
    "credit_score",
    `is ${JSON.stringify(r.credit_score)} but the inputs give ${score.decimal}`,
  );
  const weight = governanceWeight(score, params.maxScore).decimal;
  need(
    r.governance_weight === weight,
    "governance_weight",
    `is ${JSON.stringify(r.governance_weight)} but the score gives ${weight}`,
  );
  return raw as AllocationRecord;
}

/** The seed's storage figure of a record (bytes / 10^9), for display. */
export function storageGb(bytes: bigint): string {
  return formatFixed((bytes * PPM) / BYTES_PER_GB, 6);
}
