// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title RFC9162
/// @notice Verification of RFC 9162 (Certificate Transparency v2) Merkle inclusion and consistency proofs,
/// with SHA-256 through the precompile at address 0x02: node = SHA-256(0x01 || left || right).
/// @dev Both verifiers return false, never revert, on malformed input: a proof of the wrong length, an index
/// outside the tree, an old size above the new size. Loops run at most `proof.length` times (bounded by the
/// caller's calldata) plus at most 256 shifts; sizes and indices are full uint256, so 64-bit sizes are exact.
library RFC9162 {
    /// @dev No tree of fewer than 2^256 leaves has a proof longer than 256 hashes.
    uint256 private constant _MAX_PROOF_LENGTH = 256;

    /// @notice Verifies that `leafHash` is the leaf at `index` of the tree of `treeSize` leaves with `root`
    /// (RFC 9162 §2.1.3.2).
    /// @param leafHash RFC 9162 leaf hash, SHA-256(0x00 || data).
    /// @param index Zero-based leaf index.
    /// @param treeSize Number of leaves of the tree.
    /// @param proof Audit path, leaf to root.
    /// @param root Root hash of the tree.
    /// @return True when the proof is valid; false otherwise, including for a proof of the wrong length.
    function verifyInclusion(
        bytes32 leafHash,
        uint256 index,
        uint256 treeSize,
        bytes32[] memory proof,
        bytes32 root
    ) internal view returns (bool) {
        if (!(index < treeSize) || proof.length > _MAX_PROOF_LENGTH) return false;
        uint256 fn = index;
        uint256 sn = treeSize - 1; // treeSize > index >= 0
        bytes32 r = leafHash;
        for (uint256 i = 0; i < proof.length; ++i) {
            if (sn == 0) return false;
            if (fn & 1 == 1 || fn == sn) {
                r = hashNode(proof[i], r);
                while (fn & 1 == 0 && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            } else {
                r = hashNode(r, proof[i]);
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && r == root;
    }

    /// @notice Verifies that the tree of `newSize` leaves with `newRoot` extends the tree of `oldSize` leaves
    /// with `oldRoot` (RFC 9162 §2.1.4.2).
    /// @dev Equal sizes need an empty proof and equal roots. An old size of 0 has no consistency proof in
    /// RFC 9162 and yields false; callers decide how to treat an empty predecessor.
    /// @param oldSize Size of the earlier tree, > 0.
    /// @param newSize Size of the later tree, >= oldSize.
    /// @param proof Consistency proof.
    /// @param oldRoot Root of the earlier tree.
    /// @param newRoot Root of the later tree.
    /// @return True when the proof is valid; false otherwise, including for a proof of the wrong length.
    function verifyConsistency(
        uint256 oldSize,
        uint256 newSize,
        bytes32[] calldata proof,
        bytes32 oldRoot,
        bytes32 newRoot
    ) internal view returns (bool) {
        if (oldSize == 0 || oldSize > newSize || proof.length > _MAX_PROOF_LENGTH) return false;
        if (oldSize == newSize) return proof.length == 0 && oldRoot == newRoot;
        if (proof.length == 0) return false;
        uint256 fn = oldSize - 1; // oldSize > 0
        uint256 sn = newSize - 1;
        // Drop the common right edge: while fn is a right child both paths share its ancestors.
        while (fn & 1 == 1) {
            fn >>= 1;
            sn >>= 1;
        }
        // When oldSize is a power of two (fn became 0) the old root itself is the first path element.
        uint256 i = fn == 0 ? 0 : 1;
        bytes32 fr = fn == 0 ? oldRoot : proof[0];
        bytes32 sr = fr;
        for (; i < proof.length; ++i) {
            if (sn == 0) return false;
            bytes32 c = proof[i];
            if (fn & 1 == 1 || fn == sn) {
                fr = hashNode(c, fr);
                sr = hashNode(c, sr);
                while (fn & 1 == 0 && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            } else {
                sr = hashNode(sr, c);
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && fr == oldRoot && sr == newRoot;
    }

    /// @notice RFC 9162 interior node hash SHA-256(0x01 || left || right).
    /// @param left Left child hash.
    /// @param right Right child hash.
    /// @return h The node hash.
    function hashNode(bytes32 left, bytes32 right) internal view returns (bytes32 h) {
        assembly ("memory-safe") {
            // Scratch space above the free memory pointer; nothing is allocated.
            let m := mload(0x40)
            mstore8(m, 0x01)
            mstore(add(m, 0x01), left)
            mstore(add(m, 0x21), right)
            if iszero(staticcall(gas(), 0x02, m, 0x41, 0x00, 0x20)) {
                revert(0, 0)
            }
            h := mload(0x00)
        }
    }
}
