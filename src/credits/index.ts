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
