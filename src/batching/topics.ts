/**
 * The typed topics of the AMP audit bus. `event` carries raw events into a FederationBatchProcessor;
 * `batch.sealed` and `checkpoint` carry what it appended to the federation log.
 */
export interface SealedBatchMessage {
  readonly origin: string;
  /** 1-based batch number; the checkpoint of this batch is recorded under round = batchNo. */
  readonly batchNo: bigint;
  /** Leaf indices [startIndex, endIndex) of the batch in the federation log. */
  readonly startIndex: bigint;
  readonly endIndex: bigint;
  readonly eventIds: readonly string[];
  readonly leafHashes: readonly Uint8Array[];
}

export interface CheckpointMessage {
  readonly origin: string;
  readonly round: bigint;
  readonly size: bigint;
  readonly root: Uint8Array;
}

/** An event the processor consuming `event` refused, with the error naming the field and rule. */
export interface RejectedEventMessage {
  readonly event: unknown;
  readonly error: unknown;
}

export interface AmpTopics {
  /** A raw event (validated by the processor that consumes it). */
  event: unknown;
  "batch.sealed": SealedBatchMessage;
  checkpoint: CheckpointMessage;
  "event.rejected": RejectedEventMessage;
}
