import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import type { PublicClient } from "viem";
import { federationIdOf } from "../../src/chain/ids";
import { MAX_PROOF_BYTES, ProofInvalidError, verifyProofText } from "../../src/proof/verify";
import {
  MAX_TRUST_BYTES,
  parseTrustPolicy,
  readTrustPolicy,
  serializeTrustPolicy,
  TrustPolicyError,
  writeTrustPolicy,
} from "../../src/trust/policy";
import type { TrustPolicy } from "../../src/trust/policy";
import { tmpDir } from "../e2e/helpers";

const H = "0x" + "ab".repeat(32);
const POLICY: TrustPolicy = {
  format: "amp-trust/v1",
  chainId: "31337",
  anchor: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  registry: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
  anchorCodeHash: H,
  registryCodeHash: H,
  federations: [
    { origin: "amp.local/ssid", federationId: federationIdOf("amp.local/ssid") },
    { origin: "amp.local/opencore", federationId: federationIdOf("amp.local/opencore") },
  ],
};
const text = (x: unknown) => JSON.stringify(x);

describe("trust: the amp-trust/v1 policy", function () {
  it("round-trips through a file written atomically", function () {
    const dir = tmpDir("amp-trust-policy-");
    try {
      const file = path.join(dir, "sub", "trust.json");
      writeTrustPolicy(file, POLICY);
      expect(readTrustPolicy(file)).to.deep.equal(POLICY);
      expect(fs.readdirSync(path.dirname(file))).to.deep.equal(["trust.json"]);
      expect(parseTrustPolicy(serializeTrustPolicy(POLICY))).to.deep.equal(POLICY);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("normalises addresses to EIP-55", function () {
    const p = parseTrustPolicy(text({ ...POLICY, anchor: POLICY.anchor.toLowerCase() }));
    expect(p.anchor).to.equal(POLICY.anchor);
  });

  const bad: [string, unknown, RegExp][] = [
    ["not JSON", "{", /trust policy is not JSON/],
    ["an unknown field", { ...POLICY, extra: 1 }, /\(root\): unknown field "extra"/],
    [
      "an unknown field in a federation",
      { ...POLICY, federations: [{ ...POLICY.federations[0], x: 1 }] },
      /federations\.0: unknown field "x"/,
    ],
    ["another format", { ...POLICY, format: "amp-trust/v2" }, /format: must be equal to constant/],
    ["a missing field", { ...POLICY, registry: undefined }, /must have required property 'registry'/],
    ["a chain id that is not decimal", { ...POLICY, chainId: "0x7a69" }, /chainId: must match pattern/],
    ["a short address", { ...POLICY, anchor: "0x1234" }, /anchor: must match pattern/],
    [
      "an upper-case code hash",
      { ...POLICY, anchorCodeHash: H.toUpperCase().replace("0X", "0x") },
      /anchorCodeHash: must match pattern/,
    ],
    ["no federation", { ...POLICY, federations: [] }, /federations: must NOT have fewer than 1 items/],
    [
      "a federation id that is not SHA-256 of its origin",
      {
        ...POLICY,
        federations: [{ origin: "amp.local/x", federationId: POLICY.federations[0]!.federationId }],
      },
      /federations\.0\.federationId is not SHA-256 of its origin/,
    ],
    [
      "a federation listed twice",
      { ...POLICY, federations: [POLICY.federations[0], POLICY.federations[0]] },
      /federations\.1 is listed twice/,
    ],
  ];
  for (const [what, value, message] of bad) {
    it(`refuses ${what}, naming the field`, function () {
      expect(() => parseTrustPolicy(typeof value === "string" ? value : text(value))).to.throw(
        TrustPolicyError,
        message,
      );
    });
  }

  it("refuses a policy file larger than the limit without parsing it", function () {
    const dir = tmpDir("amp-trust-policy-");
    try {
      const file = path.join(dir, "big.json");
      fs.writeFileSync(file, " ".repeat(MAX_TRUST_BYTES + 1));
      expect(() => readTrustPolicy(file)).to.throw(TrustPolicyError, /more than the 262144 allowed/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a proof text larger than the limit before asking the chain", async function () {
    const noChain = {} as PublicClient; // any chain call would throw a TypeError
    const err = await verifyProofText(" ".repeat(MAX_PROOF_BYTES + 1), noChain, { policy: POLICY }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(ProofInvalidError);
    expect((err as ProofInvalidError).field).to.equal("file");
  });
});
