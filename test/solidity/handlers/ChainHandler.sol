// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Codes, ConsentId, Effect, OrgKind, RecordId, SubjectId} from "../../../contracts/libraries/MedLedgerTypes.sol";

import {Consortium} from "../utils/Consortium.sol";
import {Logs} from "../utils/Logs.sol";
import {StdMerkle} from "../utils/StdMerkle.sol";

/// @notice Invariant handler for property 4, "version chains never fork or cycle". It anchors
/// random new versions with random `previous` choices — chain heads, already-superseded and
/// erased versions, versions of other subjects, unknown ids — sometimes reusing an existing record
/// id, anchors Merkle batches and proves their members, and erases versions. It records the
/// `previous` link of every version from the RecordAnchored event (not from its own input) in a
/// ghost successor map, and predicts from first principles whether each anchor must succeed.
contract ChainHandler is Consortium {
    struct GRecord {
        bool known;
        uint8 subject;
        bool erased;
        bytes32 previous; // from the RecordAnchored event (zero for a first version)
        uint8 successors; // versions whose event named this one as previous
        bytes32 next;
    }

    SubjectId[3] internal _subjects;
    address[3] internal _controllers;
    address internal constant CLINICIAN = address(0xD0C); // hospital, APPEND consent for subject 0
    address internal constant OUTSIDER = address(0x1AB); // lab clinician without any consent

    bytes32[] internal _ids;
    mapping(bytes32 id => GRecord) internal _ghost;

    // Mismatches with the model.
    uint256 public unexpectedAnchors; // succeeded though the model says it must fail
    uint256 public unexpectedRejects; // failed though the model says it must succeed
    uint256 public eventMismatches; // RecordAnchored did not report what was asked

    // Activity statistics.
    uint256 public calls;
    uint256 public anchorsOk;
    uint256 public anchorsRefused;
    uint256 public supersedes; // successful anchors with a previous version
    uint256 public forkAttempts; // anchors naming an already-superseded previous
    uint256 public crossSubjectAttempts;
    uint256 public erasedPreviousAttempts;
    uint256 public reusedIdAttempts;
    uint256 public provenOk;
    uint256 public erasures;

    constructor() {
        if (block.timestamp < T0) vm.warp(T0);
        _deploySystem();
        _admit(OrgKind.HOSPITAL, address(0xAD01));
        _admit(OrgKind.LAB, address(0xAD02));
        _enroll(1, address(0xAD01), CLINICIAN, Codes.ROLE_CLINICIAN, uint64(block.timestamp) + 10 * YEAR);
        _enroll(2, address(0xAD02), OUTSIDER, Codes.ROLE_CLINICIAN, uint64(block.timestamp) + 10 * YEAR);
        for (uint256 i = 0; i < 3; ++i) {
            _subjects[i] = SubjectId.wrap(keccak256(abi.encode("chain-subject", i)));
            _controllers[i] = address(uint160(0xC0 + i));
            _register(_subjects[i], _controllers[i]);
        }
        // The hospital's clinicians may append any category of subject 0.
        _grant(
            _subjects[0],
            _controllers[0],
            _orgRoleTerms(Effect.PERMIT, 1, Codes.ROLE_CLINICIAN, type(uint32).max, 1, Codes.ALL_ACTIONS)
        );
        // One first version per subject to start from.
        for (uint8 i = 0; i < 3; ++i) {
            RecordId id = _anchorAsSubject(_subjects[i], _controllers[i], 2, RecordId.wrap(0));
            _add(RecordId.unwrap(id), i, bytes32(0));
        }
    }

    // ───────────────────────────── actions ─────────────────────────────

    function anchor(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        uint8 si = uint8(seed % 3);
        uint256 who = (seed >> 8) % 6;
        address actor =
            who < 4
                ? _controllers[si]
                : who == 4
                    ? CLINICIAN
                    : OUTSIDER;
        bool authorized = who < 4 || (who == 4 && si == 0);
        uint8 category = (seed >> 12) % 16 == 0 ? uint8(32 + ((seed >> 16) % 8)) : uint8((seed >> 16) % 32);
        bytes32 previous = _choosePrevious(si, seed >> 24);
        bytes32 id = (seed >> 40) % 16 == 0 ? _ids[(seed >> 48) % _ids.length] : _fresh();
        if (_ghost[id].known) ++reusedIdAttempts;

        bool expected = !_ghost[id].known && category <= Codes.MAX_CATEGORY && authorized && _previousOk(si, previous);
        vm.recordLogs();
        vm.prank(actor);
        try
            records.anchorRecord(
                RecordId.wrap(id),
                _subjects[si],
                category,
                _fresh(),
                RecordId.wrap(previous),
                "ipfs://v",
                ConsentId.wrap(0)
            )
        {
            ++anchorsOk;
            Logs.Anchored[] memory ev = Logs.anchored(vm.getRecordedLogs(), address(records));
            if (!expected) ++unexpectedAnchors;
            if (ev.length != 1 || ev[0].recordId != id || ev[0].previous != previous || ev[0].category != category) {
                ++eventMismatches;
            }
            if (ev.length == 1 && !_ghost[id].known) {
                _add(id, si, ev[0].previous);
                if (ev[0].previous != bytes32(0)) ++supersedes;
            }
        } catch {
            vm.getRecordedLogs();
            ++anchorsRefused;
            if (expected) ++unexpectedRejects;
        }
    }

    /// @notice The controller anchors a Merkle batch of 1..4 first versions and proves them
    /// (a member may reuse an existing record id: proving it must fail).
    function batch(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        uint8 si = uint8(seed % 3);
        uint256 n = 1 + ((seed >> 8) % 4);
        bytes32[] memory leafIds = new bytes32[](n);
        uint8[] memory cats = new uint8[](n);
        bytes32[] memory digests = new bytes32[](n);
        bytes32[] memory leaves = new bytes32[](n);
        uint32 mask;
        for (uint256 i = 0; i < n; ++i) {
            uint256 r = rand(seed, i);
            leafIds[i] = r % 8 == 0 ? _ids[(r >> 8) % _ids.length] : _fresh();
            cats[i] = uint8((r >> 16) % 32);
            digests[i] = _fresh();
            leaves[i] = StdMerkle.leafHash(RecordId.wrap(leafIds[i]), cats[i], digests[i]);
            mask |= Codes.bit(cats[i]);
        }
        (bytes32[] memory tree, uint256[] memory at) = StdMerkle.build(leaves);
        vm.prank(_controllers[si]);
        records.anchorBatch(_subjects[si], tree[0], uint32(n), mask, "ipfs://manifest", ConsentId.wrap(0));
        for (uint256 i = 0; i < n; ++i) {
            bool expected = !_ghost[leafIds[i]].known;
            // The same id twice in one batch: the second proof must fail.
            try
                records.proveRecord(
                    tree[0],
                    RecordId.wrap(leafIds[i]),
                    cats[i],
                    digests[i],
                    StdMerkle.proof(tree, at[i])
                )
            {
                ++provenOk;
                if (!expected) ++unexpectedAnchors;
                else _add(leafIds[i], si, bytes32(0));
            } catch {
                if (expected) ++unexpectedRejects;
            }
        }
    }

    function erase(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        bytes32 id = _ids[seed % _ids.length];
        GRecord storage g = _ghost[id];
        bool expected = !g.erased;
        vm.prank(_controllers[g.subject]);
        try records.eraseRecord(RecordId.wrap(id)) {
            ++erasures;
            g.erased = true;
            if (!expected) ++unexpectedAnchors;
        } catch {
            if (expected) ++unexpectedRejects;
        }
    }

    /// @dev The fuzzer favours small and edge values; hash them so every bit field used below is
    /// uniformly distributed (shrinking still works on the call sequence).
    function _mix(uint256 seed) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, "chain")));
    }

    // ───────────────────────────── model ─────────────────────────────

    /// @dev A new version may name `previous` iff it is zero, or an existing, unerased,
    /// not-yet-superseded version of the same subject.
    function _previousOk(uint8 si, bytes32 previous) internal view returns (bool) {
        if (previous == bytes32(0)) return true;
        GRecord storage p = _ghost[previous];
        return p.known && p.subject == si && !p.erased && p.successors == 0;
    }

    function _choosePrevious(uint8 si, uint256 r) internal returns (bytes32 previous) {
        uint256 mode = r % 10;
        if (mode < 2) return bytes32(0);
        if (mode < 6)
            previous = _head(si, r >> 8); // extend a chain of this subject
        else if (mode == 6)
            previous = _head(uint8((si + 1 + ((r >> 8) % 2)) % 3), r >> 16); // another subject's
        else if (mode == 7) previous = (r >> 8) % 2 == 0 ? _superseded(r >> 16) : _ids[(r >> 16) % _ids.length];
        else if (mode == 8)
            previous = keccak256(abi.encode("unknown", r)); // never anchored
        else previous = _erased(r >> 8);
        GRecord storage p = _ghost[previous];
        if (p.known && p.successors != 0) ++forkAttempts;
        if (p.known && p.subject != si) ++crossSubjectAttempts;
        if (p.known && p.erased) ++erasedPreviousAttempts;
    }

    /// @dev The latest version of the chain through a random version of subject `si`.
    function _head(uint8 si, uint256 r) internal view returns (bytes32 id) {
        uint256 n = _ids.length;
        uint256 start = r % n;
        for (uint256 j = 0; j < n; ++j) {
            bytes32 candidate = _ids[(start + j) % n];
            if (_ghost[candidate].subject == si) {
                id = candidate;
                break;
            }
        }
        if (id == bytes32(0)) return _ids[start];
        for (uint256 guard = 0; _ghost[id].next != bytes32(0) && guard < n; ++guard) id = _ghost[id].next;
    }

    /// @dev A version that already has a successor (a fork attempt), else any version.
    function _superseded(uint256 r) internal view returns (bytes32) {
        uint256 n = _ids.length;
        uint256 start = r % n;
        for (uint256 j = 0; j < n; ++j) {
            bytes32 candidate = _ids[(start + j) % n];
            if (_ghost[candidate].successors != 0) return candidate;
        }
        return _ids[start];
    }

    function _erased(uint256 r) internal view returns (bytes32) {
        uint256 n = _ids.length;
        uint256 start = r % n;
        for (uint256 j = 0; j < n; ++j) {
            bytes32 candidate = _ids[(start + j) % n];
            if (_ghost[candidate].erased) return candidate;
        }
        return _ids[start];
    }

    function _add(bytes32 id, uint8 si, bytes32 previous) internal {
        _ids.push(id);
        _ghost[id] = GRecord({known: true, subject: si, erased: false, previous: previous, successors: 0, next: 0});
        if (previous != bytes32(0)) {
            GRecord storage p = _ghost[previous];
            ++p.successors;
            if (p.next == bytes32(0)) p.next = id;
        }
    }

    // ───────────────────────────── invariant checks ─────────────────────────────

    /// @notice How many versions have more than one successor (a fork).
    function forks() external view returns (uint256 bad) {
        for (uint256 i = 0; i < _ids.length; ++i) {
            if (_ghost[_ids[i]].successors > 1) ++bad;
        }
    }

    /// @notice How many versions do not reach a first version by following `previous` within N
    /// steps (N = number of versions), or pass through an unknown version or another subject's.
    /// Also returns the longest chain seen.
    function brokenChains() external view returns (uint256 bad, uint256 longest) {
        uint256 n = _ids.length;
        for (uint256 i = 0; i < n; ++i) {
            bytes32 id = _ids[i];
            uint8 si = _ghost[id].subject;
            uint256 steps = 0;
            bool ok = true;
            while (_ghost[id].previous != bytes32(0)) {
                id = _ghost[id].previous;
                ++steps;
                if (!_ghost[id].known || _ghost[id].subject != si || steps > n) {
                    ok = false;
                    break;
                }
            }
            if (!ok) ++bad;
            if (steps + 1 > longest) longest = steps + 1;
        }
    }

    /// @notice How many versions whose on-chain state (subject, superseded, erased) differs from
    /// the ghost: superseded must be true exactly when the version has a successor.
    function stateMismatches() external view returns (uint256 bad) {
        for (uint256 i = 0; i < _ids.length; ++i) {
            bytes32 id = _ids[i];
            GRecord storage g = _ghost[id];
            (SubjectId s, , , , , uint64 erasedAt, bool superseded) = records.getRecord(RecordId.wrap(id));
            if (
                superseded != (g.successors > 0) ||
                (erasedAt != 0) != g.erased ||
                SubjectId.unwrap(s) != SubjectId.unwrap(_subjects[g.subject])
            ) ++bad;
        }
    }

    /// @notice Activity statistics: calls, anchors ok, anchors refused, supersedes, fork attempts,
    /// cross-subject attempts, erased-previous attempts, reused-id attempts, proven members,
    /// erasures, versions, (slot for the longest chain).
    function stats() external view returns (uint256[12] memory s) {
        s = [
            calls,
            anchorsOk,
            anchorsRefused,
            supersedes,
            forkAttempts,
            crossSubjectAttempts,
            erasedPreviousAttempts,
            reusedIdAttempts,
            provenOk,
            erasures,
            _ids.length,
            0
        ];
    }
}
