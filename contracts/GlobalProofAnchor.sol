// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IGlobalProofAnchor} from "./interfaces/IGlobalProofAnchor.sol";
import {IValidatorRegistry} from "./interfaces/IValidatorRegistry.sol";
import {GlobalRoot} from "./libraries/GlobalRoot.sol";
import {RoundRecord} from "./libraries/RoundRecord.sol";
import {RFC9162} from "./libraries/RFC9162.sol";

/// @title GlobalProofAnchor
/// @notice Stores one global root per nexus round after checking quorum signatures and log consistency.
/// @dev Storage, chosen for gas (docs/gas.md): one 32-byte commitment per anchored round, the keccak256 of the
/// round's record, which the anchor emits in `GlobalRootAnchored` instead of storing it:
///   u64 blockNumber || u64 timestamp || per federation, ascending id: rootHash || u64 treeSize || u64 epoch.
/// The next `anchorRound` and every reader supply the record as calldata, checked against the commitment.
/// Round k is anchored iff its commitment is set. The global root is not stored: reads recompute it.
/// Federations are never removed and every registered federation is in every round, so round k holds
/// exactly the first n_k federations in registration order. The current validator sets are read once a
/// round from the registry's directory (one data contract), not per federation.
contract GlobalProofAnchor is EIP712, IGlobalProofAnchor {
    /// @notice EIP-712 type hash of the signed checkpoint.
    // solhint-disable-next-line gas-small-strings
    bytes32 public constant CHECKPOINT_TYPEHASH = keccak256(
        "Checkpoint(bytes32 federationId,uint64 epoch,uint64 round,uint64 treeSize,bytes32 rootHash)"
    );

    /// @dev secp256k1n / 2: signatures with a larger s are the malleable twin of a low-s one.
    uint256 private constant _HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    IValidatorRegistry private immutable _REGISTRY;

    /// @dev keccak256 of each anchored round's record; zero for a round not anchored.
    mapping(uint64 round => bytes32 commitment) private _commitments;

    /// @dev Working state of one anchorRound call, kept in memory to stay clear of stack limits.
    struct Round {
        uint64 round;
        bytes previous; // record of round - 1, empty for round 1
        uint256 newBefore; // federations anchored for the first time, among those processed so far
        bytes preimage; // global-root preimage, see GlobalRoot
        bytes record; // this round's record, filled federation by federation
        bytes dir; // the registry's directory of current sets, see IValidatorRegistry.directory
        uint256 cursor; // byte offset of the next directory entry
    }

    /// @param registry_ The validator registry the signatures are checked against.
    constructor(IValidatorRegistry registry_) EIP712("AMP GlobalProofAnchor", "1") {
        _REGISTRY = registry_;
    }

    /// @notice The validator registry this anchor reads.
    /// @return The registry.
    function registry() external view returns (IValidatorRegistry) {
        return _REGISTRY;
    }

    /// @inheritdoc IGlobalProofAnchor
    function anchorRound(
        uint64 round,
        bytes32 globalRoot,
        bytes calldata previousRecord,
        CheckpointSubmission[] calldata checkpoints
    ) external {
        // Round k - 1 is committed and round k is not; round 1 has no previous record.
        bytes32 previousCommitment = round > 1 ? _commitments[round - 1] : bytes32(0);
        if (round == 0 || _commitments[round] != 0 || (round > 1 && previousCommitment == 0)) {
            revert AnchorRoundOutOfOrder(nextRound(), round);
        }
        if (round == 1 ? previousRecord.length != 0 : keccak256(previousRecord) != previousCommitment)
            revert AnchorPreviousRecordMismatch(round);
        bytes memory previous = previousRecord;
        bytes memory dir = RoundRecord.load(_REGISTRY.directory());
        uint256 registered = _countEntries(dir);
        if (registered == 0) revert AnchorNoFederations();
        if (checkpoints.length != registered)
            revert AnchorFederationCountMismatch(registered, checkpoints.length);
        for (uint256 i = 1; i < checkpoints.length; ++i) {
            if (!(checkpoints[i].federationId > checkpoints[i - 1].federationId)) {
                revert AnchorFederationsNotAscending(
                    checkpoints[i - 1].federationId,
                    checkpoints[i].federationId
                );
            }
        }

        Round memory r = Round({
            round: round,
            previous: previous,
            newBefore: 0,
            preimage: GlobalRoot.start(round, checkpoints.length),
            record: RoundRecord.create(checkpoints.length),
            dir: dir,
            cursor: 0
        });
        for (uint256 i = 0; i < checkpoints.length; ++i) _acceptCheckpoint(r, i, checkpoints[i]);

        bytes32 computed = GlobalRoot.hash(r.preimage);
        if (computed != globalRoot) revert AnchorGlobalRootMismatch(computed, globalRoot);
        _commitments[round] = keccak256(r.record);
        emit GlobalRootAnchored(round, globalRoot, msg.sender, r.record);
    }

    /// @inheritdoc IGlobalProofAnchor
    function nextRound() public view returns (uint64 round) {
        // Anchored rounds form the prefix 1..k-1; find k by doubling then bisecting.
        uint256 hi = 1;
        while (_commitments[uint64(hi)] != 0) hi <<= 1;
        uint256 lo = hi >> 1; // anchored (or 0)
        while (hi - lo > 1) {
            uint256 mid = (lo + hi) >> 1;
            if (_commitments[uint64(mid)] != 0) lo = mid;
            else hi = mid;
        }
        return uint64(hi);
    }

    /// @inheritdoc IGlobalProofAnchor
    function recordCommitmentOf(uint64 round) external view returns (bytes32 commitment) {
        return _commitments[round];
    }

    /// @inheritdoc IGlobalProofAnchor
    function anchorOf(
        uint64 round,
        bytes calldata record
    ) external view returns (bytes32 globalRoot, uint64 blockNumber, uint64 timestamp) {
        if (!_checkRecord(round, record)) return (0, 0, 0);
        bytes memory rec = record;
        bytes32[] memory ids = _federationsIn(rec);
        bytes memory preimage = GlobalRoot.start(round, ids.length);
        for (uint256 i = 0; i < ids.length; ++i) {
            bytes memory name = bytes(_REGISTRY.originOf(ids[i]));
            uint256 namePtr;
            assembly ("memory-safe") {
                namePtr := add(name, 0x20)
            }
            (bytes32 root, uint64 size, ) = RoundRecord.entryAt(rec, i);
            GlobalRoot.append(preimage, namePtr, name.length, size, root);
        }
        (blockNumber, timestamp) = RoundRecord.header(rec);
        globalRoot = GlobalRoot.hash(preimage);
    }

    /// @inheritdoc IGlobalProofAnchor
    function checkpointOf(
        uint64 round,
        bytes32 federationId,
        bytes calldata record
    ) public view returns (uint64 epoch, uint64 treeSize, bytes32 rootHash) {
        if (!_checkRecord(round, record)) return (0, 0, 0);
        bytes memory rec = record;
        bytes32[] memory ids = _federationsIn(rec);
        for (uint256 i = 0; i < ids.length; ++i) {
            if (ids[i] == federationId) {
                (rootHash, treeSize, epoch) = RoundRecord.entryAt(rec, i);
                break;
            }
        }
    }

    /// @inheritdoc IGlobalProofAnchor
    function latestCheckpoint(
        bytes32 federationId,
        bytes calldata latestRecord
    ) external view returns (uint64 round, uint64 treeSize, bytes32 rootHash) {
        round = nextRound() - 1;
        if (round == 0) return (0, 0, 0);
        (, treeSize, rootHash) = checkpointOf(round, federationId, latestRecord);
        if (rootHash == 0) return (0, 0, 0);
    }

    /// @inheritdoc IGlobalProofAnchor
    function verifyEventInclusion(
        uint64 round,
        bytes32 federationId,
        bytes calldata record,
        bytes32 leafHash,
        uint256 index,
        bytes32[] calldata proof
    ) external view returns (bool) {
        (, uint64 treeSize, bytes32 rootHash) = checkpointOf(round, federationId, record);
        if (rootHash == 0) return false;
        return RFC9162.verifyInclusion(leafHash, index, treeSize, proof, rootHash);
    }

    /// @inheritdoc IGlobalProofAnchor
    function checkpointDigest(
        bytes32 federationId,
        uint64 epoch,
        uint64 round,
        uint64 treeSize,
        bytes32 rootHash
    ) public view returns (bytes32) {
        return
            _hashTypedDataV4(
                keccak256(abi.encode(CHECKPOINT_TYPEHASH, federationId, epoch, round, treeSize, rootHash))
            );
    }

    /// @dev Checks one federation's checkpoint and adds it to the record and the global-root preimage.
    function _acceptCheckpoint(Round memory r, uint256 i, CheckpointSubmission calldata cp) private view {
        bytes32 id = cp.federationId;
        (bytes32 dirId, uint64 epoch, uint256 index, bytes memory set) = _nextSet(r);
        if (dirId != id) revert AnchorFederationUnknown(id);
        if (cp.epoch != epoch) revert AnchorEpochNotCurrent(id, epoch, cp.epoch);
        if (cp.rootHash == 0) revert AnchorRootZero(id);

        // The previous round held the first n federations registered, so this one was in it iff index < n;
        // then its position there is its position here minus the new federations before it.
        uint256 previousCount = RoundRecord.count(r.previous);
        bytes32 prevRoot = 0;
        uint64 prevSize = 0;
        if (index < previousCount) (prevRoot, prevSize, ) = RoundRecord.entryAt(r.previous, i - r.newBefore);
        else ++r.newBefore;
        _checkExtension(cp, prevSize, prevRoot);
        _checkQuorum(cp, r.round, set);

        RoundRecord.setEntry(r.record, i, cp.rootHash, cp.treeSize, epoch);
        uint256 originOffset = 32 * ((_wordAt(set, 0) >> 128) + 1);
        uint256 originPtr;
        assembly ("memory-safe") {
            originPtr := add(add(set, 0x20), originOffset)
        }
        GlobalRoot.append(r.preimage, originPtr, set.length - originOffset, cp.treeSize, cp.rootHash);
    }

    /// @dev Number of entries in the registry's directory.
    function _countEntries(bytes memory dir) private pure returns (uint256 n) {
        uint256 p = 0;
        while (p < dir.length) {
            uint256 w;
            assembly {
                w := mload(add(add(dir, 0x40), p))
            }
            p += 48 + uint32(w >> 128);
            ++n;
        }
    }

    /// @dev The next directory entry (federations ascend by id, as the checkpoints must); `set` points into
    /// the directory's memory (its length word overwrites the 16 bytes before it, already read).
    function _nextSet(
        Round memory r
    ) private pure returns (bytes32 dirId, uint64 epoch, uint256 index, bytes memory set) {
        bytes memory dir = r.dir;
        uint256 p = r.cursor;
        uint256 len;
        assembly {
            let base := add(add(dir, 0x20), p)
            dirId := mload(base)
            let w := mload(add(base, 0x20))
            epoch := shr(192, w)
            index := and(shr(160, w), 0xffffffff)
            len := and(shr(128, w), 0xffffffff)
            set := add(base, 0x10)
            mstore(set, len)
        }
        r.cursor = p + 48 + len;
    }

    /// @dev Reverts unless (treeSize, rootHash) extends the anchored (prevSize, prevRoot).
    function _checkExtension(
        CheckpointSubmission calldata cp,
        uint64 prevSize,
        bytes32 prevRoot
    ) private view {
        if (cp.treeSize < prevSize) revert AnchorLogShrank(cp.federationId, prevSize, cp.treeSize);
        bool ok;
        if (prevSize == 0) {
            // Any tree extends the empty one (or none); an empty tree can only repeat its own root.
            ok =
                cp.consistencyProof.length == 0 &&
                (cp.treeSize != 0 || prevRoot == 0 || prevRoot == cp.rootHash);
        } else {
            ok = RFC9162.verifyConsistency(prevSize, cp.treeSize, cp.consistencyProof, prevRoot, cp.rootHash);
        }
        if (!ok) revert AnchorConsistencyProofInvalid(cp.federationId, prevSize, cp.treeSize);
    }

    /// @dev Reverts unless the signatures recover strictly ascending validators of `set` with > 2/3 weight.
    function _checkQuorum(CheckpointSubmission calldata cp, uint64 round, bytes memory set) private view {
        bytes32 id = cp.federationId;
        bytes32 digest = checkpointDigest(id, cp.epoch, round, cp.treeSize, cp.rootHash);
        bytes[] calldata signatures = cp.signatures;
        uint256 header = _wordAt(set, 0);
        // Memory cursor over the set's entries: signers and entries both ascend, so one pass suffices.
        uint256 next;
        uint256 end;
        assembly ("memory-safe") {
            next := add(set, 0x40)
            end := add(next, shl(5, shr(128, header)))
        }
        uint256 signedWeight = 0;
        address previous = address(0);
        for (uint256 k = 0; k < signatures.length; ++k) {
            address signer = _recover(id, k, digest, signatures[k]);
            if (signer == previous) revert AnchorSignerDuplicated(id, signer);
            if (signer < previous) revert AnchorSignersNotAscending(id, previous, signer);
            uint256 entry;
            assembly ("memory-safe") {
                for {} lt(next, end) {
                    next := add(next, 0x20)
                } {
                    entry := mload(next)
                    if iszero(lt(shr(96, entry), signer)) {
                        break
                    }
                }
            }
            if (next == end || address(uint160(entry >> 96)) != signer)
                revert AnchorSignerUnknown(id, cp.epoch, signer);
            // At most 256 uint96 weights are summed, and `next` stays below `end`: neither can overflow.
            unchecked {
                signedWeight += uint96(entry);
                next += 32;
            }
            previous = signer;
        }
        uint256 total = uint128(header);
        // Weights are uint96 and sets hold at most 256 validators: no product here comes near 2^256.
        if (!(3 * signedWeight > 2 * total)) revert AnchorQuorumNotReached(id, signedWeight, total);
    }

    /// @dev Recovers the signer of a 65-byte low-s signature r || s || v; reverts on any defect.
    function _recover(
        bytes32 federationId,
        uint256 index,
        bytes32 digest,
        bytes calldata sig
    ) private pure returns (address signer) {
        if (sig.length != 65) revert AnchorSignatureLengthInvalid(federationId, index, sig.length);
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := calldataload(sig.offset)
            s := calldataload(add(sig.offset, 0x20))
            v := byte(0, calldataload(add(sig.offset, 0x40)))
        }
        if (uint256(s) > _HALF_ORDER) revert AnchorSignatureMalleable(federationId, index);
        // ecrecover yields address(0) for v outside {27, 28} and for r, s that are not a valid signature.
        signer = ecrecover(digest, v, r, s);
        if (signer == address(0)) revert AnchorSignatureInvalid(federationId, index);
    }

    /// @dev Ids of the federations in a round's record: the first n registered, in ascending id order.
    function _federationsIn(bytes memory record) private view returns (bytes32[] memory ids) {
        bytes32[] memory all = _REGISTRY.federationIds();
        uint256 n = RoundRecord.count(record);
        ids = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            uint256 j = i;
            while (j > 0 && ids[j - 1] > all[i]) {
                ids[j] = ids[j - 1];
                --j;
            }
            ids[j] = all[i];
        }
    }

    /// @dev False when `round` is not anchored; reverts unless `record` is the one committed for it.
    function _checkRecord(uint64 round, bytes calldata record) private view returns (bool) {
        bytes32 commitment = _commitments[round];
        if (commitment == 0) return false;
        if (keccak256(record) != commitment) revert AnchorRecordMismatch(round);
        return true;
    }

    /// @dev The 32-byte word of `data` at byte offset `offset`.
    function _wordAt(bytes memory data, uint256 offset) private pure returns (uint256 word) {
        assembly ("memory-safe") {
            word := mload(add(add(data, 0x20), offset))
        }
    }
}
