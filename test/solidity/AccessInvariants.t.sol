// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {console} from "hardhat/console.sol";

import {AccessHandler} from "./handlers/AccessHandler.sol";
import {TestBase} from "./utils/TestBase.sol";

/// @notice Property 1: no access event without a valid consent or break-glass, as an invariant
/// over random sequences driven by {AccessHandler}.
contract AccessInvariantsTest is TestBase {
    /// @dev Same layout as forge-std's StdInvariant.FuzzSelector (what the runner decodes).
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    AccessHandler internal handler;

    function setUp() public {
        vm.warp(1_750_000_000);
        handler = new AccessHandler();
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory out) {
        bytes4[] memory s = new bytes4[](12);
        s[0] = AccessHandler.grant.selector;
        s[1] = AccessHandler.revoke.selector;
        s[2] = AccessHandler.togglePractitioner.selector;
        s[3] = AccessHandler.toggleOrganization.selector;
        s[4] = AccessHandler.warp.selector;
        s[5] = AccessHandler.setBreakGlassOptOut.selector;
        s[6] = AccessHandler.erase.selector;
        s[7] = AccessHandler.anchor.selector;
        s[8] = AccessHandler.access.selector;
        s[9] = AccessHandler.accessBatch.selector;
        s[10] = AccessHandler.breakGlassAccess.selector;
        s[11] = AccessHandler.probe.selector;
        out = new FuzzSelector[](1);
        out[0] = FuzzSelector(address(handler), s);
    }

    /// @notice Every successful access, batch access, break-glass access and anchor had a basis in
    /// the model; nothing the model allows was refused; every check()/checkWithHint() answer and
    /// every write's outcome matched the model.
    function invariant_noAccessWithoutBasis() public view {
        assertEq(handler.accessesWithoutBasis(), 0, "access event without a valid consent or break-glass");
        assertEq(handler.refusalsDespiteBasis(), 0, "access refused although the model allows it");
        assertEq(handler.checkMismatches(), 0, "check()/checkWithHint() differs from the model");
        assertEq(handler.writeMismatches(), 0, "grant/revoke/opt-out/erase outcome differs from authorization");
    }

    /// @notice Runs after each sequence: the handler was really called (a target that is never
    /// called would make the invariant vacuous); logs what happened (shown with -vv).
    function afterInvariant() public view {
        uint256[18] memory s = handler.stats();
        assertTrue(s[0] > 0, "the invariant runner never called the handler");
        console.log("calls %s, probes %s", s[0], s[14]);
        console.log("access ok %s / refused %s", s[1], s[2]);
        console.log("batch ok %s / refused %s", s[3], s[4]);
        console.log("break-glass ok %s / refused %s", s[5], s[6]);
        console.log("anchor ok %s / refused %s", s[7], s[8]);
        console.log("grants %s, revokes %s", s[9], s[10]);
        console.log("consent-based %s, subject-based %s, denied-by-subject refusals %s", s[11], s[12], s[13]);
    }
}
