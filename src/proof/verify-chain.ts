/**
 * The checks that need the chain (viem public client, read-only): the anchor holds this round's
 * global root and this federation's checkpoint, the transaction really anchored it, the EIP-712
 * signatures recover to registered validators with > 2/3 of the epoch's weight, and the contract
 * itself accepts the inclusion path. The anchor stores only a commitment (keccak256) of each round's
 * record; the record is read from the `GlobalRootAnchored` log of `anchor.txHash` and passed to the
 * anchor's read functions, which refuse a record that is not the committed one.
 */
import { decodeEventLog, getAddress, keccak256, recoverAddress } from "viem";
import type { Hex, PublicClient } from "viem";
import { GlobalProofAnchor__factory, ValidatorRegistry__factory } from "../../typechain-types";
import { federationIdOf } from "../chain/ids";
import { check, ProofInvalidError } from "./errors";
import type { ProofFile } from "./format";

const anchorAbi = GlobalProofAnchor__factory.abi;
const registryAbi = ValidatorRegistry__factory.abi;
const HALF_N = BigInt("0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0");

type RecordClient = Pick<PublicClient, "readContract" | "getTransactionReceipt" | "getContractEvents">;
type Client = RecordClient & Pick<PublicClient, "getBlockNumber">;

const at = (p: ProofFile): Hex => p.anchor.contract as Hex;

const records = new WeakMap<ProofFile, Promise<Hex>>();

/**
 * The record of round `anchor.round`, checked against the commitment the anchor stores for the round
 * (so a file cannot supply its own record): from the `GlobalRootAnchored` log of `anchor.txHash` when
 * that log carries it, else from the anchor's own `GlobalRootAnchored` logs of the round.
 */
export function anchoredRecord(client: RecordClient, p: ProofFile): Promise<Hex> {
  let found = records.get(p);
  if (!found) {
    found = readRecord(client, p);
    records.set(p, found);
  }
  return found;
}

type Anchored = { round: bigint; record: Hex };

async function readRecord(client: RecordClient, p: ProofFile): Promise<Hex> {
  const round = BigInt(p.anchor.round);
  const commitment = await client
    .readContract({ address: at(p), abi: anchorAbi, functionName: "recordCommitmentOf", args: [round] })
    .catch(() => {
      throw new ProofInvalidError(
        "anchor.contract",
        `${p.anchor.contract} is not an anchor contract on this chain`,
      );
    });
  check(BigInt(commitment) !== 0n, "anchor.round", `round ${round} is not anchored by ${p.anchor.contract}`);
  const matches = (a: Anchored) => a.round === round && keccak256(a.record) === commitment;
  const receipt = await client.getTransactionReceipt({ hash: p.anchor.txHash as Hex }).catch(() => undefined);
  for (const l of receipt?.logs ?? []) {
    if (getAddress(l.address) !== getAddress(p.anchor.contract)) continue;
    try {
      const ev = decodeEventLog({ abi: anchorAbi, data: l.data, topics: l.topics });
      if (ev.eventName === "GlobalRootAnchored" && matches(ev.args)) return ev.args.record;
    } catch {
      continue;
    }
  }
  const logs = await client.getContractEvents({
    address: at(p),
    abi: anchorAbi,
    eventName: "GlobalRootAnchored",
    args: { round },
    fromBlock: 0n,
  });
  const log = logs.find((l) => matches(l.args as Anchored));
  if (!log) {
    throw new ProofInvalidError(
      "anchor.round",
      `round ${round} is anchored but no GlobalRootAnchored log holds the record it committed`,
    );
  }
  return (log.args as Anchored).record;
}

/** The anchor stores this round's global root and this federation's checkpoint, as the file says. */
export async function checkAnchoredState(client: Client, p: ProofFile): Promise<void> {
  const round = BigInt(p.anchor.round);
  const record = await anchoredRecord(client, p);
  let anchored: readonly [Hex, bigint, bigint];
  try {
    anchored = await client.readContract({
      address: at(p),
      abi: anchorAbi,
      functionName: "anchorOf",
      args: [round, record],
    });
  } catch {
    throw new ProofInvalidError("anchor.round", `round ${round} is not anchored by ${p.anchor.contract}`);
  }
  const [globalRoot, blockNumber] = anchored;
  check(BigInt(globalRoot) !== 0n, "anchor.round", `round ${round} is not anchored by ${p.anchor.contract}`);
  check(
    globalRoot === p.nexus.globalRoot,
    "nexus.globalRoot",
    `the chain anchored ${globalRoot} for round ${round}`,
  );
  check(
    blockNumber.toString() === p.anchor.blockNumber,
    "anchor.blockNumber",
    `round ${round} was anchored in block ${blockNumber}`,
  );
  const [epoch, treeSize, rootHash] = await client.readContract({
    address: at(p),
    abi: anchorAbi,
    functionName: "checkpointOf",
    args: [round, p.federation.federationId as Hex, record],
  });
  check(epoch.toString() === p.checkpoint.epoch, "checkpoint.epoch", `the chain stored epoch ${epoch}`);
  check(
    treeSize.toString() === p.checkpoint.treeSize,
    "checkpoint.treeSize",
    `the chain stored size ${treeSize}`,
  );
  check(rootHash === p.checkpoint.rootHash, "checkpoint.rootHash", `the chain stored root ${rootHash}`);
}

/**
 * The transaction is a successful call to the anchor that emitted GlobalRootAnchored(round, root),
 * in a block with at least `confirmations` blocks on top of it (itself included).
 */
export async function checkAnchorTx(client: Client, p: ProofFile, confirmations = 1): Promise<void> {
  const field = "anchor.txHash";
  let receipt: Awaited<ReturnType<Client["getTransactionReceipt"]>>;
  try {
    receipt = await client.getTransactionReceipt({ hash: p.anchor.txHash as Hex });
  } catch {
    throw new ProofInvalidError(field, "no such transaction on this chain");
  }
  check(receipt.status === "success", field, "the transaction reverted");
  check(
    receipt.to !== null && getAddress(receipt.to) === getAddress(p.anchor.contract),
    field,
    "is not a transaction to anchor.contract",
  );
  const anchoredHere = receipt.logs.some((l) => {
    if (getAddress(l.address) !== getAddress(p.anchor.contract)) return false;
    try {
      const ev = decodeEventLog({ abi: anchorAbi, data: l.data, topics: l.topics });
      if (ev.eventName !== "GlobalRootAnchored") return false;
      const a = ev.args as unknown as { round: bigint; globalRoot: Hex };
      return a.round.toString() === p.anchor.round && a.globalRoot === p.nexus.globalRoot;
    } catch {
      return false;
    }
  });
  check(
    anchoredHere,
    field,
    `did not emit GlobalRootAnchored for round ${p.anchor.round} and nexus.globalRoot`,
  );
  check(
    receipt.blockNumber.toString() === p.anchor.blockNumber,
    "anchor.blockNumber",
    `the transaction is in block ${receipt.blockNumber}`,
  );
  // cacheTime 0: viem caches the block number for a few seconds, older than this receipt.
  const depth = (await client.getBlockNumber({ cacheTime: 0 })) - receipt.blockNumber + 1n;
  check(
    depth >= BigInt(confirmations),
    "anchor.blockNumber",
    `block ${receipt.blockNumber} has ${depth} confirmations, fewer than the ${confirmations} required (--confirmations)`,
  );
}

export interface QuorumResult {
  signers: string[];
  signedWeight: bigint;
  totalWeight: bigint;
}

/** EIP-712 signatures: strictly ascending registered signers holding > 2/3 of the epoch's weight. */
export async function checkQuorum(client: Client, p: ProofFile, registry: Hex): Promise<QuorumResult> {
  const field = "checkpoint.signatures";
  const fed = p.federation.federationId as Hex;
  const epoch = BigInt(p.checkpoint.epoch);
  const digest = await client.readContract({
    address: at(p),
    abi: anchorAbi,
    functionName: "checkpointDigest",
    args: [fed, epoch, BigInt(p.nexus.round), BigInt(p.checkpoint.treeSize), p.checkpoint.rootHash as Hex],
  });
  const signers: string[] = [];
  let signedWeight = 0n;
  for (const [i, sig] of p.checkpoint.signatures.entries()) {
    const v = parseInt(sig.slice(130, 132), 16);
    check(v === 27 || v === 28, field, `signature ${i} has v=${v}, not 27 or 28`);
    check(BigInt("0x" + sig.slice(66, 130)) <= HALF_N, field, `signature ${i} has a high s (malleable)`);
    const signer = await recoverAddress({ hash: digest, signature: sig as Hex }).catch(() => {
      throw new ProofInvalidError(field, `signature ${i} does not recover to any address`);
    });
    const prev = signers[signers.length - 1];
    check(!prev || BigInt(signer) > BigInt(prev), field, `signer ${i} (${signer}) is not strictly ascending`);
    const weight = await client.readContract({
      address: registry,
      abi: registryAbi,
      functionName: "weightOf",
      args: [fed, epoch, signer],
    });
    check(weight > 0n, field, `signature ${i} recovers to ${signer}, not a validator of epoch ${epoch}`);
    signers.push(signer);
    signedWeight += weight;
  }
  const totalWeight = await client.readContract({
    address: registry,
    abi: registryAbi,
    functionName: "totalWeight",
    args: [fed, epoch],
  });
  check(
    3n * signedWeight > 2n * totalWeight,
    field,
    `signed weight ${signedWeight} of ${totalWeight} is not more than 2/3`,
  );
  return { signers, signedWeight, totalWeight };
}

/** The anchor contract's own RFC 9162 check of the inclusion path against its stored root. */
export async function checkInclusionOnChain(client: Client, p: ProofFile): Promise<void> {
  const ok = await client.readContract({
    address: at(p),
    abi: anchorAbi,
    functionName: "verifyEventInclusion",
    args: [
      BigInt(p.anchor.round),
      p.federation.federationId as Hex,
      await anchoredRecord(client, p),
      p.event.leafHash as Hex,
      BigInt(p.inclusion.index),
      p.inclusion.path as Hex[],
    ],
  });
  check(ok, "inclusion.path", "the anchor contract's verifyEventInclusion rejects it");
}

/** Refuse a checkpoint whose federation epoch, or a witnessing federation's epoch, came from a recovery. */
export async function checkNoRecoveryEpochs(
  client: Client,
  p: ProofFile,
  registry: Hex,
  epochs: readonly { origin: string; epoch: bigint }[],
): Promise<void> {
  for (const { origin, epoch } of epochs) {
    const recovered = await client.readContract({
      address: registry,
      abi: registryAbi,
      functionName: "isRecoveryEpoch",
      args: [federationIdOf(origin) as Hex, epoch],
    });
    check(
      !recovered,
      origin === p.federation.origin ? "checkpoint.epoch" : "nexus.checkpoints",
      `epoch ${epoch} of ${origin} was created by a governance recovery rotation (refused: --no-recovery-epochs)`,
    );
  }
}
