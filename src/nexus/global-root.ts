/**
 * The nexus global root of a round (docs/interfaces.md "Hashing", PROTOCOL §3) — the pure TypeScript
 * twin of GlobalProofAnchor's on-chain recomputation:
 *
 *   SHA-256("amp/global-root/v1\n" ‖ u64be(round) ‖ Σ_f [u8(len(origin_f)) ‖ origin_f ‖ u64be(size_f) ‖ root_f])
 *
 * over every federation, in strictly ascending federationId = SHA-256(utf8(origin)) order.
 */
import { sha256 } from "../merkle/hash";
import { InvalidInputError } from "../util/errors";

/** Domain label that starts every global-root preimage. */
export const GLOBAL_ROOT_LABEL = "amp/global-root/v1\n";

const U64_MAX = (1n << 64n) - 1n;
const encoder = new TextEncoder();

/** One federation's final checkpoint of a round. */
export interface NexusCheckpoint {
  origin: string;
  treeSize: bigint;
  rootHash: Uint8Array;
}

/** federationId = SHA-256(utf8(origin)), as 32 raw bytes. */
export function federationIdOf(origin: string): Uint8Array {
  return sha256(encoder.encode(origin));
}

/** Throws unless `origin` is 1..255 bytes of printable ASCII without spaces (as the registry demands). */
function originBytes(origin: string): Uint8Array {
  const bytes = encoder.encode(origin);
  const printable = bytes.every((b) => b >= 0x21 && b <= 0x7e);
  if (bytes.length === 0 || bytes.length > 255 || !printable) {
    throw new InvalidInputError(`origin ${JSON.stringify(origin)} is not 1..255 printable ASCII bytes`);
  }
  return bytes;
}

function u64be(value: bigint, what: string): Uint8Array {
  if (typeof value !== "bigint" || value < 0n || value > U64_MAX) {
    throw new InvalidInputError(`${what} ${String(value)} is not a 64-bit unsigned integer`);
  }
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value, false);
  return out;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length && i < b.length; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

/** One federation's part of the preimage, keyed by its federationId for ordering. */
function partOf(cp: NexusCheckpoint): { id: Uint8Array; bytes: Uint8Array } {
  const origin = originBytes(cp.origin);
  if (!(cp.rootHash instanceof Uint8Array) || cp.rootHash.length !== 32) {
    throw new InvalidInputError(`root hash of ${cp.origin} is not 32 bytes`);
  }
  const bytes = new Uint8Array(1 + origin.length + 8 + 32);
  bytes[0] = origin.length;
  bytes.set(origin, 1);
  bytes.set(u64be(cp.treeSize, `tree size of ${cp.origin}`), 1 + origin.length);
  bytes.set(cp.rootHash, 1 + origin.length + 8);
  return { id: federationIdOf(cp.origin), bytes };
}

/**
 * Global root of nexus round `round` (≥ 1) over `checkpoints`, one per federation in any order;
 * they are ordered here by ascending federationId. Throws InvalidInputError on a bad round, origin,
 * size or root, on an empty list, and on two checkpoints of one federation.
 */
export function globalRoot(round: bigint, checkpoints: readonly NexusCheckpoint[]): Uint8Array {
  const roundBytes = u64be(round, "round");
  if (round < 1n) throw new InvalidInputError("round 0 does not exist: rounds start at 1");
  if (checkpoints.length === 0) throw new InvalidInputError("a global root needs at least one checkpoint");
  const parts = checkpoints.map(partOf).sort((a, b) => compareBytes(a.id, b.id));
  for (let i = 1; i < parts.length; i++) {
    if (compareBytes(parts[i - 1]!.id, parts[i]!.id) === 0) {
      throw new InvalidInputError("two checkpoints of one federation in a global root");
    }
  }
  const label = encoder.encode(GLOBAL_ROOT_LABEL);
  const total = label.length + 8 + parts.reduce((n, p) => n + p.bytes.length, 0);
  const preimage = new Uint8Array(total);
  preimage.set(label, 0);
  preimage.set(roundBytes, label.length);
  let cursor = label.length + 8;
  for (const p of parts) {
    preimage.set(p.bytes, cursor);
    cursor += p.bytes.length;
  }
  return sha256(preimage);
}

/** Alias of {@link globalRoot}, the name the proof verifier imports. */
export const computeGlobalRoot = globalRoot;
