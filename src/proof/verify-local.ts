/**
 * The checks a proof file must pass on its own, before and after the chain is asked:
 * internal consistency of its fields, the event's leaf, the signed note, the inclusion path and
 * the recomputed global root. Each failure names the field.
 */
import { canonicalJson, leafHash, verifyInclusion } from "../merkle";
import {
  findVerifier,
  makeVerifier,
  parseCheckpointBody,
  parseSignedNote,
  verifySignature,
  VOTE_CONTEXT,
  WITNESS_CONTEXT,
} from "../crypto/note";
import { computeGlobalRoot } from "../nexus/global-root";
import { federationIdOf } from "../chain/ids";
import { check, ProofInvalidError } from "./errors";
import type { ProofFile } from "./format";

export const hexOf = (b: Uint8Array): string => "0x" + Buffer.from(b).toString("hex");
export const bytesOf = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.slice(2), "hex"));

/** The event's canonical bytes hash to the stated leaf, and its id is the stated id. */
export function checkEvent(p: ProofFile): void {
  if (p.event.canonical === undefined) return; // digest-only proof: the leaf hash is the claim
  let parsed: unknown;
  try {
    parsed = JSON.parse(p.event.canonical);
  } catch {
    throw new ProofInvalidError("event.canonical", "is not JSON");
  }
  check(canonicalJson(parsed) === p.event.canonical, "event.canonical", "is not RFC 8785 canonical JSON");
  const id = (parsed as { event_id?: unknown; id?: unknown }).event_id ?? (parsed as { id?: unknown }).id;
  check(id === p.event.id, "event.id", `does not match the event's own id (${String(id)})`);
  const leaf = hexOf(leafHash(new TextEncoder().encode(p.event.canonical)));
  check(leaf === p.event.leafHash, "event.leafHash", `is not the leaf hash of event.canonical (${leaf})`);
}

/** Fields that state the same fact twice must agree. */
export function checkConsistency(p: ProofFile): void {
  check(
    federationIdOf(p.federation.origin) === p.federation.federationId,
    "federation.federationId",
    `is not SHA-256 of origin "${p.federation.origin}"`,
  );
  check(p.anchor.round === p.nexus.round, "anchor.round", `differs from nexus.round ${p.nexus.round}`);
  check(
    p.inclusion.treeSize === p.checkpoint.treeSize,
    "inclusion.treeSize",
    `differs from checkpoint.treeSize ${p.checkpoint.treeSize}`,
  );
  check(
    BigInt(p.inclusion.index) < BigInt(p.inclusion.treeSize),
    "inclusion.index",
    `${p.inclusion.index} is not below the tree size ${p.inclusion.treeSize}`,
  );
  const mine = p.nexus.checkpoints.filter((c) => c.origin === p.federation.origin);
  check(mine.length === 1, "nexus.checkpoints", `must hold exactly one checkpoint of ${p.federation.origin}`);
  const [cp] = mine;
  check(
    cp?.treeSize === p.checkpoint.treeSize && cp.rootHash === p.checkpoint.rootHash,
    "nexus.checkpoints",
    `the entry for ${p.federation.origin} differs from checkpoint.treeSize/rootHash`,
  );
}

/** Recompute the global root from every federation's checkpoint (PROTOCOL §3). */
export function checkGlobalRoot(p: ProofFile): void {
  let root: string;
  try {
    root = hexOf(
      computeGlobalRoot(
        BigInt(p.nexus.round),
        p.nexus.checkpoints.map((c) => ({
          origin: c.origin,
          treeSize: BigInt(c.treeSize),
          rootHash: bytesOf(c.rootHash),
        })),
      ),
    );
  } catch (err) {
    throw new ProofInvalidError("nexus.checkpoints", `cannot recompute the global root (${String(err)})`);
  }
  check(root === p.nexus.globalRoot, "nexus.checkpoints", `recompute to ${root}, not nexus.globalRoot`);
}

export interface NoteCheck {
  /** ML-DSA vote signatures of this federation's validators. */
  votes: number;
  /** ML-DSA witness cosignatures of the other federations' nodes. */
  cosignatures: number;
}

/**
 * The cosigned note carries exactly this checkpoint; every signature verifies with a key in
 * `noteKeys` (no unknown signer, no key twice): this federation's keys under `amp/vote/v1`, the
 * other federations' under `amp/witness/v1`. At least one vote and one cosignature are required.
 */
export function checkSignedNote(p: ProofFile): NoteCheck {
  const field = "checkpoint.signedNote";
  const out: NoteCheck = { votes: 0, cosignatures: 0 };
  const { signedNote, noteKeys } = p.checkpoint;
  check(signedNote !== undefined && noteKeys !== undefined, field, "absent (a compact proof)");
  try {
    const note = parseSignedNote(signedNote);
    const body = parseCheckpointBody(note.body);
    check(body.origin === p.federation.origin, field, `origin is ${body.origin}`);
    check(body.treeSize.toString() === p.checkpoint.treeSize, field, `tree size is ${body.treeSize}`);
    check(
      hexOf(body.rootHash) === p.checkpoint.rootHash,
      field,
      "root hash differs from checkpoint.rootHash",
    );
    check(body.round.toString() === p.nexus.round, field, `round is ${body.round}`);
    check(body.epoch.toString() === p.checkpoint.epoch, field, `epoch is ${body.epoch}`);
    const keys = noteKeys.map((k) => makeVerifier(k.keyName, Buffer.from(k.publicKey, "base64")));
    const seen = new Set<string>();
    for (const sig of note.signatures) {
      const key = findVerifier(sig, keys);
      check(key !== undefined, field, `signature by ${sig.keyName}, a key not in checkpoint.noteKeys`);
      check(!seen.has(key.keyName), field, `two signatures by ${key.keyName}`);
      seen.add(key.keyName);
      const vote = key.keyName.startsWith(`${p.federation.origin}/`);
      verifySignature(note.body, sig, key, vote ? VOTE_CONTEXT : WITNESS_CONTEXT);
      if (vote) out.votes++;
      else out.cosignatures++;
    }
  } catch (err) {
    if (err instanceof ProofInvalidError) throw err;
    throw new ProofInvalidError(field, err instanceof Error ? err.message.split("\n")[0]! : String(err));
  }
  check(out.votes > 0, field, "carries no vote signature of the federation");
  check(out.cosignatures > 0, field, "carries no witness cosignature of another federation");
  return out;
}

/** RFC 9162 inclusion of the leaf at the index, in the checkpoint's tree. */
export function checkInclusionLocally(p: ProofFile): void {
  const ok = verifyInclusion(
    bytesOf(p.event.leafHash),
    BigInt(p.inclusion.index),
    BigInt(p.inclusion.treeSize),
    p.inclusion.path.map(bytesOf),
    bytesOf(p.checkpoint.rootHash),
  );
  check(
    ok,
    "inclusion.path",
    `does not lead from the leaf at inclusion.index ${p.inclusion.index} to checkpoint.rootHash`,
  );
}
