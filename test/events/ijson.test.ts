import { expect } from "chai";
import fc from "fast-check";
import {
  canonicalJson,
  decodeUtf8Strict,
  IJsonError,
  InvalidInputError,
  numberProblem,
  parseAndPrepareEvent,
  parseIJson,
} from "../../src";
import { parseProofFile } from "../../src/proof/format";

const event = (payload: string): string =>
  `{"schema_version":"1.0","event_id":"3b241101-e2bb-4255-8caf-000000000001",` +
  `"event_type":"identity.credential_issued","source_module":"ssid-wallet",` +
  `"timestamp":"2026-11-25T20:10:00Z","federation_context":{"federation_id":"ssid",` +
  `"node_id":"ssid-eu-1","region":"EU"},"payload":${payload}}`;

function refused(text: string, pattern: RegExp): IJsonError {
  let caught: unknown;
  try {
    parseIJson(text, { source: "in.json" });
  } catch (err) {
    caught = err;
  }
  expect(caught, text).to.be.instanceOf(IJsonError);
  expect((caught as IJsonError).shortMessage, text).to.match(pattern);
  return caught as IJsonError;
}

describe("events: I-JSON (RFC 7493) at text entry points", () => {
  // Before this change these texts went through JSON.parse and were stored after silent changes:
  // the last duplicate won, the number was rounded, the lone surrogate was kept in the payload.
  it("refuses duplicate member names, naming line, column and JSON Pointer", () => {
    const e = refused(
      '{\n  "a": 1,\n  "b": {"x": 1, "x": 2}\n}',
      /^in\.json:3:17: \/b\/x: duplicate member name/,
    );
    expect(e.meta).to.include({ line: 3, column: 17, field: "/b/x" });
    refused('{"a":1,"\\u0061":2}', /\/a: duplicate member name/);
    refused('[{"k":[0,{"z":1,"z":1}]}]', /\/0\/k\/1\/z: duplicate member name/);
    // Objects with many members (compared through a Set past 16 names).
    const many = Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(",");
    expect(parseIJson(`{${many}}`)).to.have.property("k39", 39);
    refused(`{${many},"k3":0}`, /\/k3: duplicate member name/);
    refused(`{${many},"k39":0}`, /\/k39: duplicate member name/);
  });

  it("refuses lone surrogates and noncharacters in strings and member names", () => {
    refused('{"a":"\\ud800"}', /\/a: string contains a lone UTF-16 surrogate/);
    refused('{"a":"x\\udc00y"}', /lone UTF-16 surrogate/);
    refused('{"\\udbff":1}', /member name contains a lone UTF-16 surrogate/);
    refused('{"a":"\\ufffe"}', /noncharacter U\+FFFE/);
    refused('{"a":"\\ufdd0"}', /noncharacter U\+FDD0/);
    refused('{"a":"\uffff"}', /noncharacter U\+FFFF/);
    refused('{"a":"\\ud83f\\udffe"}', /noncharacter U\+1FFFE/);
    refused('["ok","\\udbff\\udfff"]', /\/1: string contains the Unicode noncharacter U\+10FFFF/);
    expect(parseIJson('{"a":"\\ud83d\\ude00 \\u20ac \uFDCF \uFDF0"}')).to.deep.equal({
      a: "😀 € \uFDCF \uFDF0",
    });
  });

  it("refuses numbers a double cannot hold exactly as written", () => {
    for (const n of [
      "1e400",
      "-1E400",
      "1e-400",
      "0.10000000000000001",
      "9007199254740993",
      "333333333.33333329",
    ]) {
      refused(`{"n":${n}}`, /\/n: number .* (beyond the range|more precision)/);
    }
    for (const n of [
      "9007199254740992",
      "1e30",
      "0.1",
      "-0",
      "5e-324",
      "1.7976931348623157e308",
      "1.0",
      "1E2",
      "-0.0",
    ]) {
      expect(numberProblem(n), n).to.equal(undefined);
      expect(parseIJson(`[${n}]`)).to.deep.equal([Number(n)]);
    }
  });

  it("refuses a byte-order mark and bytes that are not UTF-8, naming the line", () => {
    refused("\ufeff{}", /byte-order mark/);
    const bytes = Buffer.concat([Buffer.from('{"a":\n"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    expect(() => decodeUtf8Strict(bytes, { source: "f.ndjson", line: 7 })).to.throw(
      IJsonError,
      /^f\.ndjson:8:2: \/: byte 7 is not valid UTF-8/,
    );
    for (const bad of [
      [0xed, 0xa0, 0x80],
      [0xc0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xe2, 0x82],
    ]) {
      expect(() => decodeUtf8Strict(Uint8Array.from(bad))).to.throw(IJsonError, /not valid UTF-8/);
    }
    expect(decodeUtf8Strict(Buffer.from("é€😀"))).to.equal("é€😀");
  });

  it("gives line and column for JSON syntax errors", () => {
    refused('{\n"a": 1,\n}', /^in\.json:3:1: \/: malformed JSON/);
  });

  it("refuses such events at parseAndPrepareEvent and proof files at parseProofFile", () => {
    expect(() => parseAndPrepareEvent(event('{"a":1,"a":2}'))).to.throw(
      IJsonError,
      /^invalid federation_event: line 1:\d+: \/payload\/a: duplicate member name/,
    );
    expect(() => parseAndPrepareEvent(event('{"n":12345678901234567890}'))).to.throw(
      IJsonError,
      /more precision/,
    );
    expect(() => parseAndPrepareEvent(event('{"s":"\\ud800"}'))).to.throw(IJsonError, /lone UTF-16/);
    expect(parseAndPrepareEvent(event('{"n":9007199254740991}')).event.payload).to.deep.equal({
      n: 9007199254740991,
    });
    expect(() => parseProofFile('{"format":"amp-proof/v1","format":"amp-proof/v1"}')).to.throw(
      InvalidInputError,
      /proof file is not I-JSON: proof:1:26: \/format: duplicate member name/,
    );
  });

  it("canonicalJson refuses noncharacters in values and keys too", () => {
    expect(() => canonicalJson({ a: "\ufdd5" })).to.throw(
      InvalidInputError,
      /\/a: string contains the Unicode noncharacter U\+FDD5/,
    );
    expect(() => canonicalJson({ "\u{10fffe}": 1 })).to.throw(
      InvalidInputError,
      /key contains the Unicode noncharacter/,
    );
  });

  it("accepts every RFC 8785 output again (round trip) and agrees with JSON.parse on it", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        let text: string;
        try {
          text = canonicalJson(v);
        } catch {
          return; // values JCS refuses (noncharacters) are out of scope here
        }
        expect(parseIJson(text)).to.deep.equal(JSON.parse(text));
      }),
      { numRuns: 500 },
    );
  });

  it("refuses a duplicate member wherever it is injected into valid JSON", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }), fc.jsonValue({ maxDepth: 2 })),
        fc.string({ maxLength: 5 }),
        (obj, key) => {
          const body = canonicalJson({ ...obj, [key]: 1 }).slice(1, -1);
          const text = `{${body},${JSON.stringify(key)}:2}`;
          if (stringBad(key)) return;
          expect(() => parseIJson(text)).to.throw(IJsonError, /duplicate member name/);
        },
      ),
      { numRuns: 300 },
    );
  });
});

function stringBad(s: string): boolean {
  try {
    canonicalJson(s);
    return false;
  } catch {
    return true;
  }
}
