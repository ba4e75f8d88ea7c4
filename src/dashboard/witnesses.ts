/**
 * The Rounds page's witness cosignatures: for one anchored checkpoint of federation F, which nodes
 * of each OTHER federation W of the round cosigned F's signed note, how many, and their weight
 * against W's threshold (> 2/3 of W's weight, `hasQuorum`).
 *
 * Only what was checked is counted. A signature line counts for W when SHA-256 of its public key is
 * one of W's key commitments PINNED by the dashboard (the deployment record for the record's epoch,
 * or the pinned ValidatorRegistry read over the dashboard's own RPC for a later epoch) and the
 * ML-DSA-65 signature verifies over the note body under the `amp/witness/v1` context. The anchored
 * record's `noteKeys` only say which public key a line claims (they never add weight, as in
 * src/proof/verify-note.ts). A line named for W that cannot be counted is listed with the reason.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import type { AbstractProvider } from "ethers";
import type { AnchoredCheckpoint } from "../chain/anchored-rounds";
import type { DeploymentRecord } from "../chain/deployment";
import { federationIdOf } from "../chain/ids";
import { hasQuorum, quorumThreshold } from "../consensus/quorum";
import {
  findVerifier,
  makeVerifier,
  parseCheckpointBody,
  parseSignedNote,
  verifySignature,
  WITNESS_CONTEXT,
} from "../crypto/note";
import type { NoteVerifier, SignedNote } from "../crypto/note";
import { ValidatorRegistry__factory } from "../../typechain-types";

export interface CosignerView {
  /** The node id of the line's key name `<origin>/<node>` (the key is W's registered key). */
  readonly node: string;
  /** The registered validator whose key commitment matched. */
  readonly validator: string;
  readonly weight: string;
}

export interface UnverifiedCosignature {
  readonly keyName: string;
  readonly reason: string;
}

export interface WitnessView {
  /** The witnessing federation. */
  readonly origin: string;
  /** Its epoch in this round (its own checkpoint's); null when the round has no checkpoint of it. */
  readonly epoch: string | null;
  /** Cosignatures that verified under W's pinned keys, in note order. */
  readonly cosigners: readonly CosignerView[];
  readonly signedWeight: string | null;
  readonly totalWeight: string | null;
  /** Smallest weight that is a witness quorum (floor(2·total/3) + 1). */
  readonly threshold: string | null;
  readonly quorum: boolean | null;
  readonly unverified: readonly UnverifiedCosignature[];
  /** Why no line could be checked for W (no pinned keys for its epoch, note malformed…). */
  readonly unavailable: string | null;
}

interface KeyEntry {
  readonly validator: string;
  readonly weight: bigint;
}

/** One federation's registered set at one epoch: key commitment (0x hex) → validator and weight. */
export interface KeySet {
  readonly keys: ReadonlyMap<string, KeyEntry>;
  readonly total: bigint;
}

/** Pinned key sets by federation and epoch: a KeySet, or why there is none. */
export type KeySource = (origin: string, epoch: string) => KeySet | string;

function keySet(
  validators: readonly string[],
  weights: readonly bigint[],
  commitments: readonly string[],
): KeySet {
  const keys = new Map<string, KeyEntry>();
  commitments.forEach((c, i) =>
    keys.set(c.toLowerCase(), { validator: validators[i] ?? "", weight: weights[i] ?? 0n }),
  );
  return { keys, total: weights.reduce((a, w) => a + w, 0n) };
}

/**
 * Key sets from the pinned deployment record (its epoch), then from the pinned registry over the
 * dashboard's own RPC (`prepare` reads the epochs a round needs; results are cached: a registered
 * epoch never changes).
 */
export class PinnedKeys {
  private readonly read = new Map<string, KeySet>();
  private readonly failed = new Map<string, string>();

  constructor(
    private readonly record: DeploymentRecord | undefined,
    private readonly provider?: AbstractProvider,
  ) {}

  readonly source: KeySource = (origin, epoch) => {
    if (!this.record) return "no deployment record pinned";
    const fed = this.record.federations.find((f) => f.origin === origin);
    if (!fed) return `${origin} is not in the pinned deployment record`;
    if (String(fed.epoch) === epoch)
      return keySet(fed.validators, fed.weights.map(BigInt), fed.keyCommitments);
    const key = `${origin}#${epoch}`;
    const got = this.read.get(key);
    if (got) return got;
    return (
      this.failed.get(key) ??
      `epoch ${epoch} of ${origin} is not the pinned deployment record's (${fed.epoch}) and no chain is connected`
    );
  };

  /** Read from the pinned registry the sets `source` lacks (needs a provider). */
  async prepare(pairs: readonly { origin: string; epoch: string }[]): Promise<void> {
    if (!this.record || !this.provider) return;
    const registry = ValidatorRegistry__factory.connect(
      this.record.contracts.validatorRegistry,
      this.provider,
    );
    for (const { origin, epoch } of pairs) {
      const key = `${origin}#${epoch}`;
      if (typeof this.source(origin, epoch) !== "string" || this.read.has(key)) continue;
      if (!this.record.federations.some((f) => f.origin === origin) || !/^[1-9][0-9]{0,19}$/.test(epoch))
        continue;
      try {
        const id = federationIdOf(origin);
        const [validators, weights] = await registry.validatorsOf(id, BigInt(epoch));
        const commitments = await registry.keyCommitmentsOf(id, BigInt(epoch));
        this.read.set(key, keySet(validators, weights, commitments));
        this.failed.delete(key);
      } catch (e) {
        this.failed.set(
          key,
          `the pinned registry did not answer for ${origin} epoch ${epoch}: ${(e as Error).message.split("\n")[0]}`,
        );
      }
    }
  }
}

/** The witnessing federations of `cp` in its round, with their epochs (what `prepare` needs). */
export function witnessEpochs(
  cp: AnchoredCheckpoint,
  all: readonly AnchoredCheckpoint[],
): { origin: string; epoch: string }[] {
  return all.filter((c) => c.origin !== cp.origin).map((c) => ({ origin: c.origin, epoch: c.epoch }));
}

const hex = (b: Uint8Array): string => "0x" + Buffer.from(b).toString("hex");
const oneLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0]!;

/** The note, if it parses and is this checkpoint's; else why not. */
function noteOf(round: number, cp: AnchoredCheckpoint): SignedNote | string {
  let note: SignedNote;
  try {
    note = parseSignedNote(cp.signedNote);
  } catch (e) {
    return `the signed note does not parse: ${oneLine(e)}`;
  }
  try {
    const body = parseCheckpointBody(note.body);
    const mismatch =
      body.origin !== cp.origin
        ? `origin ${body.origin}`
        : body.treeSize.toString() !== cp.treeSize
          ? `tree size ${body.treeSize}`
          : hex(body.rootHash) !== cp.rootHash.toLowerCase()
            ? "a different root hash"
            : body.round !== BigInt(round)
              ? `round ${body.round}`
              : body.epoch.toString() !== cp.epoch
                ? `epoch ${body.epoch}`
                : undefined;
    if (mismatch) return `the signed note is not this checkpoint's (${mismatch})`;
  } catch (e) {
    return `the signed note's body is not a checkpoint: ${oneLine(e)}`;
  }
  return note;
}

function hints(cp: AnchoredCheckpoint): NoteVerifier[] {
  const out: NoteVerifier[] = [];
  for (const k of Array.isArray(cp.noteKeys) ? cp.noteKeys : []) {
    try {
      out.push(makeVerifier(k.keyName, Uint8Array.from(Buffer.from(k.publicKey, "base64"))));
    } catch {
      // not a usable ML-DSA-65 key: it cannot make a line count
    }
  }
  return out;
}

interface Tally {
  readonly origin: string;
  readonly epoch: string | null;
  readonly set: KeySet | string;
  readonly cosigners: CosignerView[];
  readonly unverified: UnverifiedCosignature[];
  readonly seen: Set<string>;
  weight: bigint;
}

/** Each other federation's checked cosignatures of `cp` (anchored in `round` with `all`). */
export function witnessViews(
  round: number,
  cp: AnchoredCheckpoint,
  all: readonly AnchoredCheckpoint[],
  keys: KeySource,
): WitnessView[] {
  const tallies: Tally[] = witnessEpochs(cp, all).map(({ origin, epoch }) => ({
    origin,
    epoch,
    set: keys(origin, epoch),
    cosigners: [],
    unverified: [],
    seen: new Set(),
    weight: 0n,
  }));
  const note = noteOf(round, cp);
  if (typeof note !== "string") tally(note, hints(cp), tallies);
  return tallies.map((t): WitnessView => {
    if (typeof note === "string" || typeof t.set === "string")
      return {
        origin: t.origin,
        epoch: t.epoch,
        cosigners: [],
        signedWeight: null,
        totalWeight: null,
        threshold: null,
        quorum: null,
        unverified: t.unverified,
        unavailable: typeof note === "string" ? note : (t.set as string),
      };
    const total = t.set.total;
    return {
      origin: t.origin,
      epoch: t.epoch,
      cosigners: t.cosigners,
      signedWeight: t.weight.toString(),
      totalWeight: total.toString(),
      threshold: total > 0n ? quorumThreshold(total).toString() : null,
      quorum: total > 0n && t.weight <= total ? hasQuorum(t.weight, total) : false,
      unverified: t.unverified,
      unavailable: null,
    };
  });
}

function tally(note: SignedNote, known: readonly NoteVerifier[], tallies: Tally[]): void {
  const named = (keyName: string) => tallies.find((t) => keyName.startsWith(`${t.origin}/`));
  for (const sig of note.signatures) {
    const hint = findVerifier(sig, known);
    const commitment = hint ? hex(sha256(hint.publicKey)) : undefined;
    const t =
      (commitment && tallies.find((x) => typeof x.set !== "string" && x.set.keys.has(commitment))) ||
      named(sig.keyName);
    if (!t) continue; // a vote line (this federation's own validators), not a cosignature
    const miss = (reason: string) => t.unverified.push({ keyName: sig.keyName, reason });
    if (typeof t.set === "string") miss(`unverifiable: ${t.set}`);
    else if (!hint || !commitment) miss("no public key under this key name in the record's noteKeys");
    else if (!t.set.keys.has(commitment)) miss(`key not registered for ${t.origin} epoch ${t.epoch}`);
    else if (t.seen.has(commitment)) miss("a second signature by the same registered key");
    else {
      try {
        verifySignature(note.body, sig, hint, WITNESS_CONTEXT);
      } catch {
        miss(`the ML-DSA signature does not verify (${WITNESS_CONTEXT})`);
        continue;
      }
      const entry = t.set.keys.get(commitment)!;
      t.seen.add(commitment);
      t.weight += entry.weight;
      t.cosigners.push({
        node: sig.keyName.startsWith(`${t.origin}/`) ? sig.keyName.slice(t.origin.length + 1) : sig.keyName,
        validator: entry.validator,
        weight: entry.weight.toString(),
      });
    }
  }
}
