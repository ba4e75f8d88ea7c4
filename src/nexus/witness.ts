/**
 * Witness: one node of federation B checking and cosigning federation A's final checkpoint
 * (C2SP tlog-witness semantics). It verifies the QC (A's validators' ML-DSA signatures, weight
 * strictly > 2/3 of A's registered weight) and a consistency proof from the last checkpoint it
 * witnessed for A; it refuses a rollback and a second root for one size. It stores references only
 * (origin, round, size, root, the QC's signature lines), fsynced before its cosignature is released.
 */
import fs from "node:fs";
import path from "node:path";
import type { NodeKeys } from "../crypto/keys";
import {
  NoteError,
  VOTE_CONTEXT,
  WITNESS_CONTEXT,
  makeSigner,
  parseCheckpointBody,
  parseSignedNote,
  signBodyWith,
  verifyNoteWith,
  type Checkpoint,
  type NoteSignature,
  type NoteSigner,
  type NoteVerifier,
  type SignedNote,
} from "../crypto/note";
import { MlDsaPoolError, inlineMlDsa, type MlDsaBackend } from "../crypto/mldsa";
import { verifyConsistency } from "../merkle";
import { readJsonLines } from "../consensus/json-lines";
import { appendLineDurable } from "../consensus/atomic-file";
import { hasQuorum, totalWeight } from "../consensus/quorum";
import type { FederationConfig } from "../consensus/types";
import { memberVerifier } from "../consensus/vote-check";
import { InvalidInputError } from "../util/errors";

export type WitnessRefusal =
  | "malformed-qc"
  | "unknown-origin"
  | "wrong-epoch"
  | "bad-qc-signature"
  | "no-quorum"
  | "rollback"
  | "second-root"
  | "bad-consistency-proof";

export class WitnessError extends InvalidInputError {
  override name = "WitnessError";
  constructor(
    readonly code: WitnessRefusal,
    shortMessage: string,
    cause?: unknown,
  ) {
    super(shortMessage, { meta: { code }, ...(cause === undefined ? {} : { cause }) });
  }
}

/** What a witness keeps per witnessed checkpoint: references, never events. */
export interface WitnessedRef {
  readonly origin: string;
  readonly round: string;
  readonly treeSize: string;
  readonly rootHex: string;
  /** The QC's signature lines (C2SP format) that convinced the witness. */
  readonly qcSignatures: readonly string[];
}

interface Watched {
  readonly config: FederationConfig;
  readonly verifiers: NoteVerifier[];
  readonly weights: Map<string, bigint>;
  readonly total: bigint;
}

export interface WitnessConfig {
  /** Origin of the witness's own federation (its key name is `<witnessOrigin>/<nodeId>`). */
  readonly witnessOrigin: string;
  readonly keys: NodeKeys;
  /** The federations this node witnesses, with their registered validators and weights. */
  readonly watched: readonly FederationConfig[];
  /** Directory for `<nodeId>.witnessed.jsonl` (references = state); memory only if omitted. */
  readonly dataDir?: string;
}

interface ParsedQc {
  readonly note: SignedNote;
  readonly cp: Checkpoint;
  readonly w: Watched;
  /** The QC's signature lines as received. */
  readonly signatures: string[];
}

function qcSignatureError(cp: Checkpoint, e: unknown): WitnessError {
  const code = e instanceof NoteError && e.code === "no-known-signature" ? "no-quorum" : "bad-qc-signature";
  return new WitnessError(code, `QC of ${cp.origin} round ${cp.round}: ${(e as Error).message}`, e);
}

export class Witness {
  readonly nodeId: string;
  readonly signer: NoteSigner;
  private readonly watched = new Map<string, Watched>();
  private last = new Map<string, { round: bigint; treeSize: bigint; root: Uint8Array }>();

  constructor(private readonly cfg: WitnessConfig) {
    this.nodeId = cfg.keys.nodeId;
    this.signer = makeSigner(
      `${cfg.witnessOrigin}/${this.nodeId}`,
      cfg.keys.mldsa.publicKey,
      cfg.keys.mldsa.secretKey,
    );
    for (const f of cfg.watched) this.watch(f);
    if (cfg.dataDir) this.load(cfg.dataDir);
  }

  /** Witness `f` from now on with this config (its epoch and weights after a rotation). */
  watch(f: FederationConfig): void {
    const weights = new Map(f.members.map((m) => [m.keyName, m.weight]));
    this.watched.set(f.origin, {
      config: f,
      verifiers: f.members.map(memberVerifier),
      weights,
      total: totalWeight(weights),
    });
  }

  /** Last checkpoint witnessed for `origin` (size 0 before the first). */
  lastWitnessed(origin: string): { round: bigint; treeSize: bigint; root: Uint8Array } | undefined {
    return this.last.get(origin);
  }

  /**
   * Verify `qcNote` and `consistencyProof` (from `lastWitnessed(origin).treeSize`; empty for the
   * first checkpoint or an unchanged size) and return this witness's cosignature line. The ML-DSA
   * work runs on `mldsa` (this thread by default, or a worker pool); the outcome is the same.
   */
  async cosign(
    qcNote: string,
    consistencyProof: readonly Uint8Array[],
    mldsa: MlDsaBackend = inlineMlDsa,
  ): Promise<NoteSignature> {
    const q = this.parseQc(qcNote);
    let verified: NoteVerifier[];
    try {
      verified = await verifyNoteWith(q.note, q.w.verifiers, VOTE_CONTEXT, mldsa);
    } catch (e) {
      if (e instanceof MlDsaPoolError) throw e; // this witness's workers failed, not the QC
      throw qcSignatureError(q.cp, e);
    }
    const signed = verified.reduce((a, v) => a + q.w.weights.get(v.keyName)!, 0n);
    if (!hasQuorum(signed, q.w.total)) {
      throw new WitnessError(
        "no-quorum",
        `QC of ${q.cp.origin} has weight ${signed} of ${q.w.total}, not > 2/3`,
      );
    }
    // Sign before the state changes: a signature that fails leaves the witness as it was.
    const cosignature = await signBodyWith(q.note.body, this.signer, WITNESS_CONTEXT, mldsa);
    // The extension check and the durable reference run together after the last await, so two
    // concurrent calls for one origin cannot both pass on stale state.
    this.checkExtends(q.cp, consistencyProof);
    this.remember(q.cp, q.signatures);
    return cosignature;
  }

  private parseQc(qcNote: string): ParsedQc {
    let note;
    let cp;
    try {
      note = parseSignedNote(qcNote);
      cp = parseCheckpointBody(note.body);
    } catch (e) {
      throw new WitnessError("malformed-qc", `malformed quorum certificate: ${(e as Error).message}`, e);
    }
    const w = this.watched.get(cp.origin);
    if (!w) throw new WitnessError("unknown-origin", `not witnessing ${cp.origin}`);
    if (cp.epoch !== w.config.epoch) {
      throw new WitnessError(
        "wrong-epoch",
        `QC is for epoch ${cp.epoch}, registered epoch is ${w.config.epoch}`,
      );
    }
    const signatures = qcNote.slice(note.body.length + 1, -1).split("\n");
    return { note, cp, w, signatures };
  }

  private checkExtends(cp: Checkpoint, proof: readonly Uint8Array[]): void {
    const prev = this.last.get(cp.origin);
    if (!prev) return; // first checkpoint witnessed for this origin
    if (cp.treeSize < prev.treeSize || cp.round < prev.round) {
      throw new WitnessError(
        "rollback",
        `${cp.origin}: size ${cp.treeSize} round ${cp.round} is behind witnessed size ${prev.treeSize} round ${prev.round}`,
      );
    }
    const same = Buffer.from(cp.rootHash).equals(Buffer.from(prev.root));
    if (cp.treeSize === prev.treeSize && !same) {
      throw new WitnessError("second-root", `${cp.origin}: a second root for size ${cp.treeSize}`);
    }
    if (prev.treeSize === 0n) return;
    if (!verifyConsistency(prev.treeSize, cp.treeSize, [...proof], prev.root, cp.rootHash)) {
      throw new WitnessError(
        "bad-consistency-proof",
        `${cp.origin}: size ${cp.treeSize} is not shown to extend witnessed size ${prev.treeSize}`,
      );
    }
  }

  private remember(cp: Checkpoint, qcSignatures: string[]): void {
    const ref: WitnessedRef = {
      origin: cp.origin,
      round: cp.round.toString(),
      treeSize: cp.treeSize.toString(),
      rootHex: Buffer.from(cp.rootHash).toString("hex"),
      qcSignatures,
    };
    // The reference log is also the state: the last reference per origin is what was witnessed.
    if (this.cfg.dataDir) appendLineDurable(this.refsFile(this.cfg.dataDir), JSON.stringify(ref));
    this.last.set(cp.origin, { round: cp.round, treeSize: cp.treeSize, root: cp.rootHash });
  }

  private refsFile(dir: string): string {
    return path.join(dir, `${this.nodeId}.witnessed.jsonl`);
  }

  /** All references stored so far (empty without a data dir); an unterminated last line is ignored. */
  references(): WitnessedRef[] {
    const dir = this.cfg.dataDir;
    return dir ? readJsonLines<WitnessedRef>(this.refsFile(dir)) : [];
  }

  private load(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
    // A torn last reference (crash mid-append, never acknowledged) is cut off the file.
    for (const r of readJsonLines<WitnessedRef>(this.refsFile(dir), { repair: true })) {
      this.last.set(r.origin, {
        round: BigInt(r.round),
        treeSize: BigInt(r.treeSize),
        root: Buffer.from(r.rootHex, "hex"),
      });
    }
  }
}
