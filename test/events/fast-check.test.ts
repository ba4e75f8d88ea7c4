import { expect } from "chai";
import fc from "fast-check";
import { surelyValid } from "../../src/events/fast-check";
import { schemaAccepts, validateEvent } from "../../src/events/validate";
import { makeEvent } from "../fixtures/events";

const base = (digest: boolean): Record<string, unknown> => {
  const e = makeEvent(7, { payload: digest ? "digest" : "inline" }) as unknown as Record<string, unknown>;
  return { ...e, federation_context: { ...(e.federation_context as object) } };
};

const tricky: unknown[] = [
  "",
  "a",
  "EU",
  "ＥＵ",
  "e\u0301",
  "ssid",
  "node-1",
  "a".repeat(64),
  "a".repeat(65),
  "A".repeat(16),
  "A".repeat(17),
  "a".repeat(128),
  "a".repeat(129),
  "identity.credential_issued",
  "identity..x",
  "3b241101-e2bb-4255-8caf-4136c566a962",
  "3B241101-E2BB-4255-8CAF-4136C566A962",
  "3b241101-e2bb-4255-8caf-4136c566a962\n",
  "0".repeat(64),
  "0".repeat(63),
  "f".repeat(64) + "\n",
  "1.0",
  "1.0 ",
  "2026-02-28T23:59:59Z",
  "2026-02-29T00:00:00Z",
  "2024-02-29T00:00:00Z",
  "2100-02-29T00:00:00Z",
  "2000-02-29T00:00:00.123456789Z",
  "2026-04-31T00:00:00Z",
  "2026-00-10T00:00:00Z",
  "2026-13-10T00:00:00Z",
  "2026-01-00T00:00:00Z",
  "2026-01-10T24:00:00Z",
  "2026-01-10T23:60:00Z",
  "2026-01-10T23:59:60Z",
  "2026-01-10T12:59:60Z",
  "2026-01-10T12:00:00.1234567890Z",
  "2026-01-10t12:00:00z",
  "2026-01-10T12:00:00+00:00",
  0,
  1,
  null,
  true,
  [],
  {},
  Object.create(null),
  { federation_id: "ssid", node_id: "n", region: "EU" },
  { federation_id: "ssid", node_id: "n", region: "EU", extra: 1 },
  { federation_id: "ssid", node_id: "n" },
  undefined,
];

const fields = [
  ["schema_version"],
  ["event_id"],
  ["event_type"],
  ["source_module"],
  ["timestamp"],
  ["federation_context"],
  ["federation_context", "federation_id"],
  ["federation_context", "node_id"],
  ["federation_context", "region"],
  ["payload"],
  ["payload_digest"],
  ["extra"],
];

function mutate(e: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  let target = e;
  if (path.length === 2) {
    const inner = e[path[0]!];
    if (typeof inner !== "object" || inner === null) return e;
    // Mutate a copy: the tricky values are shared between runs, and writing into one of them could
    // change later runs or make an object contain itself.
    const copy = Object.create(Object.getPrototypeOf(inner) as object | null) as Record<string, unknown>;
    target = Object.assign(copy, inner);
    e[path[0]!] = target;
  }
  const key = path.at(-1)!;
  if (value === undefined && path.length === 1 && key !== "payload") delete target[key];
  else target[key] = value;
  return e;
}

describe("events: fast validity check (a sufficient condition for the schema)", () => {
  it("accepts the generated benchmark and test events, so the fast path is taken", () => {
    for (let i = 0; i < 500; i++) {
      expect(surelyValid(makeEvent(i, { payload: "digest" }))).to.equal(true);
      expect(surelyValid(makeEvent(i))).to.equal(true);
    }
  });

  it("never accepts what the compiled schema refuses (field mutations, up to three at once)", () => {
    const mutation = fc.tuple(
      fc.constantFrom(...fields),
      fc.oneof(fc.constantFrom(...tricky), fc.anything()),
    );
    let fastTrue = 0;
    let ajvOnly = 0;
    fc.assert(
      fc.property(fc.boolean(), fc.array(mutation, { minLength: 1, maxLength: 3 }), (digest, ms) => {
        const e = ms.reduce((acc, [p, v]) => mutate(acc, p, v), base(digest));
        const fast = surelyValid(e);
        const ajv = schemaAccepts(e);
        if (fast) fastTrue++;
        if (ajv && !fast) ajvOnly++;
        if (fast && !ajv) expect.fail(`fast path accepted ${fc.stringify(e)}, which the schema refuses`);
      }),
      // A fixed seed: 42the two counters below check that the run exercised both sides (fast path taken,
      // schema-only acceptances seen); an unlucky random draw made the second one flaky.
      { numRuns: 8000, seed: 42 },
    );
    expect(fastTrue).to.be.greaterThan(0);
    expect(ajvOnly).to.be.greaterThan(0);
  });

  it("leaves leap seconds and non-plain objects to the schema, which still decides", () => {
    const leap = { ...base(true), timestamp: "2016-12-31T23:59:60Z" };
    expect(surelyValid(leap)).to.equal(false);
    expect(validateEvent(leap).timestamp).to.equal("2016-12-31T23:59:60Z");
    const bare = Object.assign(Object.create(null) as object, base(true));
    expect(surelyValid(bare)).to.equal(false);
    expect(schemaAccepts(bare)).to.equal(true);
  });

  it("refuses an impossible calendar day through the schema's date-time format", () => {
    const e = { ...base(true), timestamp: "2026-02-29T00:00:00Z" };
    expect(surelyValid(e)).to.equal(false);
    expect(() => validateEvent(e)).to.throw(/\/timestamp: must match format "date-time"/);
  });
});
