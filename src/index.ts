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
} from "./proof/verify";
