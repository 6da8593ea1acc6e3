// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {console} from "hardhat/console.sol";

import {ChainHandler} from "./handlers/ChainHandler.sol";
import {TestBase} from "./utils/TestBase.sol";

/// @notice Property 4: version chains never fork or cycle, as invariants over random sequences
/// driven by {ChainHandler}.
/// @dev Running this file alone? Pass its handler too, so its artifact is built:
/// `npx hardhat test solidity test/solidity/ChainInvariants.t.sol test/solidity/handlers/ChainHandler.sol`.
contract ChainInvariantsTest is TestBase {
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
        (uint256 broken,) = handler.brokenChains();
        assertEq(broken, 0, "a previous-chain does not terminate at a first version of the subject");
        assertEq(handler.stateMismatches(), 0, "getRecord superseded/erased/subject differs from the ghost");
        assertEq(handler.unexpectedAnchors(), 0, "an anchor/prove/erase succeeded that must fail");
        assertEq(handler.unexpectedRejects(), 0, "an anchor/prove/erase failed that must succeed");
        assertEq(handler.eventMismatches(), 0, "RecordAnchored does not report the anchored version");
    }

    function afterInvariant() public view {
        uint256[12] memory s = handler.stats();
        assertTrue(s[0] > 0, "the invariant runner never called the handler");
        (, uint256 longest) = handler.brokenChains();
        console.log("calls %s, anchors ok %s / refused %s", s[0], s[1], s[2]);
        console.log("supersedes %s, fork attempts %s, cross-subject attempts %s", s[3], s[4], s[5]);
        console.log("erased-previous attempts %s, reused ids %s, proven %s", s[6], s[7], s[8]);
        console.log("versions %s, longest chain %s", s[10], longest);
    }
}
