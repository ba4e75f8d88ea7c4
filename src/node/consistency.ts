/**
 * Federation consistency (the seed's CI check): every node's log must be a consistent extension of
 * its federation's anchored checkpoint (RFC 9162 consistency proof from the anchored size, checked
 * here, never trusted), and nodes of one federation at the same size must hold the same root. For
 * nodes that disagree, the first differing leaf index is found by comparing their leaf hashes.
 */
import { verifyConsistency } from "../merkle";
import type { NodeStatus } from "./node";
import { PeerClient } from "../transport/client";

export interface AnchoredCheckpointView {
  readonly size: bigint;
  readonly root: Uint8Array;
}

export interface NodeVerdict {
  readonly url: string;
  readonly nodeId?: string;
  readonly federation?: string;
  readonly size?: string;
  readonly ok: boolean;
  readonly problem?: string;
}

export interface ConsistencyReport {
  readonly ok: boolean;
  readonly nodes: NodeVerdict[];
  /** Pairs of nodes of one federation at one size with different roots. */
  readonly divergences: { federation: string; size: string; nodes: string[]; firstDifferingIndex: string }[];
}

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "base64"));

export async function checkConsistency(
  urls: readonly string[],
  anchoredOf: (origin: string) => Promise<AnchoredCheckpointView>,
  client = new PeerClient({ timeoutMs: 3000 }),
): Promise<ConsistencyReport> {
  const nodes: NodeVerdict[] = [];
  const seen: { st: NodeStatus; url: string }[] = [];
  for (const url of urls) {
    let st: NodeStatus;
    try {
      st = await client.json<NodeStatus>(url, { method: "GET", path: "/v1/status" });
    } catch (e) {
      nodes.push({ url, ok: false, problem: `unreachable: ${(e as Error).message}` });
      continue;
    }
    const base = { url, nodeId: st.nodeId, federation: st.federation, size: st.treeSize };
    const anchored = await anchoredOf(st.origin);
    const size = BigInt(st.treeSize);
    if (size < anchored.size) {
      nodes.push({
        ...base,
        ok: false,
        problem: `log size ${size} is behind the anchored size ${anchored.size}`,
      });
      continue;
    }
    const c = await client.json<{ root: string; proof: string[] }>(url, {
      method: "GET",
      path: `/v1/log/consistency?from=${anchored.size}&to=${size}`,
    });
    const root = new Uint8Array(Buffer.from(c.root, "hex"));
    const good =
      anchored.size === 0n ||
      (anchored.size === size
        ? Buffer.from(root).equals(Buffer.from(anchored.root))
        : verifyConsistency(anchored.size, size, c.proof.map(b64), anchored.root, root));
    nodes.push(
      good
        ? { ...base, ok: true }
        : { ...base, ok: false, problem: "not a consistent extension of the anchored root" },
    );
    seen.push({ st: { ...st, rootHash: c.root }, url });
  }
  const divergences: ConsistencyReport["divergences"] = [];
  const groups = new Map<string, { st: NodeStatus; url: string }[]>();
  for (const s of seen) {
    const k = `${s.st.federation}/${s.st.treeSize}`;
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  for (const group of groups.values()) {
    const first = group[0]!;
    for (const other of group.slice(1)) {
      if (other.st.rootHash === first.st.rootHash) continue;
      const index = await firstDifference(client, first.url, other.url, BigInt(first.st.treeSize));
      divergences.push({
        federation: first.st.federation,
        size: first.st.treeSize,
        nodes: [first.st.nodeId, other.st.nodeId],
        firstDifferingIndex: index.toString(),
      });
    }
  }
  return { ok: nodes.every((n) => n.ok) && divergences.length === 0, nodes, divergences };
}

async function firstDifference(client: PeerClient, a: string, b: string, size: bigint): Promise<bigint> {
  const step = 10_000n;
  for (let from = 0n; from < size; from += step) {
    const to = from + step < size ? from + step : size;
    const path = `/v1/log/leaf-hashes?from=${from}&to=${to}`;
    const [x, y] = await Promise.all([
      client.json<{ leafHashes: string[] }>(a, { method: "GET", path }),
      client.json<{ leafHashes: string[] }>(b, { method: "GET", path }),
    ]);
    for (let i = 0; i < x.leafHashes.length; i++) {
      if (x.leafHashes[i] !== y.leafHashes[i]) return from + BigInt(i);
    }
  }
  return size;
}
