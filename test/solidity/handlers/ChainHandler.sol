// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Codes, ConsentId, Effect, OrgKind, RecordId, SubjectId} from "../../../contracts/libraries/MedLedgerTypes.sol";

import {Consortium} from "../utils/Consortium.sol";
import {Logs} from "../utils/Logs.sol";
import {StdMerkle} from "../utils/StdMerkle.sol";

/// @notice Invariant handler for property 4, "version chains never fork, cycle or change hands",
/// played against a front-running attacker. It anchors random new versions with random
/// `previous` choices — chain heads, superseded and erased versions, other subjects' ids, unknown
/// ids — in random categories, by random parties (the controller, the hospital's clinician, the
/// lab's clinician, an outsider), sometimes reusing an id; anchors Merkle batches and proves their
/// members; erases versions. An attacker with its own subject watches the pending transactions and
/// lands the victims' record ids, batch roots and tags, and registration salts first under its own
/// subject. The ghost is keyed by (subject, id) and records every `previous` link from the
/// RecordAnchored event; whether an anchor must succeed is predicted from the documented rules:
/// a fresh (subject, id), a public category, an authorized caller, and a previous version of the
/// same subject that is neither erased nor superseded, of the same category and — unless the
/// subject anchors — of the same custodian.
contract ChainHandler is Consortium {
    struct GRecord {
        bool known;
        bool erased;
        uint8 category;
        uint32 custodian;
        bytes32 previous; // from the RecordAnchored event (zero for a first version)
        uint8 successors; // versions whose event named this one as previous
        bytes32 next;
    }

    uint8 internal constant SUBJECTS = 3;
    uint8 internal constant ATTACKER = 3; // index of the attacker's own subject
    SubjectId[4] internal _subjects;
    address[4] internal _controllers;
    address internal constant CLINICIAN = address(0xD0C); // hospital (1): APPEND on subject 0
    address internal constant LAB_TECH = address(0x1AB); // lab (2): APPEND on subject 0
    address internal constant OUTSIDER = address(0x0BAD); // payer (3) without any consent
    address internal constant ATTACKER_KEY = address(0xA77AC);

    bytes32[] internal _keys; // keccak256(subject index, id) of every version
    mapping(bytes32 key => GRecord) internal _ghost;
    mapping(bytes32 key => uint8) internal _subjectOfKey;
    mapping(bytes32 key => bytes32) internal _idOfKey;

    // Mismatches with the model.
    uint256 public unexpectedAnchors; // succeeded though the model says it must fail
    uint256 public unexpectedRejects; // failed though the model says it must succeed
    uint256 public eventMismatches; // RecordAnchored did not report what was asked
    uint256 public victimsBlocked; // a victim's operation failed after the attacker front-ran it
    uint256 public attackerWins; // the attacker proved, read or erased a victim's record

    // Activity statistics.
    uint256 public calls;
    uint256 public anchorsOk;
    uint256 public anchorsRefused;
    uint256 public supersedes;
    uint256 public forkAttempts;
    uint256 public crossSubjectAttempts;
    uint256 public categoryChangeAttempts;
    uint256 public custodianChangeAttempts;
    uint256 public reusedIdAttempts;
    uint256 public provenOk;
    uint256 public erasures;
    uint256 public frontRunIds;
    uint256 public frontRunRoots;
    uint256 public frontRunSalts;

    constructor() {
        if (block.timestamp < T0) vm.warp(T0);
        _deploySystem();
        _admit(OrgKind.HOSPITAL, address(0xAD01));
        _admit(OrgKind.LAB, address(0xAD02));
        _admit(OrgKind.PAYER, address(0xAD03));
        _enroll(1, address(0xAD01), CLINICIAN, Codes.ROLE_CLINICIAN, uint64(block.timestamp) + 10 * YEAR);
        _enroll(2, address(0xAD02), LAB_TECH, Codes.ROLE_CLINICIAN, uint64(block.timestamp) + 10 * YEAR);
        _enroll(3, address(0xAD03), OUTSIDER, Codes.ROLE_PAYER, uint64(block.timestamp) + 10 * YEAR);
        for (uint256 i = 0; i < SUBJECTS; ++i) {
            _controllers[i] = address(uint160(0xC0 + i));
            _subjects[i] = _register(keccak256(abi.encode("chain-subject", i)), _controllers[i]);
        }
        _controllers[ATTACKER] = ATTACKER_KEY;
        _subjects[ATTACKER] = _register(keccak256("attacker-subject"), ATTACKER_KEY);
        // The hospital's and the lab's clinicians may append any category of subject 0.
        for (uint32 org = 1; org <= 2; ++org) {
            _grant(
                _subjects[0],
                _controllers[0],
                _orgRoleTerms(Effect.PERMIT, org, Codes.ROLE_CLINICIAN, Codes.ALL_CATEGORIES, 1, Codes.ALL_ACTIONS)
            );
        }
        for (uint8 i = 0; i < SUBJECTS; ++i) {
            RecordId id = _anchorAsSubject(_subjects[i], _controllers[i], 2, RecordId.wrap(0));
            _add(i, RecordId.unwrap(id), 2, 0, bytes32(0));
        }
    }

    // ───────────────────────────── actions ─────────────────────────────

    function anchor(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        uint8 si = uint8(seed % SUBJECTS);
        (address actor, bool authorized, uint32 custodian) = _party(si, (seed >> 8) % 7);
        uint8 category = (seed >> 12) % 16 == 0 ? uint8(16 + ((seed >> 16) % 16)) : uint8((seed >> 16) % 16);
        bytes32 previous = _choosePrevious(si, category, custodian, actor == _controllers[si], seed >> 24);
        bytes32 id = (seed >> 40) % 16 == 0 ? _idOfKey[_keys[(seed >> 48) % _keys.length]] : _fresh();
        if (_ghost[_key(si, id)].known) ++reusedIdAttempts;
        bool expected =
            !_ghost[_key(si, id)].known &&
                category <= Codes.MAX_CATEGORY &&
                authorized &&
                _previousOk(si, previous, category, custodian, actor == _controllers[si]);
        _tryAnchor(si, actor, id, category, previous, custodian, expected);
    }

    /// @notice The attacker sees a victim's pending anchor and lands the same record id under its
    /// own subject first; the victim's anchor must still succeed, and the attacker's copy gives it
    /// nothing over the victim's record.
    function frontRunAnchor(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        uint8 si = uint8(seed % SUBJECTS);
        bytes32 id = _fresh();
        ++frontRunIds;
        vm.prank(ATTACKER_KEY);
        records.anchorRecord(
            _subjects[ATTACKER],
            RecordId.wrap(id),
            2,
            _fresh(),
            _fresh(),
            RecordId.wrap(0),
            "x",
            ConsentId.wrap(0)
        );
        _add(ATTACKER, id, 2, 0, bytes32(0));
        // The victim's pending transaction lands.
        vm.prank(_controllers[si]);
        try
            records.anchorRecord(
                _subjects[si],
                RecordId.wrap(id),
                2,
                _fresh(),
                _fresh(),
                RecordId.wrap(0),
                "v",
                ConsentId.wrap(0)
            )
        {
            _add(si, id, 2, 0, bytes32(0));
        } catch {
            ++victimsBlocked;
        }
        // Nothing the attacker holds reaches the victim's record.
        vm.prank(ATTACKER_KEY);
        try records.eraseRecord(_subjects[si], RecordId.wrap(id)) {
            ++attackerWins;
        } catch {}
        vm.prank(ATTACKER_KEY);
        try records.access(_subjects[si], RecordId.wrap(id), Codes.PURPOSE_TREAT, ConsentId.wrap(0)) {
            ++attackerWins;
        } catch {}
    }

    /// @notice The attacker registers with a victim's pending salt first: it gets its own subject
    /// id, and the victim's registration still succeeds under the victim's.
    function frontRunRegistration(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        ++frontRunSalts;
        bytes32 salt = keccak256(abi.encode("salt", seed, frontRunSalts));
        address victim = address(uint160(uint256(keccak256(abi.encode("victim", seed, frontRunSalts)))) | 1);
        vm.prank(ATTACKER_KEY);
        try directory.registerPatient(salt, ATTACKER_KEY, _key("a")) {} catch {}
        vm.prank(victim);
        try directory.registerPatient(salt, victim, _key("v")) returns (SubjectId s) {
            if (directory.controllerOf(s) != victim) ++attackerWins;
        } catch {
            ++victimsBlocked;
        }
    }

    /// @notice A subject's controller anchors a Merkle batch of 1..4 first versions and proves them
    /// (a member may reuse an existing id: proving it must fail). Half the time the attacker first
    /// lands the same root and tag under its own subject; it can then prove none of the members.
    function batch(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        uint8 si = uint8(seed % SUBJECTS);
        BatchPlan memory b = _plan(seed, si);
        bool frontRun = (seed >> 200) % 2 == 0;
        if (frontRun) {
            ++frontRunRoots;
            vm.prank(ATTACKER_KEY);
            records.anchorBatch(
                _subjects[ATTACKER],
                b.tree[0],
                b.tag,
                uint32(b.ids.length),
                b.mask,
                "copy",
                ConsentId.wrap(0)
            );
        }
        vm.prank(_controllers[si]);
        try
            records.anchorBatch(
                _subjects[si],
                b.tree[0],
                b.tag,
                uint32(b.ids.length),
                b.mask,
                "ipfs://m",
                ConsentId.wrap(0)
            )
        {
            for (uint256 i = 0; i < b.ids.length; ++i) _proveMember(si, b, i, frontRun);
        } catch {
            ++victimsBlocked;
        }
    }

    struct BatchPlan {
        bytes16 tag;
        bytes32[] ids;
        uint8[] cats;
        bytes32[] digests;
        bytes32[] tree;
        uint256[] at;
        uint16 mask;
    }

    /// @dev 1..4 members whose ids start with a fresh tag (the label commitment reuses the digest).
    function _plan(uint256 seed, uint8 si) internal returns (BatchPlan memory b) {
        uint256 n = 1 + ((seed >> 8) % 4);
        b.tag = bytes16(keccak256(abi.encode("tag", seed, calls)));
        b.ids = new bytes32[](n);
        b.cats = new uint8[](n);
        b.digests = new bytes32[](n);
        bytes32[] memory leaves = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            uint256 r = rand(seed, i);
            // Sometimes the same id twice in one batch: its second proof must fail.
            b.ids[i] = i > 0 && r % 8 == 0 ? b.ids[0] : bytes32(b.tag) | bytes32(uint256(uint128(r >> 64)));
            b.cats[i] = uint8((r >> 16) % 16);
            b.digests[i] = _fresh();
            leaves[i] = StdMerkle.leafHash(
                _subjects[si],
                RecordId.wrap(b.ids[i]),
                b.cats[i],
                b.digests[i],
                b.digests[i]
            );
            b.mask |= Codes.bit(b.cats[i]);
        }
        (b.tree, b.at) = StdMerkle.build(leaves);
    }

    function _proveMember(uint8 si, BatchPlan memory b, uint256 i, bool frontRun) internal {
        bytes32[] memory proof = StdMerkle.proof(b.tree, b.at[i]);
        RecordId id = RecordId.wrap(b.ids[i]);
        if (frontRun) {
            try records.proveRecord(_subjects[ATTACKER], b.tree[0], id, b.cats[i], b.digests[i], b.digests[i], proof) {
                ++attackerWins;
            } catch {}
        }
        bool expected = !_ghost[_key(si, b.ids[i])].known;
        try records.proveRecord(_subjects[si], b.tree[0], id, b.cats[i], b.digests[i], b.digests[i], proof) {
            ++provenOk;
            if (!expected) ++unexpectedAnchors;
            else _add(si, b.ids[i], b.cats[i], 0, bytes32(0));
        } catch {
            if (expected) ++unexpectedRejects;
        }
    }

    function erase(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        bytes32 k = _keys[seed % _keys.length];
        uint8 si = _subjectOfKey[k];
        GRecord storage g = _ghost[k];
        bool expected = !g.erased;
        vm.prank(_controllers[si]);
        try records.eraseRecord(_subjects[si], RecordId.wrap(_idOfKey[k])) {
            ++erasures;
            g.erased = true;
            if (!expected) ++unexpectedAnchors;
        } catch {
            if (expected) ++unexpectedRejects;
        }
    }

    function _mix(uint256 seed) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, "chain")));
    }

    // ───────────────────────────── model ─────────────────────────────

    function _key(uint8 si, bytes32 id) internal pure returns (bytes32) {
        return keccak256(abi.encode(si, id));
    }

    /// @dev Who anchors: the controller (any custodian: 0), the hospital's or the lab's clinician
    /// (APPEND on subject 0 only), or an outsider without consent.
    function _party(uint8 si, uint256 k) internal view returns (address actor, bool authorized, uint32 custodian) {
        if (k < 3) return (_controllers[si], true, 0);
        if (k < 5) return (CLINICIAN, si == 0, 1);
        if (k < 6) return (LAB_TECH, si == 0, 2);
        return (OUTSIDER, false, 3);
    }

    /// @dev A new version may name `previous` iff it is zero, or a known version of the same
    /// subject that is neither erased nor superseded, of the same category, and — unless the subject
    /// anchors — of the anchoring party's custodian.
    function _previousOk(
        uint8 si,
        bytes32 previous,
        uint8 category,
        uint32 custodian,
        bool bySubject
    ) internal view returns (bool) {
        if (previous == bytes32(0)) return true;
        GRecord storage p = _ghost[_key(si, previous)];
        return
            p.known &&
            !p.erased &&
            p.successors == 0 &&
            p.category == category &&
            (bySubject || p.custodian == custodian);
    }

    function _choosePrevious(
        uint8 si,
        uint8 category,
        uint32 custodian,
        bool bySubject,
        uint256 r
    ) internal returns (bytes32 previous) {
        uint256 mode = r % 10;
        if (mode < 2) return bytes32(0);
        uint8 from = si;
        if (mode < 6) previous = _head(si, r >> 8);
        else if (mode == 6) {
            from = uint8((si + 1 + ((r >> 8) % 3)) % 4); // another subject's (maybe the attacker's)
            previous = _head(from, r >> 16);
        } else if (mode == 7)
            previous = (r >> 8) % 2 == 0 ? _superseded(r >> 16) : _idOfKey[_keys[(r >> 16) % _keys.length]];
        else if (mode == 8) previous = keccak256(abi.encode("unknown", r));
        else previous = _erased(r >> 8);
        GRecord storage p = _ghost[_key(si, previous)];
        if (!p.known && from != si) ++crossSubjectAttempts;
        if (p.known && p.successors != 0) ++forkAttempts;
        if (p.known && p.category != category) ++categoryChangeAttempts;
        if (p.known && !bySubject && p.custodian != custodian) ++custodianChangeAttempts;
    }

    /// @dev The latest version of the chain through a random version of subject `si`.
    function _head(uint8 si, uint256 r) internal view returns (bytes32 id) {
        uint256 n = _keys.length;
        uint256 start = r % n;
        bytes32 k;
        for (uint256 j = 0; j < n; ++j) {
            bytes32 candidate = _keys[(start + j) % n];
            if (_subjectOfKey[candidate] == si) {
                k = candidate;
                break;
            }
        }
        if (k == bytes32(0)) return _idOfKey[_keys[start]];
        for (uint256 guard = 0; _ghost[k].next != bytes32(0) && guard < n; ++guard) k = _key(si, _ghost[k].next);
        return _idOfKey[k];
    }

    /// @dev A version that already has a successor (a fork attempt), else any version.
    function _superseded(uint256 r) internal view returns (bytes32) {
        uint256 n = _keys.length;
        uint256 start = r % n;
        for (uint256 j = 0; j < n; ++j) {
            bytes32 candidate = _keys[(start + j) % n];
            if (_ghost[candidate].successors != 0) return _idOfKey[candidate];
        }
        return _idOfKey[_keys[start]];
    }

    function _erased(uint256 r) internal view returns (bytes32) {
        uint256 n = _keys.length;
        uint256 start = r % n;
        for (uint256 j = 0; j < n; ++j) {
            bytes32 candidate = _keys[(start + j) % n];
            if (_ghost[candidate].erased) return _idOfKey[candidate];
        }
        return _idOfKey[_keys[start]];
    }

    function _tryAnchor(
        uint8 si,
        address actor,
        bytes32 id,
        uint8 category,
        bytes32 previous,
        uint32 custodian,
        bool expected
    ) internal {
        vm.recordLogs();
        vm.prank(actor);
        try
            records.anchorRecord(
                _subjects[si],
                RecordId.wrap(id),
                category,
                _fresh(),
                _fresh(),
                RecordId.wrap(previous),
                "ipfs://v",
                ConsentId.wrap(0)
            )
        {
            ++anchorsOk;
            Logs.Anchored[] memory ev = Logs.anchored(vm.getRecordedLogs(), address(records));
            if (!expected) ++unexpectedAnchors;
            if (
                ev.length != 1 ||
                ev[0].recordId != id ||
                ev[0].subject != SubjectId.unwrap(_subjects[si]) ||
                ev[0].previous != previous ||
                ev[0].category != category ||
                ev[0].custodian != custodian
            ) ++eventMismatches;
            if (ev.length == 1 && !_ghost[_key(si, id)].known) {
                _add(si, id, category, custodian, ev[0].previous);
                if (ev[0].previous != bytes32(0)) ++supersedes;
            }
        } catch {
            vm.getRecordedLogs();
            ++anchorsRefused;
            if (expected) ++unexpectedRejects;
        }
    }

    function _add(uint8 si, bytes32 id, uint8 category, uint32 custodian, bytes32 previous) internal {
        bytes32 k = _key(si, id);
        _keys.push(k);
        _subjectOfKey[k] = si;
        _idOfKey[k] = id;
        _ghost[k] = GRecord({
            known: true,
            erased: false,
            category: category,
            custodian: custodian,
            previous: previous,
            successors: 0,
            next: 0
        });
        if (previous != bytes32(0)) {
            GRecord storage p = _ghost[_key(si, previous)];
            ++p.successors;
            if (p.next == bytes32(0)) p.next = id;
        }
    }

    // ───────────────────────────── invariant checks ─────────────────────────────

    /// @notice How many versions have more than one successor (a fork).
    function forks() external view returns (uint256 bad) {
        for (uint256 i = 0; i < _keys.length; ++i) {
            if (_ghost[_keys[i]].successors > 1) ++bad;
        }
    }

    /// @notice How many versions do not reach a first version by following `previous` within N
    /// steps (N = number of versions) through known versions of their own subject, with one
    /// category and — when a practitioner anchored — one custodian; and the longest chain seen.
    function brokenChains() external view returns (uint256 bad, uint256 longest) {
        uint256 n = _keys.length;
        for (uint256 i = 0; i < n; ++i) {
            bytes32 k = _keys[i];
            uint8 si = _subjectOfKey[k];
            uint8 category = _ghost[k].category;
            uint256 steps = 0;
            bool ok = true;
            while (_ghost[k].previous != bytes32(0)) {
                k = _key(si, _ghost[k].previous);
                ++steps;
                if (!_ghost[k].known || _ghost[k].category != category || steps > n) {
                    ok = false;
                    break;
                }
            }
            if (!ok) ++bad;
            if (steps + 1 > longest) longest = steps + 1;
        }
    }

    /// @notice How many versions whose on-chain state (category, custodian, superseded, erased)
    /// differs from the ghost.
    function stateMismatches() external view returns (uint256 bad) {
        for (uint256 i = 0; i < _keys.length; ++i) {
            bytes32 k = _keys[i];
            GRecord storage g = _ghost[k];
            (, uint32 custodian, uint8 category, , uint64 erasedAt, bool superseded) = records.getRecord(
                _subjects[_subjectOfKey[k]],
                RecordId.wrap(_idOfKey[k])
            );
            if (
                superseded != (g.successors > 0) ||
                (erasedAt != 0) != g.erased ||
                category != g.category ||
                custodian != g.custodian
            ) ++bad;
        }
    }

    /// @notice Activity statistics: calls, anchors ok, anchors refused, supersedes, fork attempts,
    /// cross-subject attempts, category-change attempts, custodian-change attempts, reused-id
    /// attempts, proven members, erasures, front-run ids, front-run roots, front-run salts,
    /// versions, (slot for the longest chain).
    function stats() external view returns (uint256[16] memory s) {
        s = [
            calls,
            anchorsOk,
            anchorsRefused,
            supersedes,
            forkAttempts,
            crossSubjectAttempts,
            categoryChangeAttempts,
            custodianChangeAttempts,
            reusedIdAttempts,
            provenOk,
            erasures,
            frontRunIds,
            frontRunRoots,
            frontRunSalts,
            _keys.length,
            0
        ];
    }
}
