// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @notice The few Foundry-compatible cheatcodes these tests use (served by Hardhat 3's EDR runner
/// at the standard address). No forge-std: only what we call is declared.
// solhint-disable-next-line interface-starts-with-i
interface Vm {
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    function warp(uint256 newTimestamp) external;
    function prank(address msgSender) external;
    function startPrank(address msgSender) external;
    function stopPrank() external;
    function expectRevert(bytes calldata revertData) external;
    function expectRevert(bytes4 revertData) external;
    function expectRevert() external;
    function assume(bool condition) external pure;
    function addr(uint256 privateKey) external pure returns (address keyAddr);
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory logs);
    function label(address account, string calldata newLabel) external;
    // Process environment: the only channel that survives across invariant runs (used to count
    // handler calls over a whole campaign).
    function setEnv(string calldata name, string calldata value) external;
    function envOr(string calldata name, uint256 defaultValue) external view returns (uint256 value);
    function toString(uint256 value) external pure returns (string memory);
}

/// @dev keccak256("hevm cheat code") truncated: the standard cheatcode address.
address constant VM_ADDRESS = address(uint160(uint256(keccak256("hevm cheat code"))));
