/**
 * RFC 8785 JSON Canonicalization Scheme (JCS) through the `canonicalize` package, guarded so that
 * values JCS cannot represent are refused with an InvalidInputError naming the JSON Pointer of the
 * offending value, instead of being silently changed (NaN → error, undefined → dropped, Date →
 * toJSON string, lone surrogate → escaped) and hashed.
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

function pointer(path: Path): string {
  return path.map((s) => "/" + String(s).replace(/~/g, "~0").replace(/\//g, "~1")).join("") || "/";
}

function refuse(path: Path, rule: string): never {
  const at = pointer(path);
  throw new InvalidInputError(`cannot canonicalise ${at}: ${rule}`, { meta: { path: at, rule } });
}

function isWellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

function checkValue(value: unknown, path: Path, depth: number): void {
  switch (typeof value) {
    case "string":
      if (!isWellFormed(value)) refuse(path, "string contains a lone UTF-16 surrogate");
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
  if ("toJSON" in value) refuse(path, "objects with toJSON are not plain JSON");
  if (Object.getOwnPropertySymbols(value).length > 0) refuse(path, "symbol-keyed properties");
  for (const key of Object.keys(value)) {
    path.push(key);
    if (!isWellFormed(key)) refuse(path, "key contains a lone UTF-16 surrogate");
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
  checkValue(value, [], 0);
  const text = canonicalize(value);
  if (text === undefined) refuse([], "value has no JSON representation");
  return text;
}

/** UTF-8 bytes of canonicalJson(value): the bytes AMP hashes. */
export function canonicalBytes(value: unknown): Uint8Array {
  return encoder.encode(canonicalJson(value));
}
