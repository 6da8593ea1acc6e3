// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {RecordId, SubjectId} from "../../../contracts/libraries/MedLedgerTypes.sol";

/// @notice A Solidity port of the npm package @openzeppelin/merkle-tree's StandardMerkleTree
/// (core.ts makeMerkleTree/getProof, sorted leaves, sorted-pair keccak nodes) for the leaf
/// encoding RecordRegistry documents: (bytes32 subject, bytes32 recordId, uint8 category,
/// bytes32 digest, bytes32 labelCommitment).
library StdMerkle {
    error StdMerkleNoLeaves();

    /// @dev standardLeafHash: keccak256(keccak256(abi.encode(values))).
    function leafHash(
        SubjectId subject,
        RecordId recordId,
        uint8 category,
        bytes32 digest,
        bytes32 labelCommitment
    ) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(subject, recordId, category, digest, labelCommitment))));
    }

    /// @dev standardNodeHash: keccak256 of the two children in ascending byte order.
    function nodeHash(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encodePacked(a, b)) : keccak256(abi.encodePacked(b, a));
    }

    /// @notice Builds the array tree; `treeIndexOf[i]` is where `leaves[i]` sits in it.
    /// Leaves are sorted by hash (StandardMerkleTree's default `sortLeaves: true`).
    function build(
        bytes32[] memory leaves
    ) internal pure returns (bytes32[] memory tree, uint256[] memory treeIndexOf) {
        uint256 n = leaves.length;
        if (n == 0) revert StdMerkleNoLeaves();
        uint256[] memory order = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) order[i] = i;
        // Insertion sort of the indices by leaf hash, ascending.
        for (uint256 i = 1; i < n; ++i) {
            uint256 cur = order[i];
            uint256 j = i;
            while (j > 0 && leaves[order[j - 1]] > leaves[cur]) {
                order[j] = order[j - 1];
                --j;
            }
            order[j] = cur;
        }
        tree = new bytes32[](2 * n - 1);
        treeIndexOf = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            uint256 pos = tree.length - 1 - i;
            tree[pos] = leaves[order[i]];
            treeIndexOf[order[i]] = pos;
        }
        if (n > 1) {
            for (uint256 k = tree.length - 1 - n + 1; k > 0; --k) {
                uint256 i = k - 1;
                tree[i] = nodeHash(tree[2 * i + 1], tree[2 * i + 2]);
            }
        }
    }

    /// @notice getProof: the siblings from the leaf at `index` up to (excluding) the root.
    function proof(bytes32[] memory tree, uint256 index) internal pure returns (bytes32[] memory p) {
        uint256 depth = 0;
        for (uint256 i = index; i > 0; i = (i - 1) / 2) ++depth;
        p = new bytes32[](depth);
        uint256 k = 0;
        while (index > 0) {
            uint256 sibling = index % 2 == 1 ? index + 1 : index - 1;
            p[k++] = tree[sibling];
            index = (index - 1) / 2;
        }
    }

    /// @notice processProof, for cross-checking.
    function process(bytes32 leaf, bytes32[] memory p) internal pure returns (bytes32 h) {
        h = leaf;
        for (uint256 i = 0; i < p.length; ++i) h = nodeHash(h, p[i]);
    }
}
