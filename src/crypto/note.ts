/**
 * C2SP signed notes carrying C2SP tlog-checkpoints, signed with ML-DSA-65 (FIPS 204).
 *
 * Body (c2sp.org/tlog-checkpoint plus one extension line):
 *   <origin>\n<decimal size>\n<base64 root>\namp-round <k> epoch <e>\n
 * Signed note (c2sp.org/signed-note): body, "\n", then per signature
 *   "— <key name> <base64(keyId(4) ‖ signature)>\n"
 *
 * Signature type: c2sp.org/signed-note assigns no byte to ML-DSA-65 in the form we use, so we use
 * the reserved `0xff` ("types without an assigned byte") followed by the identifier
 * `ML_DSA_TYPE_ID` ("amp/ml-dsa-65/v1"):
 *   keyId = SHA-256(keyName ‖ 0x0A ‖ 0xff ‖ "amp/ml-dsa-65/v1" ‖ publicKey)[:4]
 * ML-DSA-65 signs the note body (the text up to and including its final newline) with the FIPS 204
 * context string `amp/vote/v1` (validators' votes) or `amp/witness/v1` (the other federation's
 * cosignatures), so a vote can never be replayed as a cosignature or vice versa.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { InvalidInputError } from "../util/errors";
import { ML_DSA65_PUBLIC_KEY_BYTES, ML_DSA65_SIGNATURE_BYTES } from "./keys";
import { mldsaSign, mldsaVerify, type MlDsaBackend } from "./mldsa";

export const VOTE_CONTEXT = "amp/vote/v1";
export const WITNESS_CONTEXT = "amp/witness/v1";
export type SignatureContext = typeof VOTE_CONTEXT | typeof WITNESS_CONTEXT;

export const SIGNATURE_TYPE_BYTE = 0xff;
export const ML_DSA_TYPE_ID = "amp/ml-dsa-65/v1";
/** Upper bound on signature lines we parse (C2SP: accept at least 16). */
export const MAX_NOTE_SIGNATURES = 64;
const EM_DASH = "\u2014";
const enc = new TextEncoder();

/** A federation checkpoint for one nexus round (what validators vote on). */
export interface Checkpoint {
  readonly origin: string;
  readonly treeSize: bigint;
  readonly rootHash: Uint8Array;
  readonly round: bigint;
  readonly epoch: bigint;
}

/** Error thrown for malformed notes and bad signatures; `meta.code` names the problem. */
export class NoteError extends InvalidInputError {
  override name = "NoteError";
  constructor(code: string, shortMessage: string) {
    super(shortMessage, { meta: { code } });
  }
  get code(): string {
    return this.meta.code as string;
  }
}

const ORIGIN_RE = /^[\x21-\x7e]{1,255}$/;
const DECIMAL_RE = /^(0|[1-9][0-9]*)$/;
const POSITIVE_RE = /^[1-9][0-9]*$/;
const MAX_U64 = (1n << 64n) - 1n;

export function checkOrigin(origin: string): void {
  if (!ORIGIN_RE.test(origin)) {
    throw new NoteError(
      "bad-origin",
      `origin ${JSON.stringify(origin)} must be 1..255 printable ASCII bytes`,
    );
  }
}

function checkU64(v: bigint, what: string, min: bigint): void {
  if (v < min || v > MAX_U64) throw new NoteError("bad-number", `${what} ${v} is outside ${min}..2^64-1`);
}

/** Strict RFC 4648 §4 base64 (padding required, no whitespace); throws NoteError("bad-base64"). */
export function decodeBase64Strict(s: string, what: string): Uint8Array {
  const b = Buffer.from(s, "base64");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0 || b.toString("base64") !== s) {
    throw new NoteError("bad-base64", `${what} is not canonical base64`);
  }
  return Uint8Array.from(b);
}

export function checkpointBody(cp: Checkpoint): string {
  checkOrigin(cp.origin);
  checkU64(cp.treeSize, "tree size", 0n);
  checkU64(cp.round, "round", 1n);
  checkU64(cp.epoch, "epoch", 1n);
  if (cp.rootHash.length !== 32) throw new NoteError("bad-root", "root hash must be 32 bytes");
  const root = Buffer.from(cp.rootHash).toString("base64");
  return `${cp.origin}\n${cp.treeSize}\n${root}\namp-round ${cp.round} epoch ${cp.epoch}\n`;
}

/** Parse a checkpoint body strictly: exactly four lines, canonical numbers, 32-byte root. */
export function parseCheckpointBody(body: string): Checkpoint {
  if (!body.endsWith("\n")) throw new NoteError("bad-body", "checkpoint body must end with a newline");
  const lines = body.slice(0, -1).split("\n");
  if (lines.length !== 4) {
    throw new NoteError("bad-body", `checkpoint body must have 4 lines, got ${lines.length}`);
  }
  const [origin, size, root, ext] = lines as [string, string, string, string];
  checkOrigin(origin);
  if (!DECIMAL_RE.test(size)) throw new NoteError("bad-number", `tree size ${JSON.stringify(size)}`);
  const rootHash = decodeBase64Strict(root, "root hash");
  if (rootHash.length !== 32) throw new NoteError("bad-root", "root hash must be 32 bytes");
  const m = /^amp-round ([0-9]+) epoch ([0-9]+)$/.exec(ext);
  if (!m || !POSITIVE_RE.test(m[1]!) || !POSITIVE_RE.test(m[2]!)) {
    throw new NoteError("bad-extension", `expected "amp-round <k> epoch <e>", got ${JSON.stringify(ext)}`);
  }
  const cp = { origin, treeSize: BigInt(size), rootHash, round: BigInt(m[1]!), epoch: BigInt(m[2]!) };
  checkU64(cp.treeSize, "tree size", 0n);
  checkU64(cp.round, "round", 1n);
  checkU64(cp.epoch, "epoch", 1n);
  return cp;
}

export function checkpointsEqual(a: Checkpoint, b: Checkpoint): boolean {
  return checkpointBody(a) === checkpointBody(b);
}

/** One signature line of a signed note. */
export interface NoteSignature {
  readonly keyName: string;
  readonly keyId: Uint8Array; // 4 bytes
  readonly signature: Uint8Array;
}

export interface SignedNote {
  readonly body: string;
  readonly signatures: readonly NoteSignature[];
}

/** A trusted ML-DSA-65 key: name, id, public key. */
export interface NoteVerifier {
  readonly keyName: string;
  readonly keyId: Uint8Array;
  readonly publicKey: Uint8Array;
}

export interface NoteSigner extends NoteVerifier {
  readonly secretKey: Uint8Array;
}

const KEY_NAME_RE = /^[\x21-\x2a\x2c-\x7e]+$/; // printable ASCII, no space, no "+"

export function keyId(keyName: string, publicKey: Uint8Array): Uint8Array {
  const name = enc.encode(keyName);
  const typeId = enc.encode(ML_DSA_TYPE_ID);
  const buf = new Uint8Array(name.length + 2 + typeId.length + publicKey.length);
  buf.set(name, 0);
  buf[name.length] = 0x0a;
  buf[name.length + 1] = SIGNATURE_TYPE_BYTE;
  buf.set(typeId, name.length + 2);
  buf.set(publicKey, name.length + 2 + typeId.length);
  return sha256(buf).subarray(0, 4);
}

export function makeVerifier(keyName: string, publicKey: Uint8Array): NoteVerifier {
  if (!KEY_NAME_RE.test(keyName))
    throw new NoteError("bad-key-name", `bad key name ${JSON.stringify(keyName)}`);
  if (publicKey.length !== ML_DSA65_PUBLIC_KEY_BYTES) {
    throw new NoteError("bad-public-key", `ML-DSA-65 public key must be ${ML_DSA65_PUBLIC_KEY_BYTES} bytes`);
  }
  return { keyName, keyId: keyId(keyName, publicKey), publicKey };
}

export function makeSigner(keyName: string, publicKey: Uint8Array, secretKey: Uint8Array): NoteSigner {
  return { ...makeVerifier(keyName, publicKey), secretKey };
}

/** Sign a note body (deterministic ML-DSA-65 with the given FIPS 204 context). */
export function signBody(body: string, signer: NoteSigner, context: SignatureContext): NoteSignature {
  const signature = mldsaSign(enc.encode(body), signer.secretKey, enc.encode(context));
  return { keyName: signer.keyName, keyId: signer.keyId, signature };
}

/** {@link signBody} on a backend (e.g. a worker pool); the same signature bytes. */
export async function signBodyWith(
  body: string,
  signer: NoteSigner,
  context: SignatureContext,
  backend: MlDsaBackend,
): Promise<NoteSignature> {
  const signature = await backend.sign(enc.encode(body), signer.secretKey, enc.encode(context));
  return { keyName: signer.keyName, keyId: signer.keyId, signature };
}

export function formatSignedNote(note: SignedNote): string {
  if (note.signatures.length === 0) throw new NoteError("no-signatures", "a signed note needs a signature");
  const lines = note.signatures.map((s) => {
    const blob = Buffer.concat([Buffer.from(s.keyId), Buffer.from(s.signature)]).toString("base64");
    return `${EM_DASH} ${s.keyName} ${blob}\n`;
  });
  return `${note.body}\n${lines.join("")}`;
}

/** Parse a signed note strictly (structure only; see {@link verifyNote} for signatures). */
export function parseSignedNote(text: string): SignedNote {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x09\x0b-\x1f]/.test(text))
    throw new NoteError("control-char", "note contains a control character");
  const split = text.lastIndexOf("\n\n");
  if (split < 0 || !text.endsWith("\n")) {
    throw new NoteError("no-separator", "signed note needs a body, a blank line and signature lines");
  }
  const body = text.slice(0, split + 1);
  const sigLines = text.slice(split + 2, -1).split("\n");
  if (sigLines.length > MAX_NOTE_SIGNATURES) {
    throw new NoteError("too-many-signatures", `more than ${MAX_NOTE_SIGNATURES} signatures`);
  }
  return { body, signatures: sigLines.map(parseSignatureLine) };
}

function parseSignatureLine(line: string): NoteSignature {
  const parts = line.split(" ");
  if (parts.length !== 3 || parts[0] !== EM_DASH) {
    throw new NoteError(
      "bad-signature-line",
      `malformed signature line ${JSON.stringify(line.slice(0, 80))}`,
    );
  }
  const keyName = parts[1]!;
  if (!KEY_NAME_RE.test(keyName))
    throw new NoteError("bad-key-name", `bad key name ${JSON.stringify(keyName)}`);
  const blob = decodeBase64Strict(parts[2]!, `signature of ${keyName}`);
  if (blob.length < 5) throw new NoteError("short-signature", `signature of ${keyName} is too short`);
  return { keyName, keyId: blob.slice(0, 4), signature: blob.slice(4) };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

export function findVerifier(
  sig: NoteSignature,
  verifiers: readonly NoteVerifier[],
): NoteVerifier | undefined {
  return verifiers.find((v) => v.keyName === sig.keyName && sameBytes(v.keyId, sig.keyId));
}

/** Verify one signature line against a known key; throws NoteError on wrong length or failure. */
export function verifySignature(
  body: string,
  sig: NoteSignature,
  verifier: NoteVerifier,
  context: SignatureContext,
): void {
  checkSignatureLength(sig);
  const ok = mldsaVerify(sig.signature, enc.encode(body), verifier.publicKey, enc.encode(context));
  if (!ok) throw badSignature(sig, context);
}

/** {@link verifySignature} on a backend (e.g. a worker pool). */
export async function verifySignatureWith(
  body: string,
  sig: NoteSignature,
  verifier: NoteVerifier,
  context: SignatureContext,
  backend: MlDsaBackend,
): Promise<void> {
  checkSignatureLength(sig);
  const ok = await backend.verify(sig.signature, enc.encode(body), verifier.publicKey, enc.encode(context));
  if (!ok) throw badSignature(sig, context);
}

function checkSignatureLength(sig: NoteSignature): void {
  if (sig.signature.length !== ML_DSA65_SIGNATURE_BYTES) {
    throw new NoteError(
      "wrong-signature-length",
      `signature of ${sig.keyName} is ${sig.signature.length} bytes; ML-DSA-65 needs ${ML_DSA65_SIGNATURE_BYTES}`,
    );
  }
}

function badSignature(sig: NoteSignature, context: SignatureContext): NoteError {
  return new NoteError("bad-signature", `signature of ${sig.keyName} does not verify (${context})`);
}

export interface VerifyOptions {
  /** Refuse signatures from unknown keys instead of ignoring them (C2SP: ignore). */
  readonly rejectUnknown?: boolean;
}

/**
 * Verify every signature from a known key (any failure rejects the whole note, C2SP "SHOULD");
 * ignore unknown keys unless `rejectUnknown`. Returns the verifiers whose signatures verified
 * (each key at most once); throws if none did.
 */
export function verifyNote(
  note: SignedNote,
  verifiers: readonly NoteVerifier[],
  context: SignatureContext,
  options: VerifyOptions = {},
): NoteVerifier[] {
  const known = knownSignatures(note, verifiers, options);
  for (const { sig, v } of known) verifySignature(note.body, sig, v, context);
  return known.map((k) => k.v);
}

/** {@link verifyNote} on a backend: the signatures are checked concurrently, same outcome. */
export async function verifyNoteWith(
  note: SignedNote,
  verifiers: readonly NoteVerifier[],
  context: SignatureContext,
  backend: MlDsaBackend,
  options: VerifyOptions = {},
): Promise<NoteVerifier[]> {
  const known = knownSignatures(note, verifiers, options);
  const results = await Promise.allSettled(
    known.map(({ sig, v }) => verifySignatureWith(note.body, sig, v, context, backend)),
  );
  // Report the first failing line in note order, as the one-by-one check would.
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  return known.map((k) => k.v);
}

/** The note's signatures by known keys, each key once; structural refusals as NoteErrors. */
function knownSignatures(
  note: SignedNote,
  verifiers: readonly NoteVerifier[],
  options: VerifyOptions,
): { sig: NoteSignature; v: NoteVerifier }[] {
  const seen = new Set<string>();
  const out: { sig: NoteSignature; v: NoteVerifier }[] = [];
  for (const sig of note.signatures) {
    const v = findVerifier(sig, verifiers);
    if (!v) {
      if (options.rejectUnknown)
        throw new NoteError("unknown-key", `signature by unknown key ${sig.keyName}`);
      continue;
    }
    if (seen.has(v.keyName)) throw new NoteError("duplicate-signature", `two signatures by ${v.keyName}`);
    seen.add(v.keyName);
    out.push({ sig, v });
  }
  if (out.length === 0) throw new NoteError("no-known-signature", "no signature from a known key");
  return out;
}
