// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Vm, VM_ADDRESS} from "./Vm.sol";

/// @notice A tiny stand-in for forge-std's Test: the cheatcode handle, `bound` and a few
/// assertions that revert with a custom error naming what failed (the runner decodes it).
abstract contract TestBase {
    // solhint-disable-next-line const-name-snakecase
    Vm internal constant vm = Vm(VM_ADDRESS);

    error AssertionFailed(string what);
    error AssertionFailedUint(string what, uint256 left, uint256 right);
    error AssertionFailedBytes32(string what, bytes32 left, bytes32 right);
    error AssertionFailedAddress(string what, address left, address right);
    error BoundInvalidRange(uint256 min, uint256 max);

    function assertTrue(bool condition, string memory what) internal pure {
        if (!condition) revert AssertionFailed(what);
    }

    function assertFalse(bool condition, string memory what) internal pure {
        if (condition) revert AssertionFailed(what);
    }

    function assertEq(uint256 left, uint256 right, string memory what) internal pure {
        if (left != right) revert AssertionFailedUint(what, left, right);
    }

    function assertEq(bytes32 left, bytes32 right, string memory what) internal pure {
        if (left != right) revert AssertionFailedBytes32(what, left, right);
    }

    function assertEq(address left, address right, string memory what) internal pure {
        if (left != right) revert AssertionFailedAddress(what, left, right);
    }

    function assertEq(bool left, bool right, string memory what) internal pure {
        if (left != right) revert AssertionFailedUint(what, left ? 1 : 0, right ? 1 : 0);
    }

    function assertNotEq(bytes32 left, bytes32 right, string memory what) internal pure {
        if (left == right) revert AssertionFailedBytes32(what, left, right);
    }

    /// @dev Maps `x` into [min, max] (inclusive) without bias towards the edges mattering here.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        if (min > max) revert BoundInvalidRange(min, max);
        if (x >= min && x <= max) return x;
        uint256 size = max - min + 1;
        if (size == 0) return x; // full uint256 range
        return min + (x % size);
    }

    /// @dev The selector of a revert payload (zero if shorter than 4 bytes).
    function selectorOf(bytes memory revertData) internal pure returns (bytes4 sel) {
        if (revertData.length < 4) return bytes4(0);
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            sel := mload(add(revertData, 32))
        }
    }

    /// @dev A fresh pseudo-random word from `seed` and a `salt` (deterministic).
    function rand(uint256 seed, uint256 salt) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, salt)));
    }
}
