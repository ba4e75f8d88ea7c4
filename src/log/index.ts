/** Federation logs: append-only RFC 9162 trees with a compact range, proofs from stored nodes. */
export { FederationLog, requireOrigin, type Checkpoint, type AppendPlan } from "./federation-log";
export { MemoryLogStore, type LogStore, type AppendUpdate, type TreeNode } from "./store";
