/**
 * Rounds that disappeared from the chain. A chain can roll back (a reorg on a real network,
 * `evm_revert` on a dev node) after the runner recorded an anchor: the contract's `nextRound()`
 * then falls behind the last round in `anchors.sqlite`. Before each round the runner compares
 * them and anchors every lost round again, in order, from what it recorded — the same global
 * root, checkpoints and quorum signatures — with a consistency proof from the size the chain now
 * holds (the archive log has every sealed entry). Submission is idempotent, so a round is never
 * anchored twice; the new transaction is appended to the record (`reanchors`).
 */
import type { FederationLog } from "../log";
import type { GlobalProofAnchor } from "../../typechain-types";
import { AmpError } from "../util/errors";
import { createLogger } from "../util/log";
import type { AnchorResult, AnchorRoundInput, AnchorSubmitter } from "./anchor";
import type { AnchoredRounds } from "./anchored-rounds";

const log = createLogger("chain/rollback");
const hex = (b: Uint8Array): string => "0x" + Buffer.from(b).toString("hex");

export interface RollbackDeps {
  readonly anchor: GlobalProofAnchor;
  readonly anchors: AnchoredRounds;
  readonly submitter: AnchorSubmitter;
  /** The archive log of each federation origin (holds every sealed entry). */
  readonly logOf: (origin: string) => FederationLog;
}

/** Anchor again every recorded round the chain no longer holds; returns those rounds. */
export async function reanchorLostRounds(d: RollbackDeps): Promise<bigint[]> {
  const next = await d.anchor.nextRound();
  const last = d.anchors.lastRound();
  const redone: bigint[] = [];
  for (let round = next; round <= last; round++) {
    const rec = d.anchors.get(round);
    if (!rec) throw new AmpError(`round ${round} is missing from anchors.sqlite`, { kind: "bug" });
    log.warn("an anchored round disappeared from the chain (rollback or reorg); anchoring it again", {
      round,
      lostTx: rec.txHash,
    });
    const input: AnchorRoundInput = { round, globalRoot: rec.globalRoot, checkpoints: [] };
    for (const c of rec.checkpoints) {
      const { treeSize: from } = await d.submitter.reader.latestCheckpoint(c.federationId);
      const size = BigInt(c.treeSize);
      const proof = from === 0n || from === size ? [] : d.logOf(c.origin).consistencyProof(from, size);
      input.checkpoints.push({
        federationId: c.federationId,
        epoch: BigInt(c.epoch),
        treeSize: size,
        rootHash: c.rootHash,
        consistencyProof: proof.map(hex),
        signatures: c.signatures,
      });
    }
    const r: AnchorResult = await d.submitter.submit(input);
    if (r.txHash !== rec.txHash || r.blockNumber !== rec.blockNumber) d.anchors.recordReanchor(round, r);
    redone.push(round);
  }
  return redone;
}
