/**
 * GlobalProofNexus: cross-federation witnessing for one nexus round, then the global root.
 *
 * For every final federation checkpoint, each node of every *other* federation verifies the QC and
 * a consistency proof from the last checkpoint it witnessed and cosigns (see Witness). A checkpoint
 * is witnessed once cosigners hold > 2/3 of each witnessing federation's weight. Only checkpoints,
 * signatures and proofs cross the boundary; the bytes are counted.
 */
import { performance } from "node:perf_hooks";
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
  /** Cosigning time of each witness node (ms), for a parallel-deployment estimate. */
  readonly witnessNodeMs: readonly number[];
  /** Critical path if witness nodes ran in parallel: slowest quorum of witnesses (ms). */
  readonly parallelWitnessMs: number;
}

export class NexusError extends AmpError {
  override name = "NexusError";
}

export class GlobalProofNexus {
  private readonly feds: readonly WitnessFederation[];
  private readonly logger: Logger;

  constructor(federations: readonly WitnessFederation[], logger?: Logger) {
    if (federations.length < 2) throw new InvalidInputError("the nexus needs at least two federations");
    this.feds = federations;
    this.logger = logger ?? createLogger("nexus");
  }

  /** Witness every federation's final checkpoint of `round` and compute the global root. */
  witnessRound(round: bigint, finals: ReadonlyMap<string, FederationFinal>): NexusRound {
    const nodeMs: number[] = [];
    let bytes = 0;
    const breakdown = { qc: 0, proofs: 0, cosignatures: 0 };
    let bytesPerNode = 0;
    let parallel = 0;
    const witnessed: WitnessedCheckpoint[] = [];
    for (const source of this.feds) {
      const final = finals.get(source.config.origin);
      if (!final) throw new NexusError(`no final checkpoint of ${source.config.origin} for round ${round}`);
      if (final.qc.checkpoint.round !== round) {
        throw new NexusError(
          `checkpoint of ${source.config.origin} is for round ${final.qc.checkpoint.round}`,
        );
      }
      const cosignatures: WitnessedCheckpoint["cosignatures"][number][] = [];
      for (const w of this.feds.filter((f) => f !== source)) {
        const r = this.witnessBy(w, final);
        cosignatures.push(...r.sigs.map((signature) => ({ witnessOrigin: w.config.origin, signature })));
        nodeMs.push(...r.ms);
        bytes += r.bytes;
        breakdown.qc += r.qcBytes;
        breakdown.proofs += r.proofBytes;
        breakdown.cosignatures += r.sigBytes;
        bytesPerNode += r.bytesPerNode;
        parallel = Math.max(parallel, r.quorumMs);
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
      witnessBytes: bytes,
      witnessBytesBreakdown: breakdown,
      witnessBytesPerNode: bytesPerNode,
      witnessNodeMs: nodeMs,
      parallelWitnessMs: parallel,
    };
  }

  /** Federation `w` witnesses `final`; throws unless cosigners hold > 2/3 of w's weight. */
  private witnessBy(w: WitnessFederation, final: FederationFinal) {
    const cp = final.qc.checkpoint;
    const qcBytes = Buffer.byteLength(final.qc.note, "utf8");
    const weights = new Map(w.config.members.map((m) => [m.nodeId, m.weight]));
    const proofs = new Map<bigint, Uint8Array[]>();
    const sigs: NoteSignature[] = [];
    const done: { ms: number; weight: bigint }[] = [];
    let bytesPerNode = 0;
    let signed = 0n;
    for (const witness of w.witnesses) {
      const from = witness.lastWitnessed(cp.origin)?.treeSize ?? 0n;
      if (!proofs.has(from)) {
        proofs.set(from, from === 0n || from >= cp.treeSize ? [] : final.consistencyProof(from, cp.treeSize));
      }
      const proof = proofs.get(from)!;
      bytesPerNode += qcBytes + 32 * proof.length;
      const t0 = performance.now();
      try {
        const sig = witness.cosign(final.qc.note, proof);
        const weight = weights.get(witness.nodeId) ?? 0n;
        done.push({ ms: performance.now() - t0, weight });
        sigs.push(sig);
        signed += weight;
        bytesPerNode += cosignatureBytes(sig);
      } catch (e) {
        this.logger.warn("witness refused", {
          origin: cp.origin,
          witness: witness.nodeId,
          error: (e as Error).message,
        });
      }
    }
    if (!hasQuorum(signed, totalWeight(weights))) {
      throw new NexusError(`${cp.origin} round ${cp.round} not witnessed by > 2/3 of ${w.config.origin}`, {
        kind: "retry-later",
      });
    }
    const proofBytes = [...proofs.values()].reduce((a, p) => a + 32 * p.length, 0);
    const sigBytes = sigs.reduce((a, s) => a + cosignatureBytes(s), 0);
    return {
      sigs,
      ms: done.map((d) => d.ms),
      bytes: qcBytes + proofBytes + sigBytes,
      qcBytes,
      proofBytes,
      sigBytes,
      bytesPerNode,
      quorumMs: quorumTime(done, totalWeight(weights)),
    };
  }
}

/** Bytes of one cosignature line as it crosses back ("— name base64(keyId‖sig)\n"). */
function cosignatureBytes(sig: NoteSignature): number {
  return (
    Buffer.byteLength(`\u2014 ${sig.keyName} `, "utf8") + Math.ceil((4 + sig.signature.length) / 3) * 4 + 1
  );
}

/** Time until the fastest witnesses holding > 2/3 of the weight are done, if all ran in parallel. */
function quorumTime(done: readonly { ms: number; weight: bigint }[], total: bigint): number {
  let w = 0n;
  for (const d of [...done].sort((a, b) => a.ms - b.ms)) {
    w += d.weight;
    if (hasQuorum(w, total)) return d.ms;
  }
  return Number.POSITIVE_INFINITY;
}
