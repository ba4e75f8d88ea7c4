/**
 * Attacks on proof files for the trust tests: replace the note's keys with fresh ones and re-sign,
 * and strip vote signatures. Each returns a changed deep copy.
 */
import { randomBytes } from "node:crypto";
import { mlDsaFromSeed } from "../../src/crypto/keys";
import {
  formatSignedNote,
  makeSigner,
  parseSignedNote,
  signBody,
  VOTE_CONTEXT,
  WITNESS_CONTEXT,
} from "../../src/crypto/note";
import type { ProofFile } from "../../src/proof/format";

const copy = (p: ProofFile): ProofFile => JSON.parse(JSON.stringify(p)) as ProofFile;
const isVote = (p: ProofFile, keyName: string) => keyName.startsWith(`${p.federation.origin}/`);

/** Every noteKey replaced by a freshly generated ML-DSA-65 key (same name), the note re-signed with them. */
export function resignWithFreshKeys(proof: ProofFile): ProofFile {
  const p = copy(proof);
  const note = parseSignedNote(p.checkpoint.signedNote!);
  const signers = new Map(
    p.checkpoint.noteKeys!.map((k) => {
      const kp = mlDsaFromSeed(randomBytes(32));
      return [k.keyName, makeSigner(k.keyName, kp.publicKey, kp.secretKey)] as const;
    }),
  );
  const signatures = note.signatures.map((s) =>
    signBody(note.body, signers.get(s.keyName)!, isVote(p, s.keyName) ? VOTE_CONTEXT : WITNESS_CONTEXT),
  );
  p.checkpoint.signedNote = formatSignedNote({ body: note.body, signatures });
  p.checkpoint.noteKeys = [...signers.values()].map((s) => ({
    keyName: s.keyName,
    publicKey: Buffer.from(s.publicKey).toString("base64"),
  }));
  return p;
}

/** Vote signature lines of the note (the federation's own validators). */
export function voteCount(p: ProofFile): number {
  return parseSignedNote(p.checkpoint.signedNote!).signatures.filter((s) => isVote(p, s.keyName)).length;
}

/** The note with only its first `keep` vote signatures (witness cosignatures untouched). */
export function keepVotes(proof: ProofFile, keep: number): ProofFile {
  const p = copy(proof);
  const note = parseSignedNote(p.checkpoint.signedNote!);
  let votes = 0;
  const signatures = note.signatures.filter((s) => !isVote(p, s.keyName) || votes++ < keep);
  p.checkpoint.signedNote = formatSignedNote({ body: note.body, signatures });
  return p;
}
