/**
 * DriftInjector: makes chosen nodes drift in chosen rounds, for a chosen fraction of the batch
 * (tests, `amp demo --drift`, benchmark). It implements the consensus DriftHook: the node votes on
 * the altered entries (its log keeps the delivered ones, so it rejoins when the rule ends).
 *
 * - serialization_divergence: the entry is re-serialised with keys in reverse order (valid JSON,
 *   same values, not RFC 8785);
 * - timestamp_drift: `timestamp` is shifted by `timestampShiftMs` (default 60 s);
 * - data_inconsistency: the payload (or event_type) is altered, canonically encoded;
 * - equivocation: the node signs the honest checkpoint and one over data-altered entries;
 * - clock_skew: the node's wall clock is shifted by `clockSkewMs` (default 2 s); entries unchanged;
 * - unknown: the entry is replaced by bytes that are not JSON (a corrupted encoder).
 */
import type { DriftHook } from "../consensus/types";
import { canonicalJson } from "../events/canonical";
import { InvalidInputError } from "../util/errors";
import { ALERT_CAUSES, type AlertCause } from "./types";

export interface DriftRule {
  readonly nodeId: string;
  readonly cause: AlertCause;
  /** Share of the batch's entries altered, in (0, 1]; at least one entry. Default 0.15. */
  readonly fraction?: number;
  /** Rounds the rule applies to; all rounds when omitted. */
  readonly rounds?: readonly bigint[];
  readonly timestampShiftMs?: number;
  readonly clockSkewMs?: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Indices altered: k = max(1, round(fraction·n)) spread evenly over the batch. */
export function driftedIndices(n: number, fraction: number): number[] {
  if (n === 0) return [];
  const k = Math.min(n, Math.max(1, Math.round(fraction * n)));
  return Array.from({ length: k }, (_, j) => Math.floor((j * n) / k));
}

function reverseKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reverseKeys);
  if (typeof v !== "object" || v === null) return v;
  const keys = Object.keys(v).sort().reverse();
  return Object.fromEntries(keys.map((k) => [k, reverseKeys((v as Record<string, unknown>)[k])]));
}

function reserialise(bytes: Uint8Array): Uint8Array {
  const v = JSON.parse(dec.decode(bytes)) as unknown;
  const out = JSON.stringify(reverseKeys(v));
  return enc.encode(out === dec.decode(bytes) ? JSON.stringify(v, null, 1) : out);
}

function shiftTimestamp(bytes: Uint8Array, shiftMs: number): Uint8Array {
  const v = JSON.parse(dec.decode(bytes)) as Record<string, unknown>;
  const t = typeof v.timestamp === "string" ? Date.parse(v.timestamp) : NaN;
  if (!Number.isFinite(t)) throw new InvalidInputError("timestamp drift needs entries with a timestamp");
  return enc.encode(canonicalJson({ ...v, timestamp: new Date(t + shiftMs).toISOString() }));
}

function alter(bytes: Uint8Array): Uint8Array {
  const v = JSON.parse(dec.decode(bytes)) as Record<string, unknown>;
  const p = v.payload;
  const next =
    typeof p === "object" && p !== null && !Array.isArray(p)
      ? { ...v, payload: { ...(p as Record<string, unknown>), altered_by_drift: true } }
      : { ...v, event_type: `${String(v.event_type)}.altered` };
  return enc.encode(canonicalJson(next));
}

export function checkRule(rule: DriftRule): void {
  if (!(ALERT_CAUSES as readonly string[]).includes(rule.cause)) {
    throw new InvalidInputError(`unknown drift cause "${rule.cause}" (one of ${ALERT_CAUSES.join(", ")})`);
  }
  const f = rule.fraction ?? 0.15;
  if (!(f > 0 && f <= 1)) throw new InvalidInputError(`drift fraction must be in (0, 1], got ${f}`);
}

export class DriftInjector implements DriftHook {
  private rules: DriftRule[] = [];

  constructor(rules: readonly DriftRule[] = []) {
    for (const r of rules) this.add(r);
  }

  add(rule: DriftRule): this {
    checkRule(rule);
    this.rules.push(rule);
    return this;
  }

  clear(nodeId?: string): void {
    this.rules = nodeId === undefined ? [] : this.rules.filter((r) => r.nodeId !== nodeId);
  }

  private ruleFor(nodeId: string, round: bigint): DriftRule | undefined {
    return this.rules.find(
      (r) => r.nodeId === nodeId && (r.rounds === undefined || r.rounds.includes(round)),
    );
  }

  driftedEntries(
    nodeId: string,
    round: bigint,
    entries: readonly Uint8Array[],
  ): { entries: Uint8Array[]; equivocate: boolean } | undefined {
    const r = this.ruleFor(nodeId, round);
    if (!r || r.cause === "clock_skew") return undefined;
    const out = [...entries];
    for (const i of driftedIndices(entries.length, r.fraction ?? 0.15)) {
      const e = out[i]!;
      if (r.cause === "serialization_divergence") out[i] = reserialise(e);
      else if (r.cause === "timestamp_drift") out[i] = shiftTimestamp(e, r.timestampShiftMs ?? 60_000);
      else if (r.cause === "unknown") out[i] = enc.encode(`\u0000${Buffer.from(e).toString("base64")}`);
      else out[i] = alter(e);
    }
    return { entries: out, equivocate: r.cause === "equivocation" };
  }

  clockSkewMs(nodeId: string, round: bigint): number {
    const r = this.ruleFor(nodeId, round);
    return r?.cause === "clock_skew" ? (r.clockSkewMs ?? 2000) : 0;
  }
}
