/**
 * The world of the kill campaign (scripts/bench/kills.ts): a separate `hardhat node`, `amp up --rpc`
 * (one `amp node` child per manifest node, supervised) in their own process groups, the load that
 * collects acknowledgements, the watcher that samples every validator's signed state (equivocation)
 * and the final invariant checks. Every process started here is killed by `destroy()`, also on
 * failure.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { JsonRpcProvider } from "ethers";
import { generateEvents } from "../../src/cli/generate";
import { freePort, type FederationFile } from "../../src/node/local";
import type { NodeStatus } from "../../src/node/node";
import { PeerClient } from "../../src/transport/client";
import { GlobalProofAnchor__factory, type GlobalProofAnchor } from "../../typechain-types";
import { federationIdOf } from "../../src/chain/ids";
import { AnchorReader } from "../../src/chain/round-records";

const ROOT = path.resolve(__dirname, "..", "..");
const AMP = path.join(ROOT, "bin", "amp.js");
const HARDHAT = path.join(ROOT, "node_modules", "hardhat", "internal", "cli", "cli.js");

export async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, ms: number) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`kill campaign: timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export class KillWorld {
  chain: ChildProcess | undefined;
  up: ChildProcess | undefined;
  readonly groups = new Set<number>();
  rpc = "";
  fed!: FederationFile;
  anchor!: GlobalProofAnchor;
  provider!: JsonRpcProvider;
  readonly client = new PeerClient({ timeoutMs: 15_000, tries: 1 });
  /** Acknowledged event ids per federation. */
  readonly acked = new Map<string, Set<string>>();
  private readonly seqs = new Map<string, number>();
  /** `${node}/${round}` -> batch root the validator's persisted state showed. */
  private readonly signed = new Map<string, string>();
  equivocations: string[] = [];
  submitRefusals = 0;
  /** Extra `amp up` arguments (e.g. `--epoch-seconds N`). */
  upArgs: string[] = [];

  constructor(
    readonly dir: string,
    private readonly label: string,
  ) {}

  private spawnGroup(args: string[], log: string): ChildProcess {
    const out = fs.openSync(path.join(this.dir, log), "a");
    const env: NodeJS.ProcessEnv = { ...process.env, AMP_LOG_LEVEL: process.env.AMP_LOG_LEVEL ?? "warn" };
    delete env.HARDHAT_NETWORK;
    const c = spawn(process.execPath, args, { cwd: ROOT, detached: true, stdio: ["ignore", out, out], env });
    fs.closeSync(out);
    if (c.pid !== undefined) this.groups.add(c.pid);
    return c;
  }

  async startChain(): Promise<void> {
    const port = await freePort();
    this.rpc = `http://127.0.0.1:${port}`;
    this.chain = this.spawnGroup(
      [HARDHAT, "node", "--hostname", "127.0.0.1", "--port", String(port)],
      "chain.out",
    );
    await until(
      "the hardhat node",
      async () => {
        try {
          const res = await fetch(this.rpc, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
          });
          return res.ok ? true : undefined;
        } catch {
          return undefined;
        }
      },
      120_000,
    );
    this.provider = new JsonRpcProvider(this.rpc, undefined, { cacheTimeout: -1, staticNetwork: true });
  }

  readFed(): FederationFile | undefined {
    try {
      return JSON.parse(
        fs.readFileSync(path.join(this.dir, "data", "federation.json"), "utf8"),
      ) as FederationFile;
    } catch {
      return undefined; // absent, or being replaced
    }
  }

  /** Start `amp up --rpc` and wait until it recorded itself and every node answers. */
  async startUp(): Promise<void> {
    this.up = this.spawnGroup(
      [AMP, "up", "--rpc", this.rpc, "--data", path.join(this.dir, "data"), ...this.upArgs],
      "up.out",
    );
    const pid = this.up.pid!;
    this.fed = await until(
      "federation.json of the new amp up",
      () => {
        const f = this.readFed();
        return f && f.supervisorPid === pid && f.nodes.every((n) => n.pid !== null) ? f : undefined;
      },
      300_000,
    );
    if (!this.anchor) {
      const record = JSON.parse(fs.readFileSync(this.fed.deployment, "utf8")) as {
        contracts: { globalProofAnchor: string };
      };
      this.anchor = GlobalProofAnchor__factory.connect(record.contracts.globalProofAnchor, this.provider);
    }
    await until("every node answering", async () => ((await this.allAnswer()) ? true : undefined), 300_000);
  }

  status(url: string): Promise<NodeStatus | undefined> {
    return this.client.json<NodeStatus>(url, { method: "GET", path: "/v1/status" }).catch(() => undefined);
  }

  async allAnswer(): Promise<boolean> {
    return (await Promise.all(this.fed.nodes.map((n) => this.status(n.url)))).every(Boolean);
  }

  pidOf(id: string): number | undefined {
    return this.readFed()?.nodes.find((n) => n.id === id)?.pid ?? undefined;
  }

  /** Wait until `id` runs as a process other than `old` and answers /v1/status. */
  async restarted(id: string, old: number): Promise<void> {
    const url = this.fed.nodes.find((n) => n.id === id)!.url;
    await until(
      `${id} restarted`,
      async () => {
        const pid = this.pidOf(id);
        return pid !== undefined && pid !== old && alive(pid) && (await this.status(url)) ? true : undefined;
      },
      180_000,
    );
  }

  /** The body of `n` new events of `federation`, their ids remembered for `ack`. */
  events(federation: string, n: number): { body: string; ids: string[] } {
    const members = this.fed.nodes.filter((x) => x.federation === federation);
    const f = {
      name: federation,
      origin: "",
      nodes: members.map((m) => ({ id: m.id, region: "EU", weight: 1n })),
    };
    const from = this.seqs.get(federation) ?? 0;
    this.seqs.set(federation, from + n);
    const evs = generateEvents(f, BigInt(from), n, this.label) as { event_id: string }[];
    return { body: evs.map((e) => JSON.stringify(e)).join("\n"), ids: evs.map((e) => e.event_id) };
  }

  /** POST events to a node; the ids it acknowledges are recorded. Resolves false when refused/cut. */
  async submit(nodeId: string, n: number): Promise<boolean> {
    const node = this.fed.nodes.find((x) => x.id === nodeId)!;
    const { body } = this.events(node.federation, n);
    try {
      const res = await this.client.json<{ acknowledged: { eventId: string }[] }>(node.url, {
        method: "POST",
        path: "/v1/events",
        body,
        contentType: "application/x-ndjson",
      });
      const set = this.acked.get(node.federation) ?? new Set<string>();
      for (const a of res.acknowledged) set.add(a.eventId);
      this.acked.set(node.federation, set);
      return true;
    } catch {
      this.submitRefusals++;
      return false;
    }
  }

  /** Sample every validator's persisted signed state: two batch roots for one round = equivocation. */
  sampleSigned(): void {
    for (const n of this.fed.nodes) {
      const file = path.join(n.dataDir, "validator", `${n.id}.validator-state.json`);
      let s: { round: string; rootHex: string; baseSize?: string; batchRootHex?: string };
      try {
        s = JSON.parse(fs.readFileSync(file, "utf8")) as typeof s;
      } catch {
        continue; // not yet written, or being replaced atomically
      }
      const key = `${n.id}/${s.round}`;
      const value = `${s.baseSize ?? ""}:${s.batchRootHex ?? s.rootHex}`;
      const seen = this.signed.get(key);
      if (seen === undefined) this.signed.set(key, value);
      else if (seen !== value) this.equivocations.push(`${key}: ${seen} then ${value}`);
    }
  }

  get signedStates(): number {
    return this.signed.size;
  }

  /** The round (as a number) sealed in `id`'s sealed-proposal.json, if any. */
  sealedRound(dataDir: string): { round: bigint; mtimeMs: number } | undefined {
    const f = path.join(dataDir, "sealed-proposal.json");
    try {
      const st = fs.statSync(f);
      const p = JSON.parse(fs.readFileSync(f, "utf8")) as { round: string };
      return { round: BigInt(p.round), mtimeMs: st.mtimeMs };
    } catch {
      return undefined;
    }
  }

  witnessBytes(dataDir: string): number {
    const d = path.join(dataDir, "witness");
    try {
      return fs.readdirSync(d).reduce((a, f) => a + fs.statSync(path.join(d, f)).size, 0);
    } catch {
      return 0;
    }
  }

  nextRound(): Promise<bigint> {
    return this.anchor.nextRound();
  }

  amp(...args: string[]): Promise<{ code: number; out: string }> {
    return new Promise((resolve) => {
      execFile(process.execPath, [AMP, ...args], { cwd: ROOT, timeout: 180_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, out: stdout + stderr });
      });
    });
  }

  /** Stop everything this world started: amp up (gracefully first), orphans, the chain. */
  async destroy(): Promise<void> {
    if (this.up?.pid !== undefined && this.up.exitCode === null && this.up.signalCode === null) {
      const exited = new Promise((r) => this.up!.once("exit", r));
      process.kill(this.up.pid, "SIGTERM");
      await Promise.race([exited, sleep(15_000)]);
    }
    for (const g of this.groups) {
      try {
        process.kill(-g, "SIGKILL");
      } catch {
        // group gone
      }
    }
    this.provider?.destroy();
  }
}

export interface InvariantReport {
  acknowledgedEvents: number;
  lost: number;
  duplicates: number;
  notAnchored: number;
  roundsAnchored: number;
  roundsAnchoredTwice: number;
  equivocations: number;
  /** Every evidence record, by kind. */
  evidenceByKind: Record<string, number>;
  /** Evidence records other than `withheld-vote` (a killed validator does not vote): must be 0. */
  evidenceRecords: number;
  consistencyExit: number;
  /** Why the wait for every acknowledged event to be anchored ended without it (null: it came). */
  stalled: string | null;
}

/** Open a node's archive read-only: event ids and leaf hashes of its log. */
function archived(dataDir: string): { ids: string[]; leaves: string[] } {
  const db = new Database(path.join(dataDir, "archive.sqlite"), { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare("SELECT event_id, hex(leaf_hash) AS h FROM events").all() as {
      event_id: string;
      h: string;
    }[];
    return { ids: rows.map((r) => r.event_id), leaves: rows.map((r) => r.h) };
  } finally {
    db.close();
  }
}

/**
 * Fault evidence records by kind (evidence.jsonl: votes; catch-up.jsonl: forged entries).
 * `withheld-vote` is expected when a validator is killed; every other kind is a fault.
 */
function evidenceKinds(dataDir: string, into: Record<string, number>): void {
  for (const f of ["evidence.jsonl", "catch-up.jsonl"]) {
    const file = path.join(dataDir, "evidence", f);
    if (!fs.existsSync(file)) continue;
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
      if (!line.trim()) continue;
      let kind = "unparsable";
      try {
        kind = String((JSON.parse(line) as { kind?: unknown }).kind);
      } catch {
        // a torn last line: counted as unparsable
      }
      into[kind] = (into[kind] ?? 0) + 1;
    }
  }
}

/** After the load stops: wait until every acknowledged event is anchored, then check everything. */
export async function checkInvariants(w: KillWorld, timeoutMs: number): Promise<InvariantReport> {
  const byFed = new Map<string, typeof w.fed.nodes>();
  for (const n of w.fed.nodes) byFed.set(n.federation, [...(byFed.get(n.federation) ?? []), n]);
  const total = [...w.acked.values()].reduce((a, s) => a + s.size, 0);
  // Every node of a federation at a size covering its acknowledged events, nothing pending. If that
  // never comes (a stalled federation), the checks still run and the report says so.
  let stalled: string | null = null;
  await until(
    "every acknowledged event anchored on every node",
    async () => {
      for (const [name, nodes] of byFed) {
        const want = w.acked.get(name)?.size ?? 0;
        for (const n of nodes) {
          const st = await w.status(n.url);
          if (!st || Number(st.treeSize) < want || st.pendingEvents > 0) return undefined;
        }
      }
      return true;
    },
    timeoutMs,
  ).catch((e: unknown) => {
    stalled = (e as Error).message;
  });
  let lost = 0;
  let duplicates = 0;
  const evidenceByKind: Record<string, number> = {};
  let notAnchored = 0;
  for (const [name, nodes] of byFed) {
    const acked = w.acked.get(name) ?? new Set<string>();
    for (const n of nodes) {
      const { ids, leaves } = archived(n.dataDir);
      const have = new Set(ids);
      for (const id of acked) if (!have.has(id)) lost++;
      duplicates += ids.length - have.size + (leaves.length - new Set(leaves).size);
      evidenceKinds(n.dataDir, evidenceByKind);
      const st = await w.status(n.url);
      const origin = st!.origin;
      const { treeSize: anchoredSize } = await new AnchorReader(w.anchor).latestCheckpoint(
        federationIdOf(origin),
      );
      if (BigInt(ids.length) > anchoredSize) notAnchored += ids.length - Number(anchoredSize);
    }
  }
  const logs = await w.anchor.queryFilter(w.anchor.filters.GlobalRootAnchored(), 0, "latest");
  const perRound = new Map<string, number>();
  for (const l of logs) {
    const r = l.args.round.toString();
    perRound.set(r, (perRound.get(r) ?? 0) + 1);
  }
  const twice = [...perRound.values()].filter((c) => c > 1).length;
  const cons = await w.amp("consistency", "--data", path.join(w.dir, "data"));
  if (cons.code !== 0) process.stderr.write(cons.out);
  return {
    acknowledgedEvents: total,
    lost,
    duplicates,
    notAnchored,
    roundsAnchored: perRound.size,
    roundsAnchoredTwice: twice,
    equivocations: w.equivocations.length,
    evidenceByKind,
    evidenceRecords: Object.entries(evidenceByKind)
      .filter(([k]) => k !== "withheld-vote")
      .reduce((a, [, n]) => a + n, 0),
    consistencyExit: cons.code,
    stalled,
  };
}
