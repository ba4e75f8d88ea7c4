// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IValidatorRegistry} from "./interfaces/IValidatorRegistry.sol";

/// @title ValidatorRegistry
/// @notice Validator sets per federation and epoch: addresses, weights and ML-DSA-65 key commitments.
/// Governance (GOVERNANCE_ROLE) registers new federations; a set is replaced only by the outgoing
/// epoch's > 2/3 quorum (EIP-712 `Rotation`), or by a recovery governance scheduled `recoveryDelay()`
/// earlier, visible on-chain while pending and marked as a recovery epoch afterwards.
/// @dev Each (federation, epoch) set is written once as the code of a tiny data contract (the SSTORE2
/// pattern), so the anchor reads a whole set with one EXTCODECOPY instead of one SLOAD per validator. Key
/// commitments are a second data contract per epoch, which the anchor never reads (no anchor gas).
contract ValidatorRegistry is AccessControl, EIP712, IValidatorRegistry {
    /// @notice Role allowed to register federations and schedule, cancel and execute recoveries.
    bytes32 public constant GOVERNANCE_ROLE = keccak256("GOVERNANCE_ROLE");

    /// @notice Largest validator set accepted.
    uint256 public constant MAX_VALIDATORS = 256;

    /// @notice Largest directory (every current set, see `directory`): a data contract's code is at most
    /// 24,576 bytes (EIP-170), one of them the leading STOP byte.
    uint256 public constant MAX_DIRECTORY_BYTES = 24_575;

    /// @notice EIP-712 type hash of a rotation signed by the outgoing validators.
    // solhint-disable-next-line gas-small-strings
    bytes32 public constant ROTATION_TYPEHASH = keccak256(
        "Rotation(bytes32 federationId,uint64 epoch,bytes32 setHash)"
    );

    /// @dev secp256k1n / 2: signatures with a larger s are the malleable twin of a low-s one.
    uint256 private constant _HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    struct Federation {
        uint64 epoch;
        address currentSet;
        uint32 index; // position in _federationIds (registration order)
    }

    struct Recovery {
        uint64 epoch; // 0: none pending
        uint64 executableAt;
        bytes32 setHash;
    }

    /// @dev A validator set sorted by address: entries `validator << 96 | weight` and their key commitments.
    struct SortedSet {
        uint256[] entries;
        bytes32[] commitments;
    }

    uint64 private immutable _RECOVERY_DELAY;

    bytes32[] private _federationIds;
    mapping(bytes32 federationId => Federation) private _federations;
    mapping(bytes32 federationId => mapping(uint64 epoch => address setData)) private _sets;
    mapping(bytes32 federationId => mapping(uint64 epoch => address commitmentData)) private _commitments;
    mapping(bytes32 federationId => mapping(uint64 epoch => bool recovered)) private _recoveryEpochs;
    mapping(bytes32 federationId => Recovery) private _recoveries;
    address private _directory; // data contract of every current set, see `directory`

    /// @param governance Account given GOVERNANCE_ROLE and DEFAULT_ADMIN_ROLE.
    /// @param recoveryDelay_ Seconds between scheduling a recovery and its earliest execution.
    constructor(address governance, uint64 recoveryDelay_) EIP712("AMP ValidatorRegistry", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
        _grantRole(GOVERNANCE_ROLE, governance);
        _RECOVERY_DELAY = recoveryDelay_;
    }

    /// @inheritdoc IValidatorRegistry
    function registerFederation(
        string calldata origin,
        address[] calldata validators,
        uint96[] calldata weights,
        bytes32[] calldata keyCommitments
    ) external onlyRole(GOVERNANCE_ROLE) returns (bytes32 federationId) {
        _checkOrigin(origin);
        federationId = sha256(bytes(origin));
        if (_federations[federationId].epoch != 0) revert RegistryFederationExists(federationId);
        SortedSet memory set = _sortedSet(validators, weights, keyCommitments);
        _federations[federationId].index = uint32(_federationIds.length);
        _federationIds.push(federationId);
        emit FederationRegistered(federationId, origin);
        _storeSet(federationId, 1, bytes(origin), set);
    }

    /// @inheritdoc IValidatorRegistry
    function rotateValidators(
        bytes32 federationId,
        address[] calldata validators,
        uint96[] calldata weights,
        bytes32[] calldata keyCommitments,
        bytes[] calldata signatures
    ) external returns (uint64 epoch) {
        SortedSet memory set = _sortedSet(validators, weights, keyCommitments);
        return _rotateByQuorum(federationId, set, signatures);
    }

    /// @inheritdoc IValidatorRegistry
    function scheduleRecovery(
        bytes32 federationId,
        address[] calldata validators,
        uint96[] calldata weights,
        bytes32[] calldata keyCommitments
    ) external onlyRole(GOVERNANCE_ROLE) returns (uint64 executableAt) {
        uint64 current = _federations[federationId].epoch;
        if (current == 0) revert RegistryFederationUnknown(federationId);
        Recovery storage r = _recoveries[federationId];
        if (r.epoch != 0) revert RegistryRecoveryPending(federationId, r.epoch);
        bytes32 hash = _hashSet(_sortedSet(validators, weights, keyCommitments));
        executableAt = uint64(block.timestamp) + _RECOVERY_DELAY;
        (r.epoch, r.executableAt, r.setHash) = (current + 1, executableAt, hash);
        emit RecoveryScheduled(federationId, current + 1, hash, executableAt);
    }

    /// @inheritdoc IValidatorRegistry
    function cancelRecovery(bytes32 federationId) external onlyRole(GOVERNANCE_ROLE) {
        Recovery memory r = _recoveries[federationId];
        if (r.epoch == 0) revert RegistryRecoveryNotPending(federationId);
        delete _recoveries[federationId];
        emit RecoveryCancelled(federationId, r.epoch, r.setHash);
    }

    /// @inheritdoc IValidatorRegistry
    function executeRecovery(
        bytes32 federationId,
        address[] calldata validators,
        uint96[] calldata weights,
        bytes32[] calldata keyCommitments
    ) external onlyRole(GOVERNANCE_ROLE) returns (uint64 epoch) {
        Recovery memory r = _recoveries[federationId];
        if (r.epoch == 0) revert RegistryRecoveryNotPending(federationId);
        // solhint-disable-next-line not-rely-on-time
        if (block.timestamp < r.executableAt)
            revert RegistryRecoveryTooEarly(federationId, r.executableAt, uint64(block.timestamp));
        SortedSet memory set = _sortedSet(validators, weights, keyCommitments);
        bytes32 hash = _hashSet(set);
        if (hash != r.setHash) revert RegistryRecoverySetMismatch(federationId, r.setHash, hash);
        // A quorum rotation deletes the pending recovery, so r.epoch is still current + 1 here.
        epoch = r.epoch;
        delete _recoveries[federationId];
        _recoveryEpochs[federationId][epoch] = true;
        _storeSet(federationId, epoch, bytes(originOf(federationId)), set);
        emit RecoveryExecuted(federationId, epoch);
    }

    /// @inheritdoc IValidatorRegistry
    function recoveryDelay() external view returns (uint64 delay) {
        return _RECOVERY_DELAY;
    }

    /// @inheritdoc IValidatorRegistry
    function pendingRecovery(
        bytes32 federationId
    ) external view returns (uint64 epoch, bytes32 setHash_, uint64 executableAt) {
        Recovery storage r = _recoveries[federationId];
        return (r.epoch, r.setHash, r.executableAt);
    }

    /// @inheritdoc IValidatorRegistry
    function isRecoveryEpoch(bytes32 federationId, uint64 epoch) external view returns (bool recovered) {
        return _recoveryEpochs[federationId][epoch];
    }

    /// @inheritdoc IValidatorRegistry
    function setHash(
        address[] calldata validators,
        uint96[] calldata weights,
        bytes32[] calldata keyCommitments
    ) external pure returns (bytes32 hash) {
        return _hashSet(_sortedSet(validators, weights, keyCommitments));
    }

    /// @inheritdoc IValidatorRegistry
    function rotationDigest(
        bytes32 federationId,
        uint64 epoch,
        bytes32 setHash_
    ) public view returns (bytes32 digest) {
        return _hashTypedDataV4(keccak256(abi.encode(ROTATION_TYPEHASH, federationId, epoch, setHash_)));
    }

    /// @inheritdoc IValidatorRegistry
    function keyCommitmentsOf(
        bytes32 federationId,
        uint64 epoch
    ) external view returns (bytes32[] memory keyCommitments) {
        bytes memory data = _readSet(_commitments[federationId][epoch]);
        keyCommitments = new bytes32[](data.length / 32);
        for (uint256 i = 0; i < keyCommitments.length; ++i)
            keyCommitments[i] = bytes32(_wordAt(data, 32 * i));
    }

    /// @inheritdoc IValidatorRegistry
    function federationIds() external view returns (bytes32[] memory ids) {
        return _federationIds;
    }

    /// @inheritdoc IValidatorRegistry
    function directory() external view returns (address pointer) {
        return _directory;
    }

    /// @dev Rewrites the directory: every federation's current set, ascending id, each entry
    /// `id || u64 epoch || u32 index || u32 len || set` (set as in `currentSetOf`). Called on every set change.
    function _writeDirectory() private {
        bytes32[] memory ids = _federationIds;
        uint256 n = ids.length;
        for (uint256 i = 1; i < n; ++i) {
            bytes32 key = ids[i];
            uint256 j = i;
            while (j > 0 && ids[j - 1] > key) {
                ids[j] = ids[j - 1];
                --j;
            }
            ids[j] = key;
        }
        bytes memory out = "";
        for (uint256 i = 0; i < n; ++i) {
            Federation storage f = _federations[ids[i]];
            bytes memory set = _readSet(f.currentSet);
            out = abi.encodePacked(out, ids[i], f.epoch, f.index, uint32(set.length), set);
        }
        if (out.length > MAX_DIRECTORY_BYTES)
            revert RegistryDirectoryTooLarge(out.length, MAX_DIRECTORY_BYTES);
        address pointer = _writeData(out);
        if (pointer == address(0)) revert RegistryDirectoryTooLarge(out.length, MAX_DIRECTORY_BYTES);
        _directory = pointer;
    }

    /// @inheritdoc IValidatorRegistry
    function federationCount() external view returns (uint256 count) {
        return _federationIds.length;
    }

    /// @inheritdoc IValidatorRegistry
    function originOf(bytes32 federationId) public view returns (string memory origin) {
        bytes memory set = _readSet(_federations[federationId].currentSet);
        if (set.length == 0) return "";
        uint256 start = 32 * (1 + (_wordAt(set, 0) >> 128));
        bytes memory out = new bytes(set.length - start);
        for (uint256 i = 0; i < out.length; ++i) out[i] = set[start + i];
        return string(out);
    }

    /// @inheritdoc IValidatorRegistry
    function currentEpoch(bytes32 federationId) external view returns (uint64 epoch) {
        return _federations[federationId].epoch;
    }

    /// @inheritdoc IValidatorRegistry
    function weightOf(
        bytes32 federationId,
        uint64 epoch,
        address validator
    ) external view returns (uint96 weight) {
        (address[] memory validators, uint96[] memory weights) = validatorsOf(federationId, epoch);
        for (uint256 i = 0; i < validators.length; ++i) if (validators[i] == validator) return weights[i];
        return 0;
    }

    /// @inheritdoc IValidatorRegistry
    function totalWeight(bytes32 federationId, uint64 epoch) external view returns (uint256 total) {
        bytes memory set = _readSet(_sets[federationId][epoch]);
        return set.length == 0 ? 0 : uint128(_wordAt(set, 0));
    }

    /// @inheritdoc IValidatorRegistry
    function validatorsOf(
        bytes32 federationId,
        uint64 epoch
    ) public view returns (address[] memory validators, uint96[] memory weights) {
        bytes memory set = _readSet(_sets[federationId][epoch]);
        uint256 count = set.length == 0 ? 0 : _wordAt(set, 0) >> 128;
        validators = new address[](count);
        weights = new uint96[](count);
        for (uint256 i = 0; i < count; ++i) {
            uint256 entry = _wordAt(set, 32 * (i + 1));
            validators[i] = address(uint160(entry >> 96));
            weights[i] = uint96(entry);
        }
    }

    /// @inheritdoc IValidatorRegistry
    function currentSetOf(
        bytes32 federationId
    ) external view returns (uint64 epoch, uint256 index, bytes memory packedSet) {
        Federation storage f = _federations[federationId];
        return (f.epoch, f.index, _readSet(f.currentSet));
    }

    /// @dev Checks the outgoing quorum's signatures over `set`, cancels a pending recovery, stores `set`.
    function _rotateByQuorum(
        bytes32 federationId,
        SortedSet memory set,
        bytes[] calldata signatures
    ) private returns (uint64 epoch) {
        Federation storage f = _federations[federationId];
        uint64 outgoing = f.epoch;
        if (outgoing == 0) revert RegistryFederationUnknown(federationId);
        epoch = outgoing + 1;
        bytes32 digest = rotationDigest(federationId, epoch, _hashSet(set));
        _checkRotationQuorum(federationId, outgoing, digest, signatures, _readSet(f.currentSet));
        Recovery memory pending = _recoveries[federationId];
        if (pending.epoch != 0) {
            delete _recoveries[federationId];
            emit RecoveryCancelled(federationId, pending.epoch, pending.setHash);
        }
        _storeSet(federationId, epoch, bytes(originOf(federationId)), set);
    }

    /// @dev Writes a checked, sorted set and its key commitments as data contracts, then makes it current.
    function _storeSet(
        bytes32 federationId,
        uint64 epoch,
        bytes memory origin,
        SortedSet memory set
    ) private {
        uint256[] memory entries = set.entries;
        uint256 n = entries.length;
        uint256 total = 0;
        address[] memory validators = new address[](n);
        uint96[] memory weights = new uint96[](n);
        for (uint256 i = 0; i < n; ++i) {
            (validators[i], weights[i]) = (address(uint160(entries[i] >> 96)), uint96(entries[i]));
            total += weights[i];
        }
        address pointer = _writeData(abi.encodePacked((n << 128) | total, entries, origin));
        address commitments = _writeData(abi.encodePacked(set.commitments));
        if (pointer == address(0) || commitments == address(0))
            revert RegistrySetStoreFailed(federationId, epoch);
        _sets[federationId][epoch] = pointer;
        _commitments[federationId][epoch] = commitments;
        Federation storage f = _federations[federationId];
        (f.epoch, f.currentSet) = (epoch, pointer);
        _writeDirectory();
        emit ValidatorSetRotated(federationId, epoch, validators, weights, set.commitments);
    }

    /// @dev Checks a set and returns it sorted by ascending validator, commitments moved along.
    function _sortedSet(
        address[] calldata validators,
        uint96[] calldata weights,
        bytes32[] calldata keyCommitments
    ) private pure returns (SortedSet memory set) {
        uint256 n = validators.length;
        if (n != weights.length) revert RegistryValidatorSetLengthMismatch(n, weights.length);
        if (n != keyCommitments.length) revert RegistryKeyCommitmentsLengthMismatch(n, keyCommitments.length);
        if (n == 0 || n > MAX_VALIDATORS) revert RegistryValidatorSetSizeInvalid(n, MAX_VALIDATORS);
        set.entries = new uint256[](n);
        set.commitments = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            if (validators[i] == address(0)) revert RegistryValidatorZero(i);
            if (weights[i] == 0) revert RegistryValidatorWeightZero(validators[i]);
            if (keyCommitments[i] == 0) revert RegistryKeyCommitmentZero(validators[i]);
            uint256 entry = (uint256(uint160(validators[i])) << 96) | weights[i];
            // Insertion sort: n <= MAX_VALIDATORS and this runs only on registrations and rotations.
            uint256 j = i;
            while (j > 0 && set.entries[j - 1] > entry) {
                (set.entries[j], set.commitments[j]) = (set.entries[j - 1], set.commitments[j - 1]);
                --j;
            }
            (set.entries[j], set.commitments[j]) = (entry, keyCommitments[i]);
        }
        for (uint256 i = 1; i < n; ++i) {
            if (set.entries[i] >> 96 == set.entries[i - 1] >> 96)
                revert RegistryValidatorDuplicated(address(uint160(set.entries[i] >> 96)));
        }
        for (uint256 i = 1; i < n; ++i) {
            for (uint256 j = 0; j < i; ++j) {
                if (keyCommitments[i] == keyCommitments[j])
                    revert RegistryKeyCommitmentDuplicated(keyCommitments[i]);
            }
        }
    }

    /// @dev keccak256(abi.encode(validators, weights, keyCommitments)) of a sorted set.
    function _hashSet(SortedSet memory set) private pure returns (bytes32) {
        uint256 n = set.entries.length;
        address[] memory validators = new address[](n);
        uint96[] memory weights = new uint96[](n);
        for (uint256 i = 0; i < n; ++i) {
            (validators[i], weights[i]) = (address(uint160(set.entries[i] >> 96)), uint96(set.entries[i]));
        }
        return keccak256(abi.encode(validators, weights, set.commitments));
    }

    /// @dev Reverts unless `signatures` recover strictly ascending validators of the outgoing `set`
    /// holding > 2/3 of its weight.
    function _checkRotationQuorum(
        bytes32 federationId,
        uint64 outgoing,
        bytes32 digest,
        bytes[] calldata signatures,
        bytes memory set
    ) private pure {
        uint256 header = _wordAt(set, 0);
        uint256 count = header >> 128;
        uint256 j = 0; // cursor over the set's entries: signers and entries both ascend
        uint256 signedWeight = 0;
        address previous = address(0);
        for (uint256 k = 0; k < signatures.length; ++k) {
            address signer = _recover(k, digest, signatures[k]);
            if (signer == previous) revert RegistryRotationSignerDuplicated(signer);
            if (signer < previous) revert RegistryRotationSignersNotAscending(previous, signer);
            uint256 entry = 0;
            while (j < count) {
                entry = _wordAt(set, 32 * (j + 1));
                if (!(address(uint160(entry >> 96)) < signer)) break;
                ++j;
            }
            if (j == count || address(uint160(entry >> 96)) != signer)
                revert RegistryRotationSignerUnknown(federationId, outgoing, signer);
            signedWeight += uint96(entry);
            ++j;
            previous = signer;
        }
        uint256 total = uint128(header);
        if (!(3 * signedWeight > 2 * total))
            revert RegistryRotationQuorumNotReached(federationId, signedWeight, total);
    }

    /// @dev Recovers the signer of a 65-byte low-s signature r || s || v; reverts on any defect.
    function _recover(
        uint256 index,
        bytes32 digest,
        bytes calldata sig
    ) private pure returns (address signer) {
        if (sig.length != 65) revert RegistryRotationSignatureLengthInvalid(index, sig.length);
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := calldataload(sig.offset)
            s := calldataload(add(sig.offset, 0x20))
            v := byte(0, calldataload(add(sig.offset, 0x40)))
        }
        if (uint256(s) > _HALF_ORDER) revert RegistryRotationSignatureMalleable(index);
        // ecrecover yields address(0) for v outside {27, 28} and for r, s that are not a valid signature.
        signer = ecrecover(digest, v, r, s);
        if (signer == address(0)) revert RegistryRotationSignatureInvalid(index);
    }

    /// @dev Reverts unless the origin is 1..255 bytes of printable ASCII without spaces.
    function _checkOrigin(string calldata origin) private pure {
        bytes calldata b = bytes(origin);
        if (b.length == 0 || b.length > 255) revert RegistryOriginInvalid(origin);
        for (uint256 i = 0; i < b.length; ++i) {
            if (b[i] < 0x21 || b[i] > 0x7e) revert RegistryOriginInvalid(origin);
        }
    }

    /// @dev Deploys `data` as the code of a new contract, behind a STOP byte so it can never run.
    function _writeData(bytes memory data) private returns (address pointer) {
        // Init code: PUSH2 len, DUP1, PUSH1 10, RETURNDATASIZE, CODECOPY, RETURNDATASIZE, RETURN.
        bytes memory init = abi.encodePacked(hex"61", uint16(data.length + 1), hex"80600a3d393df300", data);
        assembly ("memory-safe") {
            pointer := create(0, add(init, 0x20), mload(init))
        }
    }

    /// @dev Reads a data contract written by `_writeData`; empty for the zero address.
    function _readSet(address pointer) private view returns (bytes memory data) {
        if (pointer == address(0)) return data;
        uint256 size = pointer.code.length - 1; // data contracts always hold the STOP byte
        data = new bytes(size);
        assembly ("memory-safe") {
            extcodecopy(pointer, add(data, 0x20), 1, size)
        }
    }

    /// @dev The 32-byte word of `data` at byte offset `offset`.
    function _wordAt(bytes memory data, uint256 offset) private pure returns (uint256 word) {
        assembly ("memory-safe") {
            word := mload(add(add(data, 0x20), offset))
        }
    }
}
