/**
 * The sealed proposal of a round: per federation the archive range [from, to) and the batch root
 * (RFC 9162 root of the batch's leaf hashes), persisted (temp + fsync + rename) BEFORE any vote is
 * asked for. A proposer that crashes after the votes re-proposes exactly this batch under the same
 * round number, so validators recognise it and repeat their stored vote; events that arrived
 * meanwhile wait for the next round.
 */
import fs from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "../consensus/atomic-file";
import { rootHash } from "../merkle";
import { AmpError } from "../util/errors";

export const PROPOSAL_FILE = "sealed-proposal.json";

export interface SealedRange {
  /** Archive federation key (manifest name). */
  readonly federation: string;
  readonly from: bigint;
  readonly to: bigint;
  /** Hex RFC 9162 root of the batch's leaf hashes (the empty root for an empty batch). */
  readonly batchRootHex: string;
}

export interface SealedProposal {
  readonly round: bigint;
  readonly ranges: readonly SealedRange[];
}

interface Stored {
  round: string;
  ranges: { federation: string; from: string; to: string; batchRootHex: string }[];
}

export function batchRootHex(leaves: readonly Uint8Array[]): string {
  return Buffer.from(rootHash([...leaves])).toString("hex");
}

export class SealedProposalStore {
  private readonly file: string;

  constructor(dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    this.file = path.join(dir, PROPOSAL_FILE);
  }

  /** The proposal persisted for `round`, if the last one sealed is for that round. */
  load(round: bigint): SealedProposal | undefined {
    if (!fs.existsSync(this.file)) return undefined;
    let s: Stored;
    try {
      s = JSON.parse(fs.readFileSync(this.file, "utf8")) as Stored;
    } catch (e) {
      throw new AmpError(`${this.file}: unreadable sealed proposal`, { kind: "bug", cause: e });
    }
    if (BigInt(s.round) !== round) return undefined;
    return {
      round,
      ranges: s.ranges.map((r) => ({
        federation: r.federation,
        from: BigInt(r.from),
        to: BigInt(r.to),
        batchRootHex: r.batchRootHex,
      })),
    };
  }

  save(p: SealedProposal): void {
    const s: Stored = {
      round: p.round.toString(),
      ranges: p.ranges.map((r) => ({
        federation: r.federation,
        from: r.from.toString(),
        to: r.to.toString(),
        batchRootHex: r.batchRootHex,
      })),
    };
    writeFileAtomic(this.file, JSON.stringify(s));
  }
}
