// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RoundRecord} from "../libraries/RoundRecord.sol";

/// @title RoundRecordHarness
/// @notice Test-only wrapper exposing RoundRecord's address derivation.
contract RoundRecordHarness {
    /// @notice See {RoundRecord-addressOf}.
    function addressOf(address creator, uint64 nonce) external pure returns (address) {
        return RoundRecord.addressOf(creator, nonce);
    }
}
