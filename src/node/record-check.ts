/**
 * The check a node runs on an anchored-round record before keeping it (an announcement, a record
 * fetched from a peer, or its own): the same chain checks `amp verify` runs on a proof built from
 * the record, for EVERY checkpoint of it, against what the node pins itself — its chain id, its
 * anchor, the registry of its deployment record and the ML-DSA keys of its own roster. Nothing that
 * decides validity is taken from the record or its sender: a record with the chain's roots but a
 * junk note, forged signatures or another transaction is refused, so a node never keeps (for good:
 * the table is append-only) a record whose proofs would not verify.
 */
import { getAddress } from "viem";
import type { Hex, PublicClient } from "viem";
import type { AnchoredRound } from "../chain/anchored-rounds";
import { federationIdOf } from "../chain/ids";
import { ProofInvalidError } from "../proof/errors";
import { PROOF_FORMAT, type ProofFile } from "../proof/format";
import { checkAnchoredState, checkAnchorTx, checkQuorum } from "../proof/verify-chain";
import { checkGlobalRoot } from "../proof/verify-local";
import { checkSignedNote } from "../proof/verify-note";
import { AmpError } from "../util/errors";

/** What the node pins (never the record's or the sender's): chain, anchor, registry. */
export interface RecordPins {
  readonly chainId: bigint;
  readonly anchor: string;
  readonly registry: string;
}

/** A record that would not make verifiable proofs; `field` names the record field (400). */
export class RecordRefusedError extends AmpError {
  override name = "RecordRefusedError";
  constructor(
    readonly round: bigint,
    readonly field: string,
    reason: string,
    cause?: unknown,
  ) {
    super(`anchored-round record of round ${round} refused: ${field}: ${reason}`, {
      kind: "invalid-input",
      meta: { field },
      cause,
    });
  }
}

/** The record field a proof-file field comes from (checkpoint `i` of the record). */
function recordField(proofField: string, i: number): string {
  if (proofField.startsWith("checkpoint.")) return `checkpoints[${i}].${proofField.slice(11)}`;
  if (proofField.startsWith("anchor.")) return proofField.slice(7);
  if (proofField === "nexus.globalRoot") return "globalRoot";
  if (proofField.startsWith("nexus.")) return proofField.slice(6);
  return proofField;
}

/** A proof file of checkpoint `i` without an event: what the chain checks of a proof read. */
function skeleton(r: AnchoredRound, i: number): ProofFile {
  const c = r.checkpoints[i]!;
  return {
    format: PROOF_FORMAT,
    event: { id: "-", leafHash: "0x" + "00".repeat(32) },
    federation: { origin: c.origin, federationId: c.federationId },
    inclusion: { index: "0", treeSize: c.treeSize, path: [] },
    checkpoint: {
      epoch: c.epoch,
      treeSize: c.treeSize,
      rootHash: c.rootHash,
      signedNote: c.signedNote,
      noteKeys: c.noteKeys,
      signatures: c.signatures,
    },
    nexus: {
      round: r.round.toString(),
      globalRoot: r.globalRoot,
      checkpoints: r.checkpoints.map((x) => ({
        origin: x.origin,
        treeSize: x.treeSize,
        rootHash: x.rootHash,
      })),
    },
    anchor: {
      chainId: r.chainId,
      contract: r.contract,
      round: r.round.toString(),
      txHash: r.txHash,
      blockNumber: r.blockNumber.toString(),
    },
  };
}

const isString = (v: unknown): v is string => typeof v === "string";

/** The chain reads a record check makes (what `perCheckClient` deduplicates). */
const MEMOIZED = ["readContract", "getTransactionReceipt", "getContractEvents", "getBlockNumber"] as const;

/**
 * `client` for ONE record check: a read made again with the same arguments (the anchor
 * transaction's receipt and logs, the round's commitment, both federations' registry sets, the
 * signers' weights — once per checkpoint before) is answered from the first call. ABIs are left out
 * of the key (the address, function or event and arguments decide the read). Never kept across
 * checks: the next check reads the chain as it is then (a rollback must be seen).
 */
export function perCheckClient(client: PublicClient): PublicClient {
  const memo = new Map<string, unknown>();
  const key = (name: string, args: unknown): string =>
    name +
    JSON.stringify(args ?? null, (k, v: unknown) =>
      k === "abi" ? undefined : typeof v === "bigint" ? `${v}n` : v,
    );
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== "function" || !(MEMOIZED as readonly (string | symbol)[]).includes(prop))
        return value;
      return (args: unknown) => {
        const k = key(String(prop), args);
        if (!memo.has(k)) memo.set(k, (value as (a: unknown) => unknown).call(target, args));
        return memo.get(k);
      };
    },
  });
}

/**
 * Throw {@link RecordRefusedError} unless every checkpoint of `r` (with the node's roster keys as
 * `noteKeys`) passes the chain layers of `amp verify`: anchored state, anchoring transaction,
 * EIP-712 quorum, recomputed global root, and the cosigned note (> 2/3 of the federation's weight
 * in votes and of each other federation's in cosignatures, under registered keys). Chain errors
 * other than a refusal propagate as they are (the caller retries).
 */
export function checkRecord(chain: PublicClient, pins: RecordPins, r: AnchoredRound): Promise<void> {
  return checkRecordUncached(perCheckClient(chain), pins, r);
}

/** {@link checkRecord} reading through `client` as it is (no per-check memo; tests compare reads). */
export async function checkRecordUncached(
  client: PublicClient,
  pins: RecordPins,
  r: AnchoredRound,
): Promise<void> {
  const refuse = (field: string, reason: string): never => {
    throw new RecordRefusedError(r.round, field, reason);
  };
  if (r.chainId !== pins.chainId.toString()) refuse("chainId", `is ${r.chainId}, not chain ${pins.chainId}`);
  let contract = "";
  try {
    contract = getAddress(r.contract);
  } catch {
    refuse("contract", "is not an address");
  }
  if (contract !== getAddress(pins.anchor)) refuse("contract", `is not this node's anchor ${pins.anchor}`);
  if (!Number.isSafeInteger(r.blockNumber)) refuse("blockNumber", "is not a block number");
  if (r.checkpoints.length === 0) refuse("checkpoints", "is empty");
  for (const [i, c] of r.checkpoints.entries()) {
    const fields = [c.origin, c.federationId, c.epoch, c.treeSize, c.rootHash, c.signedNote];
    if (!fields.every(isString) || !Array.isArray(c.signatures) || !c.signatures.every(isString))
      refuse(`checkpoints[${i}]`, "is malformed");
    if (c.federationId.toLowerCase() !== federationIdOf(c.origin).toLowerCase())
      refuse(`checkpoints[${i}].federationId`, `is not the id of ${c.origin}`);
  }
  for (const i of r.checkpoints.keys()) {
    const p = skeleton(r, i);
    try {
      await checkAnchoredState(client, p);
      await checkAnchorTx(client, p, 1);
      await checkQuorum(client, p, pins.registry as Hex);
      checkGlobalRoot(p);
      await checkSignedNote(client, p, pins.registry as Hex);
    } catch (e) {
      if (!(e instanceof ProofInvalidError)) throw e;
      const reason = e.shortMessage.slice(e.field.length + 2);
      throw new RecordRefusedError(r.round, recordField(e.field, i), reason, e);
    }
  }
}
