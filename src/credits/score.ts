/**
 * The credit formula (PROTOCOL §9) in exact integer arithmetic, so every node computes the same
 * bytes on every platform:
 *
 *   credit_score = proofs_validated·cP + validation_accuracy·1000·cA
 *                + storage_contribution_gb·cS + consensus_participation·1000·cC
 *   governance_weight = min(credit_score / max_score, 1)
 *
 * Fixed point (see README.md "Arithmetic"): coefficients in basis points (1/10 000), accuracy and
 * participation in millionths (ppm), storage in bytes (1 GB = 10^9 bytes), the score in
 * ten-thousandths (`scaled` = score·10^4), the weight in millionths. Every division truncates
 * toward zero (all values are non-negative, so this is floor). No floating point is used.
 */
import type { CreditConfig } from "../manifest/types";
import { InvalidInputError } from "../util/errors";

/** Scale of the score: `scaled` = score·10^4 (four decimals). */
export const SCORE_DECIMALS = 4;
/** Scale of accuracy, participation, uptime and the weight: millionths. */
export const PPM = 1_000_000n;
/** Bytes in one storage GB (decimal, as the seed's `storage_contribution_gb`). */
export const BYTES_PER_GB = 1_000_000_000n;
const SCORE_SCALE = 10n ** BigInt(SCORE_DECIMALS);

/** The measured inputs of one node for one epoch, in fixed point. */
export interface CreditInputs {
  /** Leaves the node appended and voted on in final checkpoints (a count). */
  readonly proofsValidated: bigint;
  /** Correct votes / (votes cast + penalties), in millionths (0..1 000 000). */
  readonly validationAccuracyPpm: bigint;
  /** Bytes the node's archive holds (storage_contribution_gb = bytes / 10^9). */
  readonly storageBytes: bigint;
  /** Rounds voted / rounds expected, in millionths (0..1 000 000). */
  readonly consensusParticipationPpm: bigint;
}

/** Coefficients in basis points (0.4 → 4000); `maxScore` a positive integer. */
export interface CreditParams {
  readonly coefficientsBp: {
    readonly proofsValidated: bigint;
    readonly validationAccuracy: bigint;
    readonly storageContributionGb: bigint;
    readonly consensusParticipation: bigint;
  };
  readonly maxScore: bigint;
}

/** The seed's coefficients 0.4 / 0.3 / 0.2 / 0.1 and max_score 5000. */
export const DEFAULT_CREDIT_PARAMS: CreditParams = {
  coefficientsBp: {
    proofsValidated: 4000n,
    validationAccuracy: 3000n,
    storageContributionGb: 2000n,
    consensusParticipation: 1000n,
  },
  maxScore: 5000n,
};

export interface CreditScore {
  /** score·10^4, truncated. */
  readonly scaled: bigint;
  /** The score with four decimals, e.g. "4489.0000". */
  readonly decimal: string;
}

export interface GovernanceWeight {
  /** weight·10^6, truncated, at most 1 000 000. */
  readonly ppm: bigint;
  /** The weight with six decimals, e.g. "0.897800". */
  readonly decimal: string;
}

/** `n / 10^digits` as a decimal string with exactly `digits` decimals (n ≥ 0). */
export function formatFixed(n: bigint, digits: number): string {
  if (n < 0n) throw new InvalidInputError(`fixed-point value must be ≥ 0, got ${n}`);
  const s = n.toString().padStart(digits + 1, "0");
  return digits === 0 ? s : `${s.slice(0, -digits)}.${s.slice(-digits)}`;
}

/** Parses a non-negative decimal ("4489", "4489.5", 4489) into value·10^digits, exactly. */
export function parseFixed(value: string | number | bigint, digits: number, what: string): bigint {
  if (typeof value === "bigint") {
    if (value < 0n) throw new InvalidInputError(`${what} must be ≥ 0, got ${value}`);
    return value * 10n ** BigInt(digits);
  }
  const text = typeof value === "number" ? String(value) : value;
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new InvalidInputError(`${what} must be a non-negative decimal, got "${text}"`);
  const frac = m[2] ?? "";
  if (frac.replace(/0+$/, "").length > digits) {
    throw new InvalidInputError(`${what} has more than ${digits} decimals: "${text}"`);
  }
  return BigInt(m[1]!) * 10n ** BigInt(digits) + BigInt(frac.padEnd(digits, "0").slice(0, digits) || "0");
}

/** `num·10^6 / den` truncated; 0 when `den` is 0. */
export function ratioPpm(num: bigint, den: bigint): bigint {
  if (num < 0n || den < 0n) throw new InvalidInputError(`ratio ${num}/${den} has a negative term`);
  if (den === 0n) return 0n;
  const r = (num * PPM) / den;
  return r > PPM ? PPM : r;
}

function checkInputs(i: CreditInputs): void {
  const fields: [string, bigint, bigint | undefined][] = [
    ["proofsValidated", i.proofsValidated, undefined],
    ["validationAccuracyPpm", i.validationAccuracyPpm, PPM],
    ["storageBytes", i.storageBytes, undefined],
    ["consensusParticipationPpm", i.consensusParticipationPpm, PPM],
  ];
  for (const [name, v, max] of fields) {
    if (typeof v !== "bigint" || v < 0n || (max !== undefined && v > max)) {
      throw new InvalidInputError(
        `credit input ${name} must be an integer in [0, ${max ?? "∞"}], got ${String(v)}`,
        { meta: { field: name } },
      );
    }
  }
}

/**
 * credit_score of one node's inputs. Exact: N = cP·P·10^9 + cA·acc·10^6 + cS·bytes + cC·part·10^6
 * is the score in units of 10^-13 (bp · ppm · 1000 · GB scaling); `scaled` = floor(N / 10^9).
 */
export function creditScore(inputs: CreditInputs, params: CreditParams = DEFAULT_CREDIT_PARAMS): CreditScore {
  checkInputs(inputs);
  const c = params.coefficientsBp;
  const n =
    c.proofsValidated * inputs.proofsValidated * 1_000_000_000n +
    c.validationAccuracy * inputs.validationAccuracyPpm * 1_000_000n +
    c.storageContributionGb * inputs.storageBytes +
    c.consensusParticipation * inputs.consensusParticipationPpm * 1_000_000n;
  const scaled = n / 1_000_000_000n;
  return { scaled, decimal: formatFixed(scaled, SCORE_DECIMALS) };
}

/**
 * governance_weight = min(score / maxScore, 1) in millionths, truncated. `score` is a CreditScore
 * or a decimal with at most four decimals (4489 → 0.897800).
 */
export function governanceWeight(
  score: CreditScore | string | number | bigint,
  maxScore: bigint | number = DEFAULT_CREDIT_PARAMS.maxScore,
): GovernanceWeight {
  const scaled = typeof score === "object" ? score.scaled : parseFixed(score, SCORE_DECIMALS, "credit score");
  const max = BigInt(maxScore);
  if (max <= 0n) throw new InvalidInputError(`max_score must be a positive integer, got ${max}`);
  let ppm = (scaled * PPM) / (max * SCORE_SCALE);
  if (ppm > PPM) ppm = PPM;
  return { ppm, decimal: formatFixed(ppm, 6) };
}

/** A manifest fraction (0.4) as exact basis points (4000); more than 4 decimals is refused. */
function basisPoints(x: number, field: string): bigint {
  const bp = Math.round(x * 10_000);
  if (!Number.isFinite(x) || x < 0 || Math.abs(x * 10_000 - bp) > 1e-6) {
    throw new InvalidInputError(`manifest ${field} must be a fraction with at most 4 decimals, got ${x}`, {
      meta: { field },
    });
  }
  return BigInt(bp);
}

/** Exact parameters from the manifest's `credit` section. */
export function creditParamsFrom(credit: CreditConfig): CreditParams {
  const w = credit.weights;
  if (!Number.isSafeInteger(credit.max_score) || credit.max_score <= 0) {
    throw new InvalidInputError(
      `manifest /credit/max_score must be a positive integer, got ${credit.max_score}`,
      {
        meta: { field: "/credit/max_score" },
      },
    );
  }
  return {
    coefficientsBp: {
      proofsValidated: basisPoints(w.proofs_validated, "/credit/weights/proofs_validated"),
      validationAccuracy: basisPoints(w.validation_accuracy, "/credit/weights/validation_accuracy"),
      storageContributionGb: basisPoints(
        w.storage_contribution_gb,
        "/credit/weights/storage_contribution_gb",
      ),
      consensusParticipation: basisPoints(
        w.consensus_participation,
        "/credit/weights/consensus_participation",
      ),
    },
    maxScore: BigInt(credit.max_score),
  };
}
