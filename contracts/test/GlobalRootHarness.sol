// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {GlobalRoot} from "../libraries/GlobalRoot.sol";

/// @title GlobalRootHarness
/// @notice Test-only wrapper computing a global root with the GlobalRoot library, parts in the order given.
contract GlobalRootHarness {
    /// @notice The global root of `round` over the given checkpoints, in the order given.
    /// @param round The nexus round.
    /// @param origins Origins, already in ascending federationId order.
    /// @param sizes Tree sizes.
    /// @param roots Root hashes.
    /// @return The global root.
    function globalRoot(
        uint64 round,
        string[] calldata origins,
        uint64[] calldata sizes,
        bytes32[] calldata roots
    ) external view returns (bytes32) {
        bytes memory preimage = GlobalRoot.start(round, origins.length);
        for (uint256 i = 0; i < origins.length; ++i) {
            bytes memory name = bytes(origins[i]);
            uint256 ptr;
            assembly ("memory-safe") {
                ptr := add(name, 0x20)
            }
            GlobalRoot.append(preimage, ptr, name.length, sizes[i], roots[i]);
        }
        return GlobalRoot.hash(preimage);
    }
}
