// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title RoundRecord
/// @notice The anchor's per-round record and where it lives. A record is
/// `u64 blockNumber || u64 timestamp ||` per federation (ascending id) `rootHash || u64 treeSize || u64 epoch`,
/// stored once as the code of a data contract (behind a STOP byte, so it can never run: the SSTORE2
/// pattern). The anchor creates one record per round and nothing else, so round k's record is at the
/// CREATE address of the anchor's nonce k (EIP-161: contract nonces start at 1).
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

    /// @notice Deploys `record` as the code of a new contract.
    /// @param record The record.
    /// @return pointer The new contract, or the zero address if CREATE failed.
    function store(bytes memory record) internal returns (address pointer) {
        // Init code: PUSH2 len, DUP1, PUSH1 10, RETURNDATASIZE, CODECOPY, RETURNDATASIZE, RETURN; then STOP.
        bytes memory init = abi.encodePacked(
            hex"61",
            uint16(record.length + 1),
            hex"80600a3d393df300",
            record
        );
        assembly ("memory-safe") {
            pointer := create(0, add(init, 0x20), mload(init))
        }
    }

    /// @notice The record stored at `pointer`; empty when there is no code there.
    /// @param pointer Address of a record.
    /// @return record The record.
    function load(address pointer) internal view returns (bytes memory record) {
        uint256 size = pointer.code.length;
        if (size == 0) return record;
        record = new bytes(size - 1);
        assembly ("memory-safe") {
            extcodecopy(pointer, add(record, 0x20), 1, sub(size, 1))
        }
    }

    /// @notice The CREATE address of `creator` at `nonce`: keccak256(rlp([creator, nonce]))[12:].
    /// @param creator The creating contract.
    /// @param nonce Its nonce.
    /// @return The address.
    function addressOf(address creator, uint64 nonce) internal pure returns (address) {
        if (nonce < 0x80) {
            // One-byte nonce: 0xd6 || 0x94 || creator || nonce; nonce 0 is the empty string 0x80.
            uint8 b = nonce == 0 ? 0x80 : uint8(nonce);
            return address(uint160(uint256(keccak256(abi.encodePacked(hex"d694", creator, b)))));
        }
        uint256 len = 0;
        for (uint256 v = nonce; v != 0; v >>= 8) ++len;
        bytes memory be = new bytes(len);
        for (uint256 k = 0; k < len; ++k) be[len - 1 - k] = bytes1(uint8(nonce >> (8 * k)));
        bytes memory rlp = abi.encodePacked(uint8(0xd6 + len), hex"94", creator, uint8(0x80 + len), be);
        return address(uint160(uint256(keccak256(rlp))));
    }

    /// @dev The 32-byte word of `data` at byte offset `offset`.
    function _wordAt(bytes memory data, uint256 offset) private pure returns (uint256 word) {
        assembly ("memory-safe") {
            word := mload(add(add(data, 0x20), offset))
        }
    }
}
