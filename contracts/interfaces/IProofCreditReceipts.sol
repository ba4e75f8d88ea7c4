// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IProofCreditReceipts
/// @notice Hash-only receipts of credit allocations. Storage binds each allocation hash to its node reference
/// and keeps each node's chain head (the previous-hash chain is enforced on every record); the epoch and the
/// previous hash are in the `ProofCreditAllocated` event of the recording transaction, found by the indexed
/// allocation hash. Never a score, a weight, an amount or value. Nothing here is payable.
interface IProofCreditReceipts {
    /// @notice One allocation of a batch.
    /// @param nodeRef SHA-256(utf8("amp/node/v1\n" + origin + "\n" + nodeId)).
    /// @param allocationHash SHA-256 of the JCS allocation record.
    /// @param prevAllocationHash The node's last recorded allocation hash, zero for its first.
    struct Allocation {
        bytes32 nodeRef;
        bytes32 allocationHash;
        bytes32 prevAllocationHash;
    }

    /// @notice An allocation was recorded.
    /// @param allocationHash The allocation hash (the receipt's key).
    /// @param nodeRef The node.
    /// @param epoch The credit epoch.
    /// @param prevAllocationHash The node's previous allocation hash, zero for its first.
    event ProofCreditAllocated(
        bytes32 indexed allocationHash,
        bytes32 indexed nodeRef,
        uint64 indexed epoch,
        bytes32 prevAllocationHash
    );

    /// @notice The allocation hash is zero.
    error ReceiptAllocationHashZero();

    /// @notice The node reference is zero.
    /// @param allocationHash The allocation being recorded.
    error ReceiptNodeRefZero(bytes32 allocationHash);

    /// @notice A receipt with this allocation hash exists already.
    /// @param allocationHash The duplicate hash.
    error ReceiptDuplicated(bytes32 allocationHash);

    /// @notice The previous hash is not the node's last recorded allocation hash.
    /// @param nodeRef The node.
    /// @param expected The node's last recorded allocation hash (zero when none).
    /// @param supplied The previous hash supplied.
    error ReceiptChainBroken(bytes32 nodeRef, bytes32 expected, bytes32 supplied);

    /// @notice A batch holds no allocation.
    error ReceiptBatchEmpty();

    /// @notice Records one allocation. Only ALLOCATOR_ROLE.
    /// @param epoch The credit epoch.
    /// @param nodeRef The node.
    /// @param allocationHash The allocation hash; unique, non-zero.
    /// @param prevAllocationHash Must equal `lastAllocationOf(nodeRef)`.
    function recordAllocation(
        uint64 epoch,
        bytes32 nodeRef,
        bytes32 allocationHash,
        bytes32 prevAllocationHash
    ) external;

    /// @notice Records the allocations of an epoch in one transaction, in order. Only ALLOCATOR_ROLE.
    /// @param epoch The credit epoch.
    /// @param allocations The allocations; a node may appear more than once, each link chaining on the last.
    function recordAllocations(uint64 epoch, Allocation[] calldata allocations) external;

    /// @notice The node an allocation was recorded for; zero when none is recorded. The epoch, previous hash and
    /// block are those of the allocation's `ProofCreditAllocated` event (one per allocation hash).
    /// @param allocationHash The allocation hash.
    /// @return nodeRef The node.
    function receiptOf(bytes32 allocationHash) external view returns (bytes32 nodeRef);

    /// @notice A node's last recorded allocation hash; zero when none.
    /// @param nodeRef The node.
    /// @return The allocation hash.
    function lastAllocationOf(bytes32 nodeRef) external view returns (bytes32);
}
