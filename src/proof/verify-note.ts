/**
 * The ML-DSA cosigned note, checked against the keys bound on-chain: a signature counts only when
 * SHA-256 of its public key is a key commitment registered in the registry — the federation's votes
 * (`amp/vote/v1`) under the checkpoint's epoch, each witnessing federation's cosignatures
 * (`amp/witness/v1`) under that federation's epoch in the same anchored round. The proof file's
 * `noteKeys` only say which public key a signature line claims; they never add weight. Every line
 * must still name a hinted key and verify (a proof file is not altered), but only registered keys count.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import type { Hex, PublicClient } from "viem";
import { GlobalProofAnchor__factory, ValidatorRegistry__factory } from "../../typechain-types";
import { federationIdOf } from "../chain/ids";
import {
  findVerifier,
  makeVerifier,
  parseCheckpointBody,
  parseSignedNote,
  verifySignature,
  VOTE_CONTEXT,
  WITNESS_CONTEXT,
} from "../crypto/note";
import type { NoteVerifier, SignatureContext, SignedNote } from "../crypto/note";
import { check, ProofInvalidError } from "./errors";
import type { ProofFile } from "./format";
import { anchoredRecord } from "./verify-chain";
import { hexOf } from "./verify-local";

type Client = Pick<PublicClient, "readContract" | "getTransactionReceipt" | "getContractEvents">;

/** One federation's share of the note: weight of valid signatures under registered keys. */
export interface NoteWeight {
  origin: string;
  epoch: bigint;
  signatures: number;
  signedWeight: bigint;
  totalWeight: bigint;
}

export interface NoteCheck {
  /** The federation's own validators' vote signatures. */
  votes: NoteWeight;
  /** Each other federation's witness cosignatures (every federation of the round but this one). */
  witnesses: NoteWeight[];
}

interface RegisteredSet {
  weight: NoteWeight;
  /** key commitment (0x hex) → validator weight */
  keys: Map<string, bigint>;
  context: SignatureContext;
}

async function registeredSet(
  client: Client,
  registry: Hex,
  origin: string,
  epoch: bigint,
  context: SignatureContext,
): Promise<RegisteredSet> {
  const id = federationIdOf(origin) as Hex;
  const r = { address: registry, abi: ValidatorRegistry__factory.abi } as const;
  const [, weights] = await client.readContract({ ...r, functionName: "validatorsOf", args: [id, epoch] });
  const commitments = await client.readContract({
    ...r,
    functionName: "keyCommitmentsOf",
    args: [id, epoch],
  });
  const keys = new Map<string, bigint>();
  commitments.forEach((c, i) => keys.set(c.toLowerCase(), weights[i] ?? 0n));
  const totalWeight = weights.reduce((a, w) => a + w, 0n);
  return { weight: { origin, epoch, signatures: 0, signedWeight: 0n, totalWeight }, keys, context };
}

function parseNote(p: ProofFile): SignedNote {
  const field = "checkpoint.signedNote";
  const text = p.checkpoint.signedNote;
  check(text !== undefined && p.checkpoint.noteKeys !== undefined, field, "absent (a compact proof)");
  try {
    const note = parseSignedNote(text);
    const body = parseCheckpointBody(note.body);
    check(body.origin === p.federation.origin, field, `origin is ${body.origin}`);
    check(body.treeSize.toString() === p.checkpoint.treeSize, field, `tree size is ${body.treeSize}`);
    check(
      hexOf(body.rootHash) === p.checkpoint.rootHash,
      field,
      "root hash differs from checkpoint.rootHash",
    );
    check(body.round.toString() === p.nexus.round, field, `round is ${body.round}`);
    check(body.epoch.toString() === p.checkpoint.epoch, field, `epoch is ${body.epoch}`);
    return note;
  } catch (err) {
    if (err instanceof ProofInvalidError) throw err;
    throw new ProofInvalidError(field, err instanceof Error ? err.message.split("\n")[0]! : String(err));
  }
}

/** A key name from the file, safe to print (control and non-ASCII characters escaped). */
function printable(s: string): string {
  return s.replace(/[^\x21-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** The hints: well-formed `noteKeys` entries (a malformed hint is ignored, it carries no authority). */
function hintedKeys(p: ProofFile): NoteVerifier[] {
  const out: NoteVerifier[] = [];
  for (const k of p.checkpoint.noteKeys ?? []) {
    try {
      out.push(makeVerifier(k.keyName, Uint8Array.from(Buffer.from(k.publicKey, "base64"))));
    } catch {
      // not a usable ML-DSA-65 key: it cannot make any signature count
    }
  }
  return out;
}

/**
 * Count the note's signatures under registered keys and require > 2/3 of the federation's weight
 * in votes and > 2/3 of each witnessing federation's weight in cosignatures.
 */
export async function checkSignedNote(client: Client, p: ProofFile, registry: Hex): Promise<NoteCheck> {
  const field = "checkpoint.signedNote";
  const note = parseNote(p);
  const round = BigInt(p.nexus.round);
  const own = await registeredSet(
    client,
    registry,
    p.federation.origin,
    BigInt(p.checkpoint.epoch),
    VOTE_CONTEXT,
  );
  const witnesses: RegisteredSet[] = [];
  const record = await anchoredRecord(client, p);
  for (const c of p.nexus.checkpoints) {
    if (c.origin === p.federation.origin) continue;
    const [epoch] = await client.readContract({
      address: p.anchor.contract as Hex,
      abi: GlobalProofAnchor__factory.abi,
      functionName: "checkpointOf",
      args: [round, federationIdOf(c.origin) as Hex, record],
    });
    witnesses.push(await registeredSet(client, registry, c.origin, epoch, WITNESS_CONTEXT));
  }
  const keys = hintedKeys(p);
  const seen = new Set<string>();
  for (const sig of note.signatures) {
    const name = printable(sig.keyName);
    const key = findVerifier(sig, keys);
    check(key !== undefined, field, `signature by ${name}, a key not in checkpoint.noteKeys`);
    const commitment = hexOf(sha256(key.publicKey));
    check(!seen.has(commitment), field, `two signatures by the key of ${name}`);
    seen.add(commitment);
    const set = [own, ...witnesses].find((s) => s.keys.has(commitment));
    // A key registered nowhere adds no weight; its line must still verify (the file is not altered).
    const context =
      set?.context ?? (name.startsWith(`${p.federation.origin}/`) ? VOTE_CONTEXT : WITNESS_CONTEXT);
    try {
      verifySignature(note.body, sig, key, context);
    } catch {
      throw new ProofInvalidError(field, `the signature by ${name} does not verify`);
    }
    if (!set) continue;
    set.weight.signatures++;
    set.weight.signedWeight += set.keys.get(commitment)!;
  }
  const v = own.weight;
  check(
    3n * v.signedWeight > 2n * v.totalWeight,
    field,
    `vote signatures under ML-DSA keys registered for ${v.origin} epoch ${v.epoch} hold weight ${v.signedWeight} of ${v.totalWeight}, not more than 2/3`,
  );
  for (const { weight: w } of witnesses) {
    check(
      3n * w.signedWeight > 2n * w.totalWeight,
      field,
      `witness cosignatures under ML-DSA keys registered for ${w.origin} epoch ${w.epoch} hold weight ${w.signedWeight} of ${w.totalWeight}, not more than 2/3`,
    );
  }
  return { votes: v, witnesses: witnesses.map((w) => w.weight) };
}
