/**
 * `npm run -s bench -- kills [--kills N] [--seed S] [--max-minutes M]`: the kill campaign (issue 13 §1). A separate
 * `hardhat node`, `amp up --rpc` (seven `amp node` processes, supervised), a steady load over HTTP,
 * and N SIGKILLs at random points (seeded RNG) of one of these stages:
 *
 * | stage            | trigger (polled every ~40 ms)                            | victim                          |
 * | ---------------- | -------------------------------------------------------- | ------------------------------- |
 * | ingest           | a POST of 200 events is in flight (0–50 ms after send)   | the node receiving it           |
 * | sealing          | a coordinator wrote sealed-proposal.json for round R     | that coordinator                |
 * | voting           | a validator persisted its signed state for round R       | that validator                  |
 * | witnessing       | a node's witness state file grew (add-checkpoint)        | that witness                    |
 * | anchor-before-tx | both federations sealed round R (QCs being gathered)     | R's proposer (relay)            |
 * | anchor-after-tx  | the chain's nextRound passed R (anchor tx mined)         | R's relay, before it tells all  |
 * | allocation-before-tx | a node wrote credits/pending.json (epoch not on-chain) | that node (the allocator)    |
 * | allocation-after-tx  | a new epoch's recordAllocations is on-chain            | its sender, before it stores |
 * | amp-up           | a random moment (0–3 s)                                  | `amp up` itself (then restarted)|
 *
 * Node kills are restarted by the supervisor; `amp up` is restarted by the campaign. After the
 * last kill the load stops and the campaign waits until every acknowledged event is anchored, then
 * checks: every acknowledged event in every node's log of its federation exactly once (lost = 0,
 * duplicates = 0), nothing pending, no round anchored twice (GlobalRootAnchored logs), no
 * validator persisted two batches for one round (sampled validator state), no evidence records,
 * `amp consistency` exits 0, no allocation recorded twice (./kill-credits.ts). Prints one JSON object; exits 1 if an invariant fails.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ensureDist } from "../ensure-dist";
import { CreditsWatch, type AllocationReport } from "./kill-credits";
import { KillWorld, checkInvariants, sleep, until, type InvariantReport } from "./kill-world";

export const STAGES = [
  "ingest",
  "sealing",
  "voting",
  "witnessing",
  "anchor-before-tx",
  "anchor-after-tx",
  "allocation-before-tx",
  "allocation-after-tx",
  "amp-up",
] as const;
export type Stage = (typeof STAGES)[number];

/** mulberry32: a small seeded PRNG (same seed, same campaign decisions). */
export function seededRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface KillCampaignOptions {
  readonly kills: number;
  readonly seed: number;
  /** Share of kills aimed at `amp up` itself (default 0.08, at least one). */
  readonly upShare?: number;
  /** Stop killing after this many minutes (then check the invariants as usual); default: no limit. */
  readonly maxMinutes?: number;
  /** Credit epoch of every node (`amp up --epoch-seconds`; default 15): allocations to kill. */
  readonly epochSeconds?: number;
  /** Only these stages (default: all); `amp-up` is always among them. */
  readonly stages?: readonly Stage[];
  readonly say?: (line: string) => void;
}

export interface KillCampaignReport extends InvariantReport, AllocationReport {
  bench: "kills";
  seed: number;
  kills: number;
  killsByStage: Record<string, number>;
  killsByTarget: Record<string, number>;
  triggerMisses: number;
  ingestPostsCut: number;
  /** Where each allocation kill landed (read from the chain right after it). */
  allocationKillPoints: Record<string, number>;
  refusedSubmissions: number;
  validatorStatesSampled: number;
  /** Kills asked for (`kills` is how many ran: fewer only when the time budget ran out). */
  killsPlanned: number;
  seconds: number;
  ok: boolean;
}

const TRIGGER_MS = 45_000;

export async function runKillCampaign(opts: KillCampaignOptions): Promise<KillCampaignReport> {
  const say = opts.say ?? (() => undefined);
  const rng = seededRng(opts.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
  ensureDist();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "amp-kills-"));
  const w = new KillWorld(dir, `kills-${opts.seed}`);
  const epochSeconds = opts.epochSeconds ?? 15;
  w.upArgs = ["--epoch-seconds", String(epochSeconds)];
  const allowed = STAGES.filter((s) => s !== "amp-up" && (opts.stages ?? STAGES).includes(s));
  const points: Record<string, number> = {};
  const t0 = Date.now();
  const byStage: Record<string, number> = {};
  const byTarget: Record<string, number> = {};
  let misses = 0;
  let cut = 0;
  let loading = true;
  let load: Promise<void> = Promise.resolve();
  // Interrupted (Ctrl-C, timeout): still kill every child process.
  const onSignal = () => void w.destroy().finally(() => process.exit(130));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    await w.startChain();
    await w.startUp();
    const credits = new CreditsWatch(w);
    say(`federation up in ${dir} (chain ${w.rpc}), seed ${opts.seed}, credit epochs of ${epochSeconds} s`);
    // Steady load: 5 events every ~300 ms to a random node (refusals while it is down are counted).
    load = (async () => {
      while (loading) {
        await w.submit(pick(w.fed.nodes).id, 5);
        await sleep(300);
      }
    })();
    const ids = w.fed.nodes.map((n) => n.id);
    const indexOf = (id: string) => ids.indexOf(id);
    /** R's relay: of the nodes that sealed R, the first at or after position (R − 1) mod N. */
    const relayOf = (round: bigint, holders: string[]): string | undefined => {
      const n = ids.length;
      const start = Number((round - 1n) % BigInt(n));
      return [...holders].sort((a, b) => ((indexOf(a) - start + n) % n) - ((indexOf(b) - start + n) % n))[0];
    };
    const sealedHolders = (round: bigint, since: number): string[] =>
      w.fed.nodes
        .filter((n) => {
          const s = w.sealedRound(n.dataDir);
          return s !== undefined && s.round === round && s.mtimeMs >= since;
        })
        .map((n) => n.id);
    /** Poll until `f` names a victim; sample validator states on the way. */
    const trigger = (what: string, f: () => Promise<string | undefined> | string | undefined) =>
      until(
        what,
        async () => {
          w.sampleSigned();
          return f();
        },
        TRIGGER_MS,
      );
    const upKills = Math.max(1, Math.round(opts.kills * (opts.upShare ?? 0.08)));
    const plan: Stage[] = [];
    for (let i = 0; i < opts.kills; i++) plan.push(pick(allowed));
    for (let k = 0; k < upKills; k++) plan[Math.floor(rng() * plan.length)] = "amp-up";

    const stopAt = opts.maxMinutes === undefined ? Infinity : t0 + opts.maxMinutes * 60_000;
    for (const [i, stage] of plan.entries()) {
      if (Date.now() > stopAt) {
        say(`time budget of ${opts.maxMinutes} min spent: no more kills`);
        break;
      }
      const since = Date.now() - 5;
      let victim: string | undefined;
      let killedPid = -1;
      try {
        if (stage === "amp-up") {
          await sleep(Math.floor(rng() * 3000));
          process.kill(w.up!.pid!, "SIGKILL");
          victim = "amp-up";
        } else if (stage === "ingest") {
          victim = pick(ids);
          killedPid = w.pidOf(victim)!;
          const post = w.submit(victim, 200);
          await sleep(Math.floor(rng() * 50));
          process.kill(killedPid, "SIGKILL");
          if (!(await post)) cut++;
        } else if (stage === "allocation-before-tx" || stage === "allocation-after-tx") {
          const before = await credits.recordedEpochs();
          const hit = await until(
            stage,
            async () => {
              w.sampleSigned();
              return stage === "allocation-before-tx" ? credits.beforeTx(since) : credits.afterTx(before);
            },
            TRIGGER_MS,
          );
          victim = hit.victim;
          killedPid = w.pidOf(victim)!;
          process.kill(killedPid, "SIGKILL");
          const dataDir = w.fed.nodes.find((n) => n.id === hit.victim)!.dataDir;
          const point = `${await credits.killPoint(dataDir, hit.epoch)}`;
          points[point] = (points[point] ?? 0) + 1;
        } else {
          const R = await w.nextRound();
          const wBefore = new Map(w.fed.nodes.map((n) => [n.id, w.witnessBytes(n.dataDir)]));
          victim = await trigger(`${stage} of round ${R}`, async () => {
            if (stage === "sealing") return sealedHolders(R, since)[0];
            if (stage === "voting") {
              for (const n of w.fed.nodes) {
                const f = path.join(n.dataDir, "validator", `${n.id}.validator-state.json`);
                try {
                  const st = fs.statSync(f);
                  const s = JSON.parse(fs.readFileSync(f, "utf8")) as { round: string };
                  if (BigInt(s.round) >= R && st.mtimeMs >= since) return n.id;
                } catch {
                  // not written yet
                }
              }
              return undefined;
            }
            if (stage === "witnessing")
              return w.fed.nodes.find((n) => w.witnessBytes(n.dataDir) > wBefore.get(n.id)!)?.id;
            const holders = sealedHolders(R, since);
            if (stage === "anchor-before-tx") {
              const feds = new Set(holders.map((h) => w.fed.nodes.find((n) => n.id === h)!.federation));
              return feds.size >= 2 ? relayOf(R, holders) : undefined;
            }
            // anchor-after-tx
            return (await w.nextRound()) > R ? (relayOf(R, holders) ?? pick(ids)) : undefined;
          });
          killedPid = w.pidOf(victim)!;
          process.kill(killedPid, "SIGKILL");
        }
      } catch (e) {
        misses++;
        say(`kill ${i + 1} (${stage}): no trigger (${(e as Error).message}); another stage instead`);
        if (misses <= opts.kills) plan.push(pick(allowed));
        continue;
      }
      byStage[stage] = (byStage[stage] ?? 0) + 1;
      byTarget[victim] = (byTarget[victim] ?? 0) + 1;
      say(`kill ${i + 1 - misses}/${opts.kills}: ${stage} -> ${victim}`);
      if (victim === "amp-up") {
        await until(
          "amp up gone",
          () => (w.up!.exitCode !== null || w.up!.signalCode !== null ? true : undefined),
          30_000,
        );
        await w.startUp();
        // Every node must be the process the new amp up supervises (no orphan of the old one).
        for (const n of w.fed.nodes) {
          const st = await until(`${n.id} answering`, () => w.status(n.url), 120_000);
          const pid = w.pidOf(n.id);
          if (st.pid !== pid)
            throw new Error(
              `after amp up restarted, ${n.id} is served by pid ${st.pid}, not its child ${pid}`,
            );
        }
      } else {
        await w.restarted(victim, killedPid);
      }
    }
    loading = false;
    await load;
    say("load stopped; waiting until every acknowledged event is anchored");
    const inv = await checkInvariants(w, 600_000);
    const alloc = await credits.check(inv.stalled === null ? 300_000 : 30_000);
    const ok =
      inv.lost === 0 &&
      inv.duplicates === 0 &&
      inv.notAnchored === 0 &&
      inv.roundsAnchoredTwice === 0 &&
      inv.equivocations === 0 &&
      inv.evidenceRecords === 0 &&
      inv.consistencyExit === 0 &&
      inv.acknowledgedEvents > 0 &&
      inv.stalled === null &&
      alloc.allocationsRecordedTwice === 0 &&
      alloc.epochsIncomplete === 0 &&
      alloc.storedAllocationMismatches === 0;
    if (w.equivocations.length) say(`equivocations: ${w.equivocations.join("; ")}`);
    return {
      bench: "kills",
      seed: opts.seed,
      kills: Object.values(byStage).reduce((a, b) => a + b, 0),
      killsPlanned: opts.kills,
      killsByStage: byStage,
      killsByTarget: byTarget,
      triggerMisses: misses,
      ingestPostsCut: cut,
      allocationKillPoints: points,
      refusedSubmissions: w.submitRefusals,
      validatorStatesSampled: w.signedStates,
      ...inv,
      ...alloc,
      seconds: Math.round((Date.now() - t0) / 1000),
      ok,
    };
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    loading = false;
    await load.catch(() => undefined);
    await w.destroy();
    if (process.env.AMP_KEEP_KILLS !== "1") fs.rmSync(dir, { recursive: true, force: true });
  }
}

function option(args: readonly string[], name: string): number | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = Number(args[i + 1]);
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${name} must be a non-negative integer`);
  return v;
}

export async function main(args: readonly string[]): Promise<void> {
  const kills = option(args, "--kills") ?? 100;
  const seed = option(args, "--seed") ?? Math.floor(Math.random() * 2 ** 31);
  const maxMinutes = option(args, "--max-minutes");
  const epochSeconds = option(args, "--epoch-seconds");
  const i = args.indexOf("--stages");
  const stages = i < 0 ? undefined : (args[i + 1] ?? "").split(",");
  for (const s of stages ?? [])
    if (!(STAGES as readonly string[]).includes(s)) throw new Error(`--stages: unknown stage "${s}"`);
  process.stderr.write(
    `kill campaign: ${kills} kills, seed ${seed} (npm run -s bench -- kills ${args.join(" ")})\n`,
  );
  const say = (l: string) => process.stderr.write(`${new Date().toISOString()} ${l}\n`);
  const report = await runKillCampaign({
    kills,
    seed,
    say,
    ...(maxMinutes !== undefined ? { maxMinutes } : {}),
    ...(epochSeconds !== undefined ? { epochSeconds } : {}),
    ...(stages !== undefined ? { stages: stages as Stage[] } : {}),
  });
  console.log(JSON.stringify(report, null, 2));
  if (!report.ok) process.exitCode = 1;
}
