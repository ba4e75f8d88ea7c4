/**
 * The AMP proof file (`amp-proof/v1`), documented field by field in docs/cli.md.
 *
 * Everything a verifier needs besides an RPC endpoint: the event's canonical bytes and leaf hash,
 * its position in the federation log, the inclusion path, the quorum-signed checkpoint, the
 * nexus round's global root with every federation's checkpoint (to recompute it), and the anchor
 * reference (chain, contract, round, transaction, block). Numbers that can exceed 2^53 are strings.
 */
import Ajv from "ajv";
import type { ErrorObject } from "ajv";
import { InvalidInputError } from "../util/errors";
import { IJsonError, parseIJson } from "../events/ijson";
import { COMPACT_PROOF_FORMAT, fromCompact, toCompact } from "./compact";
import { PROOF_FORMAT, obj, origin, u64 } from "./schema-parts";

export { PROOF_FORMAT };

export interface NexusCheckpoint {
  origin: string;
  treeSize: string;
  rootHash: string;
}

export interface NoteKey {
  keyName: string;
  /** ML-DSA-65 public key, base64 (1952 bytes). */
  publicKey: string;
}

export interface ProofFile {
  format: typeof PROOF_FORMAT;
  event: {
    id: string;
    /** RFC 8785 (JCS) text of the event; omitted for a digest-only proof (the leaf hash alone). */
    canonical?: string;
    leafHash: string;
  };
  federation: { origin: string; federationId: string };
  inclusion: { index: string; treeSize: string; path: string[] };
  checkpoint: {
    epoch: string;
    treeSize: string;
    rootHash: string;
    /**
     * C2SP signed note (tlog-checkpoint body + ML-DSA-65 vote signatures). Absent, with `noteKeys`,
     * in a compact proof (`amp proof --compact`): the post-quantum layer is then not checkable.
     */
    signedNote?: string;
    /** ML-DSA-65 keys of the note's signers (from the manifest); present exactly when `signedNote` is. */
    noteKeys?: NoteKey[];
    /** 65-byte EIP-712 signatures the anchor checked, signers strictly ascending. */
    signatures: string[];
  };
  nexus: { round: string; globalRoot: string; checkpoints: NexusCheckpoint[] };
  anchor: { chainId: string; contract: string; round: string; txHash: string; blockNumber: string };
}

const hash32 = { type: "string", pattern: "^0x[0-9a-f]{64}$" };
const address = { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" };
const sig65 = { type: "string", pattern: "^0x[0-9a-f]{130}$" };

export const PROOF_SCHEMA = obj({
  format: { const: PROOF_FORMAT },
  event: obj({ id: { type: "string", minLength: 1 }, canonical: { type: "string" }, leafHash: hash32 }, [
    "canonical",
  ]),
  federation: obj({ origin, federationId: hash32 }),
  inclusion: obj({ index: u64, treeSize: u64, path: { type: "array", items: hash32, maxItems: 64 } }),
  checkpoint: obj(
    {
      epoch: u64,
      treeSize: u64,
      rootHash: hash32,
      signedNote: { type: "string", maxLength: 1_000_000 },
      noteKeys: {
        type: "array",
        maxItems: 64,
        items: obj({ keyName: { type: "string" }, publicKey: { type: "string" } }),
      },
      signatures: { type: "array", items: sig65, minItems: 1, maxItems: 256 },
    },
    ["signedNote", "noteKeys"],
  ),
  nexus: obj({
    round: u64,
    globalRoot: hash32,
    checkpoints: {
      type: "array",
      minItems: 1,
      maxItems: 256,
      items: obj({ origin, treeSize: u64, rootHash: hash32 }),
    },
  }),
  anchor: obj({ chainId: u64, contract: address, round: u64, txHash: hash32, blockNumber: u64 }),
});

const validate = new Ajv({ allErrors: false, strict: true }).compile<ProofFile>(PROOF_SCHEMA);

function describe(e: ErrorObject): string {
  const at = e.instancePath ? e.instancePath.slice(1).replace(/\//g, ".") : "(root)";
  if (e.keyword === "additionalProperties") {
    return `${at}: unknown field "${String((e.params as { additionalProperty: string }).additionalProperty)}"`;
  }
  return `${at}: ${e.message ?? e.keyword}`;
}

/** Largest proof file accepted, in UTF-16 code units of its text (a real one is ≈ 60 KB). */
export const MAX_PROOF_FILE_CHARS = 2 * 1024 * 1024; // the same figure as MAX_PROOF_BYTES in verify.ts

/**
 * Parse and shape-check a proof file; errors name the offending field. The text must be I-JSON
 * (duplicate fields, lone surrogates, inexact numbers are refused, with file:line:column).
 */
export function parseProofFile(text: string, source = "proof"): ProofFile {
  if (typeof text !== "string") throw new InvalidInputError("proof file text must be a string");
  if (text.length > MAX_PROOF_FILE_CHARS) {
    throw new InvalidInputError(
      `${source}: proof file is ${text.length} characters, limit ${MAX_PROOF_FILE_CHARS}`,
      { meta: { field: "/", limit: MAX_PROOF_FILE_CHARS } },
    );
  }
  let raw: unknown;
  try {
    raw = parseIJson(text, { source });
  } catch (cause) {
    if (!(cause instanceof IJsonError)) throw cause;
    const malformed = /malformed JSON/.test(cause.shortMessage);
    throw new InvalidInputError(`proof file is not ${malformed ? "JSON" : "I-JSON"}: ${cause.shortMessage}`, {
      cause,
      meta: cause.meta,
    });
  }
  const compactForm = (raw as { format?: unknown } | null)?.format === COMPACT_PROOF_FORMAT;
  if (compactForm) raw = fromCompact(raw);
  if (!validate(raw)) {
    const first = validate.errors?.[0];
    throw new InvalidInputError(`proof file malformed: ${first ? describe(first) : "unknown error"}`);
  }
  if ((raw.checkpoint.signedNote === undefined) !== (raw.checkpoint.noteKeys === undefined)) {
    throw new InvalidInputError(
      "proof file malformed: checkpoint.signedNote and checkpoint.noteKeys come together (a compact proof has neither)",
    );
  }
  return raw;
}

/** A compact proof: no ML-DSA signed note (only the on-chain EIP-712 quorum layer is checkable). */
export function isCompact(proof: ProofFile): boolean {
  return proof.checkpoint.signedNote === undefined;
}

/** The file text: indented JSON (`amp-proof/v1`), or one line of `amp-proof/v1-compact` for a compact proof. */
export function serializeProofFile(proof: ProofFile): string {
  return (isCompact(proof) ? JSON.stringify(toCompact(proof)) : JSON.stringify(proof, null, 2)) + "\n";
}
