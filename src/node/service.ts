/**
 * A running node: FederationNode + Coordinator + RoundDriver + HTTP service, ticking every
 * `tickMs` (the manifest's batch.maxAgeMs). Used by `amp node` (one per process) and by tests that
 * run several nodes in one process (each with only its own keys: the same code).
 */
import type { FastifyInstance } from "fastify";
import { AnchorSubmitter } from "../chain/anchor";
import type { ChainConnection } from "../chain/connect";
import type { DeploymentRecord } from "../chain/deployment";
import { federationIdOf } from "../chain/ids";
import type { NodeKeys } from "../crypto/keys";
import type { MlDsaBackend } from "../crypto/mldsa";
import { GlobalProofAnchor__factory } from "../../typechain-types";
import { InvalidInputError } from "../util/errors";
import { Coordinator } from "./coordinator";
import { RoundDriver, type TickResult } from "./driver";
import { buildNodeServer } from "./http";
import { FederationNode, type AnchorView } from "./node";
import type { Roster } from "./roster";

export interface NodeServiceConfig {
  readonly roster: Roster;
  readonly keys: NodeKeys;
  readonly dataDir: string;
  readonly conn: ChainConnection;
  readonly record: DeploymentRecord;
  readonly maxBatch?: number;
  readonly tickMs?: number;
  readonly takeoverMs?: number;
  readonly mldsa?: MlDsaBackend;
  readonly onTick?: (r: TickResult) => void;
}

const ZERO = "0x" + "00".repeat(32);

export function anchorView(conn: ChainConnection, record: DeploymentRecord): AnchorView {
  const anchor = GlobalProofAnchor__factory.connect(record.contracts.globalProofAnchor, conn.provider);
  return {
    nextRound: () => anchor.nextRound(),
    globalRootOf: async (round) => {
      const [root, block] = await anchor.anchorOf(round);
      return block === 0n ? undefined : root;
    },
    checkpointOf: async (round, origin) => {
      const [, treeSize, rootHash] = await anchor.checkpointOf(round, federationIdOf(origin));
      if (treeSize === 0n && rootHash === ZERO) return undefined;
      return { treeSize, rootHash: new Uint8Array(Buffer.from(rootHash.slice(2), "hex")) };
    },
  };
}

export class NodeService {
  readonly node: FederationNode;
  readonly coordinator: Coordinator;
  readonly driver: RoundDriver;
  readonly app: FastifyInstance;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;

  private constructor(
    private readonly cfg: NodeServiceConfig,
    submitter: AnchorSubmitter,
  ) {
    const registered = cfg.record.federations.flatMap((f) => f.validators.map((v) => v.toLowerCase()));
    if (!registered.includes(cfg.keys.wallet.address.toLowerCase())) {
      throw new InvalidInputError(
        `${cfg.keys.nodeId}'s address ${cfg.keys.wallet.address} is not a registered validator`,
      );
    }
    this.node = new FederationNode({
      roster: cfg.roster,
      keys: cfg.keys,
      dataDir: cfg.dataDir,
      domain: { chainId: cfg.conn.chainId, anchor: cfg.record.contracts.globalProofAnchor },
      chain: anchorView(cfg.conn, cfg.record),
      ...(cfg.mldsa ? { mldsa: cfg.mldsa } : {}),
    });
    this.coordinator = new Coordinator(this.node, cfg.maxBatch);
    this.driver = new RoundDriver({
      node: this.node,
      coordinator: this.coordinator,
      submitter,
      ...(cfg.takeoverMs !== undefined ? { takeoverMs: cfg.takeoverMs } : {}),
    });
    this.app = buildNodeServer(this.node, this.coordinator, { onAnchored: () => this.kick() });
  }

  static async create(cfg: NodeServiceConfig): Promise<NodeService> {
    const submitter = await AnchorSubmitter.create(cfg.conn, cfg.record.contracts.globalProofAnchor);
    return new NodeService(cfg, submitter);
  }

  /** Listen on `host:port` (port 0: any free port); returns the bound URL. */
  async listen(host: string, port: number): Promise<string> {
    if (host !== "127.0.0.1" && host !== "localhost" && process.env.AMP_ALLOW_PUBLIC_LISTEN !== "1") {
      throw new InvalidInputError(`--listen ${host}: only loopback unless AMP_ALLOW_PUBLIC_LISTEN=1`);
    }
    return this.app.listen({ host, port });
  }

  /** Start the round loop. */
  start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.kick();
      this.timer = setTimeout(loop, this.cfg.tickMs ?? 250);
    };
    loop();
  }

  /** Run one tick now unless one is running. */
  kick(): void {
    if (this.ticking || this.stopped) return;
    this.ticking = this.driver
      .tick()
      .then((r) => this.cfg.onTick?.(r))
      .catch((e: Error) => this.node.logger.warn("tick failed", { error: e.message }))
      .finally(() => (this.ticking = undefined));
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking;
    await this.app.close();
    this.node.close();
  }
}
