/**
 * Commands that talk to running nodes: `amp status`, `amp submit`, `amp consistency`
 * (and `amp proof --node`, in proof.ts). HTTP goes through src/transport's PeerClient.
 */
import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { Archive } from "../archive";
import { AnchoredRounds, ANCHORS_FILE } from "../chain/anchored-rounds";
import { connectRpc } from "../chain/connect";
import { readDeployment, deploymentPath } from "../chain/deployment";
import { federationIdOf } from "../chain/ids";
import { AnchorReader } from "../chain/round-records";
import { ARCHIVE_FILE } from "../chain/runner";
import { checkConsistency } from "../node/consistency";
import { Inbox } from "../node/inbox";
import type { NodeStatus } from "../node/node";
import { PeerClient, PeerError } from "../transport/client";
import { GlobalProofAnchor__factory } from "../../typechain-types";
import { InvalidInputError } from "../util/errors";
import { CannotCheckError, UsageError } from "./exit";
import { startProgress } from "./progress";
import { loadManifestFederations } from "./context";
import { FEDERATION_FILE, type FederationFile } from "./up";

const client = new PeerClient({ timeoutMs: 1500, tries: 1 });

export function readFederation(data: string): FederationFile | undefined {
  const f = path.join(data, FEDERATION_FILE);
  if (!fs.existsSync(f)) return undefined;
  const fed = JSON.parse(fs.readFileSync(f, "utf8")) as FederationFile;
  try {
    process.kill(fed.supervisorPid, 0);
    return fed;
  } catch {
    return undefined; // a stale file of a federation that is gone
  }
}

async function anchoredRound(rpc: string, deploymentDir: string): Promise<bigint | undefined> {
  try {
    const record = readDeployment(deploymentDir);
    const conn = await connectRpc(rpc);
    try {
      return (
        (await GlobalProofAnchor__factory.connect(
          record.contracts.globalProofAnchor,
          conn.provider,
        ).nextRound()) - 1n
      );
    } finally {
      conn.close();
    }
  } catch {
    return undefined;
  }
}

async function runningStatus(fed: FederationFile, data: string) {
  const nodes = await Promise.all(
    fed.nodes.map(async (n) => {
      const st = await client
        .json<NodeStatus>(n.url, { method: "GET", path: "/v1/status" })
        .catch(() => undefined);
      return {
        id: n.id,
        url: n.url,
        pid: n.pid,
        up: st !== undefined,
        treeSize: st?.treeSize ?? null,
        lastSignedRound: st?.lastSignedRound ?? null,
        pendingEvents: st?.pendingEvents ?? null,
      };
    }),
  );
  const anchored = await anchoredRound(fed.rpc, path.dirname(fed.deployment));
  return {
    running: true,
    rpc: fed.rpc,
    trustPolicy: fed.trustPolicy,
    dashboard: fed.dashboard ?? null,
    lastAnchoredRound: anchored?.toString() ?? null,
    nodes,
    data,
  };
}

/** A data dir without a running federation: deployment, chain, last anchored round, pending events. */
function restingStatus(data: string, manifest: string | undefined) {
  const hasDeployment = fs.existsSync(deploymentPath(data));
  const record = hasDeployment ? readDeployment(data) : undefined;
  const out: Record<string, unknown> = {
    running: false,
    data,
    deployment: record ? { chainId: record.chainId, anchor: record.contracts.globalProofAnchor } : null,
    trustPolicy: path.join(data, "trust.json"),
  };
  if (fs.existsSync(path.join(data, ARCHIVE_FILE)) && fs.existsSync(path.join(data, ANCHORS_FILE))) {
    const archive = Archive.open(path.join(data, ARCHIVE_FILE));
    const anchors = AnchoredRounds.open(data);
    try {
      const last = anchors.all().at(-1);
      out.lastAnchoredRound = last ? last.round.toString() : "0";
      const pending: Record<string, string> = {};
      for (const f of loadManifestFederations(manifest)) {
        const cp = last?.checkpoints.find((c) => c.origin === f.origin);
        pending[f.name] = (archive.nextSeq(f.name) - BigInt(cp?.treeSize ?? 0)).toString();
      }
      out.pendingEvents = pending;
    } finally {
      anchors.close();
      archive.close();
    }
  }
  const nodesDir = path.join(data, "nodes");
  const upManifest = path.join(data, "manifest.yaml");
  if (fs.existsSync(nodesDir) && fs.existsSync(upManifest)) out.nodes = restingNodes(nodesDir, upManifest);
  return out;
}

/** `amp up` layout at rest: per node its archived size, last anchored round and pending events. */
function restingNodes(nodesDir: string, manifest: string) {
  const federationOf = new Map(
    loadManifestFederations(manifest).flatMap((f) => f.nodes.map((n) => [n.id, f.name])),
  );
  return fs
    .readdirSync(nodesDir)
    .filter((id) => federationOf.has(id) && fs.existsSync(path.join(nodesDir, id, "archive.sqlite")))
    .map((id) => {
      const archive = Archive.open(path.join(nodesDir, id, "archive.sqlite"));
      const inbox = new Inbox(path.join(nodesDir, id, "inbox.sqlite"));
      try {
        const cps = archive.checkpoints(federationOf.get(id)!);
        return {
          id,
          federation: federationOf.get(id),
          lastAnchoredRound: (cps.at(-1)?.round ?? 0n).toString(),
          treeSize: (cps.at(-1)?.size ?? 0n).toString(),
          pendingEvents: inbox.size(),
        };
      } finally {
        inbox.close();
        archive.close();
      }
    });
}

/** `status`, `submit` and `consistency` (one entry each in the command table of main.ts). */
export function addFederationCommands(program: Command): void {
  addStatusCommand(program);
  addSubmitCommand(program);
  addConsistencyCommand(program);
}

export function addStatusCommand(program: Command): void {
  program
    .command("status")
    .description(
      "what runs in a data dir: nodes (id, url, pid, up, tree size, last signed round), chain, anchored round",
    )
    .requiredOption("--data <dir>", "data dir of `amp up` (or of `amp run`)")
    .option("--manifest <file>", "manifest of the data dir (default: the shipped one), for pending events")
    .option("--json", "print one JSON object")
    .addHelpText(
      "after",
      `
Examples:
  $ amp status --data ./amp-local
  $ amp status --data ./amp-local --json`,
    )
    .action(async (opts: { data: string; json?: boolean; manifest?: string }) => {
      const data = path.resolve(opts.data);
      if (!fs.existsSync(data)) throw new UsageError(`--data ${opts.data}: no such directory`);
      const fed = readFederation(data);
      if (!fed) {
        const rest = restingStatus(data, opts.manifest);
        if (opts.json) console.log(JSON.stringify(rest, null, 2));
        else {
          console.log(`no running federation in ${data}`);
          for (const [k, v] of Object.entries(rest)) {
            console.log(`  ${k}: ${JSON.stringify(v)}`);
          }
        }
        return;
      }
      const st = await runningStatus(fed, data);
      if (opts.json) {
        console.log(JSON.stringify(st, null, 2));
        return;
      }
      {
        console.log(`federation running from ${data}`);
        console.log(
          `chain RPC ${st.rpc}; last anchored round ${st.lastAnchoredRound ?? "?"}; trust policy ${st.trustPolicy}`,
        );
        if (st.dashboard) console.log(`dashboard ${st.dashboard}`);
        console.log("node              url                       pid     up   size   signed");
        for (const n of st.nodes) {
          console.log(
            `${n.id.padEnd(17)} ${n.url.padEnd(25)} ${String(n.pid ?? "-").padEnd(7)} ${(n.up ? "yes" : "NO").padEnd(4)} ${String(n.treeSize ?? "-").padEnd(6)} ${n.lastSignedRound ?? "-"}`,
          );
        }
      }
    });
}

export function addSubmitCommand(program: Command): void {
  program
    .command("submit")
    .argument("<file>", "federation_event NDJSON file")
    .description("send events to a node over HTTP and print what it acknowledged (id, leaf hash)")
    .requiredOption("--node <url>", "the node's base URL, e.g. http://127.0.0.1:7401")
    .option("--json", "print the acknowledgements as JSON lines")
    .addHelpText(
      "after",
      `
Sends the file in bodies of 1000 lines; each body is stored all-or-nothing by the node. A bad line
is reported as FILE:LINE with the field (exit 1).

Examples:
  $ amp submit events.ndjson --node http://127.0.0.1:7401`,
    )
    .action(async (file: string, opts: { node: string; json?: boolean }) => {
      if (!/^https?:\/\//.test(opts.node))
        throw new UsageError(`--node must be an http(s) URL, got "${opts.node}"`);
      const lines = fs.readFileSync(file, "utf8").split("\n");
      const sender = new PeerClient({ timeoutMs: 30_000 });
      let total = 0;
      // More than one body: progress on stderr (never on stdout).
      const bar = lines.length > 1000 ? startProgress("submit", lines.length, { unit: "lines" }) : undefined;
      // Chunks of 1000 lines, each stored all-or-nothing by the node.
      for (let off = 0; off < lines.length; off += 1000) {
        const body = lines.slice(off, off + 1000).join("\n");
        if (body.trim() === "") continue;
        let res: { acknowledged: { line: number; eventId: string; leafHash: string; status: string }[] };
        try {
          res = await sender.json(opts.node, {
            method: "POST",
            path: "/v1/events",
            body,
            contentType: "application/x-ndjson",
          });
        } catch (e) {
          if (
            e instanceof PeerError &&
            e.status !== undefined &&
            e.status >= 400 &&
            e.status < 500 &&
            e.status !== 429
          ) {
            const msg = (JSON.parse(e.body || "{}") as { message?: string }).message ?? e.body;
            const m = /^line (\d+): (.*)$/.exec(msg);
            throw new InvalidInputError(m ? `${file}:${off + Number(m[1])}: ${m[2]}` : `${file}: ${msg}`);
          }
          throw new CannotCheckError(`node ${opts.node}: ${(e as Error).message}`, { cause: e });
        }
        for (const a of res.acknowledged) {
          const line = off + a.line;
          console.log(
            opts.json
              ? JSON.stringify({ ...a, line })
              : `${file}:${line}\t${a.eventId}\t${a.leafHash}\t${a.status}`,
          );
        }
        total += res.acknowledged.length;
        bar?.update(Math.min(off + 1000, lines.length), `${total} acknowledged`);
      }
      bar?.stop(`${total} acknowledged`);
      if (!opts.json) console.log(`${total} events acknowledged by ${opts.node}`);
    });
}

export function addConsistencyCommand(program: Command): void {
  program
    .command("consistency")
    .description(
      "check every node's log is a consistent extension of the anchored root (exit 0), else name the divergent (exit 1)",
    )
    .option("--data <dir>", "data dir of a running `amp up` (nodes, RPC and deployment from there)")
    .option("--nodes <urls>", "comma-separated node URLs (with --rpc and --deployment)")
    .option("--rpc <url>", "JSON-RPC endpoint of the chain")
    .option("--deployment <file>", "deployment record (deployment.json)")
    .option("--json", "print the report as JSON")
    .addHelpText(
      "after",
      `
Examples:
  $ amp consistency --data ./amp-local
  $ amp consistency --nodes http://127.0.0.1:7401,http://127.0.0.1:7402 --rpc http://127.0.0.1:8545 --deployment ./amp-local/deployment.json`,
    )
    .action(
      async (opts: { data?: string; nodes?: string; rpc?: string; deployment?: string; json?: boolean }) => {
        let urls: string[];
        let rpc = opts.rpc;
        let deploymentDir = opts.deployment ? path.dirname(opts.deployment) : undefined;
        if (opts.data) {
          const fed = readFederation(path.resolve(opts.data));
          if (!fed)
            throw new CannotCheckError(`no running federation in ${opts.data} (start it with amp up)`);
          urls = fed.nodes.map((n) => n.url);
          rpc ??= fed.rpc;
          deploymentDir ??= path.dirname(fed.deployment);
        } else if (opts.nodes) {
          urls = opts.nodes.split(",").map((s) => s.trim());
        } else throw new UsageError("give --data DIR or --nodes URL,...");
        if (!rpc || !deploymentDir) throw new UsageError("--nodes needs --rpc and --deployment");
        const record = readDeployment(deploymentDir);
        const conn = await connectRpc(rpc);
        try {
          const reader = new AnchorReader(
            GlobalProofAnchor__factory.connect(record.contracts.globalProofAnchor, conn.provider),
            record.deployBlock,
          );
          const report = await checkConsistency(urls, async (origin) => {
            const { treeSize: size, rootHash: root } = await reader.latestCheckpoint(federationIdOf(origin));
            return { size, root: new Uint8Array(Buffer.from(root.slice(2), "hex")) };
          });
          if (opts.json) console.log(JSON.stringify(report, null, 2));
          else {
            for (const n of report.nodes) {
              console.log(
                `${n.ok ? "ok  " : "BAD "} ${(n.nodeId ?? "?").padEnd(17)} ${n.url} size ${n.size ?? "?"}${n.problem ? `: ${n.problem}` : ""}`,
              );
            }
            for (const d of report.divergences) {
              console.log(
                `DIVERGE ${d.federation} at size ${d.size}: ${d.nodes.join(" vs ")}, first differing index ${d.firstDifferingIndex}`,
              );
            }
            console.log(report.ok ? "consistent" : "NOT consistent");
          }
          if (!report.ok) process.exitCode = 1;
        } finally {
          conn.close();
        }
      },
    );
}
