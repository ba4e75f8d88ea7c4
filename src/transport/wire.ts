/**
 * JSON wire forms of the consensus messages (bigint as decimal strings, bytes as base64) and the
 * request signature: `amp-signature: <nodeId> <0x EIP-191 secp256k1 signature over the raw body>`.
 * Decoders check every field and throw InvalidInputError naming it.
 */
import { createHash } from "node:crypto";
import { Wallet, verifyMessage } from "ethers";
import type { BatchDelivery, Vote, VoteRequest, VoteResponse } from "../consensus/types";
import { IJsonError, parseIJson } from "../events/ijson";
import { InvalidInputError } from "../util/errors";

export const SIGNATURE_HEADER = "amp-signature";

export type Json = Record<string, unknown>;

const b64 = (b: Uint8Array): string => Buffer.from(b).toString("base64");

export function field(o: Json, name: string, where: string): unknown {
  if (!(name in o))
    throw new InvalidInputError(`${where}: missing field "${name}"`, { meta: { field: name } });
  return o[name];
}

export function str(o: Json, name: string, where: string, re?: RegExp): string {
  const v = field(o, name, where);
  if (typeof v !== "string" || (re && !re.test(v))) {
    throw new InvalidInputError(`${where}: field "${name}" is not a valid string`, { meta: { field: name } });
  }
  return v;
}

const U64_MAX = 2n ** 64n - 1n;

export function uint(o: Json, name: string, where: string): bigint {
  const v = BigInt(str(o, name, where, /^(0|[1-9][0-9]{0,19})$/));
  if (v > U64_MAX) {
    throw new InvalidInputError(`${where}: field "${name}" is above 2^64 - 1`, { meta: { field: name } });
  }
  return v;
}

export function int(o: Json, name: string, where: string, max = 1_000_000): number {
  const v = field(o, name, where);
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) {
    throw new InvalidInputError(`${where}: field "${name}" is not an integer in [0, ${max}]`, {
      meta: { field: name },
    });
  }
  return v;
}

export function bytes(o: Json, name: string, where: string, len?: number): Uint8Array {
  const s = str(o, name, where, /^[A-Za-z0-9+/]*={0,2}$/);
  const b = Buffer.from(s, "base64");
  if (len !== undefined && b.length !== len) {
    throw new InvalidInputError(`${where}: field "${name}" must be ${len} bytes`, { meta: { field: name } });
  }
  return new Uint8Array(b);
}

export function obj(v: unknown, where: string): Json {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new InvalidInputError(`${where}: expected a JSON object`);
  }
  return v as Json;
}

export function arr(o: Json, name: string, where: string, max = 100_000): unknown[] {
  const v = field(o, name, where);
  if (!Array.isArray(v) || v.length > max) {
    throw new InvalidInputError(`${where}: field "${name}" is not an array of at most ${max}`, {
      meta: { field: name },
    });
  }
  return v;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Parse a message body as I-JSON (RFC 7493: duplicate names, lone surrogates, ... refused). */
export function parseJson(raw: Buffer | string, where: string): Json {
  try {
    return obj(parseIJson(raw.toString()), where);
  } catch (e) {
    if (e instanceof IJsonError && isJson(raw.toString())) {
      throw new InvalidInputError(`${where}: ${e.shortMessage}`, { meta: e.meta, cause: e });
    }
    if (e instanceof InvalidInputError && !(e instanceof IJsonError)) throw e;
    throw new InvalidInputError(`${where}: body is not JSON`, { cause: e });
  }
}

export function encodeVoteRequest(r: VoteRequest): Json {
  return {
    origin: r.origin,
    epoch: r.epoch.toString(),
    round: r.round.toString(),
    baseSize: r.baseSize.toString(),
    baseRoot: b64(r.baseRoot),
    batchSize: r.batchSize,
    ...(r.batchRoot ? { batchRoot: b64(r.batchRoot) } : {}),
    attempt: r.attempt,
    peers: [...r.peers],
    ...(r.ballot !== undefined ? { ballot: r.ballot.toString() } : {}),
  };
}

export function decodeVoteRequest(o: Json): VoteRequest {
  const w = "vote request";
  return {
    origin: str(o, "origin", w),
    epoch: uint(o, "epoch", w),
    round: uint(o, "round", w),
    baseSize: uint(o, "baseSize", w),
    baseRoot: bytes(o, "baseRoot", w, 32),
    batchSize: int(o, "batchSize", w),
    batchRoot: bytes(o, "batchRoot", w, 32),
    attempt: int(o, "attempt", w, 10),
    peers: arr(o, "peers", w, 1000).map((p, i) => {
      if (typeof p !== "string") throw new InvalidInputError(`${w}: peers[${i}] is not a string`);
      return p;
    }),
    ...(o.ballot !== undefined ? { ballot: uint(o, "ballot", w) } : {}),
  };
}

export function encodeBatch(b: BatchDelivery): Json {
  return {
    origin: b.origin,
    round: b.round.toString(),
    entries: b.entries.map(b64),
    ...(b.ballot !== undefined ? { ballot: b.ballot.toString() } : {}),
  };
}

export function decodeBatch(o: Json): BatchDelivery {
  const w = "batch";
  return {
    origin: str(o, "origin", w),
    round: uint(o, "round", w),
    entries: decodeEntries(arr(o, "entries", w), w),
    ...(o.ballot !== undefined ? { ballot: uint(o, "ballot", w) } : {}),
  };
}

export function decodeEntries(list: unknown[], w: string): Uint8Array[] {
  return list.map((e, i) => {
    if (typeof e !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(e)) {
      throw new InvalidInputError(`${w}: entries[${i}] is not base64`);
    }
    return new Uint8Array(Buffer.from(e, "base64"));
  });
}

export function encodeEntries(entries: readonly Uint8Array[]): string[] {
  return entries.map(b64);
}

function decodeVote(v: unknown, w: string): Vote {
  const o = obj(v, w);
  const vote: Vote = {
    nodeId: str(o, "nodeId", w),
    note: str(o, "note", w),
    eip712Signature: str(o, "eip712Signature", w, /^0x[0-9a-fA-F]{130}$/),
  };
  // The signed wall clock (src/consensus/clock-stamp.ts), checked by the drift monitor. It never
  // decides whether the vote counts: a malformed one is dropped, the vote kept.
  const c = o.clock as { wallClockMs?: unknown; signature?: unknown } | undefined;
  if (
    typeof c !== "object" ||
    c === null ||
    typeof c.wallClockMs !== "number" ||
    !Number.isSafeInteger(c.wallClockMs) ||
    c.wallClockMs < 0 ||
    typeof c.signature !== "string" ||
    !/^0x[0-9a-fA-F]{130}$/.test(c.signature)
  ) {
    return vote;
  }
  return { ...vote, clock: { wallClockMs: c.wallClockMs, signature: c.signature } };
}

export function decodeVoteResponse(o: Json): VoteResponse {
  const w = "vote response";
  const kind = str(o, "kind", w);
  if (kind === "vote") return { kind, votes: arr(o, "votes", w, 10).map((v) => decodeVote(v, w)) };
  if (kind === "missing") return { kind, have: int(o, "have", w) };
  if (kind === "refused") return { kind, reason: str(o, "reason", w) };
  throw new InvalidInputError(`${w}: unknown kind "${kind}"`);
}

/**
 * What an `amp-signature` signs (EIP-191 personal message): the SHA-256 of the exact body bytes,
 * domain-separated. Hashing natively and signing 88 bytes instead of EIP-191 over a whole batch
 * body (keccak in JavaScript over hundreds of KB, at the sender and at every receiver) took half
 * of a federation's CPU at 1000 events/s; SHA-256 binds the body as firmly.
 */
export function bodyDigestMessage(body: string | Uint8Array): string {
  return `amp-http-body/v1 sha256:${createHash("sha256").update(body).digest("hex")}`;
}

/** `amp-signature` header value for `body`, signed with the sending node's secp256k1 key. */
export function signBody(nodeId: string, wallet: Wallet, body: string | Uint8Array): string {
  return `${nodeId} ${wallet.signMessageSync(bodyDigestMessage(body))}`;
}

/**
 * The node id whose registered address signed `body`; throws InvalidInputError (HTTP 403 at the
 * edge) when the header is missing, malformed, names an unknown node or does not recover to it.
 */
export function verifyBody(
  header: string | undefined,
  body: string | Uint8Array,
  addressOf: (id: string) => string | undefined,
): string {
  const m = /^([A-Za-z0-9._-]{1,64}) (0x[0-9a-fA-F]{130})$/.exec(header ?? "");
  if (!m) throw new UnauthenticatedError(`missing or malformed ${SIGNATURE_HEADER} header`);
  const [, nodeId, sig] = m as unknown as [string, string, string];
  const address = addressOf(nodeId);
  if (!address)
    throw new UnauthenticatedError(
      `${SIGNATURE_HEADER}: ${nodeId} is not a node this one accepts requests from`,
    );
  let recovered: string;
  try {
    recovered = verifyMessage(bodyDigestMessage(body), sig);
  } catch (e) {
    throw new UnauthenticatedError(`${SIGNATURE_HEADER}: signature does not parse`, e);
  }
  if (recovered.toLowerCase() !== address.toLowerCase()) {
    throw new UnauthenticatedError(`${SIGNATURE_HEADER}: not signed by ${nodeId}'s registered key`);
  }
  return nodeId;
}

export class UnauthenticatedError extends InvalidInputError {
  override name = "UnauthenticatedError";
  constructor(shortMessage: string, cause?: unknown) {
    super(shortMessage, cause === undefined ? {} : { cause });
  }
}

/** Prepare of the node layout (`POST /v1/validator/promise`, signed): promise `ballot` for `round`. */
export interface PromiseRequest {
  readonly origin: string;
  readonly round: bigint;
  readonly ballot: bigint;
}

/** What a validator signed last (`{}` when nothing): the lock rule's input. */
export interface SignedBatchWire {
  readonly round?: string;
  readonly baseSize?: string;
  readonly batchRoot?: string;
  readonly batchSize?: number;
}

/** A validator's answer to a prepare. */
export interface PromiseAnswerWire {
  readonly promised: boolean;
  readonly ballot: string;
  readonly signed: SignedBatchWire;
}

export function encodePromiseRequest(r: PromiseRequest): Json {
  return { origin: r.origin, round: r.round.toString(), ballot: r.ballot.toString() };
}

export function decodePromiseRequest(o: Json): PromiseRequest {
  const w = "promise request";
  return { origin: str(o, "origin", w), round: uint(o, "round", w), ballot: uint(o, "ballot", w) };
}

export function decodePromiseAnswer(o: Json, where: string): PromiseAnswerWire {
  if (typeof o.promised !== "boolean")
    throw new InvalidInputError(`${where}: field "promised" is not a boolean`);
  const s = o.signed;
  if (typeof s !== "object" || s === null || Array.isArray(s)) {
    throw new InvalidInputError(`${where}: field "signed" is not an object`);
  }
  const signed = s as Json;
  return {
    promised: o.promised,
    ballot: uint(o, "ballot", where).toString(),
    signed:
      signed.round === undefined
        ? {}
        : {
            round: uint(signed, "round", where).toString(),
            baseSize: uint(signed, "baseSize", where).toString(),
            batchRoot: str(signed, "batchRoot", where, /^[0-9a-f]{64}$/),
            batchSize: int(signed, "batchSize", where),
          },
  };
}
