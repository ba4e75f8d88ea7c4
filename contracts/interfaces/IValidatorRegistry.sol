// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IValidatorRegistry
/// @notice Per federation, the validators (EVM addresses) and their integer weights, in numbered epochs.
/// Governance registers federations and rotates their validator sets; every epoch stays readable so that
/// old anchors remain checkable.
interface IValidatorRegistry {
    /// @notice A federation was registered with its first validator set (epoch 1).
    /// @param federationId SHA-256 of the origin's UTF-8 bytes.
    /// @param origin The federation's checkpoint origin.
    event FederationRegistered(bytes32 indexed federationId, string origin);

    /// @notice A federation's validator set was replaced (also emitted for epoch 1 at registration).
    /// @param federationId The federation.
    /// @param epoch The epoch the set is valid in.
    /// @param validators Validator addresses, strictly ascending.
    /// @param weights Weight of each validator, in the same order.
    event ValidatorSetRotated(
        bytes32 indexed federationId,
        uint64 indexed epoch,
        address[] validators,
        uint96[] weights
    );

    /// @notice The origin is empty, longer than 255 bytes or holds a byte outside printable ASCII 0x21..0x7e.
    /// @param origin The rejected origin.
    error RegistryOriginInvalid(string origin);

    /// @notice A federation with this id is already registered.
    /// @param federationId The existing federation.
    error RegistryFederationExists(bytes32 federationId);

    /// @notice No federation with this id is registered.
    /// @param federationId The unknown id.
    error RegistryFederationUnknown(bytes32 federationId);

    /// @notice Validators and weights have different lengths.
    /// @param validators Number of validators.
    /// @param weights Number of weights.
    error RegistryValidatorSetLengthMismatch(uint256 validators, uint256 weights);

    /// @notice The validator set is empty or larger than the maximum.
    /// @param size The size given.
    /// @param max The largest size accepted.
    error RegistryValidatorSetSizeInvalid(uint256 size, uint256 max);

    /// @notice A validator address is the zero address.
    /// @param index Position of the validator in the call.
    error RegistryValidatorZero(uint256 index);

    /// @notice A validator has weight zero.
    /// @param validator The validator.
    error RegistryValidatorWeightZero(address validator);

    /// @notice A validator appears twice in one set.
    /// @param validator The repeated validator.
    error RegistryValidatorDuplicated(address validator);

    /// @notice Writing the set's data contract failed (CREATE returned no address).
    /// @param federationId The federation.
    /// @param epoch The epoch being written.
    error RegistrySetStoreFailed(bytes32 federationId, uint64 epoch);

    /// @notice Registers a federation with its first validator set, in epoch 1.
    /// @dev Only GOVERNANCE_ROLE. The set is stored sorted by address; the order of the call does not matter.
    /// @param origin The federation's checkpoint origin, 1..255 bytes of printable ASCII without spaces.
    /// @param validators Validator addresses, distinct and non-zero.
    /// @param weights Positive integer weight of each validator.
    /// @return federationId SHA-256(utf8(origin)).
    function registerFederation(
        string calldata origin,
        address[] calldata validators,
        uint96[] calldata weights
    ) external returns (bytes32 federationId);

    /// @notice Replaces a federation's validator set, starting the next epoch.
    /// @dev Only GOVERNANCE_ROLE. Earlier epochs stay readable.
    /// @param federationId The federation.
    /// @param validators Validator addresses, distinct and non-zero.
    /// @param weights Positive integer weight of each validator.
    /// @return epoch The new current epoch.
    function rotateValidators(
        bytes32 federationId,
        address[] calldata validators,
        uint96[] calldata weights
    ) external returns (uint64 epoch);

    /// @notice All registered federations, in registration order.
    /// @return ids The federation ids.
    function federationIds() external view returns (bytes32[] memory ids);

    /// @notice Number of registered federations.
    /// @return count The number of federations.
    function federationCount() external view returns (uint256 count);

    /// @notice The origin a federation was registered with; empty when unknown.
    /// @param federationId The federation.
    /// @return origin The origin.
    function originOf(bytes32 federationId) external view returns (string memory origin);

    /// @notice A federation's current epoch; 0 when unknown.
    /// @param federationId The federation.
    /// @return epoch The current epoch.
    function currentEpoch(bytes32 federationId) external view returns (uint64 epoch);

    /// @notice A validator's weight in an epoch; 0 when it is not in that set.
    /// @param federationId The federation.
    /// @param epoch The epoch.
    /// @param validator The validator address.
    /// @return weight The weight.
    function weightOf(
        bytes32 federationId,
        uint64 epoch,
        address validator
    ) external view returns (uint96 weight);

    /// @notice Sum of all validator weights in an epoch; 0 when unknown.
    /// @param federationId The federation.
    /// @param epoch The epoch.
    /// @return total The total weight.
    function totalWeight(bytes32 federationId, uint64 epoch) external view returns (uint256 total);

    /// @notice The validator set of an epoch, sorted by address; empty when unknown.
    /// @param federationId The federation.
    /// @param epoch The epoch.
    /// @return validators Validator addresses, strictly ascending.
    /// @return weights Weight of each validator.
    function validatorsOf(
        bytes32 federationId,
        uint64 epoch
    ) external view returns (address[] memory validators, uint96[] memory weights);

    /// @notice Everything the anchor needs about a federation's current set, in one call.
    /// @dev For an unknown federation all three are zero / empty. `packedSet` layout: word 0 =
    /// `count << 128 | totalWeight`; then `count` words `uint256(uint160(validator)) << 96 | weight`,
    /// validators strictly ascending; then the origin's bytes.
    /// @param federationId The federation.
    /// @return epoch The current epoch.
    /// @return index Position of the federation in `federationIds()` (registration order).
    /// @return packedSet The current validator set and origin, packed as described.
    function currentSetOf(
        bytes32 federationId
    ) external view returns (uint64 epoch, uint256 index, bytes memory packedSet);
}
