/**
 * Wires a CreditScheduler to a running node: the runner's archive and data dir, the deployment's
 * ProofCreditReceipts, the manifest's credit section (epoch overridable), an optional drift
 * provider. `afterRound()` starts a tick in the background (rounds never wait for it).
 */
import { performance } from "node:perf_hooks";
import type { Archive } from "../archive";
import type { ChainConnection } from "../chain/connect";
import type { DeploymentRecord } from "../chain/deployment";
import { loadManifest } from "../manifest";
import { createLogger } from "../util/log";
import { oneLine } from "../util/errors";
import { EthersReceiptsClient } from "./chain";
import type { DriftFindingsProvider } from "./measure";
import { CreditScheduler, type EpochAllocation } from "./scheduler";
import { creditParamsFrom } from "./score";
import { dataDirSources, type SourceFederation } from "./sources";

export interface AttachOptions {
  readonly dataDir: string;
  readonly archive: Archive;
  readonly conn: ChainConnection;
  readonly record: DeploymentRecord;
  /** With `nodeWeights` (registered weights, same order) for adaptive governance proposals. */
  readonly federations: readonly (SourceFederation & {
    readonly nodeIds: readonly string[];
    readonly nodeWeights?: readonly bigint[];
  })[];
  /** Manifest file (default: the shipped one) for the credit section. */
  readonly manifest?: string | undefined;
  /** Overrides the manifest's credit.epoch_seconds (`--epoch-seconds`). */
  readonly epochSeconds?: number | undefined;
  readonly drift?: DriftFindingsProvider | undefined;
  /** Telemetry: one `allocated(seconds)` per epoch allocated (src/telemetry's AmpMetrics). */
  readonly metrics?: { allocated(seconds: number): void } | undefined;
}

export interface AttachedCredits {
  readonly scheduler: CreditScheduler;
  readonly epochSeconds: number;
  /** Start a tick in the background unless one runs; failures are logged and retried next time. */
  readonly afterRound: () => void;
  /** Wait for the running tick, then tick once more; what was allocated since attaching. */
  readonly settle: () => Promise<EpochAllocation[]>;
}

export async function attachCredits(o: AttachOptions): Promise<AttachedCredits> {
  const credit = loadManifest(...(o.manifest !== undefined ? [o.manifest] : [])).credit;
  const epochSeconds = o.epochSeconds ?? credit.epoch_seconds;
  const signer = await o.conn.signer();
  const receipts = new EthersReceiptsClient(
    o.record.contracts.proofCreditReceipts,
    o.conn.provider,
    signer,
    o.record.deployBlock,
  );
  const scheduler = new CreditScheduler({
    archive: o.archive,
    receipts,
    federations: o.federations.map((f) => ({ origin: f.origin, nodeIds: f.nodeIds })),
    sources: () => dataDirSources(o.dataDir, o.archive, o.federations, o.drift),
    params: creditParamsFrom(credit),
    epochSeconds,
    ...(credit.adaptive_weights
      ? {
          adaptive: {
            weights: new Map(
              o.federations.map((f) => [
                f.origin,
                new Map(f.nodeIds.map((id, i) => [id, f.nodeWeights?.[i] ?? 0n])),
              ]),
            ),
          },
        }
      : {}),
  });
  const log = createLogger("credits");
  const allocated: EpochAllocation[] = [];
  const run = async (): Promise<void> => {
    try {
      const t0 = performance.now();
      const done = await scheduler.tick();
      const seconds = (performance.now() - t0) / 1000;
      for (const _ of done) o.metrics?.allocated(seconds / done.length);
      allocated.push(...done);
    } catch (err) {
      log.warn("credit allocation failed; retried after the next round", { error: oneLine(err) });
    }
  };
  let last: Promise<void> = Promise.resolve();
  return {
    scheduler,
    epochSeconds,
    afterRound: () => {
      last = run();
    },
    settle: async () => {
      await last;
      await run();
      return allocated;
    },
  };
}
