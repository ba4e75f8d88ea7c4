/**
 * The DriftProbe over HTTP (node layout): the coordinator asks a diverging node of its own
 * federation for range hashes and, for divergent leaves only, entry bytes. Requests are signed
 * with the coordinator's secp256k1 key exactly like batch and vote requests (`amp-signature`,
 * src/transport/wire.ts); the node answers only a member of its own federation, from the entries
 * behind its vote (`ValidatorNode.votedEntries`, last 4 rounds).
 *
 * Wire (JSON, base64 bytes):
 *   POST /v1/drift/range-hashes {origin, round, ranges: [[from, to], ...]} → {hashes: [b64, ...]}
 *   POST /v1/drift/entries      {origin, round, indices: [i, ...]}         → {entries: [b64, ...]}
 */
import type { Wallet } from "ethers";
import type { PeerClient } from "../transport/client";
import {
  SIGNATURE_HEADER,
  arr,
  decodeEntries,
  encodeEntries,
  signBody,
  str,
  uint,
  type Json,
} from "../transport/wire";
import { AmpError, InvalidInputError } from "../util/errors";
import {
  MAX_RANGES_PER_CALL,
  RangeHasher,
  hashRanges,
  leafHashes,
  type DriftProbe,
  type LeafRange,
} from "./ranges";
import type { VotedEntriesSource } from "./probe";

export const RANGE_HASHES_PATH = "/v1/drift/range-hashes";
export const ENTRIES_PATH = "/v1/drift/entries";
/** Most entries asked in one call. */
export const MAX_ENTRIES_PER_CALL = 10_000;

export interface HttpDriftProbeConfig {
  /** The asking (coordinating) node. */
  readonly nodeId: string;
  readonly wallet: Wallet;
  readonly client: PeerClient;
  /** Base URL of a node of the federation. */
  readonly url: (nodeId: string) => string;
  readonly timeoutMs?: number;
}

export class HttpDriftProbe implements DriftProbe {
  constructor(private readonly cfg: HttpDriftProbeConfig) {}

  private async post(nodeId: string, path: string, payload: Json): Promise<Json> {
    const body = JSON.stringify(payload);
    const res = await this.cfg.client.json<Json>(this.cfg.url(nodeId), {
      method: "POST",
      path,
      body,
      headers: { [SIGNATURE_HEADER]: signBody(this.cfg.nodeId, this.cfg.wallet, body) },
      timeoutMs: this.cfg.timeoutMs ?? 3000,
      tries: 2,
    });
    if (typeof res !== "object" || res === null)
      throw new InvalidInputError(`${path} of ${nodeId}: not an object`);
    return res;
  }

  async rangeHashes(
    nodeId: string,
    origin: string,
    round: bigint,
    ranges: readonly LeafRange[],
  ): Promise<Uint8Array[]> {
    const o = await this.post(nodeId, RANGE_HASHES_PATH, {
      origin,
      round: round.toString(),
      ranges: ranges.map((r) => [r.from, r.to]),
    });
    const hashes = decodeEntries(
      arr(o, "hashes", `range hashes of ${nodeId}`, ranges.length),
      `range hashes of ${nodeId}`,
    );
    if (hashes.length !== ranges.length || hashes.some((h) => h.length !== 32)) {
      throw new InvalidInputError(`range hashes of ${nodeId}: expected ${ranges.length} hashes of 32 bytes`);
    }
    return hashes;
  }

  async entriesAt(
    nodeId: string,
    origin: string,
    round: bigint,
    indices: readonly number[],
  ): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (let i = 0; i < indices.length; i += MAX_ENTRIES_PER_CALL) {
      const part = indices.slice(i, i + MAX_ENTRIES_PER_CALL);
      const o = await this.post(nodeId, ENTRIES_PATH, { origin, round: round.toString(), indices: part });
      const got = decodeEntries(
        arr(o, "entries", `entries of ${nodeId}`, part.length),
        `entries of ${nodeId}`,
      );
      if (got.length !== part.length)
        throw new InvalidInputError(`entries of ${nodeId}: expected ${part.length}`);
      out.push(...got);
    }
    return out;
  }
}

function index(v: unknown, where: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw new InvalidInputError(`${where} is not a non-negative integer`, { meta: { field: where } });
  }
  return v;
}

/** The node side of both calls, over the entries behind this node's own vote. */
export class DriftProbeServer {
  /** Range hashes per voted batch, computed once. */
  private readonly hashers = new WeakMap<readonly Uint8Array[], RangeHasher>();

  constructor(private readonly source: VotedEntriesSource) {}

  private entries(o: Json): readonly Uint8Array[] {
    const origin = str(o, "origin", "body");
    const round = uint(o, "round", "body");
    const e = this.source.votedEntries(origin, round);
    if (!e) {
      throw new AmpError(`${this.source.nodeId} holds no voted entries of ${origin} round ${round}`, {
        kind: "not-found",
      });
    }
    return e;
  }

  rangeHashes(o: Json): { hashes: string[] } {
    const list = arr(o, "ranges", "body", MAX_RANGES_PER_CALL);
    const ranges = list.map((r, i): LeafRange => {
      if (!Array.isArray(r) || r.length !== 2) {
        throw new InvalidInputError(`body: ranges[${i}] is not [from, to]`, {
          meta: { field: `ranges[${i}]` },
        });
      }
      return { from: index(r[0], `ranges[${i}][0]`), to: index(r[1], `ranges[${i}][1]`) };
    });
    const e = this.entries(o);
    let h = this.hashers.get(e);
    if (!h) this.hashers.set(e, (h = new RangeHasher(leafHashes(e))));
    return { hashes: encodeEntries(hashRanges(h, ranges)) };
  }

  entriesAt(o: Json): { entries: string[] } {
    const indices = arr(o, "indices", "body", MAX_ENTRIES_PER_CALL).map((v, i) => index(v, `indices[${i}]`));
    const e = this.entries(o);
    return {
      entries: encodeEntries(
        indices.map((i) => {
          const x = e[i];
          if (x === undefined) {
            throw new InvalidInputError(`indices: ${i} is beyond the ${e.length} voted entries`, {
              meta: { field: "indices" },
            });
          }
          return x;
        }),
      ),
    };
  }
}
