// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessHandler} from "./handlers/AccessHandler.sol";
import {CampaignStats} from "./utils/CampaignStats.sol";

/// @notice Property 1: no access event without a valid consent or break-glass, as an invariant
/// over random sequences driven by {AccessHandler}, whose actors include hostile guardians whose
/// appointments change, a rogue organization's puppets and the security council.
/// @dev Running this file alone? Pass its handler too, so its artifact is built:
/// `npx hardhat test solidity test/solidity/AccessInvariants.t.sol test/solidity/handlers/AccessHandler.sol`.
contract AccessInvariantsTest is CampaignStats {
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
        bytes4[] memory s = new bytes4[](17);
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
        s[12] = AccessHandler.changeGuardian.selector;
        s[13] = AccessHandler.enrollPuppet.selector;
        s[14] = AccessHandler.councilActs.selector;
        s[15] = AccessHandler.review.selector;
        s[16] = AccessHandler.flood.selector;
        out = new FuzzSelector[](1);
        out[0] = FuzzSelector(address(handler), s);
    }

    /// @notice Every successful access, batch access, break-glass access, anchor and review had a
    /// basis in the (independent) model; nothing the model allows was refused; every
    /// check()/checkWithHint() answer and every write's outcome (authorization, index capacity,
    /// guardian quota) matched the model.
    function invariant_noAccessWithoutBasis() public view {
        assertEq(handler.accessesWithoutBasis(), 0, "access event without a valid consent or break-glass");
        assertEq(handler.refusalsDespiteBasis(), 0, "access refused although the model allows it");
        assertEq(handler.checkMismatches(), 0, "check()/checkWithHint() differs from the model");
        assertEq(handler.writeMismatches(), 0, "grant/revoke/opt-out/erase outcome differs from authorization");
    }

    /// @notice Runs after each sequence: the handler must really be driven (see {CampaignStats}).
    function afterInvariant() public {
        uint256[26] memory s = handler.stats();
        uint256[] memory counters = new uint256[](s.length);
        for (uint256 i = 0; i < s.length; ++i) counters[i] = s[i];
        _recordRun("ACCESS", s[0], counters);
    }
}
