import { expect } from "chai";
import fc from "fast-check";
import {
  canonicalBytes,
  DEFAULT_EVENT_LIMITS,
  digestPayload,
  eventLeaf,
  InvalidInputError,
  leafHash,
  parseAndPrepareEvent,
  parseEventJson,
  payloadDigest,
  prepareEvent,
  sha256,
  validateEvent,
  type FederationEvent,
} from "../../src";

const valid = (): Record<string, unknown> => ({
  schema_version: "1.0",
  event_id: "3b241101-e2bb-4255-8caf-4136c566a962",
  event_type: "identity.credential_issued",
  source_module: "ssid-wallet",
  timestamp: "2026-11-25T20:10:00.123Z",
  federation_context: { federation_id: "ssid", node_id: "ssid-eu-1", region: "EU" },
  payload: { subject: "did:example:123", level: 2 },
});

function withField(path: string[], value: unknown): Record<string, unknown> {
  const e = valid();
  let target = e;
  for (const p of path.slice(0, -1)) target = target[p] as Record<string, unknown>;
  if (value === undefined) delete target[path.at(-1)!];
  else target[path.at(-1)!] = value;
  return e;
}

/** Assert `input` is refused with an InvalidInputError naming `field` and matching `rule`. */
function refused(input: unknown, field: string, rule: RegExp, limits?: Parameters<typeof validateEvent>[1]) {
  const before = JSON.stringify(input);
  try {
    validateEvent(input, limits);
  } catch (err) {
    expect(err).to.be.instanceOf(InvalidInputError);
    const e = err as InvalidInputError;
    expect(e.meta.field, e.message).to.equal(field);
    expect(e.message).to.match(rule);
    expect(e.message).to.include(field);
    expect(JSON.stringify(input), "input left unchanged").to.equal(before);
    return;
  }
  expect.fail(`accepted an event that should fail at ${field}`);
}

describe("events: federation_event schema", () => {
  it("accepts a valid event with a payload and returns it typed", () => {
    const e = valid();
    expect(validateEvent(e)).to.equal(e);
  });

  it("accepts a valid event with a payload_digest instead of a payload", () => {
    const e = withField(["payload"], undefined);
    e.payload_digest = "a".repeat(64);
    expect(validateEvent(e).payload_digest).to.equal("a".repeat(64));
  });

  it("accepts 1-9 fraction digits, no fraction, and a leap second in timestamps", () => {
    for (const ts of ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00.1Z", "2026-01-01T00:00:00.123456789Z"]) {
      expect(() => validateEvent(withField(["timestamp"], ts))).not.to.throw();
    }
    expect(() => validateEvent(withField(["timestamp"], "2016-12-31T23:59:60Z"))).not.to.throw();
  });

  it("refuses input that is not an object", () => {
    for (const input of [null, [], "event", 42]) refused(input, "/", /must be object \(type rule\)/);
  });

  for (const field of [
    "schema_version",
    "event_id",
    "event_type",
    "source_module",
    "timestamp",
    "federation_context",
  ]) {
    it(`refuses an event without ${field} (required)`, () => {
      refused(withField([field], undefined), `/${field}`, /is required/);
    });
  }

  for (const field of ["federation_id", "node_id", "region"]) {
    it(`refuses a federation_context without ${field} (required)`, () => {
      refused(
        withField(["federation_context", field], undefined),
        `/federation_context/${field}`,
        /is required/,
      );
    });
  }

  it("refuses unknown top-level properties (additionalProperties)", () => {
    refused(withField(["extra"], 1), "/extra", /is not an allowed property/);
  });

  it("refuses unknown federation_context properties (additionalProperties)", () => {
    refused(
      withField(["federation_context", "zone"], "a"),
      "/federation_context/zone",
      /not an allowed property/,
    );
  });

  it("refuses a schema_version other than 1.0 (const)", () => {
    refused(withField(["schema_version"], "2.0"), "/schema_version", /must be "1.0"/);
    refused(withField(["schema_version"], 1), "/schema_version", /must be "1.0"/);
  });

  it("refuses an event_id that is not a lowercase UUID (pattern)", () => {
    for (const id of ["3B241101-E2BB-4255-8CAF-4136C566A962", "3b241101e2bb42558caf4136c566a962", "x", ""]) {
      refused(withField(["event_id"], id), "/event_id", /pattern rule/);
    }
    refused(withField(["event_id"], 7), "/event_id", /must be string \(type rule\)/);
  });

  it("refuses a malformed event_type (pattern, maxLength)", () => {
    for (const t of ["", "Identity.Issued", "identity..issued", "1abc", "a b"]) {
      refused(withField(["event_type"], t), "/event_type", /(pattern|minLength) rule/);
    }
    refused(withField(["event_type"], "a".repeat(129)), "/event_type", /maxLength rule/);
  });

  it("refuses a malformed source_module (pattern, maxLength)", () => {
    refused(withField(["source_module"], "SSID wallet"), "/source_module", /pattern rule/);
    refused(withField(["source_module"], "a".repeat(129)), "/source_module", /maxLength rule/);
  });

  it("refuses timestamps that are not RFC 3339 UTC ending in Z (pattern)", () => {
    for (const ts of [
      "2026-11-25T20:10:00+01:00",
      "2026-11-25T20:10:00z",
      "2026-11-25t20:10:00Z",
      "2026-11-25 20:10:00Z",
      "2026-11-25T20:10Z",
      "2026-11-25T20:10:00.1234567890Z",
      "1764101400",
    ]) {
      refused(withField(["timestamp"], ts), "/timestamp", /pattern rule/);
    }
  });

  it("refuses impossible calendar dates and times (format date-time)", () => {
    for (const ts of ["2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-01T24:00:00Z"]) {
      refused(withField(["timestamp"], ts), "/timestamp", /format rule/);
    }
  });

  it("refuses malformed federation_context ids and regions (pattern)", () => {
    refused(
      withField(["federation_context", "federation_id"], "SSID"),
      "/federation_context/federation_id",
      /pattern/,
    );
    refused(withField(["federation_context", "node_id"], "node 1"), "/federation_context/node_id", /pattern/);
    refused(withField(["federation_context", "region"], "eu"), "/federation_context/region", /pattern/);
    refused(withField(["federation_context"], "ssid"), "/federation_context", /must be object/);
  });

  it("refuses a payload that is not an object (type)", () => {
    for (const p of [[1, 2], "text", 3, null])
      refused(withField(["payload"], p), "/payload", /must be object/);
  });

  it("refuses a payload_digest that is not 64 lowercase hex (pattern)", () => {
    for (const d of ["A".repeat(64), "a".repeat(63), "a".repeat(65), "g".repeat(64)]) {
      const e = withField(["payload"], undefined);
      e.payload_digest = d;
      refused(e, "/payload_digest", /pattern rule/);
    }
  });

  it("refuses both payload and payload_digest (oneOf)", () => {
    refused(withField(["payload_digest"], "a".repeat(64)), "/payload_digest", /must not be present together/);
  });

  it("refuses neither payload nor payload_digest (oneOf)", () => {
    refused(
      withField(["payload"], undefined),
      "/payload",
      /exactly one of \/payload, \/payload_digest or \/payload_commitment/,
    );
  });

  it("refuses payload values JCS cannot represent, naming the path", () => {
    refused(withField(["payload"], { a: { b: NaN } }), "/payload/a/b", /number NaN/);
    refused(withField(["payload"], { s: "\ud800" }), "/payload/s", /lone UTF-16 surrogate/);
    refused(withField(["payload"], { d: new Date(0) }), "/payload/d", /not a plain object/);
  });
});

describe("events: size limits on canonical bytes", () => {
  it("has safe defaults: 64 KiB event, 32 KiB payload", () => {
    expect(DEFAULT_EVENT_LIMITS.maxEventBytes).to.equal(65536);
    expect(DEFAULT_EVENT_LIMITS.maxPayloadBytes).to.equal(32768);
  });

  it("refuses an event whose canonical bytes exceed maxEventBytes", () => {
    const e = valid();
    const size = canonicalBytes(e).length;
    expect(() => validateEvent(e, { maxEventBytes: size })).not.to.throw();
    refused(e, "/", new RegExp(`canonical event is ${size} bytes, limit ${size - 1}`), {
      maxEventBytes: size - 1,
    });
  });

  it("refuses a payload whose canonical bytes exceed maxPayloadBytes", () => {
    const e = withField(["payload"], { blob: "x".repeat(40_000) });
    refused(e, "/payload", /canonical payload is 40011 bytes, limit 32768/);
    expect(() => validateEvent(e, { maxPayloadBytes: 40_011 })).not.to.throw();
  });

  it("measures limits in UTF-8 bytes, not characters", () => {
    const e = withField(["payload"], { s: "€".repeat(100) }); // 300 bytes, 100 characters
    expect(() => validateEvent(e, { maxPayloadBytes: 308 })).not.to.throw();
    refused(e, "/payload", /canonical payload is 308 bytes/, { maxPayloadBytes: 250 });
  });

  it("refuses invalid limit settings", () => {
    for (const bad of [0, -1, 1.5, NaN]) {
      expect(() => validateEvent(valid(), { maxEventBytes: bad })).to.throw(
        InvalidInputError,
        /maxEventBytes/,
      );
    }
  });

  it("refuses JSON text longer than maxTextLength before parsing it", () => {
    const text = JSON.stringify(valid());
    expect(() => parseEventJson(text, { maxTextLength: text.length - 1 })).to.throw(
      InvalidInputError,
      /JSON text is \d+ characters, limit/,
    );
  });
});

describe("events: parsing, leaves and payload digests", () => {
  it("parses and validates JSON text", () => {
    expect(parseEventJson(JSON.stringify(valid()))).to.deep.equal(valid());
  });

  it("gives a clear error for malformed JSON", () => {
    for (const text of ["{", "", '{"a":1,}', "NaN"]) {
      expect(() => parseEventJson(text)).to.throw(
        InvalidInputError,
        /^invalid federation_event: line 1:\d+: \/: malformed JSON/,
      );
    }
  });

  it("computes the leaf as RFC 9162 leafHash of the JCS bytes", () => {
    const e = validateEvent(valid());
    const { canonical, leaf } = eventLeaf(e);
    expect(canonical).to.deep.equal(canonicalBytes(e));
    expect(leaf).to.deep.equal(leafHash(canonicalBytes(e)));
    expect(prepareEvent(valid()).leaf).to.deep.equal(leaf);
    expect(parseAndPrepareEvent(JSON.stringify(valid())).leaf).to.deep.equal(leaf);
  });

  it("prepareEvent's canonical bytes equal canonicalBytes(event) for random valid events", () => {
    const token = fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/);
    const arb = fc.record({
      schema_version: fc.constant("1.0"),
      event_id: fc.uuid(),
      event_type: fc.tuple(token, token).map(([a, b]) => `${a}.${b}`),
      source_module: token,
      timestamp: fc
        .date({
          min: new Date("1970-01-01T00:00:00Z"),
          max: new Date("9999-12-31T23:59:59Z"),
          noInvalidDate: true,
        })
        .map((d) => d.toISOString()),
      federation_context: fc.record({
        federation_id: token,
        node_id: token,
        region: fc.constantFrom("EU", "US", "APAC"),
      }),
      payload: fc.dictionary(fc.string({ unit: "grapheme" }), fc.jsonValue(), { maxKeys: 6 }),
    });
    fc.assert(
      fc.property(arb, fc.boolean(), (e, digest) => {
        const input: FederationEvent = digest ? digestPayload(e) : e;
        expect(Buffer.from(prepareEvent(input).canonical).toString()).to.equal(
          Buffer.from(canonicalBytes(input)).toString(),
        );
      }),
      { numRuns: 300 },
    );
  });

  it("replaces the payload by the SHA-256 of its JCS bytes without touching the input", () => {
    const e = validateEvent(valid());
    const d = digestPayload(e);
    const expected = Buffer.from(sha256(canonicalBytes(e.payload))).toString("hex");
    expect(d.payload_digest).to.equal(expected);
    expect(payloadDigest(e.payload!)).to.equal(expected);
    expect("payload" in d).to.equal(false);
    expect(e.payload).to.deep.equal(valid().payload);
    expect(validateEvent(d)).to.equal(d);
    expect(digestPayload(d)).to.equal(d);
    expect(eventLeaf(d).leaf).not.to.deep.equal(eventLeaf(e).leaf);
  });

  it("gives the same digest for payloads that differ only in key order or number spelling", () => {
    expect(payloadDigest({ a: 1, b: [1e2] })).to.equal(
      payloadDigest(JSON.parse('{"b":[100.0],"a":1}') as object as Record<string, unknown>),
    );
  });
});
