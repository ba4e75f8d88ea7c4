/** Shared setup for drift tests (no tests here). */
import path from "node:path";
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
  /** Run one round and wait for the monitor. */
  round(round: bigint, entries: Uint8Array[]): Promise<void>;
  close(): void;
}

export function driftSetup(
  origin: string,
  nodeIds: readonly string[],
  config: Partial<DriftConfig> = {},
): DriftSetup {
  const dir = tmpDir("amp-drift-");
  const injector = new DriftInjector();
  const faults = new FaultInjector();
  const store = new DriftStore(path.join(dir, "drift.sqlite"));
  const probe = new InProcessDriftProbe();
  const monitor = new DriftMonitor({ store, probe, config });
  const fed = buildFederation(
    { origin, nodes: nodeIds.map((id) => ({ keys: deriveThrowawayKeys("drift-test", id), weight: 2500n })) },
    { dataDir: dir, domain: DOMAIN, faults, drift: injector, voteTimeoutMs: 2000, onVotes: monitor.observer },
  );
  probe.register(...fed.nodes);
  return {
    dir,
    fed,
    store,
    monitor,
    injector,
    faults,
    async round(round, entries) {
      const out = await fed.coordinator.runRound(round, entries);
      if (out.status !== "final") throw new Error(`round ${round} failed: ${out.reason}`);
      await monitor.idle();
    },
    close: () => store.close(),
  };
}
