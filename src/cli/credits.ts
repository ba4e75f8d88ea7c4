/**
 * `amp credits show|record` (allocations kept in a data dir's archive) and `amp receipt verify`
 * (an allocation record against the pinned ProofCreditReceipts contract).
 */
import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { getAddress, isAddress } from "ethers";
import { Archive } from "../archive";
import { ARCHIVE_FILE } from "../chain/runner";
import { connectRpc } from "../chain/connect";
import { ReceiptsReader } from "../credits/chain";
import { rankNodes, type RankedNode } from "../credits/rank";
import { canonicalJson } from "../merkle";
import { AllocationStore, type StoredAllocation } from "../credits/store";
import { AllocationRecordError, allocationHash, checkRecord } from "../credits/record";
import { decodeUtf8Strict, IJsonError, parseIJson } from "../events/ijson";
import { PeerClient, PeerError } from "../transport/client";
import { ReceiptInvalidError, verifyReceipt } from "../credits/verify";
import { formatFixed } from "../credits/score";
import { CannotCheckError, UsageError } from "./exit";
import { InvalidInputError } from "../util/errors";
import { loadManifestFederations } from "./context";
import { manifestFor, mostAllocationsNode, resolveDataDir, type DataDirLayout } from "./data-dir";
import { note, short } from "./output";

/**
 * The allocation records of a data dir: the archive of a RoundEngine dir, or in a node-layout dir
 * the node that holds the most records (every node stores each epoch's records of all nodes; the
 * first in manifest order on a tie). `from` names the node read (node layout).
 */
function openAllocations(dataDir: string): { store: AllocationStore; from?: string; close: () => void } {
  let layout: DataDirLayout;
  try {
    layout = resolveDataDir(dataDir, loadManifestFederations(manifestFor(dataDir, undefined)));
  } catch (e) {
    if (e instanceof InvalidInputError)
      throw new CannotCheckError(`${e.shortMessage}: wrong --data dir?`, { cause: e });
    throw e;
  }
  if (layout.kind === "engine") {
    const archive = Archive.open(layout.archiveFile);
    return { store: new AllocationStore(archive), close: () => archive.close() };
  }
  const chosen = mostAllocationsNode(layout).node;
  const archive = Archive.open(path.join(chosen.dir, ARCHIVE_FILE));
  return { store: new AllocationStore(archive), from: chosen.id, close: () => archive.close() };
}

/** Exactly one source: `--data DIR` (the archive) or `--url URL` (a node's HTTP API). */
function sourceOf(opts: { data?: string; url?: string }): { data: string } | { url: string } {
  if ((opts.data === undefined) === (opts.url === undefined)) {
    throw new UsageError("give exactly one of --data DIR or --url NODE_URL");
  }
  if (opts.url !== undefined && !/^https?:\/\/[^/]+\/?$/.test(opts.url)) {
    throw new UsageError(`--url must be a node's base URL like http://127.0.0.1:8080, got "${opts.url}"`);
  }
  return opts.data !== undefined ? { data: opts.data } : { url: opts.url!.replace(/\/$/, "") };
}

async function fetchJson<T>(url: string, p: string): Promise<T> {
  try {
    return await new PeerClient({ timeoutMs: 10_000 }).json<T>(url, { method: "GET", path: p });
  } catch (e) {
    if (e instanceof PeerError && e.status === 404)
      throw new UsageError(`${url}${p}: ${e.body.slice(0, 200)}`);
    throw new CannotCheckError(`cannot read ${url}${p}`, { cause: e });
  }
}

/** Every record a node serves, checked (format, derived fields) before use. */
async function remoteAllocations(url: string): Promise<StoredAllocation[]> {
  const list = await fetchJson<{ epochs: { epoch: string }[] }>(url, "/v1/credits/epochs");
  const out: StoredAllocation[] = [];
  for (const { epoch } of list.epochs) {
    const o = await fetchJson<{ records: unknown[] }>(url, `/v1/credits/epochs/${epoch}`);
    for (const raw of o.records) {
      const r = checkRecord(raw);
      out.push({
        epoch: BigInt(r.epoch),
        origin: r.origin,
        node: r.node,
        allocationHash: allocationHash(r),
        record: r,
      });
    }
  }
  return out;
}

function parseEpoch(v: string | undefined): bigint | undefined {
  if (v === undefined) return undefined;
  if (!/^(0|[1-9][0-9]*)$/.test(v))
    throw new UsageError(`--epoch must be a non-negative integer, got "${v}"`);
  return BigInt(v);
}

function pct(ppm: bigint): string {
  return formatFixed(ppm / 100n, 2) + "%";
}

function row(n: RankedNode, weight?: string): string {
  return [
    String(n.rank).padStart(4),
    n.node.padEnd(18),
    n.score.padStart(12),
    (weight ?? "").padStart(9),
    pct(n.accuracyPpm).padStart(8),
    pct(n.participationPpm).padStart(8),
    (n.medianLatencyMs === null ? "-" : `${n.medianLatencyMs} ms`).padStart(8),
    pct(n.uptimePpm).padStart(8),
  ].join("  ");
}

const HEADER = [
  "rank",
  "node".padEnd(18),
  "score".padStart(12),
  "weight".padStart(9),
  "accuracy",
  "particip.",
  "latency",
  "  uptime",
].join("  ");

function show(
  rows: StoredAllocation[],
  epoch: bigint | undefined,
  node: string | undefined,
  json: boolean,
): void {
  const epochs = [...new Set(rows.map((r) => r.epoch))].filter((e) => epoch === undefined || e === epoch);
  if (epoch !== undefined && epochs.length === 0)
    throw new UsageError(`no allocation for epoch ${epoch} in this data dir`);
  const keep = (n: { node: string }) => node === undefined || n.node === node;
  const perEpoch = epochs.map((e) => {
    const recs = rows.filter((r) => r.epoch === e);
    const weight = new Map(recs.map((r) => [r.record.node_ref, r.record.governance_weight]));
    const hash = new Map(recs.map((r) => [r.record.node_ref, r.allocationHash]));
    const ranked = rankNodes(recs.map((r) => r.record)).filter(keep);
    return {
      epoch: e,
      ranked: ranked.map((n) => ({
        ...n,
        weight: weight.get(n.nodeRef)!,
        allocationHash: hash.get(n.nodeRef)!,
      })),
    };
  });
  const overall = epoch === undefined ? rankNodes(rows.map((r) => r.record)).filter(keep) : [];
  if (node !== undefined && perEpoch.every((e) => e.ranked.length === 0)) {
    throw new UsageError(`no allocation for node "${node}" in this data dir`);
  }
  if (json) {
    const big = (_k: string, x: unknown) => (typeof x === "bigint" ? x.toString() : x);
    console.log(JSON.stringify({ epochs: perEpoch, overTime: overall }, big, 2));
    return;
  }
  for (const e of perEpoch) {
    console.log(`epoch ${e.epoch} (${e.ranked.length} nodes)`);
    console.log(HEADER);
    for (const n of e.ranked) console.log(row(n, n.weight) + `  ${short(n.allocationHash)}`);
  }
  if (overall.length > 0) {
    console.log(`over ${epochs.length} epochs (scores summed)`);
    console.log(HEADER);
    for (const n of overall) console.log(row(n));
  }
}

/** The receipts address a trust policy pins: `receipts` (or `contracts.receipts`), with its chain id. */
function pinnedReceipts(opts: { receipts?: string; trust?: string }): { address: string; chainId?: bigint } {
  let fromTrust: string | undefined;
  let chainId: bigint | undefined;
  if (opts.trust !== undefined) {
    let t: Record<string, unknown>;
    try {
      t = JSON.parse(fs.readFileSync(opts.trust, "utf8")) as Record<string, unknown>;
    } catch (cause) {
      throw new CannotCheckError(`cannot read the trust policy ${opts.trust}`, { cause });
    }
    const contracts = (t.contracts ?? {}) as Record<string, unknown>;
    const v = t.receipts ?? contracts.receipts;
    if (v !== undefined) {
      if (typeof v !== "string" || !isAddress(v))
        throw new UsageError(`${opts.trust}: receipts is not an address`);
      fromTrust = getAddress(v);
    }
    if (t.chainId !== undefined) chainId = BigInt(t.chainId as string | number);
  }
  const flag = opts.receipts;
  if (flag !== undefined && !isAddress(flag)) {
    throw new UsageError(`--receipts must be an address, got "${String(flag)}"`);
  }
  if (flag !== undefined && fromTrust !== undefined && getAddress(flag) !== fromTrust) {
    throw new UsageError(`--receipts ${flag} differs from the trust policy's receipts ${fromTrust}`);
  }
  const address = flag !== undefined ? getAddress(flag) : fromTrust;
  if (address === undefined) {
    throw new UsageError(
      "pin the ProofCreditReceipts contract: --receipts ADDRESS or a trust policy with `receipts`",
    );
  }
  return chainId === undefined ? { address } : { address, chainId };
}

export function addCreditsCommand(program: Command): void {
  const credits = program.command("credits").description("proof credits: rankings and allocation records");
  credits
    .command("show")
    .description("rank nodes by their allocations, per epoch and over time")
    .option("--data <dir>", "data dir of the node that allocated (or --url)")
    .option("--url <url>", "a running node's HTTP API (amp node / amp up), instead of --data")
    .option("--epoch <n>", "only this allocation epoch")
    .option("--node <id>", "only this node")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      `
Ranks by credit score, then accuracy, participation, median vote latency, uptime and node
reference (a total order). Without --epoch: every epoch, then the ranking over time.

Examples:
  $ amp credits show --data ./amp-data
  $ amp credits show --data ./amp-data --epoch 493827 --node ssid-eu-1 --json
  $ amp credits show --url http://127.0.0.1:8080        # a node of amp up`,
    )
    .action(async (opts: { data?: string; url?: string; epoch?: string; node?: string; json?: boolean }) => {
      const epoch = parseEpoch(opts.epoch);
      const src = sourceOf(opts);
      if ("url" in src) {
        const rows = await remoteAllocations(src.url);
        if (rows.length === 0)
          throw new UsageError(`no allocations at ${src.url} yet (epochs close every epoch_seconds)`);
        show(rows, epoch, opts.node, opts.json === true);
        return;
      }
      const { store, from, close } = openAllocations(src.data);
      if (from !== undefined) note(`node-layout data dir: reading the allocations stored by ${from}`);
      try {
        const rows = store.all();
        if (rows.length === 0)
          throw new UsageError(`no allocations in ${src.data} yet (epochs close every epoch_seconds)`);
        show(rows, epoch, opts.node, opts.json === true);
      } finally {
        close();
      }
    });
  credits
    .command("record")
    .description("write one node's allocation record of an epoch (RFC 8785 JSON)")
    .option("--data <dir>", "data dir of the node that allocated (or --url)")
    .option("--url <url>", "a running node's HTTP API (amp node / amp up), instead of --data")
    .requiredOption("--epoch <n>", "allocation epoch")
    .requiredOption("--node <id>", "node id")
    .requiredOption("--out <file>", "output file (- for stdout)")
    .addHelpText(
      "after",
      `
Examples:
  $ amp credits record --data ./amp-data --epoch 493827 --node ssid-eu-1 --out r.json
  $ amp credits record --url http://127.0.0.1:8080 --epoch 493827 --node ssid-eu-1 --out r.json
  $ amp receipt verify r.json --rpc http://127.0.0.1:8545 --trust trust.json`,
    )
    .action(async (opts: { data?: string; url?: string; epoch: string; node: string; out: string }) => {
      const epoch = parseEpoch(opts.epoch)!;
      const src = sourceOf(opts);
      if ("url" in src) {
        const all = await fetchJson<{ records: unknown[] }>(
          src.url,
          `/v1/credits/epochs/${epoch}?node=${encodeURIComponent(opts.node)}`,
        );
        const r = checkRecord(all.records[0]);
        const text = canonicalJson(r) + "\n";
        if (opts.out === "-") process.stdout.write(text);
        else fs.writeFileSync(opts.out, text);
        return;
      }
      const { store, from, close } = openAllocations(src.data);
      if (from !== undefined) note(`node-layout data dir: reading the allocations stored by ${from}`);
      try {
        const found = store.epoch(epoch).filter((r) => r.node === opts.node);
        if (found.length !== 1) {
          throw new UsageError(
            `no allocation of node "${opts.node}" in epoch ${epoch} (see amp credits show)`,
          );
        }
        const text = canonicalJson(found[0]!.record) + "\n";
        if (opts.out === "-") process.stdout.write(text);
        else fs.writeFileSync(opts.out, text);
      } finally {
        close();
      }
    });
}

/** Largest allocation record file `amp receipt verify` reads (bytes). */
export const MAX_RECORD_FILE_BYTES = 1024 * 1024;

/**
 * An allocation record file: at most {@link MAX_RECORD_FILE_BYTES}, strict UTF-8, I-JSON (a
 * duplicate field, a lone surrogate, an inexact number is refused, never normalised); messages
 * start with the file name and name the line, column and field.
 */
export function readRecordFile(file: string): unknown {
  const size = fs.statSync(file).size;
  if (size > MAX_RECORD_FILE_BYTES) {
    throw new AllocationRecordError(
      "file",
      `${file} is ${size} bytes, more than the ${MAX_RECORD_FILE_BYTES} allowed`,
    );
  }
  const text = decodeUtf8Strict(fs.readFileSync(file), { source: file });
  return parseIJson(text, { source: file });
}

export function addReceiptCommand(program: Command): void {
  program
    .command("receipt")
    .description("credit receipts on-chain")
    .command("verify")
    .argument("<record>", "allocation record written by `amp credits record`")
    .description("verify an allocation record against its on-chain receipt and the node's hash chain")
    .requiredOption("--rpc <url>", "JSON-RPC endpoint")
    .option("--trust <file>", "trust policy (amp-trust/v1) pinning chainId and the receipts contract")
    .option("--receipts <address>", "pinned ProofCreditReceipts address")
    .option("--depth <n>", "walk at most N previous receipts (default: back to the first)")
    .option("--json", "print the verified facts as JSON")
    .addHelpText(
      "after",
      `
Exit 0 valid, 1 invalid (the changed field is named), 2 usage, 3 chain unreachable.

Examples:
  $ amp credits record --data ./amp-data --epoch 493827 --node ssid-eu-1 --out r.json
  $ amp receipt verify r.json --rpc http://127.0.0.1:8545 --receipts 0x5FbD…`,
    )
    .action(
      async (
        file: string,
        opts: { rpc: string; trust?: string; receipts?: string; depth?: string; json?: boolean },
      ) => {
        const pin = pinnedReceipts(opts);
        let depth: number | undefined;
        if (opts.depth !== undefined) {
          depth = Number(opts.depth);
          if (!Number.isSafeInteger(depth) || depth < 0)
            throw new UsageError(`--depth must be an integer ≥ 0, got "${opts.depth}"`);
        }
        let raw: unknown;
        try {
          raw = readRecordFile(file);
          checkRecord(raw); // a malformed record is INVALID before the chain is asked
        } catch (cause) {
          if (cause instanceof IJsonError || cause instanceof AllocationRecordError) {
            // Field first, as for every other INVALID line of this command.
            const what =
              cause instanceof AllocationRecordError
                ? cause.field
                : `${file}: not ${/malformed JSON/.test(cause.shortMessage) ? "JSON" : "I-JSON"}`;
            console.log(`INVALID ${what}: ${cause.shortMessage}`);
            process.exitCode = 1;
            return;
          }
          throw new CannotCheckError(`cannot read ${file}`, { cause });
        }
        const conn = await connectRpc(opts.rpc);
        try {
          if (pin.chainId !== undefined && pin.chainId !== conn.chainId) {
            throw new CannotCheckError(
              `the RPC serves chain ${conn.chainId}, the trust policy pins ${pin.chainId}`,
            );
          }
          const code = await conn.provider.getCode(pin.address);
          if (code === "0x")
            throw new CannotCheckError(`no contract at the pinned receipts address ${pin.address}`);
          const v = await verifyReceipt(
            raw,
            new ReceiptsReader(pin.address, conn.provider),
            depth === undefined ? {} : { depth },
          );
          if (opts.json) {
            console.log(JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? x.toString() : x), 2));
          } else {
            console.log(
              `VALID allocation ${v.allocationHash} of ${v.origin}/${v.node}, epoch ${v.epoch}, block ${v.blockNumber}, ` +
                `tx ${short(v.txHash)}; chain of ${v.chain.length} receipt(s)${v.reachedFirst ? " back to the first" : ""}`,
            );
          }
        } catch (err) {
          if (err instanceof ReceiptInvalidError) {
            console.log(`INVALID ${err.shortMessage}`);
            process.exitCode = 1;
            return;
          }
          throw err;
        } finally {
          conn.close();
        }
      },
    );
}
