/**
 * The submitting side of adaptive weights (./rotation.ts): after this node recorded or found an
 * allocation epoch E (it is E's allocator, E mod N), for each federation whose proposal changes
 * something, collect the members' signatures over HTTP (its own computed here, with its own key)
 * and send `rotateValidators`. Idempotent: the registry's current epoch past the base epoch means
 * the rotation for E (or a later one) happened; a failure is logged and retried after the next run.
 */
import type { AbstractProvider, Signer, Wallet } from "ethers";
import type { Roster } from "../node/roster";
import type { PeerClient } from "../transport/client";
import type { ValidatorRegistry } from "../../typechain-types";
import { AmpError, oneLine } from "../util/errors";
import type { Logger } from "../util/log";
import {
  encodeRotationRequest,
  planRotation,
  signRotation,
  submitRotation,
  type RotationPlan,
  type RotationRequest,
} from "./rotation";
import type { AllocationStore } from "./store";

export interface RotatorConfig {
  readonly nodeId: string;
  readonly roster: Roster;
  readonly store: AllocationStore;
  readonly registry: ValidatorRegistry;
  readonly wallet: Wallet;
  readonly signer: () => Promise<Signer>;
  readonly provider: AbstractProvider;
  readonly client: PeerClient;
  readonly maxChangeBp?: bigint;
  readonly logger: Logger;
}

/** What one attempt did for one federation. */
export type RotationOutcome =
  | { kind: "rotated"; origin: string; epoch: bigint; validatorEpoch: bigint; txHash: string }
  | { kind: "unchanged" | "done"; origin: string; epoch: bigint; reason: string };

export class Rotator {
  /** `epoch/origin` already settled (rotated, nothing to change, or rotated by someone else). */
  private readonly settled = new Set<string>();

  constructor(private readonly cfg: RotatorConfig) {}

  /** Rotate every federation for allocation epoch `epoch` where needed (see file comment). */
  async rotateAfter(epoch: bigint): Promise<RotationOutcome[]> {
    const out: RotationOutcome[] = [];
    for (const fed of this.cfg.roster.federations) {
      const key = `${epoch}/${fed.config.origin}`;
      if (this.settled.has(key)) continue;
      const o = await this.rotateOne(epoch, fed.config.origin);
      this.settled.add(key);
      out.push(o);
    }
    return out;
  }

  private async rotateOne(epoch: bigint, origin: string): Promise<RotationOutcome> {
    const plan = await planRotation({ ...this.cfg, epoch, origin });
    if (!plan.changed) return { kind: "unchanged", origin, epoch, reason: plan.reason ?? "nothing changes" };
    const now = await this.cfg.registry.currentEpoch(plan.federationId);
    if (now !== plan.baseEpoch) {
      return { kind: "done", origin, epoch, reason: `registry already at epoch ${now} > ${plan.baseEpoch}` };
    }
    const request: RotationRequest = {
      epoch,
      origin,
      validatorEpoch: plan.baseEpoch + 1n,
      weights: plan.proposed,
    };
    const sigs = await this.collect(plan, request);
    const sent = await submitRotation(
      this.cfg.registry,
      plan,
      sigs,
      await this.cfg.signer(),
      this.cfg.provider,
    );
    this.cfg.logger.info("validator weights rotated on-chain", {
      origin,
      allocationEpoch: epoch,
      validatorEpoch: sent.epoch,
      weights: Object.fromEntries([...plan.proposed].map(([k, v]) => [k, v.toString()])),
      txHash: sent.txHash,
    });
    return { kind: "rotated", origin, epoch, validatorEpoch: sent.epoch, txHash: sent.txHash };
  }

  /** Signatures of the members (own one locally) until they hold > 2/3 of the base weight. */
  private async collect(
    plan: RotationPlan,
    request: RotationRequest,
  ): Promise<{ address: string; signature: string }[]> {
    const fed = this.cfg.roster.federations.find((f) => f.config.origin === plan.origin)!;
    const total = [...plan.current.values()].reduce((a, b) => a + b, 0n);
    const sigs: { address: string; signature: string }[] = [];
    let signed = 0n;
    const refusals: string[] = [];
    for (const n of fed.nodes) {
      if (3n * signed > 2n * total) break;
      try {
        const s =
          n.id === this.cfg.nodeId
            ? await signRotation({ ...this.cfg, request })
            : await this.cfg.client.json<{ address: string; signature: string }>(n.url, {
                method: "POST",
                path: "/v1/credits/rotation",
                body: encodeRotationRequest(request),
                headers: { "content-type": "application/json" },
                timeoutMs: 10_000,
                tries: 1,
              });
        if (s.address.toLowerCase() !== n.member.address.toLowerCase()) {
          refusals.push(`${n.id}: signed as ${s.address}`);
          continue;
        }
        sigs.push({ address: s.address, signature: s.signature });
        signed += plan.current.get(n.id) ?? 0n;
      } catch (e) {
        refusals.push(`${n.id}: ${oneLine(e)}`);
      }
    }
    if (3n * signed <= 2n * total) {
      throw new AmpError(
        `rotation of ${plan.origin}: signatures hold ${signed} of ${total}, not > 2/3 (${refusals.join("; ")})`,
        { kind: "retry-later" },
      );
    }
    return sigs;
  }
}
