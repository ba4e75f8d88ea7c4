/**
 * A running node: FederationNode + Coordinator + RoundDriver + HTTP service, ticking every
 * `tickMs` (the manifest's batch.maxAgeMs). Used by `amp node` (one per process) and by tests that
 * run several nodes in one process (each with only its own keys: the same code).
 */
import type { FastifyInstance } from "fastify";
import { AnchorSubmitter } from "../chain/anchor";
import { AnchorReader } from "../chain/round-records";
import type { ChainConnection } from "../chain/connect";
import type { DeploymentRecord } from "../chain/deployment";
import { federationIdOf } from "../chain/ids";
import type { FaultInjector } from "../consensus/fault-injector";
import type { DriftHook } from "../consensus/types";
import type { NodeKeys } from "../crypto/keys";
import type { MlDsaBackend } from "../crypto/mldsa";
import { GlobalProofAnchor__factory, ValidatorRegistry__factory } from "../../typechain-types";
import { publicClientFor } from "../proof/verify";
import { InvalidInputError } from "../util/errors";
import { Coordinator } from "./coordinator";
import { RoundDriver, type TickResult } from "./driver";
import { ensureAdminToken } from "./admin";
import { buildNodeServer } from "./http";
import { FederationNode, type AnchorView, type ValidatorSet } from "./node";
import { checkRecord } from "./record-check";
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
  /** Optional parts (drift monitor, credits, metrics, erasure, ...) plugged into this node. */
  readonly extensions?: readonly NodeExtension[];
  /** TEST/DEMO ONLY (`amp node --fault`, src/node/faults.ts): Byzantine votes in chosen rounds. */
  readonly faults?: FaultInjector;
  /** Makes this node's votes drift (`amp node --drift`, tests only; src/drift). */
  readonly drift?: DriftHook;
  /** TEST ONLY (RoundDriverConfig.afterAnchorTx): runs after this node's anchor tx is mined. */
  readonly afterAnchorTx?: (round: bigint) => void | Promise<void>;
}

/** What an extension gets: the running node's parts and its operator token. */
export interface NodeExtensionContext {
  readonly node: FederationNode;
  readonly coordinator: Coordinator;
  readonly driver: RoundDriver;
  readonly dataDir: string;
  readonly conn: ChainConnection;
  readonly record: DeploymentRecord;
  /** Operator token (src/node/admin.ts): guard mutating routes with `requireAdmin(adminToken)`. */
  readonly adminToken: string;
}

/**
 * An optional part of a node, kept in its own folder (src/drift, src/credits, src/telemetry, ...)
 * instead of edits to the node's core: it may add HTTP routes, watch every tick, and start and stop
 * with the node. Extensions MUST NOT block a round: `onTick` runs after the tick, and errors it
 * throws are logged, never propagated.
 */
export interface NodeExtension {
  readonly name: string;
  routes?(app: FastifyInstance, ctx: NodeExtensionContext): void;
  onTick?(r: TickResult, ctx: NodeExtensionContext): void | Promise<void>;
  start?(ctx: NodeExtensionContext): void | Promise<void>;
  close?(): void | Promise<void>;
}

const ZERO = "0x" + "00".repeat(32);

/** The node's reads of the anchor: records from the `GlobalRootAnchored` logs, checked on-chain. */
export function anchorView(
  conn: ChainConnection,
  record: DeploymentRecord,
  reader = new AnchorReader(
    GlobalProofAnchor__factory.connect(record.contracts.globalProofAnchor, conn.provider),
    record.deployBlock,
  ),
): AnchorView {
  // Built once: a Contract parses its ABI when built (every node read the sets once a second).
  const registry = ValidatorRegistry__factory.connect(record.contracts.validatorRegistry, conn.provider);
  // Records are checked as `amp verify` checks a proof, against this node's own pins.
  const client = publicClientFor(conn.eip1193);
  const pins = {
    chainId: conn.chainId,
    anchor: record.contracts.globalProofAnchor,
    registry: record.contracts.validatorRegistry,
  };
  return {
    nextRound: () => reader.nextRound(),
    globalRootOf: async (round) => {
      const a = await reader.anchorOf(round);
      return a.blockNumber === 0n ? undefined : a.globalRoot;
    },
    checkpointOf: async (round, origin) => {
      const { treeSize, rootHash } = await reader.checkpointOf(round, federationIdOf(origin));
      if (treeSize === 0n && rootHash === ZERO) return undefined;
      return { treeSize, rootHash: new Uint8Array(Buffer.from(rootHash.slice(2), "hex")) };
    },
    currentSets: () => currentSets(conn, record, registry),
    checkRecord: (r) => checkRecord(client, pins, r),
  };
}

/**
 * Every registered federation's current set, one `currentSetOf` call each (packed: word 0 =
 * count << 128 | total; then count words address << 96 | weight).
 */
export async function currentSets(
  conn: ChainConnection,
  record: DeploymentRecord,
  registry = ValidatorRegistry__factory.connect(record.contracts.validatorRegistry, conn.provider),
): Promise<Map<string, ValidatorSet>> {
  const out = new Map<string, ValidatorSet>();
  await Promise.all(
    record.federations.map(async (f) => {
      const [epoch, , packed] = await registry.currentSetOf(f.federationId);
      const b = Buffer.from(packed.slice(2), "hex");
      const count = Number(BigInt("0x" + b.subarray(0, 32).toString("hex")) >> 128n);
      const weights = new Map<string, bigint>();
      for (let i = 0; i < count; i++) {
        const w = BigInt("0x" + b.subarray(32 + 32 * i, 64 + 32 * i).toString("hex"));
        const address = "0x" + (w >> 96n).toString(16).padStart(40, "0");
        weights.set(address, w & ((1n << 96n) - 1n));
      }
      out.set(f.origin, { epoch, weights });
    }),
  );
  return out;
}

export class NodeService {
  readonly node: FederationNode;
  readonly coordinator: Coordinator;
  readonly driver: RoundDriver;
  readonly app: FastifyInstance;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private kickAgain = false;
  private stopped = false;
  readonly ctx: NodeExtensionContext;
  private readonly pending = new Set<Promise<void>>();

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
      chain: anchorView(cfg.conn, cfg.record, submitter.reader), // shares the records it anchored
      ...(cfg.mldsa ? { mldsa: cfg.mldsa } : {}),
      ...(cfg.faults ? { faults: cfg.faults } : {}),
      ...(cfg.drift ? { drift: cfg.drift } : {}),
    });
    this.coordinator = new Coordinator(this.node, cfg.maxBatch);
    this.driver = new RoundDriver({
      node: this.node,
      coordinator: this.coordinator,
      submitter,
      ...(cfg.takeoverMs !== undefined ? { takeoverMs: cfg.takeoverMs } : {}),
      ...(cfg.afterAnchorTx ? { afterAnchorTx: cfg.afterAnchorTx } : {}),
    });
    this.app = buildNodeServer(this.node, this.coordinator, {
      onAnchored: () => this.kick(),
      // The next round's first proposer starts at once instead of at its next tick.
      onEvents: () => {
        if (this.driver.proposerOf(this.node.chainNextRound, 0) === this.node.id) this.kick();
      },
    });
    this.ctx = {
      node: this.node,
      coordinator: this.coordinator,
      driver: this.driver,
      dataDir: cfg.dataDir,
      conn: cfg.conn,
      record: cfg.record,
      adminToken: ensureAdminToken(cfg.dataDir),
    };
    for (const ext of cfg.extensions ?? []) ext.routes?.(this.app, this.ctx);
  }

  static async create(cfg: NodeServiceConfig): Promise<NodeService> {
    const submitter = await AnchorSubmitter.create(cfg.conn, cfg.record.contracts.globalProofAnchor, {
      fromBlock: cfg.record.deployBlock,
    });
    return new NodeService(cfg, submitter);
  }

  /** Listen on `host:port` (port 0: any free port); returns the bound URL. */
  async listen(host: string, port: number): Promise<string> {
    if (host !== "127.0.0.1" && host !== "localhost" && process.env.AMP_ALLOW_PUBLIC_LISTEN !== "1") {
      throw new InvalidInputError(`--listen ${host}: only loopback unless AMP_ALLOW_PUBLIC_LISTEN=1`);
    }
    return this.app.listen({ host, port });
  }

  /** Start the extensions, then the round loop. */
  async start(): Promise<void> {
    for (const ext of this.cfg.extensions ?? []) await ext.start?.(this.ctx);
    const loop = () => {
      if (this.stopped) return;
      if (!this.ticking) this.kick(); // the periodic tick is skipped, not queued, while one runs
      this.timer = setTimeout(loop, this.cfg.tickMs ?? 250);
    };
    loop();
  }

  /** Run one tick now; during a tick, one more right after it (a wake-up event is never lost). */
  kick(): void {
    if (this.stopped) return;
    if (this.ticking) {
      this.kickAgain = true;
      return;
    }
    this.kickAgain = false;
    this.ticking = this.driver
      .tick()
      .then((r) => {
        this.cfg.onTick?.(r);
        this.notifyExtensions(r);
      })
      .catch((e: Error) => this.node.logger.warn("tick failed", { error: e.message }))
      .finally(() => {
        this.ticking = undefined;
        if (this.kickAgain) this.kick();
      });
  }

  /** Extensions see every tick without holding up the next one; close() waits for them. */
  private notifyExtensions(r: TickResult): void {
    for (const ext of this.cfg.extensions ?? []) {
      if (!ext.onTick) continue;
      const p = Promise.resolve()
        .then(() => ext.onTick?.(r, this.ctx))
        .catch((e: Error) =>
          this.node.logger.warn("extension failed", { extension: ext.name, error: e.message }),
        )
        .finally(() => this.pending.delete(p));
      this.pending.add(p);
    }
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking;
    await Promise.all([...this.pending]);
    await this.app.close();
    for (const ext of this.cfg.extensions ?? []) await ext.close?.();
    this.node.close();
  }
}
