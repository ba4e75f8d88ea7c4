// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IGlobalProofAnchor
/// @notice Anchors one global root per nexus round over every registered federation's checkpoint, after
/// checking on-chain that each federation's log only grew (RFC 9162 consistency proof) and that validators
/// holding strictly more than 2/3 of the federation's weight signed the checkpoint (EIP-712).
/// @dev EIP-712 domain: name "AMP GlobalProofAnchor", version "1", chainId, this contract. Signed type:
/// `Checkpoint(bytes32 federationId,uint64 epoch,uint64 round,uint64 treeSize,bytes32 rootHash)`.
/// Global root of round k: SHA-256("amp/global-root/v1\n" || u64be(k) || for each federation in strictly
/// ascending id order: u8(len(origin)) || origin || u64be(treeSize) || rootHash).
interface IGlobalProofAnchor {
    /// @notice One federation's checkpoint for a round, with its proof and signatures.
    /// @param federationId SHA-256(utf8(origin)).
    /// @param epoch The federation's current validator-set epoch.
    /// @param treeSize Size of the federation log.
    /// @param rootHash RFC 9162 root of the federation log; never zero.
    /// @param consistencyProof From the federation's last anchored checkpoint; empty for its first one.
    /// @param signatures 65-byte EIP-712 signatures (r || s || v), recovered signers strictly ascending.
    struct CheckpointSubmission {
        bytes32 federationId;
        uint64 epoch;
        uint64 treeSize;
        bytes32 rootHash;
        bytes32[] consistencyProof;
        bytes[] signatures;
    }

    /// @notice A round's global root was anchored.
    /// @param round The nexus round.
    /// @param globalRoot The round's global root.
    /// @param submitter The account that sent the transaction.
    /// @param record The round's record, whose keccak256 is `recordCommitmentOf(round)`:
    /// u64be(blockNumber) || u64be(timestamp) || per federation, ascending id: rootHash || u64be(treeSize) ||
    /// u64be(epoch). Readers pass it back to `anchorOf`, `checkpointOf`, `latestCheckpoint` and
    /// `verifyEventInclusion`; the next `anchorRound` passes it as `previousRecord`.
    event GlobalRootAnchored(
        uint64 indexed round,
        bytes32 indexed globalRoot,
        address indexed submitter,
        bytes record
    );

    /// @notice `previousRecord` is not the record committed for round - 1 (or is not empty in round 1).
    /// @param round The round being anchored.
    error AnchorPreviousRecordMismatch(uint64 round);

    /// @notice A record given to a read function is not the one committed for the round.
    /// @param round The round.
    error AnchorRecordMismatch(uint64 round);

    /// @notice The round is not the next one.
    /// @param expected The next round.
    /// @param got The round submitted.
    error AnchorRoundOutOfOrder(uint64 expected, uint64 got);

    /// @notice No federation is registered yet, so there is nothing to anchor.
    error AnchorNoFederations();

    /// @notice The submission does not hold one checkpoint per registered federation.
    /// @param registered Number of registered federations.
    /// @param submitted Number of checkpoints submitted.
    error AnchorFederationCountMismatch(uint256 registered, uint256 submitted);

    /// @notice Federation ids are not strictly ascending.
    /// @param previous The id before.
    /// @param got The id that is not above it.
    error AnchorFederationsNotAscending(bytes32 previous, bytes32 got);

    /// @notice The federation is not registered.
    /// @param federationId The unknown id.
    error AnchorFederationUnknown(bytes32 federationId);

    /// @notice The checkpoint was not signed in the federation's current epoch.
    /// @param federationId The federation.
    /// @param current The current epoch.
    /// @param got The epoch submitted.
    error AnchorEpochNotCurrent(bytes32 federationId, uint64 current, uint64 got);

    /// @notice The root hash is zero.
    /// @param federationId The federation.
    error AnchorRootZero(bytes32 federationId);

    /// @notice The new tree is smaller than the anchored one.
    /// @param federationId The federation.
    /// @param anchoredSize Size of the last anchored checkpoint.
    /// @param newSize Size submitted.
    error AnchorLogShrank(bytes32 federationId, uint64 anchoredSize, uint64 newSize);

    /// @notice The consistency proof does not show that the new tree extends the anchored one.
    /// @param federationId The federation.
    /// @param anchoredSize Size of the last anchored checkpoint (0 for none).
    /// @param newSize Size submitted.
    error AnchorConsistencyProofInvalid(bytes32 federationId, uint64 anchoredSize, uint64 newSize);

    /// @notice A signature is not exactly 65 bytes.
    /// @param federationId The federation.
    /// @param index Position of the signature.
    /// @param length Its length.
    error AnchorSignatureLengthInvalid(bytes32 federationId, uint256 index, uint256 length);

    /// @notice A signature has s in the upper half of the curve order.
    /// @param federationId The federation.
    /// @param index Position of the signature.
    error AnchorSignatureMalleable(bytes32 federationId, uint256 index);

    /// @notice A signature recovers no address (bad v, or not a point).
    /// @param federationId The federation.
    /// @param index Position of the signature.
    error AnchorSignatureInvalid(bytes32 federationId, uint256 index);

    /// @notice The same signer appears twice.
    /// @param federationId The federation.
    /// @param signer The repeated signer.
    error AnchorSignerDuplicated(bytes32 federationId, address signer);

    /// @notice Recovered signers are not strictly ascending.
    /// @param federationId The federation.
    /// @param previous The signer before.
    /// @param signer The signer below it.
    error AnchorSignersNotAscending(bytes32 federationId, address previous, address signer);

    /// @notice A signer is not a validator of the federation in the epoch.
    /// @param federationId The federation.
    /// @param epoch The epoch.
    /// @param signer The recovered signer.
    error AnchorSignerUnknown(bytes32 federationId, uint64 epoch, address signer);

    /// @notice The signers hold at most 2/3 of the federation's weight.
    /// @param federationId The federation.
    /// @param signedWeight Weight of the valid signers.
    /// @param totalWeight Total weight of the epoch's set.
    error AnchorQuorumNotReached(bytes32 federationId, uint256 signedWeight, uint256 totalWeight);

    /// @notice The supplied global root differs from the one recomputed on-chain.
    /// @param computed The recomputed root.
    /// @param supplied The root submitted.
    error AnchorGlobalRootMismatch(bytes32 computed, bytes32 supplied);

    /// @notice Anchors nexus round `round`. Anyone may submit.
    /// @param round Must equal `nextRound()`.
    /// @param globalRoot Must equal the global root recomputed from `checkpoints`.
    /// @param previousRecord The record of round - 1 from its `GlobalRootAnchored` log; empty for round 1.
    /// @param checkpoints One per registered federation, in strictly ascending federationId.
    function anchorRound(
        uint64 round,
        bytes32 globalRoot,
        bytes calldata previousRecord,
        CheckpointSubmission[] calldata checkpoints
    ) external;

    /// @notice The round the next `anchorRound` must carry; rounds start at 1.
    /// @return round The next round.
    function nextRound() external view returns (uint64 round);

    /// @notice keccak256 of a round's record (see `GlobalRootAnchored`); zero when the round is not anchored.
    /// @param round The round.
    /// @return commitment The commitment.
    function recordCommitmentOf(uint64 round) external view returns (bytes32 commitment);

    /// @notice The anchor of a round; all zero when the round is not anchored.
    /// @dev Reverts with `AnchorRecordMismatch` when the round is anchored and `record` is not its record.
    /// @param round The round.
    /// @param record The round's record, from its `GlobalRootAnchored` log.
    /// @return globalRoot The round's global root.
    /// @return blockNumber Block of the anchoring transaction.
    /// @return timestamp Timestamp of that block.
    function anchorOf(
        uint64 round,
        bytes calldata record
    ) external view returns (bytes32 globalRoot, uint64 blockNumber, uint64 timestamp);

    /// @notice A federation's checkpoint anchored in a round; all zero when there is none.
    /// @dev Reverts with `AnchorRecordMismatch` when the round is anchored and `record` is not its record.
    /// @param round The round.
    /// @param federationId The federation.
    /// @param record The round's record, from its `GlobalRootAnchored` log.
    /// @return epoch Validator-set epoch the checkpoint was signed in.
    /// @return treeSize Tree size.
    /// @return rootHash Root hash.
    function checkpointOf(
        uint64 round,
        bytes32 federationId,
        bytes calldata record
    ) external view returns (uint64 epoch, uint64 treeSize, bytes32 rootHash);

    /// @notice A federation's most recently anchored checkpoint; all zero when there is none. Every
    /// registered federation is in every round, so it is in round `nextRound() - 1` if anywhere.
    /// @dev Reverts with `AnchorRecordMismatch` unless `latestRecord` is the record of `nextRound() - 1`.
    /// @param federationId The federation.
    /// @param latestRecord The record of round `nextRound() - 1` (ignored when nothing is anchored).
    /// @return round The round it was anchored in.
    /// @return treeSize Tree size.
    /// @return rootHash Root hash.
    function latestCheckpoint(
        bytes32 federationId,
        bytes calldata latestRecord
    ) external view returns (uint64 round, uint64 treeSize, bytes32 rootHash);

    /// @notice Checks an RFC 9162 inclusion proof of an event leaf against a federation's anchored checkpoint.
    /// @dev Reverts with `AnchorRecordMismatch` when the round is anchored and `record` is not its record.
    /// @param round The round.
    /// @param federationId The federation.
    /// @param record The round's record, from its `GlobalRootAnchored` log.
    /// @param leafHash SHA-256(0x00 || JCS(event)).
    /// @param index Leaf index in the federation log.
    /// @param proof Inclusion proof against the anchored tree size.
    /// @return True when the leaf is in the anchored tree; false otherwise or when nothing is anchored.
    function verifyEventInclusion(
        uint64 round,
        bytes32 federationId,
        bytes calldata record,
        bytes32 leafHash,
        uint256 index,
        bytes32[] calldata proof
    ) external view returns (bool);

    /// @notice The EIP-712 digest validators sign for a checkpoint.
    /// @param federationId The federation.
    /// @param epoch The validator-set epoch.
    /// @param round The nexus round.
    /// @param treeSize Tree size.
    /// @param rootHash Root hash.
    /// @return The digest.
    function checkpointDigest(
        bytes32 federationId,
        uint64 epoch,
        uint64 round,
        uint64 treeSize,
        bytes32 rootHash
    ) external view returns (bytes32);
}
