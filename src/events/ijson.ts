/**
 * I-JSON (RFC 7493) at the JSON text entry points. RFC 8785 §3.1 requires its input to be I-JSON;
 * `JSON.parse` alone silently normalises what I-JSON excludes (the last of two duplicate member
 * names wins, a number is rounded to the nearest double, a lone `\uD800` escape becomes a string
 * no UTF-8 can carry). `parseIJson` refuses instead, naming the line, column and JSON Pointer:
 *
 * - **duplicate member names** in one object, compared after unescaping (RFC 7493 §2.3);
 * - **lone surrogates** (escaped or raw) and **Unicode noncharacters** (U+FDD0–U+FDEF and the last
 *   two code points of every plane, U+xFFFE/U+xFFFF) in strings and member names (§2.1);
 * - **numbers a double cannot hold exactly as written** (§2.2): overflow to ±Infinity (`1e400`),
 *   underflow to 0 (`1e-400`), more digits than a double keeps (`0.10000000000000001`,
 *   `9007199254740993`). The rule is: the literal's decimal value MUST equal the value of the text
 *   RFC 8785 writes for it. Integers beyond 2^53 that are exact (`9007199254740992`, `1e30`) pass;
 *   send larger exact integers as strings. `-0` passes (JCS writes `0`, the same value);
 * - a UTF-8 byte-order mark, and (for byte input, `decodeUtf8Strict`) bytes that are not UTF-8.
 *
 * The scan runs after `JSON.parse` succeeded, so it can assume well-formed syntax.
 */
import { InvalidInputError } from "../util/errors";
import { jsonPointer, stringProblem } from "./canonical";
import { firstSyntaxError } from "./json-syntax";

export { stringProblem };

/** An I-JSON violation (or JSON syntax error) in a text entry point; meta names line and field. */
export class IJsonError extends InvalidInputError {
  override name = "IJsonError";
}

/** Where a text came from, for messages: `file` and the 1-based line of its first character. */
export interface TextOrigin {
  /** File name (or "<stdin>", "request body"); omitted: messages start with "line N". */
  readonly source?: string;
  /** 1-based line number of the text's first line in that source (NDJSON: the record's line). */
  readonly line?: number;
}

function where(
  origin: TextOrigin,
  text: string,
  offset: number,
): { line: number; column: number; at: string } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  const absLine = (origin.line ?? 1) + line - 1;
  const column = offset - lineStart + 1;
  const prefix = origin.source === undefined ? `line ${absLine}` : `${origin.source}:${absLine}`;
  return { line: absLine, column, at: `${prefix}:${column}` };
}

function fail(
  origin: TextOrigin,
  text: string,
  offset: number,
  field: string,
  rule: string,
  cause?: unknown,
): never {
  const w = where(origin, text, offset);
  throw new IJsonError(`${w.at}: ${field}: ${rule}`, {
    ...(cause === undefined ? {} : { cause }),
    meta: { line: w.line, column: w.column, field, rule, ...(origin.source ? { file: origin.source } : {}) },
  });
}

/** Decode UTF-8 bytes, refusing (not replacing) invalid sequences; the error names the line. */
export function decodeUtf8Strict(bytes: Uint8Array, origin: TextOrigin = {}): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (cause) {
    // Locate the first bad byte: decode growing prefixes is quadratic, so scan validity by hand.
    const bad = firstInvalidUtf8(bytes);
    const text = new TextDecoder("utf-8").decode(bytes.subarray(0, bad));
    return fail(
      origin,
      text,
      text.length,
      "/",
      `byte ${bad} is not valid UTF-8 (I-JSON and AMP inputs are UTF-8)`,
      cause,
    );
  }
}

/** Offset of the first byte that starts an invalid UTF-8 sequence (bytes.length if none). */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    let n = 0;
    let min = 0;
    if (c < 0x80) n = 0;
    else if (c >= 0xc2 && c <= 0xdf) [n, min] = [1, 0x80];
    else if (c >= 0xe0 && c <= 0xef) [n, min] = [2, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [n, min] = [3, 0x10000];
    else return i;
    if (i + n >= b.length && n > 0) return i;
    let cp = n === 0 ? c : c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const d = b[i + k]!;
      if ((d & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (n > 0 && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) return i;
    i += n + 1;
  }
  return i;
}

/**
 * Parse JSON text, refusing everything I-JSON excludes (module doc). Syntax errors are IJsonError
 * too, with the position JSON.parse reports turned into line:column.
 */
export function parseIJson(text: string, origin: TextOrigin = {}): unknown {
  if (text.charCodeAt(0) === 0xfeff) fail(origin, text, 0, "/", "starts with a byte-order mark (U+FEFF)");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    const problem = firstSyntaxError(text) ?? { offset: text.length, reason: "not valid JSON" };
    fail(origin, text, problem.offset, "/", `malformed JSON: ${problem.reason}`, cause);
  }
  new Scanner(text, origin).value();
  return value;
}

/** Refuse what I-JSON excludes in `text`, which MUST already be syntactically valid JSON. */
export function checkIJson(text: string, origin: TextOrigin = {}): void {
  new Scanner(text, origin).value();
}

/** A backslash, a surrogate or anything from U+E000 up (noncharacters): the slow string path. */
const SPECIAL = /[\\\uD800-\uFFFF]/;

/** Character codes the scanner looks at. */
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** Single pass over syntactically valid JSON; keeps the JSON Pointer path for messages. */
class Scanner {
  private i = 0;
  private readonly path: (string | number)[] = [];
  constructor(
    private readonly text: string,
    private readonly origin: TextOrigin,
  ) {}

  private ws(): void {
    const t = this.text;
    let c = t.charCodeAt(this.i);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = t.charCodeAt(++this.i);
  }

  value(): void {
    this.ws();
    const c = this.text.charCodeAt(this.i);
    if (c === OPEN_BRACE) this.object();
    else if (c === OPEN_BRACKET) this.array();
    else if (c === QUOTE) this.string("string");
    else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) this.number();
    else this.i += c === 0x6e || c === 0x74 ? 4 : 5; // null / true / false
    this.ws();
  }

  private object(): void {
    this.i++;
    this.ws();
    if (this.text.charCodeAt(this.i) === CLOSE_BRACE) {
      this.i++;
      return;
    }
    // Small objects (the common case) compare names in an array; larger ones switch to a Set.
    const names: string[] = [];
    let set: Set<string> | undefined;
    for (;;) {
      this.ws();
      const start = this.i;
      const key = this.string("member name");
      this.path.push(key);
      const dup = set ? set.has(key) : names.includes(key);
      if (dup) this.fail(start, "duplicate member name (I-JSON §2.3)");
      if (set) set.add(key);
      else if (names.push(key) > 16) set = new Set(names);
      this.ws();
      this.i++; // colon
      this.value();
      this.path.pop();
      if (this.text.charCodeAt(this.i++) === CLOSE_BRACE) return;
    }
  }

  private array(): void {
    this.i++;
    this.ws();
    if (this.text.charCodeAt(this.i) === CLOSE_BRACKET) {
      this.i++;
      return;
    }
    for (let n = 0; ; n++) {
      this.path.push(n);
      this.value();
      this.path.pop();
      if (this.text.charCodeAt(this.i++) === CLOSE_BRACKET) return;
    }
  }

  /** Scans a string token; returns its decoded value (needed for member names only). */
  private string(what: string): string {
    const t = this.text;
    const start = this.i;
    // Fast path: up to the next quote there is no escape and nothing at or above U+D800, so the
    // quote closes the string and its content is the raw text (native indexOf + one regex test).
    const end = t.indexOf('"', start + 1);
    const raw = t.slice(start + 1, end);
    if (!SPECIAL.test(raw)) {
      this.i = end + 1;
      return raw;
    }
    this.i = start + 1;
    for (;;) {
      const c = t.charCodeAt(this.i++);
      if (c === QUOTE) break;
      if (c === BACKSLASH) this.i++;
    }
    const s = JSON.parse(t.slice(start, this.i)) as string;
    const problem = stringProblem(s);
    if (problem !== undefined) this.fail(start, `${what} ${problem} (I-JSON §2.1)`);
    return s;
  }

  private number(): void {
    const t = this.text;
    const start = this.i;
    let c = t.charCodeAt(this.i);
    let simple = true;
    while (c === 0x2d || c === 0x2b || c === 0x2e || c === 0x45 || c === 0x65 || (c >= 0x30 && c <= 0x39)) {
      if (c === 0x2e || c === 0x45 || c === 0x65) simple = false;
      c = t.charCodeAt(++this.i);
    }
    // Up to 15 digits with no fraction or exponent: always an exact double.
    if (simple && this.i - start <= 15) return;
    const literal = t.slice(start, this.i);
    const problem = numberProblem(literal);
    if (problem !== undefined) this.fail(start, problem);
  }

  private fail(offset: number, rule: string): never {
    return fail(this.origin, this.text, offset, jsonPointer(this.path), rule);
  }
}

/** Decimal value of a JSON number literal as (sign, significant digits, exponent of the last digit). */
function decimal(literal: string): { neg: boolean; digits: string; exp: number } {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(literal);
  if (!m) return { neg: false, digits: "", exp: 0 };
  const frac = m[3] ?? "";
  let digits = (m[2]! + frac).replace(/^0+/, "");
  let exp = Number(m[4] ?? "0") - frac.length;
  const trimmed = digits.replace(/0+$/, "");
  exp += digits.length - trimmed.length;
  digits = trimmed;
  return digits === "" ? { neg: false, digits: "", exp: 0 } : { neg: m[1] === "-", digits, exp };
}

/** Why a JSON number literal is not exactly a double (I-JSON §2.2), or undefined. */
export function numberProblem(literal: string): string | undefined {
  const v = Number(literal);
  if (!Number.isFinite(v)) return `number ${literal} is beyond the range of an IEEE 754 double (I-JSON §2.2)`;
  const a = decimal(literal);
  const b = decimal(String(v));
  if (a.neg !== b.neg || a.digits !== b.digits || a.exp !== b.exp) {
    return (
      `number ${literal} has more precision than an IEEE 754 double and would be stored as ${String(v)} ` +
      `(I-JSON §2.2; send it as a string)`
    );
  }
  return undefined;
}
