import { expect } from "chai";
import {
  DEFAULT_CREDIT_PARAMS,
  creditParamsFrom,
  creditScore,
  formatFixed,
  governanceWeight,
  parseFixed,
  ratioPpm,
  type CreditInputs,
} from "../../src/credits/score";
import { InvalidInputError } from "../../src/util/errors";

const GB = 1_000_000_000n;

/** The seed gives only scores; these inputs are chosen so that the formula lands on them. */
const SEED: [string, CreditInputs, string, string][] = [
  [
    "eu-node-001",
    {
      proofsValidated: 10_000n,
      validationAccuracyPpm: 1_000_000n,
      storageBytes: 445n * GB,
      consensusParticipationPpm: 1_000_000n,
    },
    "4489.0000",
    "0.897800",
  ],
  [
    "us-node-002",
    {
      proofsValidated: 8_000n,
      validationAccuracyPpm: 960_000n,
      storageBytes: 410n * GB,
      consensusParticipationPpm: 980_000n,
    },
    "3668.0000",
    "0.733600",
  ],
  [
    "apac-node-003",
    {
      proofsValidated: 5_000n,
      validationAccuracyPpm: 900_000n,
      storageBytes: 360n * GB,
      consensusParticipationPpm: 850_000n,
    },
    "2427.0000",
    "0.485400",
  ],
];

describe("credits: score and governance weight", function () {
  it("reproduces the seed's figures 4489 → 0.8978, 3668 → 0.7336, 2427 → 0.4854", function () {
    expect(governanceWeight(4489).decimal).to.equal("0.897800");
    expect(governanceWeight(3668).decimal).to.equal("0.733600");
    expect(governanceWeight(2427).decimal).to.equal("0.485400");
    expect(Number(governanceWeight("4489.0").decimal)).to.equal(0.8978);
    for (const [node, inputs, score, weight] of SEED) {
      const s = creditScore(inputs);
      expect(s.decimal, node).to.equal(score);
      expect(governanceWeight(s).decimal, node).to.equal(weight);
    }
  });

  it("caps the weight at 1 and scales it with max_score", function () {
    expect(governanceWeight(5000).ppm).to.equal(1_000_000n);
    expect(governanceWeight(99_999).decimal).to.equal("1.000000");
    expect(governanceWeight(4489, 10_000).decimal).to.equal("0.448900");
    expect(governanceWeight(0).decimal).to.equal("0.000000");
  });

  it("truncates every division (floor, documented rounding)", function () {
    // 1 byte of storage is 0.2·10^-9 score: below the 10^-4 resolution, truncated to 0.
    const tiny = {
      proofsValidated: 0n,
      validationAccuracyPpm: 0n,
      storageBytes: 1n,
      consensusParticipationPpm: 0n,
    };
    expect(creditScore(tiny).scaled).to.equal(0n);
    // 1 ppm of accuracy is 0.0003 score exactly.
    expect(creditScore({ ...tiny, storageBytes: 0n, validationAccuracyPpm: 1n }).decimal).to.equal("0.0003");
    // 1/3 score → 0.3333, never 0.3334; 2/3 of the weight truncates likewise.
    expect(governanceWeight("3333.3333").decimal).to.equal("0.666666");
    expect(ratioPpm(2n, 3n)).to.equal(666_666n);
    expect(ratioPpm(5n, 0n)).to.equal(0n);
  });

  it("gives identical bytes for identical inputs (no floating point)", function () {
    const a = creditScore(SEED[1]![1]);
    const b = creditScore({ ...SEED[1]![1] });
    expect(a).to.deep.equal(b);
    expect(formatFixed(123n, 6)).to.equal("0.000123");
    expect(parseFixed("0.1", 4, "x")).to.equal(1000n);
  });

  it("takes coefficients and max_score from the manifest's credit section", function () {
    const p = creditParamsFrom({
      weights: {
        proofs_validated: 0.4,
        validation_accuracy: 0.3,
        storage_contribution_gb: 0.2,
        consensus_participation: 0.1,
      },
      max_score: 5000,
      epoch_seconds: 3600,
      adaptive_weights: false,
    });
    expect(p).to.deep.equal(DEFAULT_CREDIT_PARAMS);
    const q = creditParamsFrom({
      weights: {
        proofs_validated: 0.7,
        validation_accuracy: 0.1,
        storage_contribution_gb: 0.1,
        consensus_participation: 0.1,
      },
      max_score: 9000,
      epoch_seconds: 60,
      adaptive_weights: false,
    });
    expect(creditScore(SEED[0]![1], q).decimal).to.equal("7244.5000");
  });

  describe("refuses", function () {
    it("inputs out of range, naming the field", function () {
      const bad = { ...SEED[0]![1], validationAccuracyPpm: 1_000_001n };
      expect(() => creditScore(bad)).to.throw(InvalidInputError, /validationAccuracyPpm/);
      expect(() => creditScore({ ...SEED[0]![1], proofsValidated: -1n })).to.throw(
        InvalidInputError,
        /proofsValidated/,
      );
      expect(() => creditScore({ ...SEED[0]![1], storageBytes: 1 as unknown as bigint })).to.throw(
        /storageBytes/,
      );
    });

    it("scores that are not exact decimals, and a bad max_score", function () {
      expect(() => governanceWeight("4489.00001")).to.throw(InvalidInputError, /more than 4 decimals/);
      expect(() => governanceWeight(-1)).to.throw(InvalidInputError, /non-negative decimal/);
      expect(() => governanceWeight(1, 0)).to.throw(InvalidInputError, /max_score/);
    });

    it("manifest coefficients with more than 4 decimals or a fractional max_score", function () {
      const weights = {
        proofs_validated: 0.40005,
        validation_accuracy: 0.3,
        storage_contribution_gb: 0.2,
        consensus_participation: 0.09995,
      };
      expect(() =>
        creditParamsFrom({ weights, max_score: 5000, epoch_seconds: 1, adaptive_weights: false }),
      ).to.throw(/proofs_validated/);
      const ok = {
        proofs_validated: 0.4,
        validation_accuracy: 0.3,
        storage_contribution_gb: 0.2,
        consensus_participation: 0.1,
      };
      expect(() =>
        creditParamsFrom({ weights: ok, max_score: 4999.5, epoch_seconds: 1, adaptive_weights: false }),
      ).to.throw(/max_score/);
    });
  });
});
