// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {TestBase} from "./TestBase.sol";

/// @notice Campaign-wide bookkeeping for invariant tests. Contract state is reset before every
/// invariant run, and the Hardhat reporter prints only `runs`, so the handler activity of a whole
/// campaign is summed in process environment variables (the one channel that survives runs):
/// - liveness: the handler's call count summed over the campaign must be positive — an invariant
///   whose target is never called would pass vacuously. Summing (rather than asserting per run)
///   keeps the shrinker from "reducing" a real failure to an empty sequence that would fail only
///   this check;
/// - statistics on demand: with `MEDLEDGER_INVARIANT_STATS=<runs>` (the configured number of runs,
///   64 by default), the campaign deliberately fails after that run with `CampaignStatistics`,
///   listing the summed counters of the handler's `stats()`.
abstract contract CampaignStats is TestBase {
    error CampaignStatistics(string campaign, uint256 runs, uint256[] totals);

    function _recordRun(string memory campaign, uint256 callsThisRun, uint256[] memory counters) internal {
        uint256 total = vm.envOr(_key(campaign, "CALLS"), uint256(0)) + callsThisRun;
        vm.setEnv(_key(campaign, "CALLS"), vm.toString(total));
        assertTrue(total > 0, "the invariant runner never called the handler");

        uint256 wanted = vm.envOr("MEDLEDGER_INVARIANT_STATS", uint256(0));
        if (wanted == 0) return;
        uint256 runs = vm.envOr(_key(campaign, "RUNS"), uint256(0)) + 1;
        vm.setEnv(_key(campaign, "RUNS"), vm.toString(runs));
        uint256[] memory totals = new uint256[](counters.length);
        for (uint256 i = 0; i < counters.length; ++i) {
            string memory k = _key(campaign, vm.toString(i));
            totals[i] = vm.envOr(k, uint256(0)) + counters[i];
            vm.setEnv(k, vm.toString(totals[i]));
        }
        if (runs == wanted) revert CampaignStatistics(campaign, runs, totals);
    }

    function _key(string memory campaign, string memory what) private pure returns (string memory) {
        return string.concat("MEDLEDGER_INVARIANT_", campaign, "_", what);
    }
}
