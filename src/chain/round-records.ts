/**
 * Reading what was anchored. The anchor stores one 32-byte commitment per round (keccak256 of the
 * round's record) and emits the record itself in `GlobalRootAnchored`; its read functions take the
 * record as an argument and check it against the commitment. `AnchorReader` finds a round's record in
 * the event logs (the log whose record hashes to the stored commitment, so a log from a rolled-back
 * block or another chain state is never used) and calls those functions with it.
 *
 * Record layout: u64be(blockNumber) || u64be(timestamp) || per federation, ascending id:
 * rootHash || u64be(treeSize) || u64be(epoch).
 */
import { ZeroHash, keccak256 } from "ethers";
import type { GlobalProofAnchor } from "../../typechain-types";
import { AmpError } from "../util/errors";

/** The round is anchored but no `GlobalRootAnchored` log carries the record its commitment names. */
export class AnchorRecordMissingError extends AmpError {
  override name = "AnchorRecordMissingError";
  constructor(round: bigint, commitment: string) {
    super(
      `round ${round} is anchored (record commitment ${commitment}) but no GlobalRootAnchored log holds its record`,
      {
        kind: "retry-later",
      },
    );
  }
}

/** A round's record and the log that carried it. */
export interface RoundRecordLog {
  round: bigint;
  /** The record (hex), keccak256 of which is the anchor's `recordCommitmentOf(round)`. */
  record: string;
  /** The record's keccak256. */
  commitment: string;
  transactionHash: string;
  blockNumber: number;
}

/** keccak256 of a record: the commitment the anchor stores. */
export function recordCommitment(record: string): string {
  return keccak256(record);
}

export class AnchorReader {
  private readonly cache = new Map<string, RoundRecordLog>();

  /** @param fromBlock First block to search for logs (the deployment block when known). */
  constructor(
    readonly anchor: GlobalProofAnchor,
    private readonly fromBlock = 0,
  ) {}

  /** The round the anchor expects next. */
  nextRound(): Promise<bigint> {
    return this.anchor.nextRound();
  }

  /** The record of `round` and its log; undefined when the round is not anchored. */
  async recordLog(round: bigint): Promise<RoundRecordLog | undefined> {
    const commitment = await this.anchor.recordCommitmentOf(round);
    if (commitment === ZeroHash) return undefined;
    const key = `${round}:${commitment}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const logs = await this.anchor.queryFilter(this.anchor.filters.GlobalRootAnchored(round), this.fromBlock);
    for (const l of logs) {
      const record = l.args.record;
      if (recordCommitment(record) !== commitment) continue;
      const found = {
        round,
        record,
        commitment,
        transactionHash: l.transactionHash,
        blockNumber: l.blockNumber,
      };
      this.cache.set(key, found);
      return found;
    }
    throw new AnchorRecordMissingError(round, commitment);
  }

  /**
   * Caches the record carried by a `GlobalRootAnchored` log of a receipt we hold (the submitter's own
   * anchor), so the next round does not search the logs for it. Still checked against the commitment
   * on use: the cache key is (round, keccak256(record)).
   */
  remember(found: Omit<RoundRecordLog, "commitment">): void {
    const commitment = recordCommitment(found.record);
    this.cache.set(`${found.round}:${commitment}`, { ...found, commitment });
  }

  /** The record of `round` (hex); "0x" when the round is not anchored. */
  async record(round: bigint): Promise<string> {
    return (await this.recordLog(round))?.record ?? "0x";
  }

  /** The anchor's `anchorOf(round, record)`: global root, block and timestamp; zeros when not anchored. */
  async anchorOf(round: bigint): Promise<{ globalRoot: string; blockNumber: bigint; timestamp: bigint }> {
    const [globalRoot, blockNumber, timestamp] = await this.anchor.anchorOf(round, await this.record(round));
    return { globalRoot, blockNumber, timestamp };
  }

  /** The anchor's `checkpointOf(round, federationId, record)`; zeros when there is none. */
  async checkpointOf(
    round: bigint,
    federationId: string,
  ): Promise<{ epoch: bigint; treeSize: bigint; rootHash: string }> {
    const [epoch, treeSize, rootHash] = await this.anchor.checkpointOf(
      round,
      federationId,
      await this.record(round),
    );
    return { epoch, treeSize, rootHash };
  }

  /**
   * A federation's latest anchored checkpoint: its checkpoint in round `nextRound() - 1` (every
   * registered federation is in every round); zeros when there is none. Read as `checkpointOf` of
   * that round, so a round anchored meanwhile cannot make the record stale.
   */
  async latestCheckpoint(
    federationId: string,
  ): Promise<{ round: bigint; treeSize: bigint; rootHash: string }> {
    const round = (await this.anchor.nextRound()) - 1n;
    if (round === 0n) return { round: 0n, treeSize: 0n, rootHash: ZeroHash };
    const cp = await this.checkpointOf(round, federationId);
    if (cp.rootHash === ZeroHash) return { round: 0n, treeSize: 0n, rootHash: ZeroHash };
    return { round, treeSize: cp.treeSize, rootHash: cp.rootHash };
  }
}
