/** Shared setup for consensus tests (no tests here). */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { deriveThrowawayKeys } from "../../src/crypto/keys";
import { rootHash } from "../../src/merkle";
import { leafHash } from "../../src/merkle";
import { parseCheckpointBody, parseSignedNote, type Checkpoint } from "../../src/crypto/note";
import type { VoteRequest, VoteResponse } from "../../src/consensus/types";
import type { FederationSpec } from "../../src/rounds/federation";

/** Silence the engine's structured logs inside the calling describe block only. */
export function quietLogs(): void {
  let saved: string | undefined;
  before(() => {
    saved = process.env.AMP_LOG_LEVEL;
    process.env.AMP_LOG_LEVEL = "silent";
  });
  after(() => {
    if (saved === undefined) delete process.env.AMP_LOG_LEVEL;
    else process.env.AMP_LOG_LEVEL = saved;
  });
}

export const DOMAIN = { chainId: 31337n, anchor: "0x5FbDB2315678afecb367f032d93F642f64180aa3" };

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function spec(origin: string, n: number, weights?: bigint[]): FederationSpec {
  return {
    origin,
    nodes: Array.from({ length: n }, (_, i) => ({
      keys: deriveThrowawayKeys("consensus-test", `${origin.split("/")[1]}-${i + 1}`),
      weight: weights?.[i] ?? 2500n,
    })),
  };
}

/** Deterministic fake event bytes (JCS of a small object). */
export function entries(origin: string, round: number, count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) =>
    new TextEncoder().encode(`{"i":${i},"origin":"${origin}","round":${round}}`),
  );
}

export function expectedRoot(all: Uint8Array[]): Uint8Array {
  return rootHash(all.map((e) => leafHash(e)));
}

/** A first-attempt vote request of `origin` for `round` on `baseSize` (epoch 1, zero base root). */
export function voteRequest(origin: string, round: bigint, baseSize: bigint, batchSize: number): VoteRequest {
  return {
    origin,
    epoch: 1n,
    round,
    baseSize,
    baseRoot: new Uint8Array(32),
    batchSize,
    attempt: 1,
    peers: [],
  };
}

/** The checkpoint a vote response signed (throws when it is not a vote). */
export function votedCheckpoint(res: VoteResponse): Checkpoint {
  if (res.kind !== "vote") throw new Error(`no vote: ${JSON.stringify(res)}`);
  return parseCheckpointBody(parseSignedNote(res.votes[0]!.note).body);
}
