/** Proof credits (PROTOCOL §9): measured inputs, exact score and weight, ranking, allocations, receipts. */
export {
  creditScore,
  governanceWeight,
  creditParamsFrom,
  ratioPpm,
  DEFAULT_CREDIT_PARAMS,
  PPM,
  BYTES_PER_GB,
  type CreditInputs,
  type CreditParams,
  type CreditScore,
  type GovernanceWeight,
} from "./score";
export {
  measureEpoch,
  epochWindow,
  epochOf,
  type DriftFindingsProvider,
  type CreditSources,
  type CreditFederation,
  type NodeMeasurement,
} from "./measure";
export {
  buildRecord,
  checkRecord,
  allocationHash,
  nodeRefOf,
  AllocationRecordError,
  ALLOCATION_FORMAT,
  type AllocationRecord,
} from "./record";
export { rankNodes, type RankedNode } from "./rank";
export { proposeWeights, DEFAULT_MAX_CHANGE_BP, type WeightProposal } from "./adaptive";
export { AllocationStore } from "./store";
export { CreditScheduler, type EpochAllocation, type SchedulerConfig } from "./scheduler";
export { ReceiptsReader, EthersReceiptsClient, type ReceiptsClient } from "./chain";
export { verifyReceipt, ReceiptInvalidError, type VerifiedReceipt } from "./verify";
export { attachCredits, type AttachOptions } from "./attach";
