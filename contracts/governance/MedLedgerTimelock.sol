// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

import {MedLedgerVersion} from "../libraries/MedLedgerTypes.sol";

/// @title MedLedgerTimelock
/// @notice The consortium's governance after deployment: an unmodified OpenZeppelin
/// TimelockController. Proposers (the consortium's multisig or its members) schedule governance
/// calls such as `admitOrganization`; after `minDelay` the executors run them. Nobody holds a
/// timelock admin role, so the timelock administers itself.
contract MedLedgerTimelock is TimelockController {
    constructor(
        uint256 minDelay,
        address[] memory proposers,
        address[] memory executors
    ) TimelockController(minDelay, proposers, executors, address(0)) {}

    /// @notice The contract's semantic version.
    function version() external pure returns (string memory) {
        return MedLedgerVersion.VERSION;
    }
}
