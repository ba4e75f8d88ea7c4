/**
 * Build an `amp-proof/v1` file for one archived event from the node's archive (events and tree
 * nodes) and the anchored-rounds record. The proof is against the first anchored round whose
 * checkpoint covers the event, so a proof never changes once written.
 */
import type { Archive } from "../archive";
import { SqliteLogStore } from "../archive";
import { FederationLog } from "../log";
import type { AnchoredRounds } from "../chain/anchored-rounds";
import { AmpError, InvalidInputError } from "../util/errors";
import { PROOF_FORMAT } from "./format";
import type { ProofFile } from "./format";
import { hexOf } from "./verify-local";

export class NotAnchoredError extends AmpError {
  override name = "NotAnchoredError";
  constructor(eventId: string) {
    super(`event ${eventId} is archived but not anchored yet: run "amp run" first`, { kind: "retry-later" });
  }
}

export interface BuildProofInput {
  archive: Archive;
  anchors: AnchoredRounds;
  eventId: string;
  /** Origin of an archive federation key (identity when the archive keys events by origin). */
  originOf?: (federationKey: string) => string;
  /** Leave out the event's canonical bytes (a digest-only proof of the leaf hash). */
  digestOnly?: boolean;
  /** Leave out the ML-DSA signed note and its keys (a compact proof: the EIP-712 quorum layer only). */
  compact?: boolean;
}

export function buildProofFile(input: BuildProofInput): ProofFile {
  const ev = input.archive.getEvent(input.eventId);
  if (!ev) throw new InvalidInputError(`no archived event with id ${JSON.stringify(input.eventId)}`);
  const origin = (input.originOf ?? ((k: string) => k))(ev.federation);
  const round = input.anchors.firstRoundCovering(origin, ev.seq);
  if (!round) throw new NotAnchoredError(input.eventId);
  const cp = round.checkpoints.find((c) => c.origin === origin);
  if (!cp) throw new NotAnchoredError(input.eventId);
  const log = new FederationLog(origin, new SqliteLogStore(input.archive, ev.federation));
  const treeSize = BigInt(cp.treeSize);
  if (hexOf(log.rootAt(treeSize)) !== cp.rootHash) {
    throw new AmpError(`archive root of ${origin} at size ${treeSize} differs from the anchored checkpoint`, {
      kind: "bug",
    });
  }
  const canonical = new TextDecoder().decode(ev.canonical);
  return {
    format: PROOF_FORMAT,
    event: {
      id: ev.eventId,
      ...(input.digestOnly ? {} : { canonical }),
      leafHash: hexOf(ev.leafHash),
    },
    federation: { origin, federationId: cp.federationId },
    inclusion: {
      index: ev.seq.toString(),
      treeSize: cp.treeSize,
      path: log.inclusionProof(ev.seq, treeSize).map(hexOf),
    },
    checkpoint: {
      epoch: cp.epoch,
      treeSize: cp.treeSize,
      rootHash: cp.rootHash,
      ...(input.compact ? {} : { signedNote: cp.signedNote, noteKeys: cp.noteKeys }),
      signatures: cp.signatures,
    },
    nexus: {
      round: round.round.toString(),
      globalRoot: round.globalRoot,
      checkpoints: round.checkpoints.map((c) => ({
        origin: c.origin,
        treeSize: c.treeSize,
        rootHash: c.rootHash,
      })),
    },
    anchor: {
      chainId: round.chainId,
      contract: round.contract,
      round: round.round.toString(),
      txHash: round.txHash,
      blockNumber: round.blockNumber.toString(),
    },
  };
}
