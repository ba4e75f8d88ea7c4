// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IValidatorRegistry
/// @notice Per federation, the validators (EVM addresses), their integer weights and a commitment to each
/// validator's ML-DSA-65 public key, in numbered epochs. Governance registers new federations (trust on
/// first use); a federation's set is replaced only with EIP-712 signatures of > 2/3 of the outgoing
/// epoch's weight, or by a recovery rotation governance scheduled at least the recovery delay earlier.
/// Every epoch stays readable so that old anchors remain checkable.
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
    /// @param keyCommitments SHA-256 of each validator's ML-DSA-65 public key, in the same order.
    event ValidatorSetRotated(
        bytes32 indexed federationId,
        uint64 indexed epoch,
        address[] validators,
        uint96[] weights,
        bytes32[] keyCommitments
    );

    /// @notice Governance scheduled a recovery rotation, usable from `executableAt` on.
    /// @param federationId The federation.
    /// @param epoch The epoch the recovery would create.
    /// @param setHash `setHash` of the new set.
    /// @param executableAt Earliest block timestamp at which `executeRecovery` succeeds.
    event RecoveryScheduled(
        bytes32 indexed federationId,
        uint64 indexed epoch,
        bytes32 setHash,
        uint64 indexed executableAt
    );

    /// @notice A pending recovery was cancelled (by governance, or because the quorum rotated first).
    /// @param federationId The federation.
    /// @param epoch The epoch the recovery would have created.
    /// @param setHash `setHash` of the cancelled set.
    event RecoveryCancelled(bytes32 indexed federationId, uint64 indexed epoch, bytes32 setHash);

    /// @notice A recovery rotation took effect; `epoch` is a recovery epoch (`isRecoveryEpoch`).
    /// @param federationId The federation.
    /// @param epoch The new epoch.
    event RecoveryExecuted(bytes32 indexed federationId, uint64 indexed epoch);

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

    /// @notice The key commitments do not match the validators in number.
    /// @param validators Number of validators.
    /// @param keyCommitments Number of key commitments.
    error RegistryKeyCommitmentsLengthMismatch(uint256 validators, uint256 keyCommitments);

    /// @notice A validator's ML-DSA key commitment is zero.
    /// @param validator The validator.
    error RegistryKeyCommitmentZero(address validator);

    /// @notice Two validators of one set commit to the same ML-DSA key.
    /// @param keyCommitment The repeated commitment.
    error RegistryKeyCommitmentDuplicated(bytes32 keyCommitment);

    /// @notice A rotation signature is not 65 bytes.
    /// @param index Position of the signature.
    /// @param length Its length.
    error RegistryRotationSignatureLengthInvalid(uint256 index, uint256 length);

    /// @notice A rotation signature has s above secp256k1n/2 (the malleable twin of a low-s signature).
    /// @param index Position of the signature.
    error RegistryRotationSignatureMalleable(uint256 index);

    /// @notice A rotation signature does not recover to any address.
    /// @param index Position of the signature.
    error RegistryRotationSignatureInvalid(uint256 index);

    /// @notice A rotation signer appears twice.
    /// @param signer The repeated signer.
    error RegistryRotationSignerDuplicated(address signer);

    /// @notice Rotation signers are not strictly ascending.
    /// @param previous The signer before.
    /// @param signer The signer out of order.
    error RegistryRotationSignersNotAscending(address previous, address signer);

    /// @notice A rotation signer is not a validator of the outgoing epoch.
    /// @param federationId The federation.
    /// @param epoch The outgoing epoch.
    /// @param signer The recovered signer.
    error RegistryRotationSignerUnknown(bytes32 federationId, uint64 epoch, address signer);

    /// @notice The rotation signers hold no more than 2/3 of the outgoing epoch's weight.
    /// @param federationId The federation.
    /// @param signedWeight Weight of the signers.
    /// @param totalWeight Total weight of the outgoing epoch.
    error RegistryRotationQuorumNotReached(bytes32 federationId, uint256 signedWeight, uint256 totalWeight);

    /// @notice A recovery is already pending for this federation (cancel it first).
    /// @param federationId The federation.
    /// @param epoch The epoch of the pending recovery.
    error RegistryRecoveryPending(bytes32 federationId, uint64 epoch);

    /// @notice No recovery is pending for this federation.
    /// @param federationId The federation.
    error RegistryRecoveryNotPending(bytes32 federationId);

    /// @notice The recovery delay has not passed yet.
    /// @param federationId The federation.
    /// @param executableAt Earliest timestamp at which the recovery may execute.
    /// @param now The current block timestamp.
    error RegistryRecoveryTooEarly(bytes32 federationId, uint64 executableAt, uint64 now);

    /// @notice The set given to `executeRecovery` is not the one scheduled.
    /// @param federationId The federation.
    /// @param scheduled `setHash` of the scheduled set.
    /// @param given `setHash` of the set given.
    error RegistryRecoverySetMismatch(bytes32 federationId, bytes32 scheduled, bytes32 given);

    /// @notice Writing the set's data contract failed (CREATE returned no address).
    /// @param federationId The federation.
    /// @param epoch The epoch being written.
    error RegistrySetStoreFailed(bytes32 federationId, uint64 epoch);

    /// @notice The directory of every current set would exceed what one data contract holds.
    /// @param size Bytes the directory would need.
    /// @param max `MAX_DIRECTORY_BYTES`.
    error RegistryDirectoryTooLarge(uint256 size, uint256 max);

    /// @notice Registers a federation with its first validator set, in epoch 1 (trust on first use).
    /// @dev Only GOVERNANCE_ROLE. The set is stored sorted by address; the order of the call does not matter.
    /// @param origin The federation's checkpoint origin, 1..255 bytes of printable ASCII without spaces.
    /// @param validators Validator addresses, distinct and non-zero.
    /// @param weights Positive integer weight of each validator.
    /// @param keyCommitments SHA-256 of each validator's ML-DSA-65 public key, distinct and non-zero.
    /// @return federationId SHA-256(utf8(origin)).
    function registerFederation(
        string calldata origin,
        address[] calldata validators,
        uint96[] calldata weights,
        bytes32[] calldata keyCommitments
    ) external returns (bytes32 federationId);

    /// @notice Replaces a federation's validator set with the outgoing quorum's consent, starting the next epoch.
    /// @dev Anyone may submit. `signatures` are 65-byte low-s EIP-712 signatures of `Rotation(federationId,
    /// epoch = current + 1, setHash(validators, weights, keyCommitments))` by validators of the current
    /// epoch, signers strictly ascending, holding > 2/3 of its weight. Cancels a pending recovery.
    /// @param federationId The federation.
    /// @param validators Validator addresses, distinct and non-zero.
    /// @param weights Positive integer weight of each validator.
    /// @param keyCommitments SHA-256 of each validator's ML-DSA-65 public key.
    /// @param signatures The outgoing validators' signatures.
    /// @return epoch The new current epoch.
    function rotateValidators(
        bytes32 federationId,
        address[] calldata validators,
        uint96[] calldata weights,
        bytes32[] calldata keyCommitments,
        bytes[] calldata signatures
    ) external returns (uint64 epoch);

    /// @notice Schedules a recovery rotation (no quorum needed), usable after `recoveryDelay()`.
    /// @dev Only GOVERNANCE_ROLE; one pending recovery per federation. Visible through `pendingRecovery`.
    /// @param federationId The federation.
    /// @param validators Validator addresses, distinct and non-zero.
    /// @param weights Positive integer weight of each validator.
    /// @param keyCommitments SHA-256 of each validator's ML-DSA-65 public key.
    /// @return executableAt Earliest block timestamp at which `executeRecovery` succeeds.
    function scheduleRecovery(
        bytes32 federationId,
        address[] calldata validators,
        uint96[] calldata weights,
        bytes32[] calldata keyCommitments
    ) external returns (uint64 executableAt);

    /// @notice Cancels a pending recovery.
    /// @dev Only GOVERNANCE_ROLE.
    /// @param federationId The federation.
    function cancelRecovery(bytes32 federationId) external;

    /// @notice Executes a pending recovery once its delay has passed: the scheduled set becomes the next epoch.
    /// @dev Only GOVERNANCE_ROLE. The set must be the scheduled one (same `setHash`).
    /// @param federationId The federation.
    /// @param validators Validator addresses as scheduled.
    /// @param weights Weights as scheduled.
    /// @param keyCommitments Key commitments as scheduled.
    /// @return epoch The new current epoch.
    function executeRecovery(
        bytes32 federationId,
        address[] calldata validators,
        uint96[] calldata weights,
        bytes32[] calldata keyCommitments
    ) external returns (uint64 epoch);

    /// @notice Seconds between scheduling a recovery and its earliest execution, fixed at deployment.
    /// @return delay The delay in seconds.
    function recoveryDelay() external view returns (uint64 delay);

    /// @notice The pending recovery of a federation; all zero when none.
    /// @param federationId The federation.
    /// @return epoch The epoch it would create.
    /// @return setHash `setHash` of the scheduled set.
    /// @return executableAt Earliest block timestamp of execution.
    function pendingRecovery(
        bytes32 federationId
    ) external view returns (uint64 epoch, bytes32 setHash, uint64 executableAt);

    /// @notice Whether an epoch was created by a recovery rotation (not by the outgoing quorum).
    /// @param federationId The federation.
    /// @param epoch The epoch.
    /// @return recovered True for a recovery epoch.
    function isRecoveryEpoch(bytes32 federationId, uint64 epoch) external view returns (bool recovered);

    /// @notice The hash a rotation commits to: keccak256(abi.encode(validators, weights, keyCommitments)),
    /// the three arrays sorted together by ascending validator address.
    /// @param validators Validator addresses (any order).
    /// @param weights Weight of each validator.
    /// @param keyCommitments Key commitment of each validator.
    /// @return hash The set hash.
    function setHash(
        address[] calldata validators,
        uint96[] calldata weights,
        bytes32[] calldata keyCommitments
    ) external pure returns (bytes32 hash);

    /// @notice The EIP-712 digest outgoing validators sign to move `federationId` to `epoch` with set `setHash_`.
    /// @param federationId The federation.
    /// @param epoch The new epoch (current + 1).
    /// @param setHash_ `setHash` of the new set.
    /// @return digest The digest.
    function rotationDigest(
        bytes32 federationId,
        uint64 epoch,
        bytes32 setHash_
    ) external view returns (bytes32 digest);

    /// @notice Key commitments of an epoch's validators, in the order of `validatorsOf`; empty when unknown.
    /// @param federationId The federation.
    /// @param epoch The epoch.
    /// @return keyCommitments SHA-256 of each validator's ML-DSA-65 public key.
    function keyCommitmentsOf(
        bytes32 federationId,
        uint64 epoch
    ) external view returns (bytes32[] memory keyCommitments);

    /// @notice All registered federations, in registration order.
    /// @return ids The federation ids.
    function federationIds() external view returns (bytes32[] memory ids);

    /// @notice Number of registered federations.
    /// @return count The number of federations.
    function federationCount() external view returns (uint256 count);

    /// @notice The directory: a data contract (code = STOP byte || data) holding every registered
    /// federation's current set, rewritten on every registration, rotation and recovery. Data: per federation,
    /// ascending id, `id || u64be(epoch) || u32be(index) || u32be(len) || set`, where `index` is the
    /// registration position and `set` the `len` bytes `currentSetOf` returns. The anchor reads it once a
    /// round instead of calling `currentSetOf` per federation.
    /// @return pointer The directory's address; zero before the first registration.
    function directory() external view returns (address pointer);

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
