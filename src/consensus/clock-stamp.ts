/**
 * Signed wall clock of a vote (drift monitor, PROTOCOL §6 "clock skew"). The checkpoint body is
 * the same for every node (the QC combines their signatures), so the node's clock cannot live in
 * it: each vote response carries a separate stamp, signed with the node's registered secp256k1
 * key over a domain-separated statement that binds the federation, epoch, round, the
 * wall-clock milliseconds and the SHA-256 of the checkpoint body voted on. The stamp is taken when
 * the node signs the vote and is persisted with it (a repeated vote repeats it). Optional: a vote
 * without a stamp (an older node) still counts; it only lacks a clock sample.
 */
import { createHash } from "node:crypto";
import { keccak256, recoverAddress, toUtf8Bytes, type SigningKey } from "ethers";

export const CLOCK_STAMP_CONTEXT = "amp/clock/v1";

export interface ClockStamp {
  /** The node's wall clock (Unix milliseconds) when it released the vote. */
  readonly wallClockMs: number;
  /** 65-byte secp256k1 signature (0x-hex) over {@link clockStatement}. */
  readonly signature: string;
}

export interface ClockStampContext {
  readonly origin: string;
  readonly epoch: bigint;
  readonly round: bigint;
  /** Checkpoint body of the vote the stamp is attached to. */
  readonly body: string;
}

/** The exact text that is hashed (keccak-256) and signed. */
export function clockStatement(ctx: ClockStampContext, wallClockMs: number): string {
  const bodyHash = createHash("sha256").update(ctx.body, "utf8").digest("hex");
  return (
    `${CLOCK_STAMP_CONTEXT}\n${ctx.origin}\n${ctx.epoch}\n${ctx.round}\n` + `${wallClockMs}\n${bodyHash}\n`
  );
}

export function signClockStamp(
  wallet: { readonly signingKey: SigningKey },
  ctx: ClockStampContext,
  wallClockMs: number,
): ClockStamp {
  const digest = keccak256(toUtf8Bytes(clockStatement(ctx, wallClockMs)));
  return { wallClockMs, signature: wallet.signingKey.sign(digest).serialized };
}

/** True when `stamp` is a safe integer time signed by `address` for this context. */
export function verifyClockStamp(stamp: ClockStamp, ctx: ClockStampContext, address: string): boolean {
  if (!Number.isSafeInteger(stamp.wallClockMs) || stamp.wallClockMs < 0) return false;
  if (typeof stamp.signature !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(stamp.signature)) return false;
  try {
    const digest = keccak256(toUtf8Bytes(clockStatement(ctx, stamp.wallClockMs)));
    return recoverAddress(digest, stamp.signature).toLowerCase() === address.toLowerCase();
  } catch {
    return false;
  }
}
