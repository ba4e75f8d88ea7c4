import { expect } from "chai";
import canonicalize from "canonicalize";
import fc from "fast-check";
import { canonicalBytes, canonicalJson, InvalidInputError, MAX_JSON_DEPTH } from "../../src";

// RFC 8785 §3.2.2 input/output and §3.2.3 sorting example, as published in the RFC.
const RFC_3_2_2_INPUT = String.raw`{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`;
const RFC_3_2_2_OUTPUT = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;
const RFC_3_2_3_INPUT = String.raw`{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}`;
const RFC_3_2_3_ORDER = ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\u{1F600}", "\ufb33"];

// RFC 8785 Appendix B: IEEE 754 bit patterns and the JCS text for each (finite entries).
const APPENDIX_B: [string, string][] = [
  ["0000000000000000", "0"],
  ["8000000000000000", "0"],
  ["0000000000000001", "5e-324"],
  ["8000000000000001", "-5e-324"],
  ["7fefffffffffffff", "1.7976931348623157e+308"],
  ["ffefffffffffffff", "-1.7976931348623157e+308"],
  ["4340000000000000", "9007199254740992"],
  ["c340000000000000", "-9007199254740992"],
  ["4430000000000000", "295147905179352830000"],
  ["44b52d02c7e14af5", "9.999999999999997e+22"],
  ["44b52d02c7e14af6", "1e+23"],
  ["44b52d02c7e14af7", "1.0000000000000001e+23"],
  ["444b1ae4d6e2ef4e", "999999999999999700000"],
  ["444b1ae4d6e2ef4f", "999999999999999900000"],
  ["444b1ae4d6e2ef50", "1e+21"],
  ["3eb0c6f7a0b5ed8c", "9.999999999999997e-7"],
  ["3eb0c6f7a0b5ed8d", "0.000001"],
  ["41b3de4355555553", "333333333.3333332"],
  ["41b3de4355555554", "333333333.33333325"],
  ["41b3de4355555555", "333333333.3333333"],
  ["41b3de4355555556", "333333333.3333334"],
  ["41b3de4355555557", "333333333.33333343"],
  ["becbf647612f3696", "-0.0000033333333333333333"],
  ["43143ff3c1cb0959", "1424953923781206.2"],
];
// Appendix B also lists NaN and Infinity, which JCS implementations must refuse.
const APPENDIX_B_INVALID = ["7fffffffffffffff", "7ff0000000000000"];

const fromBits = (hex: string): number => Buffer.from(hex, "hex").readDoubleBE(0);

describe("events: RFC 8785 canonical JSON", () => {
  it("produces the RFC 8785 §3.2.2 sample output (numbers, escapes, literals)", () => {
    expect(canonicalJson(JSON.parse(RFC_3_2_2_INPUT))).to.equal(RFC_3_2_2_OUTPUT);
  });

  it("sorts keys by UTF-16 code units as in RFC 8785 §3.2.3", () => {
    const input = JSON.parse(RFC_3_2_3_INPUT) as Record<string, string>;
    const expected = "{" + RFC_3_2_3_ORDER.map((k) => `${JSON.stringify(k)}:"${input[k]}"`).join(",") + "}";
    expect(canonicalJson(input)).to.equal(expected);
    expect(expected.startsWith(String.raw`{"\r":"Carriage Return","1":"One","":"Control"`)).to.equal(true);
  });

  for (const [bits, text] of APPENDIX_B) {
    it(`serialises IEEE 754 0x${bits} as ${text} (Appendix B)`, () => {
      expect(canonicalJson(fromBits(bits))).to.equal(text);
      expect(canonicalJson([fromBits(bits)])).to.equal(`[${text}]`);
    });
  }

  it("refuses the Appendix B NaN and Infinity bit patterns", () => {
    for (const bits of APPENDIX_B_INVALID)
      expect(() => canonicalJson(fromBits(bits))).to.throw(InvalidInputError);
  });

  it("serialises -0 as 0, as RFC 8785 requires", () => {
    expect(canonicalJson({ a: -0 })).to.equal('{"a":0}');
    expect(canonicalJson(-0)).to.equal(canonicalJson(0));
  });

  it("encodes canonical bytes as UTF-8 of the canonical text", () => {
    const v = { "€": "\u{1F600}", a: [1, "x"] };
    expect(Buffer.from(canonicalBytes(v)).toString("utf8")).to.equal(canonicalJson(v));
    expect(canonicalBytes(v)).to.be.instanceOf(Uint8Array);
  });

  it("agrees byte for byte with the canonicalize package on random JSON", () => {
    fc.assert(
      fc.property(fc.jsonValue({ depthSize: "small" }), (v) => {
        expect(canonicalJson(v)).to.equal(canonicalize(v));
      }),
      { numRuns: 300 },
    );
  });

  it("is stable under re-parsing: JCS(parse(JCS(v))) = JCS(v)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const once = canonicalJson(v);
        expect(canonicalJson(JSON.parse(once))).to.equal(once);
      }),
      { numRuns: 300 },
    );
  });
});

describe("events: values JCS cannot represent are refused with their JSON Pointer", () => {
  class Point {
    constructor(readonly x: number) {}
  }
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  let deep: unknown = 1;
  for (let i = 0; i <= MAX_JSON_DEPTH; i++) deep = [deep];

  const cases: [string, unknown, RegExp][] = [
    ["NaN", { a: NaN }, /\/a: number NaN/],
    ["Infinity", { a: [1, Infinity] }, /\/a\/1: number Infinity/],
    ["-Infinity", -Infinity, /cannot canonicalise \/: number -Infinity/],
    ["BigInt", { n: 10n }, /\/n: bigint is not a JSON value/],
    ["lone high surrogate in a string", { s: "a\ud800" }, /\/s: string contains a lone UTF-16 surrogate/],
    ["lone low surrogate in a string", ["\udc00"], /\/0: string contains a lone/],
    ["lone surrogate in a key", { "k\ud83d": 1 }, /\/k\\ud83d: key contains a lone UTF-16 surrogate/],
    ["undefined member", { a: undefined }, /\/a: undefined is not a JSON value/],
    ["undefined array element", [1, undefined], /\/1: undefined is not a JSON value/],
    ["undefined root", undefined, /\/: undefined is not a JSON value/],
    ["function", { f: () => 1 }, /\/f: function is not a JSON value/],
    ["symbol", { s: Symbol("x") }, /\/s: symbol is not a JSON value/],
    ["Date", { d: new Date(0) }, /\/d: Date is not a plain object/],
    ["Map", { m: new Map() }, /\/m: Map is not a plain object/],
    ["class instance", { p: new Point(1) }, /\/p: Point is not a plain object/],
    ["toJSON", { t: { toJSON: () => "x" } }, /\/t: objects with toJSON/],
    ["symbol key", { [Symbol("k")]: 1 }, /symbol-keyed properties/],
    ["Uint8Array", { b: new Uint8Array(2) }, /\/b: Uint8Array is not a plain object/],
    ["too deep", deep, /nesting deeper than 64/],
    ["cycle", cyclic, /\/self\/self\/.*nesting deeper/],
    ["pointer escaping", { "a/b": { "c~d": NaN } }, /\/a~1b\/c~0d: number NaN/],
  ];
  for (const [what, value, message] of cases) {
    it(`refuses ${what}`, () => {
      expect(() => canonicalJson(value)).to.throw(InvalidInputError, message);
      expect(() => canonicalBytes(value)).to.throw(InvalidInputError);
    });
  }

  it("accepts null-prototype objects and well-formed surrogate pairs", () => {
    const o = Object.create(null) as Record<string, unknown>;
    o.b = "\u{1F600}";
    o.a = 1;
    expect(canonicalJson(o)).to.equal('{"a":1,"b":"\u{1F600}"}');
  });
});
