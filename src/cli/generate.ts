/** Synthetic federation events for demos and trials (`amp run --generate N`, `amp demo`). */
import { createHash } from "node:crypto";
import type { ManifestFederation } from "./context";

const TYPES = ["identity.credential_issued", "ledger.entry_posted", "access.granted", "policy.updated"];

/** A UUID-shaped id derived from the inputs (same inputs, same id; different seq, different id). */
function derivedUuid(...parts: string[]): string {
  const h = createHash("sha256").update(parts.join("\n")).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * `count` schema-valid events for `federation`, numbered from `startSeq` (use the archive's next
 * seq so repeated runs never collide). `salt` separates independent data dirs or demo runs.
 */
export function generateEvents(
  federation: ManifestFederation,
  startSeq: bigint,
  count: number,
  salt: string,
): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const seq = startSeq + BigInt(i);
    const node = federation.nodes[Number(seq % BigInt(federation.nodes.length))]!;
    out.push({
      schema_version: "1.0",
      event_id: derivedUuid("amp/generated-event/v1", salt, federation.name, seq.toString()),
      event_type: TYPES[Number(seq % BigInt(TYPES.length))]!,
      source_module: `${federation.name}-generator`,
      timestamp: new Date(Date.UTC(2026, 0, 1) + Number(seq % 86_400_000n)).toISOString(),
      federation_context: { federation_id: federation.name, node_id: node.id, region: node.region },
      payload: { seq: seq.toString(), subject: `subject-${seq % 97n}`, ok: seq % 5n !== 0n },
    });
  }
  return out;
}
