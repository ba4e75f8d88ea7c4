/**
 * The checks a proof file must pass on its own, before and after the chain is asked:
 * internal consistency of its fields, the event's leaf, the inclusion path and the recomputed
 * global root. Each failure names the field. (The signed note needs the registry: verify-note.ts.)
 */
import { canonicalJson, leafHash, verifyInclusion } from "../merkle";
import { computeGlobalRoot } from "../nexus/global-root";
import { federationIdOf } from "../chain/ids";
import { check, ProofInvalidError } from "./errors";
import type { ProofFile } from "./format";

export const hexOf = (b: Uint8Array): string => "0x" + Buffer.from(b).toString("hex");
export const bytesOf = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.slice(2), "hex"));

/** The event's canonical bytes hash to the stated leaf, and its id is the stated id. */
export function checkEvent(p: ProofFile): void {
  if (p.event.canonical === undefined) return; // digest-only proof: the leaf hash is the claim
  let parsed: unknown;
  try {
    parsed = JSON.parse(p.event.canonical);
  } catch {
    throw new ProofInvalidError("event.canonical", "is not JSON");
  }
  check(canonicalJson(parsed) === p.event.canonical, "event.canonical", "is not RFC 8785 canonical JSON");
  const id = (parsed as { event_id?: unknown; id?: unknown }).event_id ?? (parsed as { id?: unknown }).id;
  check(id === p.event.id, "event.id", `does not match the event's own id (${String(id)})`);
  const leaf = hexOf(leafHash(new TextEncoder().encode(p.event.canonical)));
  check(leaf === p.event.leafHash, "event.leafHash", `is not the leaf hash of event.canonical (${leaf})`);
}

/** Fields that state the same fact twice must agree. */
export function checkConsistency(p: ProofFile): void {
  check(
    federationIdOf(p.federation.origin) === p.federation.federationId,
    "federation.federationId",
    `is not SHA-256 of origin "${p.federation.origin}"`,
  );
  check(p.anchor.round === p.nexus.round, "anchor.round", `differs from nexus.round ${p.nexus.round}`);
  check(
    p.inclusion.treeSize === p.checkpoint.treeSize,
    "inclusion.treeSize",
    `differs from checkpoint.treeSize ${p.checkpoint.treeSize}`,
  );
  check(
    BigInt(p.inclusion.index) < BigInt(p.inclusion.treeSize),
    "inclusion.index",
    `${p.inclusion.index} is not below the tree size ${p.inclusion.treeSize}`,
  );
  const mine = p.nexus.checkpoints.filter((c) => c.origin === p.federation.origin);
  check(mine.length === 1, "nexus.checkpoints", `must hold exactly one checkpoint of ${p.federation.origin}`);
  const [cp] = mine;
  check(
    cp?.treeSize === p.checkpoint.treeSize && cp.rootHash === p.checkpoint.rootHash,
    "nexus.checkpoints",
    `the entry for ${p.federation.origin} differs from checkpoint.treeSize/rootHash`,
  );
}

/** Recompute the global root from every federation's checkpoint (PROTOCOL §3). */
export function checkGlobalRoot(p: ProofFile): void {
  let root: string;
  try {
    root = hexOf(
      computeGlobalRoot(
        BigInt(p.nexus.round),
        p.nexus.checkpoints.map((c) => ({
          origin: c.origin,
          treeSize: BigInt(c.treeSize),
          rootHash: bytesOf(c.rootHash),
        })),
      ),
    );
  } catch (err) {
    throw new ProofInvalidError("nexus.checkpoints", `cannot recompute the global root (${String(err)})`);
  }
  check(root === p.nexus.globalRoot, "nexus.checkpoints", `recompute to ${root}, not nexus.globalRoot`);
}

/** RFC 9162 inclusion of the leaf at the index, in the checkpoint's tree. */
export function checkInclusionLocally(p: ProofFile): void {
  const ok = verifyInclusion(
    bytesOf(p.event.leafHash),
    BigInt(p.inclusion.index),
    BigInt(p.inclusion.treeSize),
    p.inclusion.path.map(bytesOf),
    bytesOf(p.checkpoint.rootHash),
  );
  check(
    ok,
    "inclusion.path",
    `does not lead from the leaf at inclusion.index ${p.inclusion.index} to checkpoint.rootHash`,
  );
}
