/**
 * The compact proof encoding (`amp-proof/v1-compact`, `amp proof --compact`): the same proof
 * without the ML-DSA signed note, with hashes and signatures in unpadded base64url and every value
 * the verifier can derive left out (the federation id is SHA-256 of the origin; the checkpoint's
 * size and root are this federation's entry in the round's checkpoints; the anchor round is the
 * nexus round). Parsing expands it into the ordinary in-memory `ProofFile` (hex, full field names),
 * so verification runs the same code and names the same fields.
 */
import Ajv from "ajv";
import { sha256 } from "@noble/hashes/sha2.js";
import { InvalidInputError } from "../util/errors";
import type { ProofFile } from "./format";
import { PROOF_FORMAT, obj, origin, u64 } from "./schema-parts";

/** The full format's id (repeated here so this module needs no runtime import of format.ts). */

export const COMPACT_PROOF_FORMAT = "amp-proof/v1-compact";

export interface CompactProofFile {
  format: typeof COMPACT_PROOF_FORMAT;
  /** event id, leaf hash, and the canonical event text unless digest-only */
  event: { id: string; leaf: string; canonical?: string };
  origin: string;
  epoch: string;
  index: string;
  path: string[];
  /** EIP-712 signatures the anchor checked, signers ascending */
  sigs: string[];
  round: string;
  globalRoot: string;
  /** every federation's [origin, size, root] in the round, this one included */
  checkpoints: [string, string, string][];
  anchor: { chainId: string; contract: string; tx: string; block: string };
}

const b64u32 = { type: "string", pattern: "^[A-Za-z0-9_-]{43}$" };
const b64u65 = { type: "string", pattern: "^[A-Za-z0-9_-]{87}$" };

const SCHEMA = obj({
  format: { const: COMPACT_PROOF_FORMAT },
  event: obj({ id: { type: "string", minLength: 1 }, leaf: b64u32, canonical: { type: "string" } }, [
    "canonical",
  ]),
  origin,
  epoch: u64,
  index: u64,
  path: { type: "array", items: b64u32, maxItems: 64 },
  sigs: { type: "array", items: b64u65, minItems: 1, maxItems: 256 },
  round: u64,
  globalRoot: b64u32,
  checkpoints: {
    type: "array",
    minItems: 1,
    maxItems: 256,
    items: { type: "array", minItems: 3, items: [origin, u64, b64u32], additionalItems: false },
  },
  anchor: obj({
    chainId: u64,
    contract: { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" },
    tx: b64u32,
    block: u64,
  }),
});

const validate = new Ajv({ allErrors: false, strict: true }).compile<CompactProofFile>(SCHEMA);

const toB64u = (hex: string) => Buffer.from(hex.slice(2), "hex").toString("base64url");
/** Hex of canonical unpadded base64url (unused low bits set would give one value two spellings). */
function toHex(b64u: string, field: string): string {
  const bytes = Buffer.from(b64u, "base64url");
  if (bytes.toString("base64url") !== b64u) {
    throw new InvalidInputError(`compact proof file malformed: ${field}: not canonical base64url`);
  }
  return "0x" + bytes.toString("hex");
}

/** The compact form of a proof (its signed note, if any, is dropped). */
export function toCompact(p: ProofFile): CompactProofFile {
  return {
    format: COMPACT_PROOF_FORMAT,
    event: {
      id: p.event.id,
      leaf: toB64u(p.event.leafHash),
      ...(p.event.canonical !== undefined ? { canonical: p.event.canonical } : {}),
    },
    origin: p.federation.origin,
    epoch: p.checkpoint.epoch,
    index: p.inclusion.index,
    path: p.inclusion.path.map(toB64u),
    sigs: p.checkpoint.signatures.map(toB64u),
    round: p.nexus.round,
    globalRoot: toB64u(p.nexus.globalRoot),
    checkpoints: p.nexus.checkpoints.map((c) => [c.origin, c.treeSize, toB64u(c.rootHash)]),
    anchor: {
      chainId: p.anchor.chainId,
      contract: p.anchor.contract,
      tx: toB64u(p.anchor.txHash),
      block: p.anchor.blockNumber,
    },
  };
}

/** Expand a compact proof (already JSON-parsed) into the ordinary form; errors name the field. */
export function fromCompact(raw: unknown): ProofFile {
  if (!validate(raw)) {
    const e = validate.errors?.[0];
    const at = e?.instancePath ? e.instancePath.slice(1).replace(/\//g, ".") : "(root)";
    throw new InvalidInputError(`compact proof file malformed: ${at}: ${e?.message ?? "unknown error"}`);
  }
  const own = raw.checkpoints.find(([o]) => o === raw.origin);
  if (own === undefined) {
    throw new InvalidInputError(`compact proof file malformed: checkpoints: no entry for ${raw.origin}`);
  }
  const federationId = "0x" + Buffer.from(sha256(new TextEncoder().encode(raw.origin))).toString("hex");
  return {
    format: PROOF_FORMAT,
    event: {
      id: raw.event.id,
      ...(raw.event.canonical !== undefined ? { canonical: raw.event.canonical } : {}),
      leafHash: toHex(raw.event.leaf, "event.leaf"),
    },
    federation: { origin: raw.origin, federationId },
    inclusion: { index: raw.index, treeSize: own[1], path: raw.path.map((h, i) => toHex(h, `path.${i}`)) },
    checkpoint: {
      epoch: raw.epoch,
      treeSize: own[1],
      rootHash: toHex(own[2], "checkpoints"),
      signatures: raw.sigs.map((h, i) => toHex(h, `sigs.${i}`)),
    },
    nexus: {
      round: raw.round,
      globalRoot: toHex(raw.globalRoot, "globalRoot"),
      checkpoints: raw.checkpoints.map(([o, size, root]) => ({
        origin: o,
        treeSize: size,
        rootHash: toHex(root, "checkpoints"),
      })),
    },
    anchor: {
      chainId: raw.anchor.chainId,
      contract: raw.anchor.contract,
      round: raw.round,
      txHash: toHex(raw.anchor.tx, "anchor.tx"),
      blockNumber: raw.anchor.block,
    },
  };
}
