// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IValidatorRegistry} from "./interfaces/IValidatorRegistry.sol";

/// @title ValidatorRegistry
/// @notice Validator sets per federation and epoch, managed by GOVERNANCE_ROLE.
/// @dev Each (federation, epoch) set is written once as the code of a tiny data contract (the SSTORE2
/// pattern), so the anchor reads a whole set with one EXTCODECOPY instead of one SLOAD per validator.
contract ValidatorRegistry is AccessControl, IValidatorRegistry {
    /// @notice Role allowed to register federations and rotate validator sets.
    bytes32 public constant GOVERNANCE_ROLE = keccak256("GOVERNANCE_ROLE");

    /// @notice Largest validator set accepted.
    uint256 public constant MAX_VALIDATORS = 256;

    struct Federation {
        uint64 epoch;
        address currentSet;
        uint32 index; // position in _federationIds (registration order)
    }

    bytes32[] private _federationIds;
    mapping(bytes32 federationId => Federation) private _federations;
    mapping(bytes32 federationId => mapping(uint64 epoch => address setData)) private _sets;

    /// @param governance Account given GOVERNANCE_ROLE and DEFAULT_ADMIN_ROLE.
    constructor(address governance) {
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
        _grantRole(GOVERNANCE_ROLE, governance);
    }

    /// @inheritdoc IValidatorRegistry
    function registerFederation(
        string calldata origin,
        address[] calldata validators,
        uint96[] calldata weights
    ) external onlyRole(GOVERNANCE_ROLE) returns (bytes32 federationId) {
        _checkOrigin(origin);
        federationId = sha256(bytes(origin));
        if (_federations[federationId].epoch != 0) revert RegistryFederationExists(federationId);
        _federations[federationId].index = uint32(_federationIds.length);
        _federationIds.push(federationId);
        emit FederationRegistered(federationId, origin);
        _storeSet(federationId, 1, bytes(origin), validators, weights);
    }

    /// @inheritdoc IValidatorRegistry
    function rotateValidators(
        bytes32 federationId,
        address[] calldata validators,
        uint96[] calldata weights
    ) external onlyRole(GOVERNANCE_ROLE) returns (uint64 epoch) {
        Federation storage f = _federations[federationId];
        if (f.epoch == 0) revert RegistryFederationUnknown(federationId);
        epoch = f.epoch + 1;
        _storeSet(federationId, epoch, bytes(originOf(federationId)), validators, weights);
    }

    /// @inheritdoc IValidatorRegistry
    function federationIds() external view returns (bytes32[] memory ids) {
        return _federationIds;
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

    /// @dev Validates, sorts and writes a set as a data contract, then makes it current.
    function _storeSet(
        bytes32 federationId,
        uint64 epoch,
        bytes memory origin,
        address[] calldata validators,
        uint96[] calldata weights
    ) private {
        uint256[] memory entries = _sortedEntries(validators, weights);
        uint256 total = 0;
        for (uint256 i = 0; i < entries.length; ++i) total += uint96(entries[i]);
        bytes memory data = abi.encodePacked((entries.length << 128) | total, entries, origin);
        address pointer = _writeData(data);
        if (pointer == address(0)) revert RegistrySetStoreFailed(federationId, epoch);
        _sets[federationId][epoch] = pointer;
        Federation storage f = _federations[federationId];
        (f.epoch, f.currentSet) = (epoch, pointer);
        (address[] memory sortedValidators, uint96[] memory sortedWeights) = validatorsOf(
            federationId,
            epoch
        );
        emit ValidatorSetRotated(federationId, epoch, sortedValidators, sortedWeights);
    }

    /// @dev Checks a set and returns its entries `validator << 96 | weight`, ascending by validator.
    function _sortedEntries(
        address[] calldata validators,
        uint96[] calldata weights
    ) private pure returns (uint256[] memory entries) {
        uint256 n = validators.length;
        if (n != weights.length) revert RegistryValidatorSetLengthMismatch(n, weights.length);
        if (n == 0 || n > MAX_VALIDATORS) revert RegistryValidatorSetSizeInvalid(n, MAX_VALIDATORS);
        entries = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            if (validators[i] == address(0)) revert RegistryValidatorZero(i);
            if (weights[i] == 0) revert RegistryValidatorWeightZero(validators[i]);
            uint256 entry = (uint256(uint160(validators[i])) << 96) | weights[i];
            // Insertion sort: n <= MAX_VALIDATORS and this runs only on governance calls.
            uint256 j = i;
            while (j > 0 && entries[j - 1] > entry) {
                entries[j] = entries[j - 1];
                --j;
            }
            entries[j] = entry;
        }
        for (uint256 i = 1; i < n; ++i) {
            if (entries[i] >> 96 == entries[i - 1] >> 96)
                revert RegistryValidatorDuplicated(address(uint160(entries[i] >> 96)));
        }
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
