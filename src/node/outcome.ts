/**
 * Wire form of a federation's round outcome (coordinator → proposer). The proposer does not trust
 * the coordinator: it re-checks the QC note's signatures against the roster (> 2/3 of the
 * federation's weight) and that the checkpoint fields are the ones the note signs; the anchor
 * contract re-checks the EIP-712 signatures and the consistency proof.
 */
import { hasQuorum } from "../consensus/quorum";
import type { QuorumCertificate } from "../consensus/types";
import { memberVerifier } from "../consensus/vote-check";
import { VOTE_CONTEXT, parseCheckpointBody, parseSignedNote, verifyNote } from "../crypto/note";
import { arr, bytes, int, str, uint, type Json } from "../transport/wire";
import { InvalidInputError } from "../util/errors";
import type { FederationRoundOutcome } from "./coordinator";
import type { Roster } from "./roster";

const b64 = (b: Uint8Array): string => Buffer.from(b).toString("base64");

export function encodeOutcome(o: FederationRoundOutcome): Json {
  return {
    origin: o.origin,
    round: o.round.toString(),
    qcNote: o.qc.note,
    eip712Signatures: [...o.qc.eip712Signatures],
    cosignedNote: o.cosignedNote,
    batchEntries: o.batchEntries,
    anchoredFromSize: o.anchoredFromSize.toString(),
    consistencyProof: o.consistencyProof.map(b64),
  };
}

export function decodeOutcome(o: Json, roster: Roster): FederationRoundOutcome {
  const w = "round outcome";
  const origin = str(o, "origin", w);
  const fed = roster.federations.find((f) => f.config.origin === origin);
  if (!fed) throw new InvalidInputError(`${w}: unknown origin ${origin}`);
  const qcNote = str(o, "qcNote", w);
  const note = parseSignedNote(qcNote);
  const cp = parseCheckpointBody(note.body);
  const verified = verifyNote(note, fed.config.members.map(memberVerifier), VOTE_CONTEXT);
  const signed = fed.config.members.filter((m) => verified.some((v) => v.keyName === m.keyName));
  const weight = signed.reduce((a, m) => a + m.weight, 0n);
  const total = fed.config.members.reduce((a, m) => a + m.weight, 0n);
  if (!hasQuorum(weight, total))
    throw new InvalidInputError(`${w}: QC of ${origin} lacks > 2/3 of the weight`);
  const round = uint(o, "round", w);
  if (cp.round !== round) throw new InvalidInputError(`${w}: QC is for round ${cp.round}, not ${round}`);
  const eip712Signatures = arr(o, "eip712Signatures", w, 1000).map((s, i) => {
    if (typeof s !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(s))
      throw new InvalidInputError(`${w}: eip712Signatures[${i}]`);
    return s;
  });
  const qc: QuorumCertificate = {
    checkpoint: cp,
    note: qcNote,
    signers: signed.map((m) => m.nodeId),
    signedWeight: weight,
    totalWeight: total,
    eip712Signatures,
  };
  return {
    origin,
    round,
    epoch: cp.epoch,
    treeSize: cp.treeSize,
    rootHash: cp.rootHash,
    qc,
    cosignedNote: str(o, "cosignedNote", w),
    batchEntries: int(o, "batchEntries", w),
    anchoredFromSize: uint(o, "anchoredFromSize", w),
    consistencyProof: arr(o, "consistencyProof", w, 64).map((_, i) =>
      bytes({ p: (o.consistencyProof as unknown[])[i] }, "p", `${w} consistencyProof[${i}]`, 32),
    ),
  };
}
