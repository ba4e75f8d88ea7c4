/**
 * Credits in `amp demo`: a scheduler on the demo's runner; after the rounds it waits for the
 * running epoch to close (only with a short `--epoch-seconds`), allocates, and prints the receipts
 * and the last epoch's ranking.
 */
import type { ChainConnection } from "../chain/connect";
import type { DeploymentRecord } from "../chain/deployment";
import type { AnchoringRunner } from "../chain/runner";
import { attachCredits } from "../credits/attach";
import { driftFindingsProvider } from "../credits/drift-findings";
import { rankNodes } from "../credits/rank";
import type { EpochAllocation } from "../credits/scheduler";
import type { ManifestFederation } from "./context";
import { short } from "./output";

/** Longest epoch the demo waits for at the end. */
const MAX_WAIT_SECONDS = 60;

export async function demoCredits(o: {
  dataDir: string;
  runner: AnchoringRunner;
  conn: ChainConnection;
  record: DeploymentRecord;
  manifest: ManifestFederation[];
  epochSeconds: number | undefined;
  metrics?: { allocated(seconds: number): void } | undefined;
}): Promise<{
  afterRound: () => void;
  finish: (say: (l: string) => void) => Promise<EpochAllocation[]>;
}> {
  const credits = await attachCredits({
    dataDir: o.dataDir,
    archive: o.runner.archive,
    conn: o.conn,
    record: o.record,
    federations: o.manifest.map((f) => ({
      name: f.name,
      origin: f.origin,
      nodeIds: f.nodes.map((n) => n.id),
    })),
    epochSeconds: o.epochSeconds,
    drift: driftFindingsProvider(o.runner.drift.store),
    metrics: o.metrics,
  });
  const finish = async (say: (l: string) => void): Promise<EpochAllocation[]> => {
    const len = credits.epochSeconds * 1000;
    if (credits.epochSeconds <= MAX_WAIT_SECONDS) {
      const wait = len - (Date.now() % len) + 50;
      say(
        `credits: waiting ${(wait / 1000).toFixed(1)} s for epoch ${Math.floor(Date.now() / len)} to close`,
      );
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    const done = await credits.settle();
    for (const a of done) {
      say(
        `credits: epoch ${a.epoch} allocated to ${a.nodes} nodes, receipts in tx ${short(a.txHash)} (block ${a.blockNumber})`,
      );
    }
    const last = done[done.length - 1];
    if (!last) {
      say(`credits: no epoch closed yet (epoch ${credits.epochSeconds} s); try amp demo --epoch-seconds 2`);
      return done;
    }
    const ranked = rankNodes(credits.scheduler.store.all().map((r) => r.record));
    say(
      `credits: ranking over ${done.length} epochs: ` +
        ranked.map((n) => `${n.rank}. ${n.node} ${n.score}`).join(", "),
    );
    say(
      `credits: amp credits show --data DIR; amp credits record --data DIR --epoch ${last.epoch} --node ID --out r.json`,
    );
    return done;
  };
  return { afterRound: () => credits.afterRound(), finish };
}
