/**
 * Checking one vote against the federation's registered keys: the ML-DSA signed note (exactly one
 * signature, by the voter's own key, context amp/vote/v1) and the EIP-712 signature (recovers to
 * the voter's registered address). Returns the checkpoint or the fault it proves.
 */
import {
  NoteError,
  VOTE_CONTEXT,
  makeVerifier,
  parseCheckpointBody,
  parseSignedNote,
  verifySignatureWith,
  type Checkpoint,
  type NoteVerifier,
} from "../crypto/note";
import { MlDsaPoolError, inlineMlDsa, type MlDsaBackend } from "../crypto/mldsa";
import { recoverCheckpointSigner } from "./anchor-signature";
import type { FaultKind } from "./evidence";
import type { AnchorDomain, FederationConfig, FederationMember, Vote } from "./types";

export type VoteCheck =
  | { readonly ok: true; readonly checkpoint: Checkpoint; readonly body: string }
  | { readonly ok: false; readonly fault: FaultKind | "malformed"; readonly detail: string };

export function memberVerifier(m: FederationMember): NoteVerifier {
  return makeVerifier(m.keyName, m.mldsaPublicKey);
}

/**
 * Check one vote; the ML-DSA verification runs on `mldsa` (this thread by default). A failure of
 * `mldsa` itself (MlDsaPoolError) is thrown, never reported as a fault of the voter.
 */
export async function checkVote(
  vote: Vote,
  member: FederationMember,
  verifier: NoteVerifier,
  fed: FederationConfig,
  round: bigint,
  domain: AnchorDomain,
  mldsa: MlDsaBackend = inlineMlDsa,
): Promise<VoteCheck> {
  try {
    const note = parseSignedNote(vote.note);
    const sig = note.signatures[0];
    if (note.signatures.length !== 1 || !sig || sig.keyName !== verifier.keyName) {
      return {
        ok: false,
        fault: "invalid-signature",
        detail: "vote must carry exactly one signature by the voter",
      };
    }
    if (!Buffer.from(sig.keyId).equals(Buffer.from(verifier.keyId))) {
      return { ok: false, fault: "invalid-signature", detail: "key id does not match the voter's key" };
    }
    await verifySignatureWith(note.body, sig, verifier, VOTE_CONTEXT, mldsa);
    const cp = parseCheckpointBody(note.body);
    if (cp.origin !== fed.origin || cp.round !== round || cp.epoch !== fed.epoch) {
      return { ok: false, fault: "malformed", detail: "vote is for another origin, round or epoch" };
    }
    const signer = recoverCheckpointSigner(domain, cp, vote.eip712Signature);
    if (signer === undefined || signer.toLowerCase() !== member.address.toLowerCase()) {
      return {
        ok: false,
        fault: "invalid-signature",
        detail: "EIP-712 signature does not recover to the voter",
      };
    }
    return { ok: true, checkpoint: cp, body: note.body };
  } catch (e) {
    // The checker's own failure (its ML-DSA workers) says nothing about the vote.
    if (e instanceof MlDsaPoolError) throw e;
    if (e instanceof NoteError && e.code === "wrong-signature-length") {
      return { ok: false, fault: "wrong-length-signature", detail: e.shortMessage };
    }
    if (e instanceof NoteError && e.code === "bad-signature") {
      return { ok: false, fault: "invalid-signature", detail: e.shortMessage };
    }
    return { ok: false, fault: "malformed", detail: e instanceof Error ? e.message : String(e) };
  }
}
