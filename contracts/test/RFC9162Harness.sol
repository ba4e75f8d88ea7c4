// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RFC9162} from "../libraries/RFC9162.sol";

/// @title RFC9162Harness
/// @notice Test-only wrapper exposing the RFC9162 library's internal functions.
contract RFC9162Harness {
    /// @notice See {RFC9162-verifyInclusion}.
    function verifyInclusion(
        bytes32 leafHash,
        uint256 index,
        uint256 treeSize,
        bytes32[] calldata proof,
        bytes32 root
    ) external view returns (bool) {
        return RFC9162.verifyInclusion(leafHash, index, treeSize, proof, root);
    }

    /// @notice See {RFC9162-verifyConsistency}.
    function verifyConsistency(
        uint256 oldSize,
        uint256 newSize,
        bytes32[] calldata proof,
        bytes32 oldRoot,
        bytes32 newRoot
    ) external view returns (bool) {
        return RFC9162.verifyConsistency(oldSize, newSize, proof, oldRoot, newRoot);
    }

    /// @notice See {RFC9162-hashNode}.
    function hashNode(bytes32 left, bytes32 right) external view returns (bytes32) {
        return RFC9162.hashNode(left, right);
    }
}
