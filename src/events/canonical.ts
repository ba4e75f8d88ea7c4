/**
 * RFC 8785 JSON Canonicalization Scheme (JCS) through the `canonicalize` package (the RFC's
 * reference JavaScript construction: ECMAScript number/string serialisation + keys sorted by UTF-16
 * code units), guarded: values JCS cannot represent are refused with an InvalidInputError naming
 * the JSON Pointer of the offending value, instead of being silently changed by the library
 * (NaN → error text, undefined → dropped or null, Date → toJSON string, lone surrogate → escaped,
 * symbol keys → ignored) and hashed. The guard is one cheap walk before serialisation.
 *
 * Strings and keys holding Unicode noncharacters are refused too (RFC 7493 §2.1, which RFC 8785
 * §3.1 requires). Numbers: every finite double is exact in JCS; JSON *text* whose numbers a double
 * cannot hold exactly is refused earlier, by parseIJson (ijson.ts).
 *
 * -0: RFC 8785 §3.2.2.3 serialises negative zero as `0` (ECMAScript Number-to-String). We follow the
 * RFC, so `-0` and `0` have the same canonical bytes; -0 is accepted, not refused.
 */
import canonicalize from "canonicalize";
import { InvalidInputError } from "../util/errors";

/** Objects and arrays nested deeper than this are refused (also stops cycles). */
export const MAX_JSON_DEPTH = 64;

const encoder = new TextEncoder();

type Path = (string | number)[];

function pointerSegment(s: string | number): string {
  const text = String(s)
    .replace(/~/g, "~0")
    .replace(/\//g, "~1")
    .replace(/[\uD800-\uDFFF]/gu, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
  return "/" + text;
}

/** RFC 6901 JSON Pointer of `path` ("/" for the root); lone surrogates shown as \uXXXX. */
export function jsonPointer(path: readonly (string | number)[]): string {
  return path.map(pointerSegment).join("") || "/";
}

function refuse(path: Path, rule: string): never {
  const at = jsonPointer(path);
  throw new InvalidInputError(`cannot canonicalise ${at}: ${rule}`, { meta: { field: at, rule } });
}

function isWellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/** I-JSON (RFC 7493 §2.1) noncharacters: U+FDD0–U+FDEF and U+xFFFE / U+xFFFF of every plane. */
const NONCHARACTER =
  /[\uFDD0-\uFDEF\uFFFE\uFFFF]|[\uD83F\uD87F\uD8BF\uD8FF\uD93F\uD97F\uD9BF\uD9FF\uDA3F\uDA7F\uDABF\uDAFF\uDB3F\uDB7F\uDBBF\uDBFF][\uDFFE\uDFFF]/;

/** Why `s` cannot appear in I-JSON (RFC 7493 §2.1), or undefined when it can. */
export function stringProblem(s: string): string | undefined {
  if (!isWellFormed(s)) return "contains a lone UTF-16 surrogate";
  const m = NONCHARACTER.exec(s);
  if (m) return `contains the Unicode noncharacter U+${m[0].codePointAt(0)!.toString(16).toUpperCase()}`;
  return undefined;
}

function checkValue(value: unknown, path: Path, depth: number): void {
  switch (typeof value) {
    case "string":
      if (!isWellFormed(value)) refuse(path, "string contains a lone UTF-16 surrogate");
      if (NONCHARACTER.test(value)) refuse(path, `string ${stringProblem(value) ?? ""} (I-JSON)`);
      return;
    case "number":
      if (!Number.isFinite(value)) refuse(path, `number ${value} is not representable in JSON`);
      return;
    case "boolean":
      return;
    case "object":
      if (value === null) return;
      if (depth >= MAX_JSON_DEPTH) refuse(path, `nesting deeper than ${MAX_JSON_DEPTH} (or a cycle)`);
      if (Array.isArray(value)) return checkArray(value, path, depth + 1);
      return checkObject(value, path, depth + 1);
    default:
      refuse(path, `${typeof value} is not a JSON value`);
  }
}

function checkArray(value: unknown[], path: Path, depth: number): void {
  if (Object.getPrototypeOf(value) !== Array.prototype) refuse(path, "array subclasses are not plain JSON");
  for (let i = 0; i < value.length; i++) {
    path.push(i);
    checkValue(value[i], path, depth);
    path.pop();
  }
}

function checkObject(value: object, path: Path, depth: number): void {
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    const name = (value.constructor as { name?: string } | undefined)?.name ?? "unknown";
    refuse(path, `${name} is not a plain object`);
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === "function")
    refuse(path, "objects with toJSON are not plain JSON");
  if (Object.getOwnPropertySymbols(value).length > 0) refuse(path, "symbol-keyed properties are not JSON");
  for (const key of Object.keys(value)) {
    path.push(key);
    if (!isWellFormed(key)) refuse(path, "key contains a lone UTF-16 surrogate");
    if (NONCHARACTER.test(key)) refuse(path, `key ${stringProblem(key) ?? ""} (I-JSON)`);
    checkValue((value as Record<string, unknown>)[key], path, depth);
    path.pop();
  }
}

/** Throws InvalidInputError unless `value` is plain JSON that JCS represents exactly. */
export function assertCanonicalisable(value: unknown): void {
  checkValue(value, [], 0);
}

/** RFC 8785 canonical JSON text of `value`; refuses values JCS cannot represent (see module doc). */
export function canonicalJson(value: unknown): string {
  return canonicalJsonAt(value, []);
}

/** canonicalJson for a value found at `at` inside a larger document (errors name the full path). */
export function canonicalJsonAt(value: unknown, at: readonly (string | number)[]): string {
  checkValue(value, [...at], at.length);
  const text = canonicalize(value);
  if (text === undefined) refuse([], "value has no JSON representation");
  return text;
}

/** UTF-8 bytes of canonicalJson(value): the bytes AMP hashes. */
export function canonicalBytes(value: unknown): Uint8Array {
  return encoder.encode(canonicalJson(value));
}
