/**
 * HttpTransport: the consensus Transport between processes. The coordinator signs every batch and
 * vote request with its own secp256k1 key (`amp-signature`); validators check it against the
 * manifest/deployment address. Votes need no transport authentication: they are self-authenticating
 * (ML-DSA note + EIP-712, checked by the coordinator). Calls go through PeerClient (timeouts,
 * retries, keep-alive, bounded answers).
 */
import type { Wallet } from "ethers";
import type { BatchDelivery, Transport, VoteRequest, VoteResponse } from "../consensus/types";
import { AmpError } from "../util/errors";
import { PeerClient, PeerError } from "./client";
import {
  SIGNATURE_HEADER,
  decodeEntries,
  decodePromiseAnswer,
  decodeVoteResponse,
  encodeBatch,
  encodePromiseRequest,
  encodeVoteRequest,
  parseJson,
  signBody,
  type PromiseAnswerWire,
  type PromiseRequest,
} from "./wire";

/** How long one vote request may take before the HTTP call is abandoned (per try). */
export const LATE_VOTE_WAIT_MS = 10_000;

export interface HttpTransportConfig {
  /** The sending (coordinating) node. */
  readonly nodeId: string;
  readonly wallet: Wallet;
  /** Base URL of every peer by node id. */
  readonly urls: ReadonlyMap<string, string>;
  readonly client?: PeerClient;
}

export class HttpTransport implements Transport {
  readonly client: PeerClient;
  /** The last batch delivered, encoded and signed once for every member (same bytes to each). */
  private signedBatch: { batch: BatchDelivery; body: string; header: string } | undefined;

  constructor(private readonly cfg: HttpTransportConfig) {
    this.client = cfg.client ?? new PeerClient();
  }

  url(nodeId: string): string {
    const u = this.cfg.urls.get(nodeId);
    if (!u) throw new AmpError(`no URL for node ${nodeId}`, { kind: "not-found" });
    return u;
  }

  private async signedPost(
    nodeId: string,
    path: string,
    payload: unknown,
    signed?: { body: string; header: string },
    timeoutMs?: number,
  ): Promise<Buffer> {
    const body = signed?.body ?? JSON.stringify(payload);
    const header = signed?.header ?? signBody(this.cfg.nodeId, this.cfg.wallet, body);
    const res = await this.client.request(this.url(nodeId), {
      method: "POST",
      path,
      body,
      headers: { [SIGNATURE_HEADER]: header },
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    });
    return res.body;
  }

  async deliverBatch(nodeId: string, batch: BatchDelivery): Promise<void> {
    if (this.signedBatch?.batch !== batch) {
      const body = JSON.stringify(encodeBatch(batch));
      this.signedBatch = { batch, body, header: signBody(this.cfg.nodeId, this.cfg.wallet, body) };
    }
    // A big batch takes longer to send, check and decode than the 1 s default per try.
    const timeoutMs = 2000 + Math.ceil(this.signedBatch.body.length / 1000);
    try {
      await this.signedPost(nodeId, "/v1/validator/batch", undefined, this.signedBatch, timeoutMs);
    } catch (e) {
      // A node that cannot take the batch now will report it missing and resync on the retry.
      if (!(e instanceof PeerError)) throw e;
    }
  }

  async requestVote(nodeId: string, request: VoteRequest): Promise<VoteResponse> {
    try {
      // Longer than the coordinator's vote timeout (3 s): a vote that misses it still arrives and
      // is shown to the drift monitor (ConsensusValidator.observeLate) instead of being aborted here.
      const raw = await this.signedPost(
        nodeId,
        "/v1/validator/vote",
        encodeVoteRequest(request),
        undefined,
        LATE_VOTE_WAIT_MS,
      );
      return decodeVoteResponse(parseJson(raw, `vote answer of ${nodeId}`));
    } catch (e) {
      // Every failure to get an answer is "no vote this attempt" for the coordinator.
      throw new AmpError(`no vote from ${nodeId}: ${(e as Error).message}`, {
        kind: "retry-later",
        cause: e,
      });
    }
  }

  /**
   * Prepare: ask `nodeId` to promise the ballot for the round and say what it signed (signed POST
   * `/v1/validator/promise`). Undefined when it does not answer (its state is unknown).
   */
  async promise(nodeId: string, request: PromiseRequest): Promise<PromiseAnswerWire | undefined> {
    try {
      const raw = await this.signedPost(nodeId, "/v1/validator/promise", encodePromiseRequest(request));
      return decodePromiseAnswer(parseJson(raw, `promise of ${nodeId}`), `promise of ${nodeId}`);
    } catch (e) {
      if (e instanceof PeerError || e instanceof AmpError) return undefined;
      throw e;
    }
  }

  async fetchEntries(
    peerId: string,
    origin: string,
    round: bigint,
    from: number,
    count: number,
  ): Promise<Uint8Array[]> {
    const q = new URLSearchParams({
      origin,
      round: round.toString(),
      from: String(from),
      count: String(count),
    });
    try {
      const o = await this.client.json<{ entries: unknown }>(this.url(peerId), {
        method: "GET",
        path: `/v1/archive/batch-entries?${q.toString()}`,
      });
      return Array.isArray(o.entries) ? decodeEntries(o.entries, `entries of ${peerId}`) : [];
    } catch (e) {
      if (e instanceof PeerError || e instanceof AmpError) return [];
      throw e;
    }
  }
}
