// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ChainHandler} from "./handlers/ChainHandler.sol";
import {CampaignStats} from "./utils/CampaignStats.sol";

/// @notice Property 4: version chains never fork, cycle or change hands, and a front-running
/// attacker never blocks a victim nor gains anything over its records, as invariants over random
/// sequences driven by {ChainHandler}.
/// @dev Running this file alone? Pass its handler too, so its artifact is built:
/// `npx hardhat test solidity test/solidity/ChainInvariants.t.sol test/solidity/handlers/ChainHandler.sol`.
contract ChainInvariantsTest is CampaignStats {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    ChainHandler internal handler;

    function setUp() public {
        vm.warp(1_750_000_000);
        handler = new ChainHandler();
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory out) {
        bytes4[] memory s = new bytes4[](8);
        // anchor is listed three times to weigh it (chains grow, forks get attempted).
        s[0] = ChainHandler.anchor.selector;
        s[1] = ChainHandler.batch.selector;
        s[2] = ChainHandler.erase.selector;
        s[3] = ChainHandler.anchor.selector;
        s[4] = ChainHandler.anchor.selector;
        s[5] = ChainHandler.frontRunAnchor.selector;
        s[6] = ChainHandler.frontRunRegistration.selector;
        s[7] = ChainHandler.batch.selector;
        out = new FuzzSelector[](1);
        out[0] = FuzzSelector(address(handler), s);
    }

    /// @notice Every version has at most one successor; following `previous` from any version
    /// reaches a first version of the same subject and category within N steps (no cycles);
    /// getRecord's category, custodian, superseded and erased match the ghost; anchors, proofs and
    /// erasures succeed exactly when the model says so; front-running never blocks a victim and
    /// never lets the attacker prove, read or erase a victim's record.
    function invariant_versionChainsNeverForkOrCycle() public view {
        assertEq(handler.forks(), 0, "a version has two successors (fork)");
        (uint256 broken, ) = handler.brokenChains();
        assertEq(broken, 0, "a previous-chain does not terminate at a first version of the subject");
        assertEq(handler.stateMismatches(), 0, "getRecord category/custodian/superseded/erased differs from the ghost");
        assertEq(handler.unexpectedAnchors(), 0, "an anchor/prove/erase succeeded that must fail");
        assertEq(handler.unexpectedRejects(), 0, "an anchor/prove/erase failed that must succeed");
        assertEq(handler.eventMismatches(), 0, "RecordAnchored does not report the anchored version");
        assertEq(handler.victimsBlocked(), 0, "a front-run victim's anchor, batch or registration failed");
        assertEq(handler.attackerWins(), 0, "the attacker proved, read or erased a victim's record");
    }

    /// @notice Runs after each sequence: the handler must really be driven (see {CampaignStats}).
    function afterInvariant() public {
        uint256[16] memory s = handler.stats();
        (, uint256 longest) = handler.brokenChains();
        s[15] = longest;
        uint256[] memory counters = new uint256[](s.length);
        for (uint256 i = 0; i < s.length; ++i) counters[i] = s[i];
        _recordRun("CHAIN", s[0], counters);
    }
}
