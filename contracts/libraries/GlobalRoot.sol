// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title GlobalRoot
/// @notice Encoding of a nexus round's global root (docs/interfaces.md "Hashing"):
/// SHA-256("amp/global-root/v1\n" || u64be(round) || for each federation in strictly ascending id order:
/// u8(len(origin)) || origin || u64be(treeSize) || rootHash).
/// @dev A preimage is a `bytes` allocated once with room for `federations` parts; `append` grows its length
/// inside that room, so nothing is copied twice and the free memory pointer is never crossed.
library GlobalRoot {
    /// @dev "amp/global-root/v1\n" (19 bytes), left-aligned.
    bytes32 private constant _LABEL = "amp/global-root/v1\n";

    /// @dev Label plus u64 round.
    uint256 private constant _HEADER_LENGTH = 27;

    /// @dev Largest part: u8 length, 255-byte origin, u64 size, bytes32 root.
    uint256 private constant _MAX_PART_LENGTH = 1 + 255 + 8 + 32;

    /// @notice Starts the preimage of `round`, with room for `federations` parts.
    /// @param round The nexus round.
    /// @param federations Number of parts that will be appended.
    /// @return preimage The header, in a buffer with room for the parts.
    function start(uint64 round, uint256 federations) internal pure returns (bytes memory preimage) {
        // One spare word: `append` writes whole words, up to 24 bytes past the end of its last part.
        preimage = new bytes(_HEADER_LENGTH + federations * _MAX_PART_LENGTH + 32);
        bytes32 label = _LABEL;
        assembly ("memory-safe") {
            let p := add(preimage, 0x20)
            mstore(p, label)
            mstore(add(p, 19), shl(192, round))
            mstore(preimage, 27) // _HEADER_LENGTH
        }
    }

    /// @notice Appends one federation's part.
    /// @param preimage A buffer from `start` with room left for this part.
    /// @param originPtr Memory address of the origin's bytes.
    /// @param originLength Length of the origin, 1..255 (the registry guarantees it).
    /// @param treeSize The federation's tree size.
    /// @param rootHash The federation's root hash.
    function append(
        bytes memory preimage,
        uint256 originPtr,
        uint256 originLength,
        uint64 treeSize,
        bytes32 rootHash
    ) internal pure {
        assembly ("memory-safe") {
            let length := mload(preimage)
            let p := add(add(preimage, 0x20), length)
            mstore8(p, originLength)
            mcopy(add(p, 1), originPtr, originLength)
            p := add(add(p, 1), originLength)
            mstore(p, shl(192, treeSize))
            mstore(add(p, 8), rootHash)
            mstore(preimage, add(length, add(originLength, 41)))
        }
    }

    /// @notice SHA-256 of the preimage: the global root.
    /// @param preimage The completed preimage.
    /// @return root The global root.
    function hash(bytes memory preimage) internal view returns (bytes32 root) {
        assembly ("memory-safe") {
            if iszero(staticcall(gas(), 0x02, add(preimage, 0x20), mload(preimage), 0x00, 0x20)) {
                revert(0, 0)
            }
            root := mload(0x00)
        }
    }
}
