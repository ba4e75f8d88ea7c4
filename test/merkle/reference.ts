/**
 * Direct transcription of RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1 (recursive, number-based), used
 * only as an independent oracle for the optimised implementation in src/merkle.
 */
import { createHash } from "node:crypto";

const h = (...parts: Uint8Array[]): Uint8Array => {
  const c = createHash("sha256");
  for (const p of parts) c.update(p);
  return new Uint8Array(c.digest());
};

export const refLeaf = (d: Uint8Array): Uint8Array => h(Uint8Array.of(0), d);

function k(n: number): number {
  let x = 1;
  while (x * 2 < n) x *= 2;
  return x;
}

export function refMth(d: Uint8Array[]): Uint8Array {
  if (d.length === 0) return h();
  if (d.length === 1) return d[0]!;
  const s = k(d.length);
  return h(Uint8Array.of(1), refMth(d.slice(0, s)), refMth(d.slice(s)));
}

export function refPath(m: number, d: Uint8Array[]): Uint8Array[] {
  if (d.length <= 1) return [];
  const s = k(d.length);
  return m < s
    ? [...refPath(m, d.slice(0, s)), refMth(d.slice(s))]
    : [...refPath(m - s, d.slice(s)), refMth(d.slice(0, s))];
}

function subproof(m: number, d: Uint8Array[], b: boolean): Uint8Array[] {
  if (m === d.length) return b ? [] : [refMth(d)];
  const s = k(d.length);
  return m <= s
    ? [...subproof(m, d.slice(0, s), b), refMth(d.slice(s))]
    : [...subproof(m - s, d.slice(s), false), refMth(d.slice(0, s))];
}

export function refConsistency(m: number, d: Uint8Array[]): Uint8Array[] {
  return subproof(m, d, true);
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
export const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));

/**
 * Sibling sides of the RFC 9162 audit path for leaf m of n (innermost first): "R" when the
 * sibling is on the right. Two (m, n) pairs with the same string have proofs of the same shape.
 */
export function pathShape(m: bigint, n: bigint): string {
  if (n <= 1n) return "";
  let s = 1n;
  while (s * 2n < n) s *= 2n;
  return m < s ? pathShape(m, s) + "R" : pathShape(m - s, n - s) + "L";
}

/** Shape of SUBPROOF(m, D[n], true): "T" if the old subtree hash is sent, then sibling sides. */
export function consistencyShape(m: bigint, n: bigint, b = true): string {
  if (m === n) return b ? "" : "T";
  let s = 1n;
  while (s * 2n < n) s *= 2n;
  return m <= s ? consistencyShape(m, s, b) + "R" : consistencyShape(m - s, n - s, false) + "L";
}
