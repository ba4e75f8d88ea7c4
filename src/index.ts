/**
 * AMP public API. The protocol core (merkle, events, log, consensus, nexus) never imports Hardhat.
 */
export * from "./util/errors";
export { createLogger, type Logger } from "./util/log";
export * from "./merkle";
export * from "./events";
export * from "./log";
export * from "./archive";
export * from "./batching";
export * from "./manifest";
export { connectRpc, connectEip1193, waitForReceipt, type ChainConnection } from "./chain/connect";
export { deployContracts, registerFederations } from "./chain/deploy";
export {
  readDeployment,
  writeDeployment,
  assertDeploymentLive,
  type DeploymentRecord,
} from "./chain/deployment";
export { AnchorSubmitter, AnchorRevertedError, AnchorConflictError, type AnchorResult } from "./chain/anchor";
export { AnchoringRunner, type RoundReport } from "./chain/runner";
export { buildProofFile } from "./proof/build";
export { parseProofFile, serializeProofFile, PROOF_FORMAT, type ProofFile } from "./proof/format";
export {
  verifyProof,
  verifyProofText,
  publicClientFor,
  ProofInvalidError,
  type VerifiedProof,
  type TrustRoot,
  type VerifyOptions,
} from "./proof/verify";
export {
  parseTrustPolicy,
  readTrustPolicy,
  trustPolicyFromChain,
  TRUST_FORMAT,
  type TrustPolicy,
} from "./trust/policy";
export { federationIdOf, globalRoot, type NexusCheckpoint } from "./nexus/global-root";
export {
  deriveThrowawayKeys,
  generateNodeKeys,
  loadNodeKeys,
  mlDsaFromSeed,
  publicIdentity,
  type NodeKeys,
} from "./crypto/keys";
export { checkpointBody, parseCheckpointBody, VOTE_CONTEXT, WITNESS_CONTEXT, NoteError } from "./crypto/note";
export { hasQuorum, quorumThreshold, belowOneThird } from "./consensus/quorum";
export { ConsensusValidator, type ConsensusOutcome, type RoundAlert } from "./consensus/consensus-validator";
export { ValidatorNode } from "./consensus/validator-node";
export { InProcessTransport, type TransportEndpoint } from "./consensus/transport";
export { FaultInjector, type FaultRule } from "./consensus/fault-injector";
export { Witness, WitnessError } from "./nexus/witness";
export { GlobalProofNexus, NexusError } from "./nexus/global-proof-nexus";
export { RoundEngine, type RoundResult, type RoundEngineConfig } from "./rounds/round-engine";
export { RoundMetricsStore } from "./rounds/metrics-store";
export * from "./credits";
export {
  AmpMetrics,
  createMetrics,
  registerMetricsRoute,
  renderMetrics,
  serveMetrics,
  type MetricsSource,
} from "./telemetry";
export type { RoundObserver } from "./rounds/observer";
/** Proof-drift monitor: detection before finality, clock skew, alerts and their read API (src/drift). */
export * as drift from "./drift";
