/** Identifier helpers for chain calls (docs/interfaces.md "Identifiers"). */
import { hexlify } from "ethers";
import { federationIdOf as federationIdBytes } from "../nexus/global-root";

/** federationId = SHA-256(utf8(origin)) (defined once in src/nexus/global-root.ts), as a 0x-prefixed bytes32. */
export function federationIdOf(origin: string): string {
  return hexlify(federationIdBytes(origin));
}
