/** How a Byzantine node changes its honest vote (see FaultInjector). */
import type { Wallet } from "ethers";
import {
  VOTE_CONTEXT,
  checkpointBody,
  formatSignedNote,
  parseCheckpointBody,
  parseSignedNote,
  signBody,
  type NoteSigner,
} from "../crypto/note";
import { signCheckpoint } from "./anchor-signature";
import type { FaultKind } from "./evidence";
import type { AnchorDomain, Vote, VoteResponse } from "./types";

/** A validly signed vote for the honest checkpoint with its root altered. */
function wrongRootVote(honest: Vote, signer: NoteSigner, wallet: Wallet, domain: AnchorDomain): Vote {
  const cp = parseCheckpointBody(parseSignedNote(honest.note).body);
  const root = Uint8Array.from(cp.rootHash);
  root[0] = root[0]! ^ 0xff;
  const bad = { ...cp, rootHash: root };
  const body = checkpointBody(bad);
  return {
    nodeId: honest.nodeId,
    note: formatSignedNote({ body, signatures: [signBody(body, signer, VOTE_CONTEXT)] }),
    eip712Signature: signCheckpoint(wallet, domain, bad),
  };
}

function alteredSignature(honest: Vote, alter: (sig: Uint8Array) => Uint8Array): Vote {
  const note = parseSignedNote(honest.note);
  const sig = note.signatures[0]!;
  return {
    ...honest,
    note: formatSignedNote({ body: note.body, signatures: [{ ...sig, signature: alter(sig.signature) }] }),
  };
}

export function applyFault(
  kind: FaultKind,
  honest: Vote,
  signer: NoteSigner,
  wallet: Wallet,
  domain: AnchorDomain,
): Promise<VoteResponse> {
  switch (kind) {
    case "wrong-root":
      return Promise.resolve({ kind: "vote", votes: [wrongRootVote(honest, signer, wallet, domain)] });
    case "equivocation":
      // Two different signed checkpoints for one round (one of them reaches the coordinator via a peer).
      return Promise.resolve({
        kind: "vote",
        votes: [honest, wrongRootVote(honest, signer, wallet, domain)],
      });
    case "invalid-signature":
      return Promise.resolve({
        kind: "vote",
        votes: [
          alteredSignature(honest, (s) => {
            const c = Uint8Array.from(s);
            c[100] = c[100]! ^ 0x01;
            return c;
          }),
        ],
      });
    case "wrong-length-signature":
      return Promise.resolve({
        kind: "vote",
        votes: [alteredSignature(honest, (s) => s.slice(0, s.length - 1))],
      });
    case "withheld-vote":
      return new Promise<VoteResponse>(() => undefined); // never answers; the coordinator times out
  }
}
