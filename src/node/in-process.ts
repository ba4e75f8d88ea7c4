/**
 * In-process mode: every node of a local federation as a NodeService in THIS process, for tests
 * and the in-process benchmark. It is the same node code as `amp node` (FederationNode,
 * Coordinator, RoundDriver, Fastify service); each service loads only its own key files, listens
 * on its manifest URL and talks to the others over loopback HTTP. Only the process boundary is
 * gone: the chain still runs as its own `hardhat node` (startLocalFederation with
 * `startNodes: false`).
 */
import path from "node:path";
import { connectRpc, type ChainConnection } from "../chain/connect";
import { readDeployment } from "../chain/deployment";
import { loadNodeKeys, publicIdentity } from "../crypto/keys";
import { loadManifest } from "../manifest";
import { InvalidInputError } from "../util/errors";
import type { LocalFederation } from "./local";
import { Roster, readPublicIdentity } from "./roster";
import { NodeService, type NodeServiceConfig } from "./service";
import { THROWAWAY_PASSWORD } from "./throwaway-keys";

export interface InProcessNodes {
  readonly services: readonly NodeService[];
  /** Close every service (round loops, HTTP, stores) and the chain connections. */
  stop(): Promise<void>;
}

export interface InProcessOptions {
  /** Keystore password (default: the THROWAWAY one for generated keys, else AMP_KEYSTORE_PASSWORD). */
  readonly password?: string;
  /** Extra service settings per node (extensions, tick interval, ...). */
  readonly configure?: (nodeId: string) => Partial<NodeServiceConfig>;
}

/** Start every node of `local` (started with `startNodes: false`) as a NodeService in this process. */
export async function startInProcessNodes(
  local: LocalFederation,
  opts: InProcessOptions = {},
): Promise<InProcessNodes> {
  const password =
    opts.password ??
    (local.keysDir === path.join(local.data, "keys")
      ? THROWAWAY_PASSWORD
      : process.env.AMP_KEYSTORE_PASSWORD);
  if (!password) throw new InvalidInputError("set AMP_KEYSTORE_PASSWORD to read the keystores");
  const manifest = loadManifest(local.state.manifest);
  const record = readDeployment(path.dirname(local.state.deployment));
  const services: NodeService[] = [];
  const conns: ChainConnection[] = [];
  const stop = async () => {
    for (const s of services.splice(0)) await s.close().catch(() => undefined);
    for (const c of conns.splice(0)) c.close();
  };
  try {
    for (const n of local.state.nodes) {
      // Only this node's secret keys; the peers' public identities from the key dir.
      const keys = await loadNodeKeys(local.keysDir, n.id, password);
      const roster = new Roster(
        manifest,
        (id) => (id === n.id ? publicIdentity(keys) : readPublicIdentity(local.keysDir, id)),
        (origin) => BigInt(record.federations.find((f) => f.origin === origin)?.epoch ?? 1),
      );
      const conn = await connectRpc(local.rpc);
      conns.push(conn);
      const service = await NodeService.create({
        roster,
        keys,
        dataDir: n.dataDir,
        conn,
        record,
        maxBatch: manifest.batch.maxSize,
        tickMs: manifest.batch.maxAgeMs,
        ...opts.configure?.(n.id),
      });
      services.push(service);
      const url = new URL(n.url);
      await service.listen(url.hostname, Number(url.port));
    }
    for (const s of services) await s.start();
    return { services, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
