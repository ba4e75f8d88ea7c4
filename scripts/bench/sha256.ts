/**
 * Micro-measure: SHA-256 via node:crypto vs @noble/hashes for the input sizes the Merkle tree
 * hashes (65-byte interior nodes, ~200-400 byte event leaves). Used once to pick the backend
 * recorded in src/merkle/README.md. Run: npx ts-node scripts/bench/sha256.ts
 */
import { createHash, hash as oneShot } from "node:crypto";
import { sha256 } from "@noble/hashes/sha2.js";

type Impl = (data: Uint8Array) => Uint8Array;

const impls: Record<string, Impl> = {
  "node:crypto createHash": (d) => createHash("sha256").update(d).digest(),
  "node:crypto hash (one-shot)": (d) => oneShot("sha256", d, "buffer"),
  "@noble/hashes sha256": (d) => sha256(d),
};

function measure(fn: Impl, size: number, iterations: number): number {
  const data = new Uint8Array(size).fill(7);
  for (let i = 0; i < 10_000; i++) fn(data);
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn(data);
  const ns = Number(process.hrtime.bigint() - start);
  return Math.round((iterations * 1e9) / ns);
}

const results: Record<string, Record<string, number>> = {};
for (const size of [33, 65, 200, 400]) {
  for (const [name, fn] of Object.entries(impls)) {
    (results[name] ??= {})[`${size}B`] = measure(fn, size, 200_000);
  }
}
console.log(JSON.stringify({ unit: "hashes/s", node: process.version, results }, null, 2));
