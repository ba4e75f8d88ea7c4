/**
 * RFC 9162 §2.1.1 hashing with SHA-256.
 *
 * Backend: `node:crypto`'s one-shot `hash()`. Measured with scripts/bench/sha256.ts (see README):
 * it is 2-4x faster than `@noble/hashes` for the 65-byte node inputs and 200-400 byte event leaves.
 */
import { hash as oneShot } from "node:crypto";
import { InvalidInputError } from "../util/errors";

/** Length in bytes of every hash in a tree or proof. */
export const HASH_SIZE = 32;

const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

/** SHA-256 of `data`, as a plain Uint8Array (not a Buffer) so values compare equal everywhere. */
export function sha256(data: Uint8Array): Uint8Array {
  const digest = oneShot("sha256", data, "buffer");
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
}

/** True when `value` is a Uint8Array of exactly 32 bytes. */
export function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === HASH_SIZE;
}

/** Throws InvalidInputError unless `value` is a 32-byte Uint8Array. */
export function requireHash(value: unknown, what: string): Uint8Array {
  if (!isHash(value)) {
    const got = value instanceof Uint8Array ? `${value.length} bytes` : typeof value;
    throw new InvalidInputError(`${what} must be a ${HASH_SIZE}-byte Uint8Array, got ${got}`);
  }
  return value;
}

/** RFC 9162 leaf hash: SHA-256(0x00 ‖ data). */
export function leafHash(data: Uint8Array): Uint8Array {
  if (!(data instanceof Uint8Array)) throw new InvalidInputError("leaf data must be a Uint8Array");
  const buf = new Uint8Array(data.length + 1);
  buf[0] = LEAF_PREFIX;
  buf.set(data, 1);
  return sha256(buf);
}

/** RFC 9162 interior node hash: SHA-256(0x01 ‖ left ‖ right). Both children must be 32 bytes. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  requireHash(left, "left child hash");
  requireHash(right, "right child hash");
  return hashChildren(left, right);
}

/** nodeHash without argument checks, for callers that already validated their inputs. */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  const buf = new Uint8Array(1 + 2 * HASH_SIZE);
  buf[0] = NODE_PREFIX;
  buf.set(left, 1);
  buf.set(right, 1 + HASH_SIZE);
  return sha256(buf);
}

/** Root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1). */
export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));

/** Byte-wise equality of two Uint8Arrays. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
