/**
 * GlobalProofNexus: cross-federation witnessing for one nexus round, then the global root.
 *
 * For every final federation checkpoint, each node of every *other* federation verifies the QC and
 * a consistency proof from the last checkpoint it witnessed and cosigns (see Witness). A checkpoint
 * is witnessed once cosigners hold > 2/3 of each witnessing federation's weight (the C2SP witness
 * policy "k of n", with k by weight); the other witnesses cosign right after, off the critical
 * path. Only checkpoints, signatures and proofs cross the boundary; the bytes are counted.
 */
import { performance } from "node:perf_hooks";
import { inlineMlDsa, type MlDsaBackend } from "../crypto/mldsa";
import { formatSignedNote, parseSignedNote, type NoteSignature } from "../crypto/note";
import { hasQuorum, totalWeight } from "../consensus/quorum";
import type { FederationConfig, QuorumCertificate } from "../consensus/types";
import { AmpError, InvalidInputError } from "../util/errors";
import { createLogger, type Logger } from "../util/log";
import { globalRoot } from "./global-root";
import type { Witness } from "./witness";

/** A federation in its witness role: its config (weights) and one Witness per node. */
export interface WitnessFederation {
  readonly config: FederationConfig;
  readonly witnesses: readonly Witness[];
}

/** One federation's final checkpoint of the round, with a source of consistency proofs of its log. */
export interface FederationFinal {
  readonly qc: QuorumCertificate;
  readonly consistencyProof: (fromSize: bigint, toSize: bigint) => Uint8Array[];
}

export interface WitnessedCheckpoint {
  readonly origin: string;
  readonly qc: QuorumCertificate;
  /** The QC's signed note with the witnesses' cosignature lines appended (C2SP cosigned checkpoint). */
  readonly cosignedNote: string;
  readonly cosignatures: readonly { readonly witnessOrigin: string; readonly signature: NoteSignature }[];
}

export interface NexusRound {
  readonly round: bigint;
  readonly witnessed: readonly WitnessedCheckpoint[];
  readonly globalRoot: Uint8Array;
  /** Per origin: `performance.now()` when its checkpoint reached its witness quorum. */
  readonly witnessedAt: ReadonlyMap<string, number>;
  /** Bytes across federation boundaries, each QC + proof sent once per witnessing federation. */
  readonly witnessBytes: number;
  /** `witnessBytes` split into QC notes, consistency proofs and returned cosignature lines. */
  readonly witnessBytesBreakdown: {
    readonly qc: number;
    readonly proofs: number;
    readonly cosignatures: number;
  };
  /** Same, if the QC + proof is sent to every witness node separately. */
  readonly witnessBytesPerNode: number;
}

export class NexusError extends AmpError {
  override name = "NexusError";
}

export interface NexusOptions {
  readonly logger?: Logger;
  /** Where witnesses run ML-DSA (QC verification, cosigning); in this thread by default. */
  readonly mldsa?: MlDsaBackend;
}

/** One witnessing federation working on one final checkpoint. */
interface WitnessJob {
  readonly w: WitnessFederation;
  readonly final: FederationFinal;
  readonly weights: Map<string, bigint>;
  readonly total: bigint;
  readonly proofs: Map<bigint, Uint8Array[]>;
  /** Cosignatures by witness index (the cosigned note lists them in witness order). */
  readonly sigs: Map<number, NoteSignature>;
  readonly running: Set<Promise<void>>;
  next: number;
  signed: bigint;
  /** `performance.now()` when cosigners first held > 2/3 of the witnessing federation's weight. */
  quorumAt: number | undefined;
  inFlight: bigint;
  bytesPerNode: number;
}

export class GlobalProofNexus {
  private readonly feds: readonly WitnessFederation[];
  private readonly logger: Logger;
  private readonly mldsa: MlDsaBackend;

  constructor(federations: readonly WitnessFederation[], options: NexusOptions = {}) {
    if (federations.length < 2) throw new InvalidInputError("the nexus needs at least two federations");
    this.feds = federations;
    this.logger = options.logger ?? createLogger("nexus");
    this.mldsa = options.mldsa ?? inlineMlDsa;
  }

  /**
   * Witness every federation's final checkpoint of `round` and compute the global root.
   *
   * Per checkpoint and witnessing federation, witnesses start in order until the started ones hold
   * > 2/3 of that federation's weight (another starts for each refusal). The round is witnessed when
   * every checkpoint has such a quorum of cosignatures (`witnessedAt`). The remaining witnesses then
   * verify and cosign too before this returns, off the critical path, so every honest witness keeps
   * up and the cosigned notes carry all their cosignatures. Throws (retry-later) if a checkpoint
   * finds no witness quorum.
   */
  async witnessRound(round: bigint, finals: ReadonlyMap<string, FederationFinal>): Promise<NexusRound> {
    // Check every checkpoint before any witness starts.
    const checked = this.feds.map((source) => {
      const origin = source.config.origin;
      const final = finals.get(origin);
      if (!final) throw new NexusError(`no final checkpoint of ${origin} for round ${round}`);
      const cp = final.qc.checkpoint;
      if (cp.origin !== origin || cp.round !== round) {
        throw new NexusError(
          `checkpoint of ${cp.origin} round ${cp.round} given for ${origin} round ${round}`,
        );
      }
      return { source, final, jobs: this.feds.filter((f) => f !== source).map((w) => newJob(w, final)) };
    });
    const witnessedAt = new Map<string, number>();
    const all = checked.flatMap((c) => c.jobs);
    // allSettled: every job's loop has ended (and starts no more witnesses) before anything throws.
    const quorums = await Promise.allSettled(all.map((job) => this.untilQuorum(job)));
    for (const c of checked) {
      const at = c.jobs.map((job) => job.quorumAt);
      if (at.every((t) => t !== undefined)) witnessedAt.set(c.source.config.origin, Math.max(...at));
    }
    const failed = quorums.find((q): q is PromiseRejectedResult => q.status === "rejected");
    if (!failed) {
      for (const job of all) while (job.next < job.w.witnesses.length) this.start(job, job.next++);
    }
    // No witness is left working when this returns, also on an error.
    await Promise.all(all.flatMap((job) => [...job.running]));
    if (failed) throw failed.reason;
    for (const job of all) {
      if (!hasQuorum(job.signed, job.total)) {
        const cp = job.final.qc.checkpoint;
        throw new NexusError(`${cp.origin} round ${round} not witnessed by > 2/3 of ${job.w.config.origin}`, {
          kind: "retry-later",
        });
      }
    }

    const breakdown = { qc: 0, proofs: 0, cosignatures: 0 };
    let bytesPerNode = 0;
    const witnessed: WitnessedCheckpoint[] = [];
    for (const { source, final, jobs } of checked) {
      const cosignatures: WitnessedCheckpoint["cosignatures"][number][] = [];
      for (const job of jobs) {
        const sigs = [...job.sigs.entries()].sort((a, b) => a[0] - b[0]).map(([, sig]) => sig);
        cosignatures.push(...sigs.map((signature) => ({ witnessOrigin: job.w.config.origin, signature })));
        breakdown.qc += Buffer.byteLength(final.qc.note, "utf8");
        breakdown.proofs += [...job.proofs.values()].reduce((a, p) => a + 32 * p.length, 0);
        breakdown.cosignatures += sigs.reduce((a, sig) => a + cosignatureBytes(sig), 0);
        bytesPerNode += job.bytesPerNode;
      }
      const note = parseSignedNote(final.qc.note);
      const cosignedNote = formatSignedNote({
        body: note.body,
        signatures: [...note.signatures, ...cosignatures.map((c) => c.signature)],
      });
      witnessed.push({ origin: source.config.origin, qc: final.qc, cosignedNote, cosignatures });
    }
    const root = globalRoot(
      round,
      witnessed.map((w) => ({
        origin: w.origin,
        treeSize: w.qc.checkpoint.treeSize,
        rootHash: w.qc.checkpoint.rootHash,
      })),
    );
    return {
      round,
      witnessed,
      globalRoot: root,
      witnessedAt,
      witnessBytes: breakdown.qc + breakdown.proofs + breakdown.cosignatures,
      witnessBytesBreakdown: breakdown,
      witnessBytesPerNode: bytesPerNode,
    };
  }

  /** Start witnesses until cosigners hold > 2/3 (sets `quorumAt`) or every witness has answered. */
  private async untilQuorum(job: WitnessJob): Promise<void> {
    for (;;) {
      while (!hasQuorum(job.signed + job.inFlight, job.total) && job.next < job.w.witnesses.length) {
        this.start(job, job.next++);
      }
      if (hasQuorum(job.signed, job.total)) {
        job.quorumAt = performance.now();
        return;
      }
      if (job.running.size === 0) return;
      await Promise.race(job.running);
    }
  }

  /** Witness number `i` of `job` verifies and cosigns; never rejects (a refusal is logged). */
  private start(job: WitnessJob, i: number): void {
    const witness = job.w.witnesses[i]!;
    const cp = job.final.qc.checkpoint;
    const weight = job.weights.get(witness.nodeId) ?? 0n;
    const from = witness.lastWitnessed(cp.origin)?.treeSize ?? 0n;
    if (!job.proofs.has(from)) {
      job.proofs.set(
        from,
        from === 0n || from >= cp.treeSize ? [] : job.final.consistencyProof(from, cp.treeSize),
      );
    }
    const proof = job.proofs.get(from)!;
    job.bytesPerNode += Buffer.byteLength(job.final.qc.note, "utf8") + 32 * proof.length;
    job.inFlight += weight;
    const p: Promise<void> = witness
      .cosign(job.final.qc.note, proof, this.mldsa)
      .then(
        (sig) => {
          job.sigs.set(i, sig);
          job.signed += weight;
          job.bytesPerNode += cosignatureBytes(sig);
        },
        (e: unknown) => {
          this.logger.warn("witness refused", {
            origin: cp.origin,
            witness: witness.nodeId,
            error: e instanceof Error ? e.message : String(e),
          });
        },
      )
      .finally(() => {
        job.inFlight -= weight;
        job.running.delete(p);
      });
    job.running.add(p);
  }
}

function newJob(w: WitnessFederation, final: FederationFinal): WitnessJob {
  const weights = new Map(w.config.members.map((m) => [m.nodeId, m.weight]));
  return {
    w,
    final,
    weights,
    total: totalWeight(weights),
    proofs: new Map(),
    sigs: new Map(),
    running: new Set(),
    next: 0,
    signed: 0n,
    quorumAt: undefined,
    inFlight: 0n,
    bytesPerNode: 0,
  };
}

/** Bytes of one cosignature line as it crosses back ("— name base64(keyId‖sig)\n"). */
function cosignatureBytes(sig: NoteSignature): number {
  return (
    Buffer.byteLength(`\u2014 ${sig.keyName} `, "utf8") + Math.ceil((4 + sig.signature.length) / 3) * 4 + 1
  );
}
