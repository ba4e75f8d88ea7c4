// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IProofCreditReceipts} from "./interfaces/IProofCreditReceipts.sol";

/// @title ProofCreditReceipts
/// @notice Hash-chained, hash-only receipts of credit allocations, recorded by ALLOCATOR_ROLE.
/// @dev Modelled on EAS `timestamp(bytes32)`: private mapping, revert on duplicate, one indexed event.
/// No function is payable and there is no receive or fallback, so the contract can never hold value.
contract ProofCreditReceipts is AccessControl, IProofCreditReceipts {
    /// @notice Role allowed to record allocations.
    bytes32 public constant ALLOCATOR_ROLE = keccak256("ALLOCATOR_ROLE");

    /// @dev One slot per receipt (allocation hash → node reference; zero marks a free slot) and one per node
    /// (its chain head). Epoch, block and previous hash live in the event: see docs/gas.md for why.
    mapping(bytes32 allocationHash => bytes32 nodeRef) private _nodeOf;
    mapping(bytes32 nodeRef => bytes32 allocationHash) private _lastAllocation;

    /// @param allocator Account given ALLOCATOR_ROLE and DEFAULT_ADMIN_ROLE.
    constructor(address allocator) {
        _grantRole(DEFAULT_ADMIN_ROLE, allocator);
        _grantRole(ALLOCATOR_ROLE, allocator);
    }

    /// @inheritdoc IProofCreditReceipts
    function recordAllocation(
        uint64 epoch,
        bytes32 nodeRef,
        bytes32 allocationHash,
        bytes32 prevAllocationHash
    ) external onlyRole(ALLOCATOR_ROLE) {
        _record(epoch, nodeRef, allocationHash, prevAllocationHash);
    }

    /// @inheritdoc IProofCreditReceipts
    function recordAllocations(
        uint64 epoch,
        Allocation[] calldata allocations
    ) external onlyRole(ALLOCATOR_ROLE) {
        if (allocations.length == 0) revert ReceiptBatchEmpty();
        for (uint256 i = 0; i < allocations.length; ++i) {
            Allocation calldata a = allocations[i];
            _record(epoch, a.nodeRef, a.allocationHash, a.prevAllocationHash);
        }
    }

    /// @inheritdoc IProofCreditReceipts
    function receiptOf(bytes32 allocationHash) external view returns (bytes32) {
        return _nodeOf[allocationHash];
    }

    /// @inheritdoc IProofCreditReceipts
    function lastAllocationOf(bytes32 nodeRef) external view returns (bytes32) {
        return _lastAllocation[nodeRef];
    }

    /// @dev Checks and stores one receipt, then emits its event.
    function _record(
        uint64 epoch,
        bytes32 nodeRef,
        bytes32 allocationHash,
        bytes32 prevAllocationHash
    ) private {
        if (allocationHash == 0) revert ReceiptAllocationHashZero();
        if (nodeRef == 0) revert ReceiptNodeRefZero(allocationHash);
        // Every stored receipt has a non-zero nodeRef, so a zero one marks a free slot.
        if (_nodeOf[allocationHash] != 0) revert ReceiptDuplicated(allocationHash);
        bytes32 last = _lastAllocation[nodeRef];
        if (last != prevAllocationHash) revert ReceiptChainBroken(nodeRef, last, prevAllocationHash);
        _nodeOf[allocationHash] = nodeRef;
        _lastAllocation[nodeRef] = allocationHash;
        emit ProofCreditAllocated(allocationHash, nodeRef, epoch, prevAllocationHash);
    }
}
