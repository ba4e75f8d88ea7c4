/**
 * Recomputing a divergent leaf locally: the majority's entry bytes against the diverging node's
 * entry bytes for the same batch index, and what kind of difference it is.
 *
 * - serialization: the node's bytes, re-canonicalised (RFC 8785), are the majority's bytes;
 * - timestamp: the parsed events differ only in time fields, by more than the tolerance;
 * - time-within-tolerance: only time fields differ, within the tolerance;
 * - data: any other content differs;
 * - unparsable: the node's bytes are not JSON (or not canonicalisable).
 */
import { canonicalJson, jsonPointer } from "../events/canonical";

export type LeafCause = "serialization" | "timestamp" | "time-within-tolerance" | "data" | "unparsable";

export interface LeafDiff {
  readonly index: number;
  readonly cause: LeafCause;
  /** JSON Pointers of the differing fields (serialization: where the encoding differs). */
  readonly paths: readonly string[];
  /** Largest time difference of the time fields, in ms (timestamp causes). */
  readonly timeDeltaMs?: number;
  /** Byte offset of the first difference between canonical and received bytes. */
  readonly offset: number;
  /** Excerpts around `offset`: the majority's canonical bytes and the node's received bytes. */
  readonly canonical: string;
  readonly received: string;
  /** event_id of the majority's event, when it has one. */
  readonly eventId?: string;
}

const dec = new TextDecoder("utf-8", { fatal: false });
const MAX_PATHS = 10;
const EXCERPT = 40;
const TIME_KEY = /(^|_)(timestamp|time|ts)$|_at$/i;

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

function excerpt(bytes: Uint8Array, offset: number): string {
  const from = Math.max(0, offset - EXCERPT);
  const s = dec.decode(bytes.subarray(from, Math.min(bytes.length, offset + EXCERPT)));
  return (from > 0 ? "…" : "") + s + (offset + EXCERPT < bytes.length ? "…" : "");
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** JSON Pointers where two JSON values differ (structure and values), at most MAX_PATHS. */
function differingPaths(
  a: unknown,
  b: unknown,
  at: (string | number)[] = [],
  out: string[][] = [],
): string[][] {
  if (out.length >= MAX_PATHS) return out;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) differingPaths(a[i], b[i], [...at, i], out);
    return out;
  }
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) differingPaths(a[k], b[k], [...at, k], out);
    return out;
  }
  if (a === undefined || b === undefined || canonicalJson(a) !== canonicalJson(b)) out.push(at.map(String));
  return out;
}

/** Where key order differs from RFC 8785 order (JSON.parse keeps the received order). */
function keyOrderPath(v: unknown, at: (string | number)[] = []): string | undefined {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const p = keyOrderPath(v[i], [...at, i]);
      if (p !== undefined) return p;
    }
    return undefined;
  }
  if (!isObject(v)) return undefined;
  const keys = Object.keys(v);
  const sorted = [...keys].sort();
  if (keys.some((k, i) => k !== sorted[i])) return jsonPointer(at);
  for (const k of keys) {
    const p = keyOrderPath(v[k], [...at, k]);
    if (p !== undefined) return p;
  }
  return undefined;
}

function isTimeField(path: readonly string[]): boolean {
  const last = path[path.length - 1];
  return last !== undefined && TIME_KEY.test(last);
}

function valueAt(v: unknown, path: readonly string[]): unknown {
  let cur = v;
  for (const seg of path)
    cur = isObject(cur) || Array.isArray(cur) ? (cur as Record<string, unknown>)[seg] : undefined;
  return cur;
}

function timeDelta(a: unknown, b: unknown): number | undefined {
  if (typeof a !== "string" || typeof b !== "string") return undefined;
  const ta = Date.parse(a);
  const tb = Date.parse(b);
  return Number.isFinite(ta) && Number.isFinite(tb) ? Math.abs(ta - tb) : undefined;
}

function eventIdOf(v: unknown): string | undefined {
  return isObject(v) && typeof v.event_id === "string" ? v.event_id : undefined;
}

/** Classify one divergent leaf: `ours` are the majority's canonical bytes, `theirs` the node's. */
export function classifyLeaf(
  index: number,
  ours: Uint8Array,
  theirs: Uint8Array,
  toleranceMs: number,
): LeafDiff {
  const offset = firstDifference(ours, theirs);
  const base = { index, offset, canonical: excerpt(ours, offset), received: excerpt(theirs, offset) };
  let mine: unknown;
  try {
    mine = JSON.parse(dec.decode(ours));
  } catch {
    mine = undefined;
  }
  const eventId = eventIdOf(mine);
  const withId = eventId === undefined ? base : { ...base, eventId };
  let parsed: unknown;
  let recanonical: string;
  try {
    parsed = JSON.parse(dec.decode(theirs));
    recanonical = canonicalJson(parsed);
  } catch {
    return { ...withId, cause: "unparsable", paths: [] };
  }
  if (recanonical === dec.decode(ours)) {
    const order = keyOrderPath(parsed);
    const compact = JSON.stringify(parsed) === recanonical;
    const where =
      order !== undefined
        ? `${order} (key order)`
        : compact
          ? "/ (value encoding)"
          : "/ (insignificant whitespace)";
    return { ...withId, cause: "serialization", paths: [where] };
  }
  if (mine === undefined) return { ...withId, cause: "data", paths: ["/"] };
  const diffs = differingPaths(mine, parsed);
  const paths = diffs.map((p) => jsonPointer(p));
  if (diffs.length > 0 && diffs.every(isTimeField)) {
    const deltas = diffs.map((p) => timeDelta(valueAt(mine, p), valueAt(parsed, p)));
    if (deltas.every((d): d is number => d !== undefined)) {
      const timeDeltaMs = Math.max(...deltas);
      const cause = timeDeltaMs > toleranceMs ? "timestamp" : "time-within-tolerance";
      return { ...withId, cause, paths, timeDeltaMs };
    }
  }
  return { ...withId, cause: "data", paths };
}
