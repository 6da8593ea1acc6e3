// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title SequenceList
/// @notice Up to eight non-zero uint32 values (consent sequence numbers) packed in one 256-bit word,
/// so that a list is read and written with one storage access. Place `i` holds bits 32i..32i+31.
/// Lists are kept compacted: the values sit in places 0..size-1 and 0 marks a free place.
library SequenceList {
    /// @notice How many values one list holds.
    uint256 internal constant CAPACITY = 8;

    /// @notice The value in place `i` (0 if free).
    function at(uint256 list, uint256 i) internal pure returns (uint32) {
        return uint32(list >> (32 * i));
    }

    /// @notice How many values the list holds (the first free place).
    function size(uint256 list) internal pure returns (uint256 n) {
        while (n < CAPACITY && at(list, n) != 0) ++n;
    }

    /// @notice The list with `value` in place `i`.
    function withAt(uint256 list, uint256 i, uint32 value) internal pure returns (uint256) {
        uint256 shift = 32 * i;
        return (list & ~(uint256(type(uint32).max) << shift)) | (uint256(value) << shift);
    }

    /// @notice The list without the value in place `i` (of a list of `n` values): the last value
    /// moves into place `i`, so the list stays compacted.
    function without(uint256 list, uint256 i, uint256 n) internal pure returns (uint256) {
        uint256 last = n - 1;
        return withAt(withAt(list, i, at(list, last)), last, 0);
    }
}
