// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;
import {ChainHandler} from "./handlers/ChainHandler.sol";
import {TestBase} from "./utils/TestBase.sol";
interface VmEnv2 {
    function setEnv(string calldata name, string calldata value) external;
    function envOr(string calldata name, uint256 defaultValue) external view returns (uint256);
    function toString(uint256 value) external pure returns (string memory);
}
contract TmpStats2 is TestBase {
    struct FuzzSelector { address addr; bytes4[] selectors; }
    error Stats(uint256 runs, uint256[12] s, uint256 maxLongest);
    ChainHandler internal handler;
    VmEnv2 constant env = VmEnv2(address(uint160(uint256(keccak256("hevm cheat code")))));
    function setUp() public { vm.warp(1_750_000_000); handler = new ChainHandler(); }
    function targetContracts() public view returns (address[] memory t) { t = new address[](1); t[0] = address(handler); }
    function targetSelectors() public view returns (FuzzSelector[] memory out) {
        bytes4[] memory s = new bytes4[](5);
        s[0] = ChainHandler.anchor.selector; s[1] = ChainHandler.batch.selector; s[2] = ChainHandler.erase.selector;
        s[3] = ChainHandler.anchor.selector; s[4] = ChainHandler.anchor.selector;
        out = new FuzzSelector[](1); out[0] = FuzzSelector(address(handler), s);
    }
    function invariant_x() public view { }
    function afterInvariant() public {
        uint256[12] memory s = handler.stats();
        uint256[12] memory tot;
        (, uint256 longest) = handler.brokenChains();
        for (uint256 i = 0; i < 12; ++i) {
            string memory k = string.concat("MLSTAT2_", env.toString(i));
            tot[i] = env.envOr(k, uint256(0)) + s[i];
            env.setEnv(k, env.toString(tot[i]));
        }
        uint256 ml = env.envOr("MLSTAT2_L", uint256(0));
        if (longest > ml) { ml = longest; env.setEnv("MLSTAT2_L", env.toString(ml)); }
        uint256 runs = env.envOr("MLSTAT2_RUNS", uint256(0)) + 1;
        env.setEnv("MLSTAT2_RUNS", env.toString(runs));
        if (runs == 64) revert Stats(runs, tot, ml);
    }
}
