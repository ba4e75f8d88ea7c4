/**
 * Builds one federation for in-process rounds: a ValidatorNode per member on an InProcessTransport,
 * and a ConsensusValidator (coordinator) with its reference log and evidence store.
 */
import path from "node:path";
import { FederationLog } from "../log";
import { publicIdentity, type NodeKeys } from "../crypto/keys";
import { ConsensusValidator, type RoundAlert } from "../consensus/consensus-validator";
import { EvidenceStore } from "../consensus/evidence";
import type { FaultInjector } from "../consensus/fault-injector";
import { InProcessTransport } from "../consensus/transport";
import type { AnchorDomain, DriftHook, FederationConfig, FederationMember } from "../consensus/types";
import type { VoteObserver } from "../consensus/observer";
import { ValidatorNode } from "../consensus/validator-node";
import { InvalidInputError } from "../util/errors";
import type { MlDsaBackend } from "../crypto/mldsa";
import { observe, observedTransport, type RoundObserver } from "./observer";

export interface FederationSpec {
  readonly origin: string;
  readonly epoch?: bigint;
  readonly nodes: readonly { readonly keys: NodeKeys; readonly weight: bigint }[];
}

export interface FederationRuntime {
  readonly config: FederationConfig;
  readonly nodes: readonly ValidatorNode[];
  readonly coordinator: ConsensusValidator;
  readonly evidence: EvidenceStore;
  readonly log: FederationLog;
  readonly transport: InProcessTransport;
}

export interface BuildOptions {
  readonly dataDir: string;
  readonly domain: AnchorDomain;
  readonly faults?: FaultInjector;
  readonly voteTimeoutMs?: number;
  readonly onAlert?: (alert: RoundAlert) => void;
  /** Where the nodes and the coordinator run ML-DSA; this thread by default. */
  readonly mldsa?: MlDsaBackend;
  /** Told of each vote request's latency and each evidence (telemetry). */
  readonly observer?: RoundObserver;
  /** Makes chosen nodes drift (src/drift injector; tests, demo, benchmark). */
  readonly drift?: DriftHook;
  /** Sees every node's checkpoint before the round finalises (the drift monitor). */
  readonly onVotes?: VoteObserver;
}

export function federationMembers(spec: FederationSpec): FederationMember[] {
  return spec.nodes.map(({ keys, weight }) => {
    const id = publicIdentity(keys);
    return {
      nodeId: id.nodeId,
      keyName: `${spec.origin}/${id.nodeId}`,
      mldsaPublicKey: id.mldsaPublicKey,
      address: id.address,
      weight,
    };
  });
}

export function buildFederation(spec: FederationSpec, opts: BuildOptions): FederationRuntime {
  if (spec.nodes.length === 0) throw new InvalidInputError(`federation ${spec.origin} has no nodes`);
  const dir = path.join(opts.dataDir, spec.origin.replace(/[^A-Za-z0-9._-]/g, "_"));
  const config: FederationConfig = {
    origin: spec.origin,
    epoch: spec.epoch ?? 1n,
    members: federationMembers(spec),
  };
  const transport = new InProcessTransport();
  const nodes = spec.nodes.map(({ keys }) => {
    const node = new ValidatorNode({
      origin: spec.origin,
      keys,
      dataDir: path.join(dir, "validators"),
      domain: opts.domain,
      ...(opts.faults ? { faults: opts.faults } : {}),
      ...(opts.mldsa ? { mldsa: opts.mldsa } : {}),
      ...(opts.drift ? { drift: opts.drift } : {}),
    });
    node.attach(transport);
    transport.register(node);
    return node;
  });
  const obs = opts.observer;
  const evidence = new EvidenceStore(
    path.join(dir, "evidence"),
    obs && ((e) => observe(() => obs.evidence(e.origin, e.nodeId, e.kind))),
  );
  const log = new FederationLog(spec.origin);
  const coordinator = new ConsensusValidator({
    federation: config,
    domain: opts.domain,
    transport: obs ? observedTransport(transport, spec.origin, obs) : transport,
    evidence,
    log,
    ...(opts.voteTimeoutMs !== undefined ? { voteTimeoutMs: opts.voteTimeoutMs } : {}),
    ...(opts.onAlert ? { onAlert: opts.onAlert } : {}),
    ...(opts.mldsa ? { mldsa: opts.mldsa } : {}),
    ...(opts.onVotes ? { onVotes: opts.onVotes } : {}),
  });
  return { config, nodes, coordinator, evidence, log, transport };
}
