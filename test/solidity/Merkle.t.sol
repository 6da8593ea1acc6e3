// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IRecordRegistry} from "../../contracts/interfaces/IRecordRegistry.sol";
import {Codes, ConsentId, RecordId, SubjectId} from "../../contracts/libraries/MedLedgerTypes.sol";

import {Consortium} from "./utils/Consortium.sol";
import {StdMerkle} from "./utils/StdMerkle.sol";

/// @notice Merkle batch anchors: OpenZeppelin StandardMerkleTree-compatible leaves and proofs,
/// random batches, tampered proofs.
contract MerkleBatchTest is Consortium {
    SubjectId internal subject = SubjectId.wrap(keccak256("merkle-subject"));
    address internal patient = address(0xB0B);

    uint256 internal constant MAX_LEAVES = 12;

    function setUp() public {
        vm.warp(T0);
        _deploySystem();
        _register(subject, patient);
    }

    struct Leaf {
        RecordId id;
        uint8 category;
        bytes32 digest;
    }

    function _randomLeaves(uint256 seed, uint256 n) internal pure returns (Leaf[] memory leaves, uint32 categories) {
        leaves = new Leaf[](n);
        for (uint256 i = 0; i < n; ++i) {
            uint256 r = rand(seed, i);
            leaves[i] = Leaf({
                id: RecordId.wrap(keccak256(abi.encode("id", r))),
                category: uint8(r % (uint256(Codes.MAX_CATEGORY) + 1)),
                digest: keccak256(abi.encode("digest", r))
            });
            categories |= Codes.bit(leaves[i].category);
        }
    }

    function _hashes(Leaf[] memory leaves) internal pure returns (bytes32[] memory h) {
        h = new bytes32[](leaves.length);
        for (uint256 i = 0; i < leaves.length; ++i) {
            h[i] = StdMerkle.leafHash(leaves[i].id, leaves[i].category, leaves[i].digest);
        }
    }

    function _anchorBatch(bytes32 root, uint32 count, uint32 categories) internal {
        vm.prank(patient);
        records.anchorBatch(subject, root, count, categories, "ipfs://manifest", ConsentId.wrap(0));
    }

    /// @notice Known answer from the npm package itself:
    /// StandardMerkleTree.of(values, ["bytes32","uint8","bytes32"]) with
    /// values[i] = [keccak256("record-i"), [2,4,16,2,19][i], keccak256("digest-i")].
    function test_leafEncodingMatchesOpenZeppelinMerkleTree() public {
        uint8[5] memory cats = [2, 4, 16, 2, 19];
        bytes32[] memory hashes = new bytes32[](5);
        uint32 mask;
        for (uint256 i = 0; i < 5; ++i) {
            hashes[i] = StdMerkle.leafHash(
                RecordId.wrap(keccak256(bytes(string.concat("record-", _digit(i))))),
                cats[i],
                keccak256(bytes(string.concat("digest-", _digit(i))))
            );
            mask |= Codes.bit(cats[i]);
        }
        assertEq(hashes[0], 0xa7f9b4bb6137eabbb452db9975e5d75c2d0cba2fa54b73be7b545586f3a905ce, "leaf 0");
        assertEq(hashes[4], 0xc1a0779d5c56dc6864804b2ddb72881540fdcc6d065b50429228cb80213435f1, "leaf 4");
        (bytes32[] memory tree, uint256[] memory at) = StdMerkle.build(hashes);
        bytes32 root = 0x76743c020514ed66b7efd4f21871ddade97723335310394e8be208bc579a65d5;
        assertEq(tree[0], root, "root");
        // Proof of value 2 (category 16) as printed by tree.getProof(2).
        bytes32[] memory p = StdMerkle.proof(tree, at[2]);
        assertEq(p.length, 3, "proof length");
        assertEq(p[0], 0x0751addb341b6fc3d6784120d371f90bd3dcf7baca08a692e840ec4482c50c33, "proof[0]");
        assertEq(p[1], 0xc1a0779d5c56dc6864804b2ddb72881540fdcc6d065b50429228cb80213435f1, "proof[1]");
        assertEq(p[2], 0x19316d2f22772f7a97c630201ec6d924b16a590c5fb0bdb265a5aefb5df6ebbd, "proof[2]");

        _anchorBatch(root, 5, mask);
        RecordId id2 = RecordId.wrap(keccak256("record-2"));
        assertTrue(records.verifyBatchMember(root, id2, 16, keccak256("digest-2"), p), "contract verifies JS proof");
        records.proveRecord(root, id2, 16, keccak256("digest-2"), p);
        (SubjectId s, bytes32 digest, , uint8 category, uint64 anchoredAt, , bool superseded) = records.getRecord(id2);
        assertEq(SubjectId.unwrap(s), SubjectId.unwrap(subject), "subject");
        assertEq(digest, keccak256("digest-2"), "digest");
        assertEq(category, 16, "category");
        assertEq(anchoredAt, T0, "anchoredAt = batch time");
        assertFalse(superseded, "fresh");
    }

    /// @notice Every member of a random batch verifies and proves once; the record then exists
    /// with the leaf's category and digest.
    function testFuzz_randomBatchMembersProve(uint256 seed, uint8 nRaw, uint8 pickRaw) public {
        uint256 n = bound(nRaw, 1, MAX_LEAVES);
        (Leaf[] memory leaves, uint32 categories) = _randomLeaves(seed, n);
        (bytes32[] memory tree, uint256[] memory at) = StdMerkle.build(_hashes(leaves));
        bytes32 root = tree[0];
        _anchorBatch(root, uint32(n), categories);

        for (uint256 i = 0; i < n; ++i) {
            bytes32[] memory p = StdMerkle.proof(tree, at[i]);
            assertEq(StdMerkle.process(tree[at[i]], p), root, "port self-consistency");
            assertTrue(
                records.verifyBatchMember(root, leaves[i].id, leaves[i].category, leaves[i].digest, p),
                "member verifies"
            );
        }
        uint256 pick = bound(pickRaw, 0, n - 1);
        Leaf memory leaf = leaves[pick];
        bytes32[] memory proof = StdMerkle.proof(tree, at[pick]);
        records.proveRecord(root, leaf.id, leaf.category, leaf.digest, proof);
        (SubjectId s, bytes32 digest, , uint8 category, , uint64 erasedAt, bool superseded) = records.getRecord(
            leaf.id
        );
        assertEq(SubjectId.unwrap(s), SubjectId.unwrap(subject), "subject");
        assertEq(digest, leaf.digest, "digest");
        assertEq(category, leaf.category, "category");
        assertEq(erasedAt, 0, "not erased");
        assertFalse(superseded, "not superseded");
        // Proving twice fails: ids are never reused.
        vm.expectRevert(abi.encodeWithSelector(IRecordRegistry.RecordExists.selector, leaf.id));
        records.proveRecord(root, leaf.id, leaf.category, leaf.digest, proof);
    }

    /// @notice A tampered proof, leaf or root never verifies nor proves.
    // solhint-disable-next-line function-max-lines
    function testFuzz_tamperedProofFails(uint256 seed, uint8 nRaw, uint8 pickRaw, uint8 how, uint256 noise) public {
        uint256 n = bound(nRaw, 1, MAX_LEAVES);
        (Leaf[] memory leaves, uint32 categories) = _randomLeaves(seed, n);
        (bytes32[] memory tree, uint256[] memory at) = StdMerkle.build(_hashes(leaves));
        bytes32 root = tree[0];
        _anchorBatch(root, uint32(n), categories);

        uint256 pick = bound(pickRaw, 0, n - 1);
        Leaf memory leaf = leaves[pick];
        bytes32[] memory proof = StdMerkle.proof(tree, at[pick]);
        uint256 flip = uint256(1) << (noise % 256);
        uint256 mode = how % 7;
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
            leaf.id = RecordId.wrap(bytes32(uint256(RecordId.unwrap(leaf.id)) ^ flip));
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
            vm.assume(StdMerkle.process(StdMerkle.leafHash(leaf.id, leaf.category, leaf.digest), proof) != root);
        } else {
            // Present an inner node as a leaf (second preimage attempt): the leaf is rehashed.
            vm.assume(n > 1);
            leaf.id = RecordId.wrap(tree[0]);
            leaf.digest = tree[1];
        }
        assertFalse(
            records.verifyBatchMember(root, leaf.id, leaf.category, leaf.digest, proof),
            "tampered member must not verify"
        );
        bool inBatch = leaf.category <= Codes.MAX_CATEGORY && categories & Codes.bit(leaf.category) != 0;
        if (inBatch) {
            vm.expectRevert(abi.encodeWithSelector(IRecordRegistry.RecordInvalidProof.selector, root, leaf.id));
        } else {
            vm.expectRevert(
                abi.encodeWithSelector(IRecordRegistry.RecordCategoryOutsideBatch.selector, root, leaf.category)
            );
        }
        records.proveRecord(root, leaf.id, leaf.category, leaf.digest, proof);
    }

    /// @notice A valid proof against an unknown root (or another batch's root) is refused.
    function testFuzz_proofAgainstWrongRootFails(uint256 seedA, uint256 seedB, uint8 nRaw) public {
        uint256 n = bound(nRaw, 2, MAX_LEAVES);
        (Leaf[] memory a, uint32 catsA) = _randomLeaves(seedA, n);
        (Leaf[] memory b, uint32 catsB) = _randomLeaves(seedB, n);
        (bytes32[] memory treeA, uint256[] memory atA) = StdMerkle.build(_hashes(a));
        (bytes32[] memory treeB, ) = StdMerkle.build(_hashes(b));
        vm.assume(treeA[0] != treeB[0]);
        bytes32[] memory proof = StdMerkle.proof(treeA, atA[0]);
        // Root B unknown yet.
        assertFalse(records.verifyBatchMember(treeB[0], a[0].id, a[0].category, a[0].digest, proof), "unknown root");
        vm.expectRevert(abi.encodeWithSelector(IRecordRegistry.RecordUnknownBatch.selector, treeB[0]));
        records.proveRecord(treeB[0], a[0].id, a[0].category, a[0].digest, proof);
        // Anchor B with A's categories too, so only the proof can fail.
        _anchorBatch(treeB[0], uint32(n), catsA | catsB);
        assertFalse(records.verifyBatchMember(treeB[0], a[0].id, a[0].category, a[0].digest, proof), "other root");
        vm.expectRevert(abi.encodeWithSelector(IRecordRegistry.RecordInvalidProof.selector, treeB[0], a[0].id));
        records.proveRecord(treeB[0], a[0].id, a[0].category, a[0].digest, proof);
    }

    function _digit(uint256 i) private pure returns (string memory) {
        return string(abi.encodePacked(bytes1(uint8(48 + i))));
    }
}
