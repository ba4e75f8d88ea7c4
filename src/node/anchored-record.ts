/**
 * The anchored round as nodes keep it for proofs (src/chain/anchored-rounds records): built by the
 * round's relay from the witnessed checkpoints and the receipt, sent to every node, and stored by a
 * node only after it matched the chain (global root of the round, each federation's size and root).
 */
import type { AnchorResult } from "../chain/anchor";
import type { AnchoredCheckpoint, AnchoredRound } from "../chain/anchored-rounds";
import { federationIdOf } from "../chain/ids";
import { AmpError } from "../util/errors";
import type { FederationRoundOutcome } from "./coordinator";
import type { Roster } from "./roster";

const hex = (b: Uint8Array): string => "0x" + Buffer.from(b).toString("hex");

/** The ML-DSA keys of every manifest node, as a record's checkpoints carry them (`noteKeys`). */
export function noteKeysOf(roster: Roster): AnchoredCheckpoint["noteKeys"] {
  return roster.nodes.map((n) => ({
    keyName: n.member.keyName,
    publicKey: Buffer.from(n.member.mldsaPublicKey).toString("base64"),
  }));
}

export function anchoredRecord(
  roster: Roster,
  round: bigint,
  globalRoot: string,
  chain: { chainId: bigint; contract: string },
  res: Pick<AnchorResult, "txHash" | "blockNumber" | "gasUsed">,
  outcomes: readonly FederationRoundOutcome[],
): AnchoredRound {
  // Voters of a federation and the witnesses of the others sign its cosigned note.
  const noteKeys = noteKeysOf(roster);
  return {
    round,
    globalRoot,
    chainId: chain.chainId.toString(),
    contract: chain.contract,
    txHash: res.txHash,
    blockNumber: res.blockNumber,
    gasUsed: res.gasUsed,
    checkpoints: outcomes
      .map((o) => ({
        origin: o.origin,
        federationId: federationIdOf(o.origin),
        epoch: o.epoch.toString(),
        treeSize: o.treeSize.toString(),
        rootHash: hex(o.rootHash),
        signedNote: o.cosignedNote,
        noteKeys,
        signatures: [...o.qc.eip712Signatures],
      }))
      .sort((a, b) => (BigInt(a.federationId) < BigInt(b.federationId) ? -1 : 1)),
    metrics: {},
  };
}

export function encodeRecord(r: AnchoredRound): Record<string, unknown> {
  return { ...r, round: r.round.toString(), gasUsed: r.gasUsed.toString() };
}

/**
 * The record as a relay announces it (`POST /v1/round/anchored`): without the checkpoints'
 * `noteKeys` (every manifest node's ML-DSA public key, 1952 bytes each, twice: ~37 KB of a ~93 KB
 * record). A receiver takes them from its own roster (`withRosterKeys`), never from the sender.
 */
export function encodeAnnouncement(r: AnchoredRound): Record<string, unknown> {
  return {
    ...encodeRecord(r),
    checkpoints: r.checkpoints.map((c) => {
      const { noteKeys: _keys, ...rest } = c;
      return rest;
    }),
  };
}

/** The record with every checkpoint's `noteKeys` taken from `roster` (what a node keeps). */
export function withRosterKeys(r: AnchoredRound, roster: Roster): AnchoredRound {
  const noteKeys = noteKeysOf(roster);
  return { ...r, checkpoints: r.checkpoints.map((c) => ({ ...c, noteKeys })) };
}

/** Whether two records of a round carry the same proof material (not compared: noteKeys, metrics). */
export function sameProofMaterial(a: AnchoredRound, b: AnchoredRound): boolean {
  const material = (r: AnchoredRound) =>
    JSON.stringify([
      r.round.toString(),
      r.globalRoot,
      r.chainId,
      r.contract,
      r.txHash,
      r.blockNumber,
      r.checkpoints.map((c) => [
        c.origin,
        c.federationId,
        c.epoch,
        c.treeSize,
        c.rootHash,
        c.signedNote,
        c.signatures,
      ]),
    ]);
  return material(a) === material(b);
}

/** Decode a record sent by a peer; `check` compares it with the chain before it is trusted. */
export function decodeRecord(o: Record<string, unknown>): AnchoredRound {
  try {
    const r = o as unknown as AnchoredRound & { round: string; gasUsed: string };
    if (!Array.isArray(r.checkpoints) || typeof r.globalRoot !== "string" || typeof r.txHash !== "string") {
      throw new Error("missing fields");
    }
    for (const [i, c] of (r.checkpoints as unknown as Record<string, unknown>[]).entries()) {
      for (const f of ["origin", "federationId", "epoch", "treeSize", "rootHash", "signedNote"]) {
        if (typeof c?.[f] !== "string") throw new Error(`checkpoints[${i}].${f} is not a string`);
      }
      const sigs = c.signatures;
      if (!Array.isArray(sigs) || !sigs.every((x) => typeof x === "string"))
        throw new Error(`checkpoints[${i}].signatures is not a list of strings`);
    }
    return { ...r, round: BigInt(r.round), gasUsed: BigInt(r.gasUsed), blockNumber: Number(r.blockNumber) };
  } catch (e) {
    throw new AmpError(`malformed anchored-round record: ${(e as Error).message}`, {
      kind: "invalid-input",
      cause: e,
    });
  }
}
