/**
 * Adaptive governance weights applied on-chain (opt-in, `credit.adaptive_weights`): after epoch
 * E's allocation is recorded, each federation's next validator epoch gets the weights
 * `proposeWeights` (./adaptive.ts) derives from E's governance weights, through
 * `ValidatorRegistry.rotateValidators`, signed by > 2/3 of the OUTGOING set's weight.
 *
 * - Deterministic proposal: base epoch b = the federation's registry epoch in force at the block
 *   that recorded E's allocation (`currentEpoch` at that block); current weights = the registry's
 *   weights of epoch b; governance weights = E's stored allocation records. Every node holding
 *   E's records computes the same proposal, byte for byte.
 * - Each node signs only with its own key, only a proposal it recomputes itself and whose guards
 *   hold (`checkGuards`), and only while the registry is still at b (a rotation for E, or any
 *   other, already happened otherwise). The signature is the EIP-712 `Rotation(federationId,
 *   b + 1, setHash)` digest as the registry computes it (`rotationDigest`), low-s.
 * - The allocator of E (node E mod N) submits after recording: its own signature plus the
 *   members' (POST /v1/credits/rotation), signers ascending, until > 2/3 of b's weight. The
 *   chain's current epoch makes it idempotent: after a restart, an epoch already past b means done.
 */
import { getAddress, type AbstractProvider, type Signer, type Wallet } from "ethers";
import { federationIdOf } from "../chain/ids";
import { waitForReceipt } from "../chain/connect";
import type { Roster } from "../node/roster";
import { ValidatorRegistry__factory, type ValidatorRegistry } from "../../typechain-types";
import { AmpError, InvalidInputError } from "../util/errors";
import { DEFAULT_MAX_CHANGE_BP, proposeWeights } from "./adaptive";
import { parseFixed } from "./score";
import type { AllocationStore } from "./store";

/** A node refuses to sign a rotation (422 over HTTP): the reason names what failed. */
export class RotationRefusedError extends AmpError {
  override name = "RotationRefusedError";
  constructor(shortMessage: string) {
    super(shortMessage, { kind: "conflict" });
  }
}

/** What the allocator asks the members to sign (the body of POST /v1/credits/rotation). */
export interface RotationRequest {
  /** Allocation epoch whose records the weights come from. */
  readonly epoch: bigint;
  readonly origin: string;
  /** The registry epoch the rotation creates (base + 1). */
  readonly validatorEpoch: bigint;
  /** Node id → proposed weight. */
  readonly weights: ReadonlyMap<string, bigint>;
}

/** The deterministic proposal for one federation after allocation epoch E. */
export interface RotationPlan {
  readonly origin: string;
  readonly federationId: string;
  /** Registry epoch in force when E was recorded. */
  readonly baseEpoch: bigint;
  readonly current: ReadonlyMap<string, bigint>;
  readonly proposed: ReadonlyMap<string, bigint>;
  readonly changed: boolean;
  readonly reason?: string;
  /** Sorted by address (the registry's order). */
  readonly validators: readonly string[];
  readonly weights: readonly bigint[];
  readonly keyCommitments: readonly string[];
}

export function registryOf(address: string, runner: Signer | ValidatorRegistry["runner"]): ValidatorRegistry {
  return ValidatorRegistry__factory.connect(address, runner);
}

/**
 * The guards of the feedback loop on a proposed set, against the base set: the same nodes,
 * integer weights ≥ 1 summing to the base total, no node at or above 1/3 of it, each move within
 * the cap (floor(T·capBp/10 000), at least 1) unless it only brings a node under 1/3, and a change.
 * Returns the first violation, or undefined.
 */
export function checkGuards(
  current: ReadonlyMap<string, bigint>,
  proposed: ReadonlyMap<string, bigint>,
  capBp: bigint = DEFAULT_MAX_CHANGE_BP,
): string | undefined {
  const total = [...current.values()].reduce((a, b) => a + b, 0n);
  if (proposed.size !== current.size || [...current.keys()].some((id) => !proposed.has(id))) {
    return `the proposal must name exactly the nodes ${[...current.keys()].join(", ")}`;
  }
  const sum = [...proposed.values()].reduce((a, b) => a + b, 0n);
  if (sum !== total) return `weights sum to ${sum}, not the federation total ${total}`;
  const cap = (total * capBp) / 10_000n > 0n ? (total * capBp) / 10_000n : 1n;
  for (const [id, w] of proposed) {
    const cur = current.get(id)!;
    if (w < 1n) return `${id}: weight ${w} is below 1`;
    if (3n * w >= total) return `${id}: weight ${w} reaches 1/3 of the total ${total}`;
    const d = w > cur ? w - cur : cur - w;
    const toUnderThird = 3n * cur >= total && w < cur;
    if (d > cap && !toUnderThird) return `${id}: moves by ${d}, more than the cap ${cap} (${capBp} bp)`;
  }
  if ([...proposed].every(([id, w]) => current.get(id) === w)) return "nothing changes";
  return undefined;
}

/**
 * E's proposal for `origin` (see file comment). `recordedAt` is the block of E's receipt
 * transaction. Throws RotationRefusedError when E's records are not stored here.
 */
export async function planRotation(o: {
  readonly registry: ValidatorRegistry;
  readonly roster: Roster;
  readonly store: AllocationStore;
  readonly epoch: bigint;
  readonly origin: string;
  readonly maxChangeBp?: bigint;
}): Promise<RotationPlan> {
  const fed = o.roster.federations.find((f) => f.config.origin === o.origin);
  if (!fed) throw new InvalidInputError(`origin ${o.origin} is not a federation of the roster`);
  const receipt = o.store.receipt(o.epoch);
  const rows = o.store.epoch(o.epoch).filter((r) => r.origin === o.origin);
  if (!receipt || rows.length === 0) {
    throw new RotationRefusedError(`allocation epoch ${o.epoch} is not recorded here (yet)`);
  }
  const federationId = federationIdOf(o.origin);
  const baseEpoch = await o.registry.currentEpoch(federationId, { blockTag: receipt.blockNumber });
  const [addrs, ws] = await o.registry.validatorsOf(federationId, baseEpoch);
  const keyCommitments = await o.registry.keyCommitmentsOf(federationId, baseEpoch);
  const byAddress = new Map(fed.nodes.map((n) => [n.member.address.toLowerCase(), n.id]));
  const idOf = (a: string): string => {
    const id = byAddress.get(a.toLowerCase());
    if (id === undefined)
      throw new RotationRefusedError(`validator ${a} of ${o.origin} is not in the roster`);
    return id;
  };
  const current = new Map(fed.nodes.map((n) => [n.id, 0n]));
  addrs.forEach((a, i) => current.set(idOf(a), ws[i]!));
  const governance = new Map(
    rows.map((r) => [r.node, parseFixed(r.record.governance_weight, 6, "governance_weight")]),
  );
  const p = proposeWeights(
    current,
    governance,
    o.maxChangeBp === undefined ? {} : { maxChangeBp: o.maxChangeBp },
  );
  return {
    origin: o.origin,
    federationId,
    baseEpoch,
    current,
    proposed: p.weights,
    changed: p.changed,
    ...(p.reason !== undefined ? { reason: p.reason } : p.changed ? {} : { reason: "nothing changes" }),
    validators: addrs.map((a) => getAddress(a)),
    weights: addrs.map((a) => p.weights.get(idOf(a))!),
    keyCommitments: [...keyCommitments],
  };
}

/**
 * A member's answer to a rotation request: recompute, check the guards and the chain, then sign
 * with `wallet` (this node's own key). Throws RotationRefusedError naming the reason otherwise.
 */
export async function signRotation(o: {
  readonly registry: ValidatorRegistry;
  readonly roster: Roster;
  readonly store: AllocationStore;
  readonly wallet: Wallet;
  readonly nodeId: string;
  readonly request: RotationRequest;
  readonly maxChangeBp?: bigint;
}): Promise<{ node: string; address: string; signature: string }> {
  const req = o.request;
  const me = o.roster.node(o.nodeId);
  if (me.origin !== req.origin) {
    throw new RotationRefusedError(`${o.nodeId} is not a validator of ${req.origin}`);
  }
  const plan = await planRotation({ ...o, epoch: req.epoch, origin: req.origin });
  const guard = checkGuards(plan.current, req.weights, o.maxChangeBp);
  if (guard !== undefined) throw new RotationRefusedError(`guard: ${guard}`);
  for (const [id, w] of plan.proposed) {
    if (req.weights.get(id) !== w) {
      throw new RotationRefusedError(
        `not the proposal recomputed from epoch ${req.epoch}'s records: ${id} gets ${w} here, not ${req.weights.get(id)}`,
      );
    }
  }
  if (req.validatorEpoch !== plan.baseEpoch + 1n) {
    throw new RotationRefusedError(
      `validatorEpoch must be ${plan.baseEpoch + 1n} (the epoch after the one in force when epoch ${req.epoch} was recorded)`,
    );
  }
  const now = await o.registry.currentEpoch(plan.federationId);
  if (now !== plan.baseEpoch) {
    throw new RotationRefusedError(`${req.origin} is already at epoch ${now}, not ${plan.baseEpoch}`);
  }
  const setHash = await o.registry.setHash([...plan.validators], [...plan.weights], [...plan.keyCommitments]);
  const digest = await o.registry.rotationDigest(plan.federationId, req.validatorEpoch, setHash);
  return {
    node: o.nodeId,
    address: o.wallet.address,
    signature: o.wallet.signingKey.sign(digest).serialized,
  };
}

/** Parse a POST /v1/credits/rotation body; errors name the field. */
export function parseRotationRequest(body: unknown, roster: Roster): RotationRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new InvalidInputError("body must be a JSON object", { meta: { field: "body" } });
  }
  const o = body as Record<string, unknown>;
  const uint = (field: string): bigint => {
    const v = o[field];
    if (typeof v !== "string" || !/^(0|[1-9][0-9]{0,18})$/.test(v)) {
      throw new InvalidInputError(
        `${field} must be a non-negative integer string, got ${JSON.stringify(v)}`,
        {
          meta: { field },
        },
      );
    }
    return BigInt(v);
  };
  const epoch = uint("epoch");
  const validatorEpoch = uint("validatorEpoch");
  const origin = o.origin;
  const fed = roster.federations.find((f) => f.config.origin === origin);
  if (typeof origin !== "string" || !fed) {
    throw new InvalidInputError(`origin ${JSON.stringify(origin)} is not a federation of the roster`, {
      meta: { field: "origin" },
    });
  }
  const w = o.weights;
  if (typeof w !== "object" || w === null || Array.isArray(w)) {
    throw new InvalidInputError("weights must be an object of node id → weight", {
      meta: { field: "weights" },
    });
  }
  const weights = new Map<string, bigint>();
  for (const [id, v] of Object.entries(w as Record<string, unknown>)) {
    const field = `weights.${id}`;
    if (!fed.nodes.some((n) => n.id === id)) {
      throw new InvalidInputError(`${field}: ${id} is not a node of ${origin}`, { meta: { field } });
    }
    if (typeof v !== "string" || !/^[1-9][0-9]{0,27}$/.test(v)) {
      throw new InvalidInputError(`${field} must be a positive integer string, got ${JSON.stringify(v)}`, {
        meta: { field },
      });
    }
    weights.set(id, BigInt(v));
  }
  for (const n of fed.nodes) {
    if (!weights.has(n.id)) {
      throw new InvalidInputError(`weights.${n.id} is missing`, { meta: { field: `weights.${n.id}` } });
    }
  }
  return { epoch, origin, validatorEpoch, weights };
}

export function encodeRotationRequest(r: RotationRequest): string {
  return JSON.stringify({
    epoch: r.epoch.toString(),
    origin: r.origin,
    validatorEpoch: r.validatorEpoch.toString(),
    weights: Object.fromEntries([...r.weights].map(([k, v]) => [k, v.toString()])),
  });
}

/** Submit a rotation with signatures of > 2/3 of the base epoch's weight (signers ascending). */
export async function submitRotation(
  registry: ValidatorRegistry,
  plan: RotationPlan,
  signatures: readonly { address: string; signature: string }[],
  signer: Signer,
  provider: AbstractProvider,
): Promise<{ txHash: string; epoch: bigint }> {
  const sorted = [...signatures].sort((a, b) =>
    BigInt(a.address) < BigInt(b.address) ? -1 : BigInt(a.address) > BigInt(b.address) ? 1 : 0,
  );
  const tx = await registry.connect(signer).rotateValidators(
    plan.federationId,
    [...plan.validators],
    [...plan.weights],
    [...plan.keyCommitments],
    sorted.map((s) => s.signature),
  );
  const rc = await waitForReceipt(provider, tx.hash);
  if (rc.status !== 1)
    throw new AmpError(`rotation transaction ${tx.hash} reverted`, { kind: "retry-later" });
  return { txHash: tx.hash, epoch: plan.baseEpoch + 1n };
}
