/**
 * The credits part of a node (`NodeExtension`, src/node/service.ts): the allocator (./node-allocator.ts)
 * runs after ticks in the background (one step at a time, never holding up a round), and the node's
 * HTTP API serves the ledger, log sizes, allocation records and rankings (docs/http.md).
 */
import { AnchorReader } from "../chain/round-records";
import type { FastifyInstance, FastifyReply } from "fastify";
import { sendError } from "../node/http";
import { GlobalProofAnchor__factory } from "../../typechain-types";
import type { NodeExtension, NodeExtensionContext } from "../node/service";
import type { CreditConfig } from "../manifest";
import { canonicalJson } from "../merkle";
import { PeerClient } from "../transport/client";
import { AmpError, InvalidInputError, oneLine } from "../util/errors";
import { createLogger } from "../util/log";
import { EthersReceiptsClient } from "./chain";
import type { DriftFindingsProvider } from "./measure";
import { NodeAllocator, ownLedger, type AllocatorStep } from "./node-allocator";
import { rankNodes } from "./rank";
import { creditParamsFrom } from "./score";
import { archiveStorageBytes } from "./sources";
import { AllocationStore, type StoredAllocation } from "./store";
import { parseRotationRequest, registryOf, signRotation, RotationRefusedError } from "./rotation";
import { Rotator, type RotationOutcome } from "./rotator";
import { parseJson } from "../transport/wire";
import type { ValidatorRegistry } from "../../typechain-types";

export interface CreditsExtensionOptions {
  /** The manifest's credit section (coefficients, max_score, epoch_seconds). */
  readonly credit: CreditConfig;
  /** Overrides credit.epoch_seconds (`amp node --epoch-seconds N`). */
  readonly epochSeconds?: number | undefined;
  /** Takeover delay per roster position after an epoch closes (default 5000 ms). */
  readonly takeoverMs?: number | undefined;
  readonly drift?: DriftFindingsProvider | undefined;
  /** Called after every step that did something (tests, metrics). */
  readonly onStep?: (s: AllocatorStep) => void;
  /** Overrides credit.adaptive_weights: apply adaptive weights on-chain (./rotation.ts). */
  readonly adaptiveWeights?: boolean | undefined;
  /** Per-epoch change cap of adaptive weights, basis points (default DEFAULT_MAX_CHANGE_BP). */
  readonly maxChangeBp?: bigint | undefined;
  /** Called after every rotation attempt that settled a federation (tests, metrics). */
  readonly onRotation?: (o: RotationOutcome) => void;
}

const big = (_k: string, x: unknown): unknown => (typeof x === "bigint" ? x.toString() : x);

function json(reply: FastifyReply, o: unknown): FastifyReply {
  return reply.type("application/json").send(JSON.stringify(o, big));
}

function parseUint(v: unknown, field: string): bigint {
  if (typeof v !== "string" || !/^(0|[1-9][0-9]{0,18})$/.test(v)) {
    throw new InvalidInputError(`${field} must be a non-negative integer, got ${JSON.stringify(v)}`, {
      meta: { field },
    });
  }
  return BigInt(v);
}

function optText(v: unknown, field: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw new InvalidInputError(`${field} must be given once`, { meta: { field } });
  return v;
}

export function rankingOf(rows: readonly StoredAllocation[], node?: string) {
  return rankNodes(rows.map((r) => r.record)).filter((n) => node === undefined || n.node === node);
}

export class CreditsExtension implements NodeExtension {
  readonly name = "credits";
  readonly epochSeconds: number;
  private allocator: NodeAllocator | undefined;
  private rotator: Rotator | undefined;
  private registry: ValidatorRegistry | undefined;
  readonly adaptive: boolean;
  private store: AllocationStore | undefined;
  private running: Promise<void> | undefined;
  private lastRun = 0;
  private closed = false;
  private readonly log = createLogger("credits");

  constructor(private readonly opts: CreditsExtensionOptions) {
    this.epochSeconds = opts.epochSeconds ?? opts.credit.epoch_seconds;
    if (!Number.isSafeInteger(this.epochSeconds) || this.epochSeconds < 1) {
      throw new InvalidInputError(`epoch seconds must be a positive integer, got ${this.epochSeconds}`);
    }
    creditParamsFrom(opts.credit); // refuse a bad credit section at start, not at the first epoch
    this.adaptive = opts.adaptiveWeights ?? opts.credit.adaptive_weights;
  }

  /** The allocator, once started (tests read its refused votes). */
  get nodeAllocator(): NodeAllocator | undefined {
    return this.allocator;
  }

  private storeOf(ctx: NodeExtensionContext): AllocationStore {
    this.store ??= new AllocationStore(ctx.node.archive);
    return this.store;
  }

  async start(ctx: NodeExtensionContext): Promise<void> {
    const signer = await ctx.conn.signer();
    const receipts = new EthersReceiptsClient(
      ctx.record.contracts.proofCreditReceipts,
      ctx.conn.provider,
      signer,
      ctx.record.deployBlock,
    );
    const node = ctx.node;
    const anchor = new AnchorReader(
      GlobalProofAnchor__factory.connect(ctx.record.contracts.globalProofAnchor, ctx.conn.provider),
      ctx.record.deployBlock,
    );
    const times = new Map<bigint, number>();
    const roundTimeMs = async (round: bigint): Promise<number | undefined> => {
      const known = times.get(round);
      if (known !== undefined) return known;
      const { blockNumber: block, timestamp } = await anchor.anchorOf(round);
      if (block === 0n) return undefined;
      times.set(round, Number(timestamp) * 1000);
      return Number(timestamp) * 1000;
    };
    this.allocator = new NodeAllocator({
      nodeId: node.id,
      roster: node.cfg.roster,
      dataDir: ctx.dataDir,
      store: this.storeOf(ctx),
      receipts,
      chain: node.cfg.chain,
      domain: node.cfg.domain,
      roundTimeMs,
      chainNowMs: async () => {
        const b = await ctx.conn.provider.getBlock("latest");
        return (b?.timestamp ?? 0) * 1000;
      },
      client: new PeerClient({ timeoutMs: 5000 }),
      params: creditParamsFrom(this.opts.credit),
      epochSeconds: this.epochSeconds,
      ownStorage: (size) =>
        node.archiveLog.size >= size ? archiveStorageBytes(node.archive, node.name, size) : undefined,
      ...(this.opts.takeoverMs !== undefined ? { takeoverMs: this.opts.takeoverMs } : {}),
      drift: this.opts.drift,
      logger: this.log.child({ node: node.id }),
    });
    this.registry = registryOf(ctx.record.contracts.validatorRegistry, ctx.conn.provider);
    if (this.adaptive) {
      this.rotator = new Rotator({
        nodeId: node.id,
        roster: node.cfg.roster,
        store: this.storeOf(ctx),
        registry: this.registry,
        wallet: node.cfg.keys.wallet,
        signer: () => ctx.conn.signer(),
        provider: ctx.conn.provider,
        client: new PeerClient({ timeoutMs: 10_000 }),
        ...(this.opts.maxChangeBp !== undefined ? { maxChangeBp: this.opts.maxChangeBp } : {}),
        logger: this.log.child({ node: node.id }),
      });
    }
  }

  /** Adaptive weights: the allocator of the latest stored epoch rotates each federation once. */
  private async rotate(): Promise<void> {
    const last = this.store?.lastEpoch();
    if (!this.rotator || !this.allocator || last === undefined) return;
    if (this.allocator.allocatorOf(last) !== this.allocator.nodeId) return;
    for (const o of await this.rotator.rotateAfter(last)) this.opts.onRotation?.(o);
  }

  /** Steps (adopt or allocate) until nothing is left, in the background, at most one run at a time. */
  onTick(): void {
    const interval = Math.min(Math.max((this.epochSeconds * 1000) / 8, 250), 5000);
    if (this.running || this.closed || !this.allocator || Date.now() - this.lastRun < interval) return;
    this.lastRun = Date.now();
    const allocator = this.allocator;
    this.running = (async () => {
      for (let i = 0; i < 100 && !this.closed; i++) {
        const s = await allocator.step();
        if (s.kind === "idle") break;
        this.opts.onStep?.(s);
      }
      if (!this.closed) await this.rotate();
    })()
      .catch((e: unknown) => this.log.warn("credit allocation failed; retried later", { error: oneLine(e) }))
      .finally(() => (this.running = undefined));
  }

  routes(app: FastifyInstance, ctx: NodeExtensionContext): void {
    const store = () => this.storeOf(ctx);
    const guard =
      (h: (q: Record<string, unknown>, p: Record<string, unknown>, reply: FastifyReply) => unknown) =>
      async (req: { query: unknown; params: unknown }, reply: FastifyReply) => {
        try {
          return await h(
            (req.query ?? {}) as Record<string, unknown>,
            (req.params ?? {}) as Record<string, unknown>,
            reply,
          );
        } catch (e) {
          return sendError(reply, e);
        }
      };
    // The rounds this node coordinated (signed votes) and their evidence, up to to_ms (exclusive).
    app.get(
      "/v1/credits/ledger",
      guard((q, _p, reply) => {
        const to = q.to_ms === undefined ? undefined : Number(parseUint(q.to_ms, "to_ms"));
        return json(reply, ownLedger(ctx.dataDir, to));
      }),
    );
    app.get(
      "/v1/credits/storage",
      guard((q, _p, reply) => {
        const size = parseUint(q.size, "size");
        const node = ctx.node;
        if (node.archiveLog.size < size) {
          throw new AmpError(`${node.name}'s archive here holds ${node.archiveLog.size} < ${size} entries`, {
            kind: "not-found",
          });
        }
        const bytes = archiveStorageBytes(node.archive, node.name, size);
        return json(reply, { origin: node.origin, size: size.toString(), bytes: bytes.toString() });
      }),
    );
    app.get(
      "/v1/credits/epochs",
      guard((_q, _p, reply) => {
        const rows = store().all();
        const epochs = [...new Set(rows.map((r) => r.epoch))].map((e) => {
          const rc = store().receipt(e);
          return {
            epoch: e.toString(),
            nodes: rows.filter((r) => r.epoch === e).length,
            txHash: rc?.txHash ?? null,
            blockNumber: rc?.blockNumber ?? null,
          };
        });
        return json(reply, { epochSeconds: this.epochSeconds, epochs });
      }),
    );
    app.get(
      "/v1/credits/epochs/:epoch",
      guard((q, p, reply) => {
        const epoch = parseUint(p.epoch, "epoch");
        const node = optText(q.node, "node");
        const rows = store().epoch(epoch);
        if (rows.length === 0)
          throw new AmpError(`no allocation of epoch ${epoch} here`, { kind: "not-found" });
        const rc = store().receipt(epoch);
        // Records without a receipt row (a crash of an older version between the two writes): the
        // allocator restores the receipt from the chain at its next step.
        if (!rc)
          throw new AmpError(`epoch ${epoch}'s receipt is not restored here yet`, { kind: "retry-later" });
        const records = rows.filter((r) => node === undefined || r.node === node);
        if (records.length === 0) {
          throw new AmpError(`no allocation of node "${node}" in epoch ${epoch}`, { kind: "not-found" });
        }
        return json(reply, {
          epoch: epoch.toString(),
          txHash: rc.txHash,
          blockNumber: rc.blockNumber,
          allocationHashes: Object.fromEntries(records.map((r) => [r.node, r.allocationHash])),
          ranking: rankingOf(rows, node),
          records: records.map((r) => r.record),
        });
      }),
    );
    // One record as RFC 8785 bytes (what `amp credits record --url` writes and `amp receipt verify` reads).
    app.get(
      "/v1/credits/epochs/:epoch/records/:node",
      guard((_q, p, reply) => {
        const epoch = parseUint(p.epoch, "epoch");
        const found = store()
          .epoch(epoch)
          .find((r) => r.node === p.node);
        if (!found) {
          throw new AmpError(`no allocation of node "${String(p.node)}" in epoch ${epoch}`, {
            kind: "not-found",
          });
        }
        return reply.type("application/json").send(canonicalJson(found.record));
      }),
    );
    app.get(
      "/v1/credits/ranking",
      guard((q, _p, reply) => {
        const node = optText(q.node, "node");
        const rows = store().all();
        const ranking = rankingOf(rows, node);
        if (node !== undefined && ranking.length === 0) {
          throw new AmpError(`no allocation of node "${node}" here`, { kind: "not-found" });
        }
        return json(reply, { epochs: new Set(rows.map((r) => r.epoch)).size, ranking });
      }),
    );
    // Adaptive weights: sign a rotation this node recomputes itself (./rotation.ts), with its own key.
    app.post("/v1/credits/rotation", async (req, reply) => {
      try {
        if (!this.adaptive) throw new RotationRefusedError("adaptive weights are off on this node");
        const request = parseRotationRequest(
          parseJson(req.body as Buffer, "rotation request"),
          ctx.node.cfg.roster,
        );
        if (!this.registry) throw new AmpError("the node is starting", { kind: "retry-later" });
        const signed = await signRotation({
          registry: this.registry,
          roster: ctx.node.cfg.roster,
          store: store(),
          wallet: ctx.node.cfg.keys.wallet,
          nodeId: ctx.node.id,
          request,
          ...(this.opts.maxChangeBp !== undefined ? { maxChangeBp: this.opts.maxChangeBp } : {}),
        });
        return json(reply, signed);
      } catch (e) {
        if (e instanceof RotationRefusedError)
          this.log.warn("rotation not signed", { reason: e.shortMessage });
        return sendError(reply, e);
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.running;
  }
}
