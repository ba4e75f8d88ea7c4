/** Shared setup for node tests: a roster of throwaway identities with free loopback URLs. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { deployContracts, registerFederations } from "../../src/chain/deploy";
import { connectEmbedded, type ChainConnection } from "../../src/chain/connect";
import type { DeploymentRecord } from "../../src/chain/deployment";
import { DEMO_KEY_LABEL } from "../../src/cli/context";
import { generateEvents } from "../../src/cli/generate";
import {
  deriveThrowawayKeys,
  mlDsaKeyCommitment,
  publicIdentity,
  type NodeKeys,
} from "../../src/crypto/keys";
import { loadManifest, type Manifest } from "../../src/manifest";
import { Roster } from "../../src/node/roster";
import { freePort } from "../../src/node/local";
import { NodeService, type NodeServiceConfig } from "../../src/node/service";
import type { VoteResponse } from "../../src/consensus/types";
import { FederationLog } from "../../src/log";
import { leafHash, rootHash } from "../../src/merkle";

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A free loopback port outside the ephemeral range (see src/node/local.ts). */
export { freePort };

/** The shipped manifest with every node on a free loopback port. */
export async function loopbackManifest(): Promise<Manifest> {
  const m = loadManifest();
  for (const f of m.federations) for (const n of f.nodes) n.url = `http://127.0.0.1:${await freePort()}`;
  return m;
}

/** THROWAWAY keys of one node (each test node gets only its own). */
export function keysOf(nodeId: string): NodeKeys {
  return deriveThrowawayKeys(DEMO_KEY_LABEL, nodeId);
}

export function rosterOf(manifest: Manifest): Roster {
  return new Roster(manifest, (id) => publicIdentity(keysOf(id)));
}

export async function deployForRoster(conn: ChainConnection, roster: Roster): Promise<DeploymentRecord> {
  const record = await deployContracts(conn, {});
  record.federations = await registerFederations(
    conn,
    record,
    roster.federations.map((f) => ({
      origin: f.config.origin,
      validators: f.nodes.map((n) => n.member.address),
      weights: f.nodes.map((n) => n.member.weight),
      keyCommitments: f.nodes.map((n) => mlDsaKeyCommitment(n.member.mldsaPublicKey)),
    })),
  );
  return record;
}

/** `n` generated events of federation `name` as NDJSON. */
export function ndjson(
  manifest: Manifest,
  name: string,
  from: number,
  n: number,
  label = "node-test",
): string {
  const f = manifest.federations.find((x) => x.id === name)!;
  const fed = {
    name: f.id,
    origin: f.origin,
    nodes: f.nodes.map((x) => ({ id: x.id, region: x.region, weight: BigInt(x.weight) })),
  };
  return generateEvents(fed, BigInt(from), n, label)
    .map((e) => JSON.stringify(e))
    .join("\n");
}

export async function until<T>(
  what: string,
  f: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every node of a federation as a NodeService in this process (see listenNodes). */
export interface InProcessNodes {
  readonly conn: ChainConnection;
  readonly manifest: Manifest;
  readonly roster: Roster;
  readonly record: DeploymentRecord;
  readonly dir: string;
  readonly services: NodeService[];
  /**
   * Close node `nodeId`'s service and open it again on its data dir and port, as after a kill and
   * restart of its process (nothing kept in memory survives); not started. Returns the new service.
   */
  restart(nodeId: string): Promise<NodeService>;
  /** Close node `nodeId`'s service (its port stops answering), as a kill; `restart` opens it again. */
  stop(nodeId: string): Promise<void>;
  /** Close every service (a failure to close is ignored) and remove the data dir. */
  close(): Promise<void>;
}

/**
 * Every node of the shipped manifest as a NodeService in this process, on the embedded Hardhat
 * chain, each with only its own keys and its own data dir under a fresh temp dir, listening on its
 * loopback URL — NOT started (tests start them when they need to). `configure` adds or overrides
 * per-node options (defaults: tickMs 100, takeoverMs 1500).
 */
export async function listenNodes(
  prefix: string,
  configure: (nodeId: string, index: number) => Partial<NodeServiceConfig> = () => ({}),
): Promise<InProcessNodes> {
  const conn = await connectEmbedded();
  const manifest = await loopbackManifest();
  const roster = rosterOf(manifest);
  const record = await deployForRoster(conn, roster);
  const dir = tmpDir(prefix);
  const services: NodeService[] = [];
  const open = async (i: number): Promise<NodeService> => {
    const n = roster.nodes[i]!;
    const s = await NodeService.create({
      // Each node its own roster, as in separate processes: it follows validator-set rotations itself.
      roster: rosterOf(manifest),
      keys: keysOf(n.id),
      dataDir: path.join(dir, n.id),
      conn,
      record,
      tickMs: 100,
      takeoverMs: 1500,
      ...configure(n.id, i),
    });
    await s.listen("127.0.0.1", Number(new URL(n.url).port));
    return s;
  };
  for (let i = 0; i < roster.nodes.length; i++) services.push(await open(i));
  const stopped = new Set<number>();
  const indexOf = (nodeId: string): number => {
    const i = roster.nodes.findIndex((n) => n.id === nodeId);
    if (i < 0) throw new Error(`no node ${nodeId}`);
    return i;
  };
  const stop = async (nodeId: string): Promise<void> => {
    const i = indexOf(nodeId);
    if (!stopped.has(i)) await services[i]!.close();
    stopped.add(i);
  };
  const restart = async (nodeId: string): Promise<NodeService> => {
    await stop(nodeId);
    const i = indexOf(nodeId);
    services[i] = await open(i);
    stopped.delete(i);
    return services[i];
  };
  const close = async () => {
    for (const [i, s] of services.entries()) if (!stopped.has(i)) await s.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { conn, manifest, roster, record, dir, services, restart, stop, close };
}

/**
 * Node `s`'s validator is handed `entries` as round 1's batch on the empty log and asked for its
 * vote, as a coordinator's batch and vote request would (no ballot): sets up a signed state.
 */
export async function signRound1(s: NodeService, entries: Uint8Array[]): Promise<VoteResponse> {
  const origin = s.node.origin;
  s.node.validator.receiveBatch({ origin, round: 1n, entries });
  return s.node.validator.handleVoteRequest({
    origin,
    epoch: s.node.federation.config.epoch,
    round: 1n,
    baseSize: 0n,
    baseRoot: new FederationLog(origin).root(),
    batchSize: entries.length,
    batchRoot: rootHash(entries.map((e) => leafHash(e))),
    attempt: 1,
    peers: [],
  });
}
