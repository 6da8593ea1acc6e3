// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;
import {AccessHandler} from "./handlers/AccessHandler.sol";
import {TestBase} from "./utils/TestBase.sol";
interface VmEnv {
    function setEnv(string calldata name, string calldata value) external;
    function envOr(string calldata name, uint256 defaultValue) external view returns (uint256);
    function toString(uint256 value) external pure returns (string memory);
}
contract TmpStats is TestBase {
    struct FuzzSelector { address addr; bytes4[] selectors; }
    error Stats(uint256 runs, uint256[18] s);
    AccessHandler internal handler;
    VmEnv constant env = VmEnv(address(uint160(uint256(keccak256("hevm cheat code")))));
    function setUp() public { vm.warp(1_750_000_000); handler = new AccessHandler(); }
    function targetContracts() public view returns (address[] memory t) { t = new address[](1); t[0] = address(handler); }
    function targetSelectors() public view returns (FuzzSelector[] memory out) {
        bytes4[] memory s = new bytes4[](12);
        s[0] = AccessHandler.grant.selector; s[1] = AccessHandler.revoke.selector; s[2] = AccessHandler.togglePractitioner.selector;
        s[3] = AccessHandler.toggleOrganization.selector; s[4] = AccessHandler.warp.selector; s[5] = AccessHandler.setBreakGlassOptOut.selector;
        s[6] = AccessHandler.erase.selector; s[7] = AccessHandler.anchor.selector; s[8] = AccessHandler.access.selector;
        s[9] = AccessHandler.accessBatch.selector; s[10] = AccessHandler.breakGlassAccess.selector; s[11] = AccessHandler.probe.selector;
        out = new FuzzSelector[](1); out[0] = FuzzSelector(address(handler), s);
    }
    function invariant_x() public view { }
    function afterInvariant() public {
        uint256[18] memory s = handler.stats();
        uint256[18] memory tot;
        for (uint256 i = 0; i < 18; ++i) {
            string memory k = string.concat("MLSTAT_", env.toString(i));
            tot[i] = env.envOr(k, uint256(0)) + s[i];
            env.setEnv(k, env.toString(tot[i]));
        }
        uint256 runs = env.envOr("MLSTAT_RUNS", uint256(0)) + 1;
        env.setEnv("MLSTAT_RUNS", env.toString(runs));
        if (runs == 64) revert Stats(runs, tot);
    }
}
