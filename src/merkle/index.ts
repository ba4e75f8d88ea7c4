/**
 * RFC 9162 §2.1 Merkle trees with SHA-256: pure functions, no I/O.
 */
export { HASH_SIZE, EMPTY_ROOT, leafHash, nodeHash, isHash, bytesEqual, sha256 } from "./hash";
export { MAX_TREE_SIZE, toTreeSize, requireTreeSize, splitPoint } from "./size";
export { inclusionProofFrom, consistencyProofFrom, type SubtreeRoot } from "./build";
export { rootHash, inclusionProof, consistencyProof } from "./tree";
export { verifyInclusion, verifyConsistency } from "./verify";
export { canonicalJson } from "../events/canonical";
