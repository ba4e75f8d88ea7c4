/**
 * What a `--data DIR` holds, for the commands that read one (`amp events`, `amp proof --data`,
 * `amp erase --data`, `amp erasures`, `amp credits … --data`). Two layouts exist:
 * - a RoundEngine data dir (releases before the node layout's `amp run`): one archive
 *   `DIR/archive.sqlite` with every federation's events, and `DIR/anchors.sqlite`;
 * - a node-layout data dir (`amp up --data`, `amp demo --data`, `amp run`): one data dir per node,
 *   `DIR/nodes/<id>/archive.sqlite` + `anchors.sqlite`, each holding its own federation's log.
 * {@link resolveDataDir} tells them apart and names what it found; neither is a clear error.
 */
import fs from "node:fs";
import path from "node:path";
import { Archive } from "../archive";
import { ANCHORS_FILE } from "../chain/anchored-rounds";
import { ARCHIVE_FILE } from "../chain/runner";
import { AllocationStore } from "../credits/store";
import { InvalidInputError } from "../util/errors";

/** What the resolver needs of a manifest federation: its name and its nodes' ids. */
export interface FederationNodes {
  readonly name: string;
  readonly nodes: readonly { readonly id: string }[];
}

/** Sub-folder of a node-layout data dir holding one data dir per node. */
export const NODES_DIR = "nodes";

export interface NodeDataDir {
  readonly id: string;
  /** The node's federation (manifest name, e.g. "ssid"). */
  readonly federation: string;
  readonly dir: string;
}

export type DataDirLayout =
  | { readonly kind: "engine"; readonly dir: string; readonly archiveFile: string }
  | { readonly kind: "nodes"; readonly dir: string; readonly nodes: readonly NodeDataDir[] };

/**
 * The manifest to read a data dir with: the one given, else the effective manifest a node-layout
 * dir keeps (`DIR/manifest.yaml`, written by `amp up`/`amp demo`/`amp run`), else the default.
 */
export function manifestFor(dir: string, given: string | undefined): string | undefined {
  if (given !== undefined) return given;
  const own = path.join(dir, "manifest.yaml");
  return fs.existsSync(own) ? own : undefined;
}

/** The nodes under `DIR/nodes` that have an archive, in manifest order. */
function nodeDirs(dir: string, federations: readonly FederationNodes[]): NodeDataDir[] {
  const root = path.join(dir, NODES_DIR);
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) return [];
  const present = fs
    .readdirSync(root)
    .filter((id) => fs.existsSync(path.join(root, id, ARCHIVE_FILE)))
    .sort();
  const out: NodeDataDir[] = [];
  for (const f of federations) {
    for (const n of f.nodes) {
      if (present.includes(n.id)) out.push({ id: n.id, federation: f.name, dir: path.join(root, n.id) });
    }
  }
  const unknown = present.filter((id) => !out.some((n) => n.id === id));
  if (unknown.length > 0) {
    throw new InvalidInputError(
      `${root}: node ${unknown[0]} is not in the manifest: pass the --manifest these nodes ran with`,
    );
  }
  return out;
}

/** Tell a RoundEngine data dir from a node-layout one; throws InvalidInputError on neither. */
export function resolveDataDir(dir: string, federations: readonly FederationNodes[]): DataDirLayout {
  const archiveFile = path.join(dir, ARCHIVE_FILE);
  const nodes = nodeDirs(dir, federations);
  // An archive without anchored rounds next to node archives is `amp ingest`'s queue, not yet
  // delivered by `amp run`: the dir is a node-layout one.
  const queued = nodes.length > 0 && !fs.existsSync(path.join(dir, ANCHORS_FILE));
  if (fs.existsSync(archiveFile) && !queued) {
    if (nodes.length > 0) {
      throw new InvalidInputError(
        `${dir} holds both a RoundEngine archive (${ARCHIVE_FILE}, ${ANCHORS_FILE}) and node archives (${NODES_DIR}/<id>): use one data dir per layout`,
      );
    }
    return { kind: "engine", dir, archiveFile };
  }
  if (nodes.length > 0) return { kind: "nodes", dir, nodes };
  throw new InvalidInputError(
    `no archive at ${archiveFile} (RoundEngine layout) nor at ${path.join(dir, NODES_DIR, "<id>", ARCHIVE_FILE)} ` +
      `(node layout): run "amp run", "amp up" or "amp demo" with this --data dir first`,
  );
}

/** One line naming what was found, e.g. "node-layout data dir ./d: 7 nodes (ssid-eu-1, …)". */
export function describeDataDir(l: DataDirLayout): string {
  if (l.kind === "engine") return `RoundEngine data dir ${l.dir} (one archive, ${ARCHIVE_FILE})`;
  return `node-layout data dir ${l.dir}: ${l.nodes.length} nodes (${l.nodes.map((n) => n.id).join(", ")})`;
}

/** An archive and (when present) the anchored rounds of one store, opened for reading. */
export interface OpenedStore {
  /** The node whose store this is (node layout), or undefined (RoundEngine layout). */
  readonly node?: string;
  readonly dir: string;
  readonly archive: Archive;
  close(): void;
}

export function openArchiveIn(dir: string, node?: string): OpenedStore {
  const archive = Archive.open(path.join(dir, ARCHIVE_FILE));
  return { ...(node !== undefined ? { node } : {}), dir, archive, close: () => archive.close() };
}

/** True if `dir` holds anchored rounds (anchors.sqlite). */
export function hasAnchors(dir: string): boolean {
  return fs.existsSync(path.join(dir, ANCHORS_FILE));
}

/**
 * The node of `federation` whose log is longest (first in manifest order on a tie): the most
 * complete copy of that federation's log in a node-layout dir. Undefined when no node of it is here.
 */
export function fullestNodeOf(
  l: DataDirLayout & { kind: "nodes" },
  federation: string,
): NodeDataDir | undefined {
  let best: { node: NodeDataDir; size: bigint } | undefined;
  for (const n of l.nodes.filter((x) => x.federation === federation)) {
    const s = openArchiveIn(n.dir, n.id);
    try {
      const size = s.archive.nextSeq(federation);
      if (best === undefined || size > best.size) best = { node: n, size };
    } finally {
      s.close();
    }
  }
  return best?.node;
}

/** The nodes of a node-layout dir whose archive holds `eventId`, fullest log first. */
export function nodesHolding(l: DataDirLayout & { kind: "nodes" }, eventId: string): NodeDataDir[] {
  const found: { node: NodeDataDir; size: bigint }[] = [];
  for (const n of l.nodes) {
    const s = openArchiveIn(n.dir, n.id);
    try {
      if (s.archive.getEvent(eventId)) found.push({ node: n, size: s.archive.nextSeq(n.federation) });
    } finally {
      s.close();
    }
  }
  return found.sort((a, b) => (a.size === b.size ? 0 : a.size > b.size ? -1 : 1)).map((x) => x.node);
}

/**
 * The node of a node-layout dir that stores the most credit allocation records (every node stores
 * each epoch's records of all nodes; the first in manifest order on a tie), and its count.
 */
export function mostAllocationsNode(l: DataDirLayout & { kind: "nodes" }): {
  node: NodeDataDir;
  count: number;
} {
  let best: { node: NodeDataDir; count: number } | undefined;
  for (const n of l.nodes) {
    const s = openArchiveIn(n.dir, n.id);
    try {
      const count = new AllocationStore(s.archive).all().length;
      if (best === undefined || count > best.count) best = { node: n, count };
    } finally {
      s.close();
    }
  }
  // A node layout has at least one node (resolveDataDir).
  return best ?? { node: l.nodes[0]!, count: 0 };
}
