// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ChainHandler} from "./handlers/ChainHandler.sol";
import {CampaignStats} from "./utils/CampaignStats.sol";

/// @notice Property 4: version chains never fork or cycle, as invariants over random sequences
/// driven by {ChainHandler}.
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
        bytes4[] memory s = new bytes4[](5);
        // anchor is listed three times to weigh it (chains grow, forks get attempted).
        s[0] = ChainHandler.anchor.selector;
        s[1] = ChainHandler.batch.selector;
        s[2] = ChainHandler.erase.selector;
        s[3] = ChainHandler.anchor.selector;
        s[4] = ChainHandler.anchor.selector;
        out = new FuzzSelector[](1);
        out[0] = FuzzSelector(address(handler), s);
    }

    /// @notice Every version has at most one successor; following `previous` from any version
    /// reaches a first version of the same subject within N steps (no cycles); getRecord's
    /// superseded/erased flags match the ghost successor map; anchors, proofs and erasures
    /// succeed exactly when the model says so.
    function invariant_versionChainsNeverForkOrCycle() public view {
        assertEq(handler.forks(), 0, "a version has two successors (fork)");
        (uint256 broken, ) = handler.brokenChains();
        assertEq(broken, 0, "a previous-chain does not terminate at a first version of the subject");
        assertEq(handler.stateMismatches(), 0, "getRecord superseded/erased/subject differs from the ghost");
        assertEq(handler.unexpectedAnchors(), 0, "an anchor/prove/erase succeeded that must fail");
        assertEq(handler.unexpectedRejects(), 0, "an anchor/prove/erase failed that must succeed");
        assertEq(handler.eventMismatches(), 0, "RecordAnchored does not report the anchored version");
    }

    /// @notice Runs after each sequence: the handler must really be driven (see {CampaignStats}).
    function afterInvariant() public {
        uint256[12] memory s = handler.stats();
        (, uint256 longest) = handler.brokenChains();
        s[11] = longest;
        uint256[] memory counters = new uint256[](s.length);
        for (uint256 i = 0; i < s.length; ++i) counters[i] = s[i];
        _recordRun("CHAIN", s[0], counters);
    }
}
