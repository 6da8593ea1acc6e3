// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IRecordRegistry} from "../../contracts/interfaces/IRecordRegistry.sol";
import {Codes, ConsentId, RecordId, SubjectId} from "../../contracts/libraries/MedLedgerTypes.sol";

import {Consortium} from "./utils/Consortium.sol";
import {StdMerkle} from "./utils/StdMerkle.sol";

/// @notice Merkle batch anchors: OpenZeppelin StandardMerkleTree-compatible leaves (subject,
/// record id, category, digest, label commitment) and proofs, tags, random batches, tampered proofs,
/// other subjects.
contract MerkleBatchTest is Consortium {
    SubjectId internal subject;
    address internal patient = address(0xB0B);
    bytes16 internal tag = bytes16(keccak256("tag"));

    uint256 internal constant MAX_LEAVES = 12;

    function setUp() public {
        vm.warp(T0);
        _deploySystem();
        subject = _register(keccak256("merkle-salt"), patient);
    }

    struct Leaf {
        RecordId id;
        uint8 category;
        bytes32 digest;
        bytes32 label;
    }

    /// @dev A member id: the batch's tag, then 16 bytes of `r`.
    function _memberId(bytes16 t, uint256 r) internal pure returns (RecordId) {
        return RecordId.wrap(bytes32(t) | bytes32(uint256(uint128(r))));
    }

    function _randomLeaves(uint256 seed, uint256 n) internal view returns (Leaf[] memory leaves, uint16 categories) {
        leaves = new Leaf[](n);
        for (uint256 i = 0; i < n; ++i) {
            uint256 r = rand(seed, i);
            leaves[i] = Leaf({
                id: _memberId(tag, uint256(keccak256(abi.encode("id", r)))),
                category: uint8(r % (uint256(Codes.MAX_CATEGORY) + 1)),
                digest: keccak256(abi.encode("digest", r)),
                label: keccak256(abi.encode("label", r))
            });
            categories |= Codes.bit(leaves[i].category);
        }
    }

    function _hash(Leaf memory leaf) internal view returns (bytes32) {
        return StdMerkle.leafHash(subject, leaf.id, leaf.category, leaf.digest, leaf.label);
    }

    function _hashes(Leaf[] memory leaves) internal view returns (bytes32[] memory h) {
        h = new bytes32[](leaves.length);
        for (uint256 i = 0; i < leaves.length; ++i) h[i] = _hash(leaves[i]);
    }

    function _anchorBatch(bytes32 root, uint32 count, uint16 categories) internal {
        vm.prank(patient);
        records.anchorBatch(subject, root, tag, count, categories, "ipfs://manifest", ConsentId.wrap(0));
    }

    function _verify(bytes32 root, Leaf memory leaf, bytes32[] memory p) internal view returns (bool) {
        return records.verifyBatchMember(subject, root, leaf.id, leaf.category, leaf.digest, leaf.label, p);
    }

    function _prove(bytes32 root, Leaf memory leaf, bytes32[] memory p) internal {
        records.proveRecord(subject, root, leaf.id, leaf.category, leaf.digest, leaf.label, p);
    }

    /// @notice Known answer from the npm package itself:
    /// StandardMerkleTree.of(values, ["bytes32","bytes32","uint8","bytes32","bytes32"]) with
    /// values[i] = [subject, bytes16(keccak256("tag")) ++ bytes16(keccak256("record-i") last half),
    /// [2,4,13,2,14][i], keccak256("digest-i"), keccak256("label-i")], subject the patient's derived id.
    function test_leafEncodingMatchesOpenZeppelinMerkleTree() public {
        assertEq(
            SubjectId.unwrap(subject),
            0x924c3e599dd914fad5e7681f08455d10d0325af24cde087b1785ed89f10720e6,
            "subject derived as in JS"
        );
        uint8[5] memory cats = [2, 4, 13, 2, 14];
        Leaf[] memory leaves = new Leaf[](5);
        uint16 mask;
        for (uint256 i = 0; i < 5; ++i) {
            leaves[i] = Leaf({
                id: _memberId(tag, uint256(keccak256(bytes(string.concat("record-", _digit(i)))))),
                category: cats[i],
                digest: keccak256(bytes(string.concat("digest-", _digit(i)))),
                label: keccak256(bytes(string.concat("label-", _digit(i))))
            });
            mask |= Codes.bit(cats[i]);
        }
        bytes32[] memory hashes = _hashes(leaves);
        assertEq(hashes[0], 0x9926bd8f83fdc0b33f4705501e3ec7d121a36c9cc8de65796845f5a28579da5c, "leaf 0");
        assertEq(hashes[4], 0x19a47533694b01f01e054774962c54be9278ac040d0afa28193f5e9ba6b60dea, "leaf 4");
        (bytes32[] memory tree, uint256[] memory at) = StdMerkle.build(hashes);
        bytes32 root = 0x97b86f90311f014aebb63638815e73d02ea82c003b499c07451373b03b3a6b82;
        assertEq(tree[0], root, "root");
        bytes32[] memory p = StdMerkle.proof(tree, at[2]);
        assertEq(p.length, 3, "proof length");
        assertEq(p[0], 0x19a47533694b01f01e054774962c54be9278ac040d0afa28193f5e9ba6b60dea, "proof[0]");
        assertEq(p[1], 0x9926bd8f83fdc0b33f4705501e3ec7d121a36c9cc8de65796845f5a28579da5c, "proof[1]");
        assertEq(p[2], 0x1ca1d8fcef256fc2c2896e8a0cc5235e44327a2a1b4ab9ec6d4be8d7e2398b3f, "proof[2]");
        assertEq(
            RecordId.unwrap(leaves[2].id),
            0x97721080eade4b057eae589a1435045aef7cdbf4de9b4354e3b3767da937e9d2,
            "member id = tag ++ random"
        );
        assertEq(
            records.batchLeaf(subject, leaves[2].id, 13, leaves[2].digest, leaves[2].label),
            hashes[2],
            "batchLeaf"
        );

        _anchorBatch(root, 5, mask);
        assertTrue(_verify(root, leaves[2], p), "contract verifies JS proof");
        _prove(root, leaves[2], p);
        (bytes32 commitment, , uint8 category, uint64 anchoredAt, , bool superseded) = records.getRecord(
            subject,
            leaves[2].id
        );
        assertEq(commitment, keccak256(abi.encode(leaves[2].digest, leaves[2].label)), "commitment");
        assertEq(category, 13, "category");
        assertEq(anchoredAt, T0, "anchoredAt = batch time");
        assertFalse(superseded, "fresh");
    }

    /// @notice Every member of a random batch verifies and proves once; the record then exists
    /// with the leaf's category and commitment. Under another subject it verifies nowhere.
    function testFuzz_randomBatchMembersProve(uint256 seed, uint8 nRaw, uint8 pickRaw) public {
        uint256 n = bound(nRaw, 1, MAX_LEAVES);
        (Leaf[] memory leaves, uint16 categories) = _randomLeaves(seed, n);
        (bytes32[] memory tree, uint256[] memory at) = StdMerkle.build(_hashes(leaves));
        _anchorBatch(tree[0], uint32(n), categories);
        SubjectId own = _attackerCopies(tree[0], uint32(n), categories);
        for (uint256 i = 0; i < n; ++i) {
            bytes32[] memory p = StdMerkle.proof(tree, at[i]);
            assertEq(StdMerkle.process(tree[at[i]], p), tree[0], "port self-consistency");
            assertTrue(_verify(tree[0], leaves[i], p), "member verifies");
            assertFalse(_verifyUnder(own, tree[0], leaves[i], p), "verifies under the attacker's subject");
        }
        uint256 pick = bound(pickRaw, 0, n - 1);
        Leaf memory leaf = leaves[pick];
        bytes32[] memory proof = StdMerkle.proof(tree, at[pick]);
        vm.expectRevert(abi.encodeWithSelector(IRecordRegistry.RecordInvalidProof.selector, own, tree[0], leaf.id));
        records.proveRecord(own, tree[0], leaf.id, leaf.category, leaf.digest, leaf.label, proof);
        _prove(tree[0], leaf, proof);
        _assertProven(leaf);
        // Proving twice fails: ids are never reused within a subject.
        vm.expectRevert(abi.encodeWithSelector(IRecordRegistry.RecordExists.selector, subject, leaf.id));
        _prove(tree[0], leaf, proof);
    }

    /// @dev An attacker anchors the same root and tag under its own subject (a front-run copy).
    function _attackerCopies(bytes32 root, uint32 n, uint16 categories) internal returns (SubjectId own) {
        address attacker = address(0xBAD);
        own = _register(keccak256("attacker"), attacker);
        vm.prank(attacker);
        records.anchorBatch(own, root, tag, n, categories, "ipfs://copy", ConsentId.wrap(0));
    }

    function _verifyUnder(
        SubjectId s,
        bytes32 root,
        Leaf memory leaf,
        bytes32[] memory p
    ) internal view returns (bool) {
        return records.verifyBatchMember(s, root, leaf.id, leaf.category, leaf.digest, leaf.label, p);
    }

    function _assertProven(Leaf memory leaf) internal view {
        (bytes32 commitment, , uint8 category, , uint64 erasedAt, bool superseded) = records.getRecord(
            subject,
            leaf.id
        );
        assertEq(commitment, keccak256(abi.encode(leaf.digest, leaf.label)), "commitment");
        assertEq(category, leaf.category, "category");
        assertEq(erasedAt, 0, "not erased");
        assertFalse(superseded, "not superseded");
    }

    /// @notice A tampered proof, leaf or root never verifies nor proves.
    // solhint-disable-next-line function-max-lines
    function testFuzz_tamperedProofFails(uint256 seed, uint8 nRaw, uint8 pickRaw, uint8 how, uint256 noise) public {
        uint256 n = bound(nRaw, 1, MAX_LEAVES);
        (Leaf[] memory leaves, uint16 categories) = _randomLeaves(seed, n);
        (bytes32[] memory tree, uint256[] memory at) = StdMerkle.build(_hashes(leaves));
        bytes32 root = tree[0];
        _anchorBatch(root, uint32(n), categories);

        uint256 pick = bound(pickRaw, 0, n - 1);
        Leaf memory leaf = leaves[pick];
        bytes32[] memory proof = StdMerkle.proof(tree, at[pick]);
        uint256 flip = uint256(1) << (noise % 256);
        uint256 mode = how % 8;
        if (mode == 0) {
            // Flip one bit of one proof element (or append a junk element to an empty proof).
            if (proof.length == 0) {
                proof = new bytes32[](1);
                proof[0] = bytes32(flip);
            } else {
                uint256 k = (noise >> 8) % proof.length;
                proof[k] = bytes32(uint256(proof[k]) ^ flip);
            }
        } else if (mode == 1) {
            leaf.digest = bytes32(uint256(leaf.digest) ^ flip);
        } else if (mode == 2) {
            // Flip a bit of the id's random half (the tag half is checked first, see mode 7).
            leaf.id = RecordId.wrap(bytes32(uint256(RecordId.unwrap(leaf.id)) ^ (uint256(1) << (noise % 128))));
        } else if (mode == 3) {
            // Another category of the batch (or any other category).
            leaf.category = uint8((uint256(leaf.category) + 1 + (noise % 31)) % 32);
        } else if (mode == 4) {
            // Drop the last proof element (or add one when there is none).
            if (proof.length == 0) {
                proof = new bytes32[](1);
                proof[0] = root;
            } else {
                bytes32[] memory shorter = new bytes32[](proof.length - 1);
                for (uint256 i = 0; i < shorter.length; ++i) shorter[i] = proof[i];
                proof = shorter;
            }
        } else if (mode == 5) {
            // The proof of another member.
            vm.assume(n > 1);
            uint256 other = (pick + 1 + (noise % (n - 1))) % n;
            proof = StdMerkle.proof(tree, at[other]);
            vm.assume(StdMerkle.process(_hash(leaf), proof) != root);
        } else if (mode == 6) {
            // A different label commitment (the record's sensitive label cannot be swapped).
            leaf.label = bytes32(uint256(leaf.label) ^ flip);
        } else {
            // An id outside the batch's tag.
            leaf.id = RecordId.wrap(bytes32(uint256(RecordId.unwrap(leaf.id)) ^ (uint256(1) << (128 + (noise % 128)))));
        }
        assertFalse(_verify(root, leaf, proof), "tampered member must not verify");
        bool inBatch = leaf.category <= Codes.MAX_CATEGORY && categories & Codes.bit(leaf.category) != 0;
        if (bytes16(RecordId.unwrap(leaf.id)) != tag) {
            vm.expectRevert(
                abi.encodeWithSelector(IRecordRegistry.RecordTagMismatch.selector, subject, root, leaf.id, tag)
            );
        } else if (inBatch) {
            vm.expectRevert(
                abi.encodeWithSelector(IRecordRegistry.RecordInvalidProof.selector, subject, root, leaf.id)
            );
        } else {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IRecordRegistry.RecordCategoryOutsideBatch.selector,
                    subject,
                    root,
                    leaf.category
                )
            );
        }
        _prove(root, leaf, proof);
    }

    /// @notice A valid proof against an unknown root (or another batch's root) is refused.
    function testFuzz_proofAgainstWrongRootFails(uint256 seedA, uint256 seedB, uint8 nRaw) public {
        uint256 n = bound(nRaw, 2, MAX_LEAVES);
        (Leaf[] memory a, uint16 catsA) = _randomLeaves(seedA, n);
        (Leaf[] memory b, uint16 catsB) = _randomLeaves(seedB, n);
        (bytes32[] memory treeA, uint256[] memory atA) = StdMerkle.build(_hashes(a));
        (bytes32[] memory treeB, ) = StdMerkle.build(_hashes(b));
        vm.assume(treeA[0] != treeB[0]);
        bytes32[] memory proof = StdMerkle.proof(treeA, atA[0]);
        assertFalse(_verify(treeB[0], a[0], proof), "unknown root");
        vm.expectRevert(abi.encodeWithSelector(IRecordRegistry.RecordUnknownBatch.selector, subject, treeB[0]));
        _prove(treeB[0], a[0], proof);
        // Anchor B with A's categories too, so only the proof can fail.
        _anchorBatch(treeB[0], uint32(n), catsA | catsB);
        assertFalse(_verify(treeB[0], a[0], proof), "other root");
        vm.expectRevert(
            abi.encodeWithSelector(IRecordRegistry.RecordInvalidProof.selector, subject, treeB[0], a[0].id)
        );
        _prove(treeB[0], a[0], proof);
    }

    function _digit(uint256 i) private pure returns (string memory) {
        return string(abi.encodePacked(bytes1(uint8(48 + i))));
    }
}
