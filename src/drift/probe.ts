/**
 * InProcessDriftProbe: the DriftProbe for nodes in this process. It answers from each node's
 * entries behind its vote (`ValidatorNode.votedEntries`), through the same `hashRanges` a node's
 * HTTP route serves.
 */
import { AmpError } from "../util/errors";
import { RangeHasher, hashRanges, leafHashes, type DriftProbe, type LeafRange } from "./ranges";

/** What a node exposes to the probe (ValidatorNode implements it). */
export interface VotedEntriesSource {
  readonly nodeId: string;
  votedEntries(origin: string, round: bigint): readonly Uint8Array[] | undefined;
}

export class InProcessDriftProbe implements DriftProbe {
  private readonly nodes = new Map<string, VotedEntriesSource[]>();
  /** Range hashes per entries array (a node's voted batch), computed once. */
  private readonly hashers = new WeakMap<readonly Uint8Array[], RangeHasher>();

  register(...nodes: readonly VotedEntriesSource[]): this {
    for (const n of nodes) this.nodes.set(n.nodeId, [...(this.nodes.get(n.nodeId) ?? []), n]);
    return this;
  }

  private entries(nodeId: string, origin: string, round: bigint): readonly Uint8Array[] {
    for (const n of this.nodes.get(nodeId) ?? []) {
      const e = n.votedEntries(origin, round);
      if (e) return e;
    }
    throw new AmpError(`node ${nodeId} holds no voted entries of ${origin} round ${round}`, {
      kind: "not-found",
    });
  }

  rangeHashes(
    nodeId: string,
    origin: string,
    round: bigint,
    ranges: readonly LeafRange[],
  ): Promise<Uint8Array[]> {
    return Promise.resolve().then(() => {
      const e = this.entries(nodeId, origin, round);
      let h = this.hashers.get(e);
      if (!h) this.hashers.set(e, (h = new RangeHasher(leafHashes(e))));
      return hashRanges(h, ranges);
    });
  }

  entriesAt(
    nodeId: string,
    origin: string,
    round: bigint,
    indices: readonly number[],
  ): Promise<Uint8Array[]> {
    return Promise.resolve().then(() => {
      const e = this.entries(nodeId, origin, round);
      return indices.map((i) => {
        const x = e[i];
        if (x === undefined)
          throw new AmpError(`node ${nodeId} has no entry ${i}`, { kind: "invalid-input" });
        return x;
      });
    });
  }
}
