/** Identifier helpers for chain calls (docs/interfaces.md "Identifiers"). */
import { sha256, toUtf8Bytes } from "ethers";

/** federationId = SHA-256(utf8(origin)), as a 0x-prefixed bytes32. */
export function federationIdOf(origin: string): string {
  return sha256(toUtf8Bytes(origin));
}
