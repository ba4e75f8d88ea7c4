/**
 * Anchor submission: one `anchorRound` transaction per nexus round through the typechain bindings.
 *
 * Idempotent by construction: before every send (and after every failure) the submitter re-reads
 * `nextRound()` and `anchorOf(round)` (with the round's record, see round-records.ts). A round already
 * anchored with the same global root is a success (its tx hash is that of the `GlobalRootAnchored` log
 * carrying the committed record); with another root it is a
 * conflict. So a dropped transaction, a nonce conflict or a retry after a crash never yields two
 * anchors for one round — the contract itself also refuses any round but the next. The submitter
 * remembers its unsettled transaction: while the node knows it, it waits for it; once it is dropped
 * (unknown to the node, its nonce unused) it sends the round again with that nonce. Each send carries
 * the previous round's record (from its log), which the contract checks against its commitment.
 */
import { isError } from "ethers";
import type { BytesLike, TransactionReceipt } from "ethers";
import { GlobalProofAnchor__factory } from "../../typechain-types";
import type { GlobalProofAnchor } from "../../typechain-types";
import { AmpError } from "../util/errors";
import { createLogger } from "../util/log";
import { waitForReceipt } from "./connect";
import type { ChainConnection } from "./connect";
import { AnchorReader } from "./round-records";

const log = createLogger("chain/anchor");

export interface CheckpointSubmissionInput {
  federationId: string;
  epoch: bigint;
  treeSize: bigint;
  rootHash: string;
  consistencyProof: string[];
  signatures: string[];
}

export interface AnchorRoundInput {
  round: bigint;
  globalRoot: string;
  checkpoints: CheckpointSubmissionInput[];
}

export interface AnchorResult {
  /** "anchored" by this call, or "already-anchored" (same root found on-chain: idempotent success). */
  status: "anchored" | "already-anchored";
  round: bigint;
  globalRoot: string;
  txHash: string;
  blockNumber: number;
  gasUsed: bigint;
}

/** The contract refused the round; `errorName`/`errorArgs` are the decoded custom error. */
export class AnchorRevertedError extends AmpError {
  override name = "AnchorRevertedError";
  constructor(
    readonly round: bigint,
    readonly errorName: string,
    readonly errorArgs: readonly unknown[],
    cause?: unknown,
  ) {
    const args = errorArgs.map((a) => String(a)).join(", ");
    super(`anchor of round ${round} reverted: ${errorName}(${args})`, { kind: "invalid-input", cause });
  }
}

/** The round is anchored on-chain with a different global root, or is not the next round. */
export class AnchorConflictError extends AmpError {
  override name = "AnchorConflictError";
  constructor(shortMessage: string) {
    super(shortMessage, { kind: "conflict" });
  }
}

/** Gave up after retrying transient failures (dropped tx, nonce conflict, RPC hiccup). */
export class AnchorNotConfirmedError extends AmpError {
  override name = "AnchorNotConfirmedError";
  constructor(round: bigint, attempts: number, cause: unknown) {
    super(`anchor of round ${round} not confirmed after ${attempts} attempts`, {
      kind: "retry-later",
      cause,
    });
  }
}

export interface AnchorSubmitterOptions {
  /** Attempts for transient failures (default 3). */
  maxAttempts?: number;
  /** How long to wait for a receipt before treating the tx as dropped (default 60 s). */
  receiptTimeoutMs?: number;
  /** First block searched for `GlobalRootAnchored` logs (default 0; the deploy block when known). */
  fromBlock?: number;
}

type AnchorArgs = readonly [bigint, string, string, CheckpointSubmissionInput[]];

interface SendOverrides {
  nonce?: number;
  maxFeePerGas?: bigint;
  maxPriorityFeePerGas?: bigint;
  gasPrice?: bigint;
}

/** The transaction sent for a round and not yet settled: what a resend of it needs. */
interface InFlight {
  round: bigint;
  hash: string;
  nonce: number;
  from: string;
  args: AnchorArgs;
  maxFeePerGas?: bigint;
  maxPriorityFeePerGas?: bigint;
  gasPrice?: bigint;
}

type RoundState =
  { kind: "next" } | { kind: "anchored"; globalRoot: string } | { kind: "ahead"; next: bigint };

export class AnchorSubmitter {
  /** Reads of what is anchored (records from the `GlobalRootAnchored` logs). */
  readonly reader: AnchorReader;
  /** This submitter's unsettled transaction; never two rounds out at once (submit awaits mining). */
  private inFlight: InFlight | undefined;

  private constructor(
    private readonly conn: ChainConnection,
    private readonly anchor: GlobalProofAnchor,
    private readonly opts: Required<AnchorSubmitterOptions>,
  ) {
    this.reader = new AnchorReader(anchor, opts.fromBlock);
  }

  static async create(conn: ChainConnection, anchorAddress: string, opts: AnchorSubmitterOptions = {}) {
    const anchor = GlobalProofAnchor__factory.connect(anchorAddress, await conn.signer());
    return new AnchorSubmitter(conn, anchor, {
      maxAttempts: 3,
      receiptTimeoutMs: 60_000,
      fromBlock: 0,
      ...opts,
    });
  }

  /** The round the contract expects next. */
  async nextRound(): Promise<bigint> {
    return this.anchor.nextRound();
  }

  private async roundState(round: bigint): Promise<RoundState> {
    const next = await this.anchor.nextRound();
    if (round === next) return { kind: "next" };
    if (round > next) return { kind: "ahead", next };
    const { globalRoot } = await this.reader.anchorOf(round);
    return { kind: "anchored", globalRoot };
  }

  /** Find the transaction that anchored `round` (idempotent path): the log carrying its committed record. */
  private async findAnchorTx(round: bigint): Promise<TransactionReceipt> {
    const found = await this.reader.recordLog(round);
    const receipt = found ? await this.conn.provider.getTransactionReceipt(found.transactionHash) : null;
    if (!receipt) {
      throw new AnchorConflictError(`round ${round} is anchored but its GlobalRootAnchored log is missing`);
    }
    return receipt;
  }

  /** The transaction that anchored `round` (from the log carrying its committed record); undefined before. */
  async anchoredTx(
    round: bigint,
  ): Promise<{ txHash: string; blockNumber: number; gasUsed: bigint } | undefined> {
    if (round >= (await this.anchor.nextRound())) return undefined;
    const r = await this.findAnchorTx(round);
    return { txHash: r.hash, blockNumber: r.blockNumber, gasUsed: r.gasUsed };
  }

  /** Returns undefined when the round still has to be sent. */
  private async settled(input: AnchorRoundInput): Promise<AnchorResult | undefined> {
    const state = await this.roundState(input.round);
    if (state.kind === "next") return undefined;
    if (state.kind === "ahead") {
      throw new AnchorConflictError(
        `round ${input.round} is ahead of the chain: the anchor expects round ${state.next}`,
      );
    }
    if (state.globalRoot.toLowerCase() !== input.globalRoot.toLowerCase()) {
      throw new AnchorConflictError(
        `round ${input.round} is already anchored with global root ${state.globalRoot}, not ${input.globalRoot}`,
      );
    }
    const receipt = await this.findAnchorTx(input.round);
    log.info("round already anchored with the same root; treating as success", { round: input.round });
    return result("already-anchored", input, receipt);
  }

  /** Anchor one round; safe to call again for the same round (see file comment). */
  async submit(input: AnchorRoundInput): Promise<AnchorResult> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.opts.maxAttempts; attempt++) {
      const done = await this.settled(input);
      if (done) return this.finish(done);
      try {
        return this.finish(await this.attempt(input));
      } catch (err) {
        const reverted = this.decodeRevert(input.round, err);
        if (reverted) {
          // A revert can also mean someone else anchored this round meanwhile.
          const after = await this.settled(input);
          if (after) return this.finish(after);
          if (!anchoredWhilePending(input.round, reverted)) throw reverted;
          // Gas is estimated on the pending block: a transaction this submitter does not track
          // (an earlier process) anchors the round there. Wait for it rather than send another.
          lastError = reverted;
          await new Promise((r) => setTimeout(r, Math.min(1000, this.opts.receiptTimeoutMs)));
          continue;
        }
        if (!isTransient(err)) throw err;
        lastError = err;
        log.warn("anchor attempt failed; re-reading chain state", { round: input.round, attempt, err });
      }
    }
    const done = await this.settled(input);
    if (done) return this.finish(done);
    throw new AnchorNotConfirmedError(input.round, this.opts.maxAttempts, lastError);
  }

  private finish(r: AnchorResult): AnchorResult {
    if (this.inFlight?.round === r.round) this.inFlight = undefined;
    return r;
  }

  /**
   * One attempt: if this round's transaction is already out, wait for it while the node still
   * knows it, resend it (same nonce, same arguments, higher fee) when it was dropped, or re-read
   * the chain when its nonce went to another transaction; else send the round.
   */
  private async attempt(input: AnchorRoundInput): Promise<AnchorResult> {
    const sent = this.inFlight?.round === input.round ? this.inFlight : undefined;
    if (!sent) return this.sendOnce(input);
    const fate = await this.fateOf(sent);
    if (fate === "known") return this.confirm(input, sent.hash, sent.args);
    if (fate === "replaced") {
      this.inFlight = undefined;
      throw new AmpError(`the nonce of anchor transaction ${sent.hash} went to another transaction`, {
        kind: "retry-later",
      });
    }
    log.warn("anchor transaction dropped from the mempool; resending the round", {
      round: input.round,
      tx: sent.hash,
      nonce: sent.nonce,
    });
    return this.sendOnce(input, { nonce: sent.nonce, ...bumpedFees(sent) });
  }

  /** "known": pending or mined; "dropped": unknown and its nonce unused; "replaced": nonce used. */
  private async fateOf(sent: InFlight): Promise<"known" | "dropped" | "replaced"> {
    if (await this.conn.provider.getTransaction(sent.hash)) return "known";
    if (await this.conn.provider.getTransactionReceipt(sent.hash)) return "known";
    const used = await this.conn.provider.getTransactionCount(sent.from, "latest");
    return used > sent.nonce ? "replaced" : "dropped";
  }

  private async sendOnce(input: AnchorRoundInput, overrides: SendOverrides = {}): Promise<AnchorResult> {
    const previous = input.round > 1n ? await this.reader.record(input.round - 1n) : "0x";
    const args = [input.round, input.globalRoot, previous, input.checkpoints] as const;
    // Simulate first: a refusal comes back as a decoded custom error, and no gas is spent.
    await this.anchor.anchorRound.staticCall(...args);
    const tx = await this.anchor.anchorRound(...args, overrides);
    this.inFlight = {
      round: input.round,
      hash: tx.hash,
      nonce: tx.nonce,
      from: tx.from,
      args,
      ...(tx.maxFeePerGas !== null ? { maxFeePerGas: tx.maxFeePerGas } : {}),
      ...(tx.maxPriorityFeePerGas !== null ? { maxPriorityFeePerGas: tx.maxPriorityFeePerGas } : {}),
      ...(tx.gasPrice !== null && tx.maxFeePerGas === null ? { gasPrice: tx.gasPrice } : {}),
    };
    return this.confirm(input, tx.hash, args);
  }

  private async confirm(input: AnchorRoundInput, hash: string, args: AnchorArgs): Promise<AnchorResult> {
    const receipt = await this.waitReceipt(hash);
    if (receipt.status !== 1) {
      this.inFlight = undefined;
      // Mined but reverted (state changed between simulation and mining): replay to decode.
      await this.anchor.anchorRound.staticCall(...args, { blockTag: receipt.blockNumber });
      throw new AnchorRevertedError(input.round, "UnknownRevert", [], receipt.hash);
    }
    for (const l of receipt.logs) {
      const ev = this.anchor.interface.parseLog(l);
      if (ev?.name !== "GlobalRootAnchored") continue;
      this.reader.remember({
        round: input.round,
        record: String(ev.args.record),
        transactionHash: receipt.hash,
        blockNumber: receipt.blockNumber,
      });
    }
    return result("anchored", input, receipt);
  }

  private waitReceipt(hash: string): Promise<TransactionReceipt> {
    return waitForReceipt(this.conn.provider, hash, this.opts.receiptTimeoutMs);
  }

  /** Decode a contract revert into {@link AnchorRevertedError}; undefined if `err` is not a revert. */
  private decodeRevert(round: bigint, err: unknown): AnchorRevertedError | undefined {
    if (err instanceof AnchorRevertedError) return err;
    if (!isError(err, "CALL_EXCEPTION")) return undefined;
    if (err.revert)
      return new AnchorRevertedError(
        round,
        err.revert.name,
        Array.from(err.revert.args as Iterable<unknown>),
        err,
      );
    const data: BytesLike | null = err.data;
    if (data && data !== "0x") {
      const parsed = this.anchor.interface.parseError(data);
      if (parsed)
        return new AnchorRevertedError(round, parsed.name, Array.from(parsed.args as Iterable<unknown>), err);
    }
    return new AnchorRevertedError(round, "UnknownRevert", [err.shortMessage], err);
  }
}

function result(
  status: AnchorResult["status"],
  input: AnchorRoundInput,
  r: TransactionReceipt,
): AnchorResult {
  return {
    status,
    round: input.round,
    globalRoot: input.globalRoot,
    txHash: r.hash,
    blockNumber: r.blockNumber,
    gasUsed: r.gasUsed,
  };
}

/** A resend's fees: 25 % above the dropped transaction's (a drop is often an underpriced tx). */
function bumpedFees(sent: InFlight): SendOverrides {
  const up = (x: bigint): bigint => (x * 5n) / 4n + 1n;
  if (sent.maxFeePerGas !== undefined && sent.maxPriorityFeePerGas !== undefined) {
    return { maxFeePerGas: up(sent.maxFeePerGas), maxPriorityFeePerGas: up(sent.maxPriorityFeePerGas) };
  }
  return sent.gasPrice !== undefined ? { gasPrice: up(sent.gasPrice) } : {};
}

/** `AnchorRoundOutOfOrder(round + 1, round)` while `nextRound()` is `round`: anchored in the pending block. */
function anchoredWhilePending(round: bigint, reverted: AnchorRevertedError): boolean {
  const [expected, got] = reverted.errorArgs;
  return reverted.errorName === "AnchorRoundOutOfOrder" && got === round && expected === round + 1n;
}

/** Failures where the transaction may or may not have landed: re-read the chain and retry. */
function isTransient(err: unknown): boolean {
  return (
    isError(err, "NONCE_EXPIRED") ||
    isError(err, "REPLACEMENT_UNDERPRICED") ||
    isError(err, "TRANSACTION_REPLACED") ||
    isError(err, "TIMEOUT") ||
    isError(err, "NETWORK_ERROR") ||
    isError(err, "SERVER_ERROR") ||
    (err instanceof AmpError && err.kind === "retry-later")
  );
}
