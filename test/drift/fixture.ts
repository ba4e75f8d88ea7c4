/** Shared setup for drift tests (no tests here). */
import path from "node:path";
import { performance } from "node:perf_hooks";
import type { ClockStamp } from "../../src/consensus/clock-stamp";
import type { VoteCollection } from "../../src/consensus/observer";
import { checkpointBody } from "../../src/crypto/note";
import { leafHash, rootHash } from "../../src/merkle";
import { canonicalBytes } from "../../src/events";
import { generateEvents } from "../../src/cli/generate";
import { deriveThrowawayKeys } from "../../src/crypto/keys";
import { FaultInjector } from "../../src/consensus/fault-injector";
import { buildFederation, type FederationRuntime } from "../../src/rounds/federation";
import {
  DriftInjector,
  DriftMonitor,
  DriftStore,
  InProcessDriftProbe,
  type DriftConfig,
} from "../../src/drift";
import { DOMAIN, tmpDir } from "../consensus/fixture";

export const SEED_NODES = ["eu-node-001", "us-node-002", "apac-node-003", "eu-node-004"];

/** `count` schema-valid events (canonical bytes) for round `round` of `origin`. */
export function events(origin: string, round: number, count: number): Uint8Array[] {
  const fed = {
    name: origin.split("/")[1]!,
    origin,
    nodes: SEED_NODES.map((id) => ({ id, region: "EU", weight: 2500n })),
  };
  return generateEvents(fed, BigInt(round * 100_000), count, "drift-test").map((e) => canonicalBytes(e));
}

export interface DriftSetup {
  readonly dir: string;
  readonly fed: FederationRuntime;
  readonly store: DriftStore;
  readonly monitor: DriftMonitor;
  readonly injector: DriftInjector;
  readonly faults: FaultInjector;
  /** Every vote collection the coordinator showed the monitor, in order. */
  readonly collections: VoteCollection[];
  /** Run one round and wait for the monitor. */
  round(round: bigint, entries: Uint8Array[]): Promise<void>;
  close(): void;
}

export function driftSetup(
  origin: string,
  nodeIds: readonly string[],
  config: Partial<DriftConfig> = {},
  voteTimeoutMs = 2000,
): DriftSetup {
  const dir = tmpDir("amp-drift-");
  const injector = new DriftInjector();
  const faults = new FaultInjector();
  const store = new DriftStore(path.join(dir, "drift.sqlite"));
  const probe = new InProcessDriftProbe();
  const monitor = new DriftMonitor({ store, probe, config });
  const collections: VoteCollection[] = [];
  const onVotes = (c: VoteCollection) => {
    collections.push(c);
    monitor.observer(c);
  };
  const fed = buildFederation(
    { origin, nodes: nodeIds.map((id) => ({ keys: deriveThrowawayKeys("drift-test", id), weight: 2500n })) },
    { dataDir: dir, domain: DOMAIN, faults, drift: injector, voteTimeoutMs, onVotes },
  );
  probe.register(...fed.nodes);
  return {
    dir,
    fed,
    store,
    monitor,
    injector,
    faults,
    collections,
    async round(round, entries) {
      const out = await fed.coordinator.runRound(round, entries);
      if (out.status !== "final") throw new Error(`round ${round} failed: ${out.reason}`);
      await monitor.idle();
    },
    close: () => store.close(),
  };
}

/** A node's part in a synthetic vote collection: the entries behind its vote, its clock stamp. */
export interface SyntheticNode {
  readonly nodeId: string;
  readonly entries: readonly Uint8Array[];
  readonly clock?: ClockStamp;
  readonly receivedAtMs?: number;
  readonly address?: string;
}

/**
 * A vote collection as the coordinator would show it, without ML-DSA (the detector reads
 * checkpoints, not signatures): for the 1,000-clean-rounds test and the workflow tests.
 */
export function syntheticCollection(
  origin: string,
  round: bigint,
  batch: readonly Uint8Array[],
  nodes: readonly SyntheticNode[],
): VoteCollection {
  const cp = (entries: readonly Uint8Array[]) => ({
    origin,
    treeSize: BigInt(entries.length),
    rootHash: rootHash(entries.map((e) => leafHash(e))),
    round,
    epoch: 1n,
  });
  const expected = cp(batch);
  return {
    origin,
    epoch: 1n,
    round,
    attempt: 1,
    baseSize: 0n,
    entries: batch,
    expected: { treeSize: expected.treeSize, rootHash: expected.rootHash },
    proposals: nodes.map((n) => {
      const checkpoint = cp(n.entries);
      const body = checkpointBody(checkpoint);
      const vote = {
        nodeId: n.nodeId,
        note: body,
        eip712Signature: "0x",
        ...(n.clock ? { clock: n.clock } : {}),
      };
      return {
        nodeId: n.nodeId,
        weight: 2500n,
        address: n.address ?? "0x0000000000000000000000000000000000000000",
        checkpoints: [{ body, checkpoint, vote }],
        receivedAtMs: n.receivedAtMs ?? Date.now(),
      };
    }),
    silent: [],
    lastVoteAt: performance.now(),
  };
}

/** A probe over per-node entries (what each node voted on in the current round). */
export function staticProbe(
  byNode: Map<string, readonly Uint8Array[]>,
  origin: string,
  round: () => bigint,
  nodeIds: readonly string[] = SEED_NODES,
): InProcessDriftProbe {
  return new InProcessDriftProbe().register(
    ...nodeIds.map((nodeId) => ({
      nodeId,
      votedEntries: (o: string, r: bigint) =>
        o === origin && r === round() ? byNode.get(nodeId) : undefined,
    })),
  );
}
