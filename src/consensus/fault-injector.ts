/**
 * FaultInjector: makes chosen nodes behave Byzantine in chosen rounds (tests, demo, benchmark).
 * The node computes and persists its honest vote first; the fault then changes what it sends, so
 * a node whose rule is cleared behaves honestly again.
 */
import type { FaultKind } from "./evidence";

export type InjectedFault = FaultKind | "drop-events";

export interface FaultRule {
  readonly nodeId: string;
  readonly kind: InjectedFault;
  /** Rounds the rule applies to; all rounds when omitted. */
  readonly rounds?: readonly bigint[];
}

export class FaultInjector {
  private rules: FaultRule[] = [];

  constructor(rules: readonly FaultRule[] = []) {
    this.rules = [...rules];
  }

  add(rule: FaultRule): this {
    this.rules.push(rule);
    return this;
  }

  /** Remove the rules of one node, or all rules. */
  clear(nodeId?: string): void {
    this.rules = nodeId === undefined ? [] : this.rules.filter((r) => r.nodeId !== nodeId);
  }

  faultFor(nodeId: string, round: bigint): InjectedFault | undefined {
    const r = this.rules.find(
      (x) => x.nodeId === nodeId && (x.rounds === undefined || x.rounds.includes(round)),
    );
    return r?.kind;
  }
}
