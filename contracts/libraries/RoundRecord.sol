// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title RoundRecord
/// @notice The anchor's per-round record. A record is
/// `u64 blockNumber || u64 timestamp ||` per federation (ascending id) `rootHash || u64 treeSize || u64 epoch`.
/// The anchor stores only its keccak256 and emits it in `GlobalRootAnchored`. `load` reads a data contract
/// (code = STOP byte || data, the SSTORE2 pattern), such as the registry's directory.
library RoundRecord {
    /// @dev Header bytes (block number, timestamp) and bytes per federation entry.
    uint256 private constant _HEADER = 16;
    uint256 private constant _ENTRY = 48;

    /// @notice A record with room for `federations` entries and the current block in its header.
    /// @param federations Number of entries.
    /// @return record The record, entries zero.
    function create(uint256 federations) internal view returns (bytes memory record) {
        uint256 length = _HEADER + federations * _ENTRY;
        // 16 spare bytes: `setEntry` writes whole words, the last one 16 bytes past its entry.
        record = new bytes(length + 16);
        uint256 head = (block.number << 192) | (block.timestamp << 128);
        assembly ("memory-safe") {
            mstore(add(record, 0x20), head)
            mstore(record, length)
        }
    }

    /// @notice Writes entry `i`. Entries are written in order: the 16 zero bytes each write leaves past
    /// its entry are overwritten by the next entry or fall into the spare room.
    /// @param record A record from `create`.
    /// @param i Entry index.
    /// @param rootHash Root hash.
    /// @param treeSize Tree size.
    /// @param epoch Validator-set epoch.
    function setEntry(
        bytes memory record,
        uint256 i,
        bytes32 rootHash,
        uint64 treeSize,
        uint64 epoch
    ) internal pure {
        uint256 tail = (uint256(treeSize) << 192) | (uint256(epoch) << 128);
        assembly ("memory-safe") {
            let p := add(add(record, 0x20), add(16, mul(i, 48)))
            mstore(p, rootHash)
            mstore(add(p, 0x20), tail)
        }
    }

    /// @notice Number of entries of a record (0 for an empty one).
    /// @param record The record.
    /// @return The number of federations.
    function count(bytes memory record) internal pure returns (uint256) {
        return record.length < _HEADER ? 0 : (record.length - _HEADER) / _ENTRY;
    }

    /// @notice The header of a record.
    /// @param record A non-empty record.
    /// @return blockNumber Block the round was anchored in.
    /// @return timestamp That block's timestamp.
    function header(bytes memory record) internal pure returns (uint64 blockNumber, uint64 timestamp) {
        uint256 head = _wordAt(record, 0);
        return (uint64(head >> 192), uint64(head >> 128));
    }

    /// @notice Entry `i` of a record.
    /// @param record The record.
    /// @param i Entry index, below `count(record)`.
    /// @return rootHash Root hash.
    /// @return treeSize Tree size.
    /// @return epoch Validator-set epoch.
    function entryAt(
        bytes memory record,
        uint256 i
    ) internal pure returns (bytes32 rootHash, uint64 treeSize, uint64 epoch) {
        uint256 offset = _HEADER + i * _ENTRY;
        uint256 tail = _wordAt(record, offset + 32);
        return (bytes32(_wordAt(record, offset)), uint64(tail >> 192), uint64(tail >> 128));
    }

    /// @notice The data stored at `pointer`; empty when there is no code there.
    /// @param pointer Address of a data contract.
    /// @return record The data.
    function load(address pointer) internal view returns (bytes memory record) {
        uint256 size = pointer.code.length;
        if (size == 0) return record;
        record = new bytes(size - 1);
        assembly ("memory-safe") {
            extcodecopy(pointer, add(record, 0x20), 1, sub(size, 1))
        }
    }

    /// @dev The 32-byte word of `data` at byte offset `offset`.
    function _wordAt(bytes memory data, uint256 offset) private pure returns (uint256 word) {
        assembly ("memory-safe") {
            word := mload(add(add(data, 0x20), offset))
        }
    }
}
