// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {
    AccessBasis,
    Codes,
    ConsentId,
    ConsentTerms,
    Decision,
    Effect,
    GranteeKind,
    OrgKind,
    RecordId,
    SubjectId
} from "../../../contracts/libraries/MedLedgerTypes.sol";

import {Consortium} from "../utils/Consortium.sol";
import {ConsentModel} from "../utils/ConsentModel.sol";
import {Logs} from "../utils/Logs.sol";

/// @notice Invariant handler for property 1, "no access event without a valid consent or
/// break-glass". It deploys its own consortium (it is governance), then performs random
/// sequences of: grants (permits and denies, random terms), revocations, practitioner and
/// organization suspensions, time jumps, anchors, single and batch accesses, break-glass,
/// break-glass opt-out, erasures and view probes — across six practitioners of three
/// organizations with different roles, two subjects, their controllers and guardians.
///
/// It keeps its own ghost copy of everything a decision depends on and decides every access from
/// first principles (ConsentModel over the ghost consent list), then compares:
/// - an access / batch / break-glass / anchor that SUCCEEDS must be allowed by the model at that
///   moment, and every RecordAccessed it emits must name a basis the model accepts
///   (a covering permit, the subject itself, or this responder's emergency session);
/// - one the model allows must not revert;
/// - check()/checkWithHint() must equal the model for random queries;
/// - writes (grant, revoke, opt-out, erase) succeed exactly when the model says the caller may.
contract AccessHandler is Consortium {
    // ───────────────────────────── ghost state ─────────────────────────────

    struct GPractitioner {
        address account;
        uint32 org;
        uint8 roles;
        uint64 credentialValidUntil;
        bool suspended;
    }

    struct GSubject {
        SubjectId id;
        address controller;
        address guardian;
        uint8 guardianPowers;
        uint64 guardianValidUntil;
        bool optedOut;
    }

    struct GConsent {
        uint8 subject;
        ConsentId id;
        ConsentTerms terms;
        uint64 revokedAt;
    }

    struct GRecord {
        RecordId id;
        uint8 subject;
        uint8 category;
        bool erased;
    }

    GPractitioner[] internal _practitioners;
    GSubject[] internal _subjects;
    GConsent[] internal _consents;
    GRecord[] internal _records;
    address[] internal _actors;
    mapping(uint32 org => address) internal _orgAdmin;
    mapping(uint32 org => bool) internal _orgSuspended;
    uint32 internal constant ORG_COUNT = 3;
    uint256 internal immutable _start;
    address internal constant STRANGER = address(0x5757);

    /// @dev Record categories used (consents draw masks over the same bits, so they overlap).
    uint8[6] internal _cats = [uint8(0), 2, 4, 7, 16, 19];

    // ───────────────────────────── counters ─────────────────────────────

    /// @notice Accesses (RecordAccessed) or anchors that succeeded without a basis in the model.
    uint256 public accessesWithoutBasis;
    /// @notice Accesses/anchors the model allowed but the registry refused.
    uint256 public refusalsDespiteBasis;
    /// @notice check()/checkWithHint() answers that differ from the model.
    uint256 public checkMismatches;
    /// @notice Writes whose success differs from the model's authorization.
    uint256 public writeMismatches;

    // Activity statistics (to show the handler is exercised).
    uint256 public calls;
    uint256 public accessOk;
    uint256 public accessRefused;
    uint256 public batchOk;
    uint256 public batchRefused;
    uint256 public breakGlassOk;
    uint256 public breakGlassRefused;
    uint256 public anchorOk;
    uint256 public anchorRefused;
    uint256 public grantsOk;
    uint256 public revokesOk;
    uint256 public probes;
    uint256 public consentBasedAccesses;
    uint256 public subjectBasedAccesses;
    uint256 public deniedBySubjectRefusals;

    // solhint-disable-next-line function-max-lines
    constructor() {
        if (block.timestamp < T0) vm.warp(T0);
        uint64 nowT = uint64(block.timestamp);
        _start = nowT;
        _deploySystem(); // this handler is governance

        _orgAdmin[1] = address(0xAD01);
        _orgAdmin[2] = address(0xAD02);
        _orgAdmin[3] = address(0xAD03);
        _admit(OrgKind.HOSPITAL, _orgAdmin[1]);
        _admit(OrgKind.LAB, _orgAdmin[2]);
        _admit(OrgKind.PAYER, _orgAdmin[3]);

        _addPractitioner(address(0xD0C), 1, Codes.ROLE_CLINICIAN, nowT + YEAR);
        _addPractitioner(address(0xE3), 1, Codes.ROLE_EMERGENCY_RESPONDER, nowT + YEAR);
        // Clinician + responder whose licence runs out during many runs.
        _addPractitioner(address(0x3E55), 1, Codes.ROLE_CLINICIAN | Codes.ROLE_EMERGENCY_RESPONDER, nowT + 2 * DAY);
        _addPractitioner(address(0x1AB), 2, Codes.ROLE_CLINICIAN, nowT + YEAR);
        _addPractitioner(address(0x9A3), 2, Codes.ROLE_EMERGENCY_RESPONDER | Codes.ROLE_RESEARCHER, nowT + YEAR);
        _addPractitioner(address(0xBA7), 3, Codes.ROLE_PAYER | Codes.ROLE_AUDITOR, nowT + YEAR);

        _addSubject(
            keccak256("subject-0"),
            address(0xC0),
            address(0x60),
            Codes.POWER_GRANT | Codes.POWER_REVOKE | Codes.POWER_ERASE | Codes.POWER_ACCESS,
            nowT + 5 * DAY
        );
        // Subject 1's guardian (ACCESS only) is also an active practitioner the subject's denies
        // may designate: acting for the subject, those denies do not bind it.
        _addSubject(keccak256("subject-1"), address(0xC1), address(0x9A3), Codes.POWER_ACCESS, 0);

        for (uint256 i = 0; i < _practitioners.length; ++i) _actors.push(_practitioners[i].account);
        for (uint256 i = 0; i < _subjects.length; ++i) {
            _actors.push(_subjects[i].controller);
            _actors.push(_subjects[i].guardian);
        }
        _actors.push(STRANGER);

        // A starting point where some accesses succeed and some are denied.
        _seedConsent(0, _orgRoleTerms(Effect.PERMIT, 1, Codes.ROLE_CLINICIAN, type(uint32).max, 0x3, 3));
        ConsentTerms memory t = _practitionerPermit(address(0x1AB), 0x14, 0x1, Codes.ACTION_READ);
        t.validUntil = nowT + 4 * DAY;
        _seedConsent(1, t);
        _seedConsent(1, _orgRoleTerms(Effect.DENY, 0, Codes.ROLE_PAYER, type(uint32).max, 0, Codes.ACTION_READ));
        // Several denies per subject, so that revoking one of them (swap-and-pop in the registry)
        // must leave the others in force.
        t = _practitionerPermit(address(0x1AB), Codes.bit(16) | Codes.bit(19), 0, Codes.ACTION_READ);
        t.effect = Effect.DENY;
        _seedConsent(0, t);
        _seedConsent(0, _orgRoleTerms(Effect.DENY, 3, Codes.ROLE_PAYER, type(uint32).max, 0, Codes.ALL_ACTIONS));
        _seedConsent(0, _orgRoleTerms(Effect.DENY, 1, Codes.ROLE_CLINICIAN, Codes.bit(19), 0x3, Codes.ACTION_READ));
        _seedConsent(1, _orgRoleTerms(Effect.DENY, 1, Codes.ROLE_CLINICIAN, Codes.bit(19), 0, Codes.ACTION_READ));
        t = _practitionerPermit(address(0x9A3), type(uint32).max, 0, Codes.ALL_ACTIONS);
        t.effect = Effect.DENY;
        t.validUntil = nowT + 3 * DAY;
        _seedConsent(1, t);
        // Permits those denies overlap with.
        _seedConsent(
            1,
            _orgRoleTerms(
                Effect.PERMIT,
                0,
                Codes.ROLE_CLINICIAN | Codes.ROLE_EMERGENCY_RESPONDER,
                type(uint32).max,
                0x3,
                3
            )
        );
        _seedRecord(0, 0);
        _seedRecord(0, 2);
        _seedRecord(0, 16);
        _seedRecord(1, 2);
        _seedRecord(1, 19);
    }

    function _addPractitioner(address account, uint32 org, uint8 roles, uint64 validUntil) private {
        _enroll(org, _orgAdmin[org], account, roles, validUntil);
        _practitioners.push(GPractitioner(account, org, roles, validUntil, false));
    }

    function _addSubject(bytes32 id, address controller, address guardian, uint8 powers, uint64 until) private {
        SubjectId s = SubjectId.wrap(id);
        _register(s, controller);
        _setGuardian(s, controller, guardian, powers, until);
        _subjects.push(GSubject(s, controller, guardian, powers, until, false));
    }

    function _seedConsent(uint8 si, ConsentTerms memory t) private {
        ConsentId id = _grant(_subjects[si].id, _subjects[si].controller, t);
        _consents.push(GConsent(si, id, t, 0));
    }

    function _seedRecord(uint8 si, uint8 category) private {
        RecordId id = _anchorAsSubject(_subjects[si].id, _subjects[si].controller, category, RecordId.wrap(0));
        _records.push(GRecord(id, si, category, false));
    }

    // ───────────────────────────── the model ─────────────────────────────

    function _accessor(address who, uint8 si) internal view returns (ConsentModel.Accessor memory a) {
        a.account = who;
        for (uint256 i = 0; i < _practitioners.length; ++i) {
            GPractitioner storage p = _practitioners[i];
            if (p.account != who) continue;
            a.org = p.org;
            a.roles = p.roles;
            a.active = !p.suspended && p.credentialValidUntil > block.timestamp && !_orgSuspended[p.org];
            break;
        }
        a.actsForSubject = _actsFor(si, who, Codes.POWER_ACCESS);
    }

    /// @dev The controller holds every power; a guardian the powers it was given, until they expire.
    function _actsFor(uint8 si, address who, uint8 power) internal view returns (bool) {
        GSubject storage s = _subjects[si];
        if (who == s.controller) return true;
        return
            who == s.guardian &&
            s.guardianPowers & power == power &&
            (s.guardianValidUntil == 0 || s.guardianValidUntil > block.timestamp);
    }

    function _covering(
        uint8 si,
        Effect effect,
        ConsentModel.Accessor memory a,
        ConsentModel.Query memory q
    ) internal view returns (bool) {
        for (uint256 i = 0; i < _consents.length; ++i) {
            GConsent storage c = _consents[i];
            if (c.subject != si || c.terms.effect != effect) continue;
            if (ConsentModel.covers(c.terms, c.revokedAt, a, q, block.timestamp)) return true;
        }
        return false;
    }

    /// @dev Is `id` a permit of subject `si` covering the query now?
    function _isCoveringPermit(
        uint8 si,
        bytes32 id,
        ConsentModel.Accessor memory a,
        ConsentModel.Query memory q
    ) internal view returns (bool) {
        if (id == bytes32(0)) return false;
        for (uint256 i = 0; i < _consents.length; ++i) {
            GConsent storage c = _consents[i];
            if (c.subject != si || ConsentId.unwrap(c.id) != id) continue;
            return c.terms.effect == Effect.PERMIT && ConsentModel.covers(c.terms, c.revokedAt, a, q, block.timestamp);
        }
        return false;
    }

    /// @notice The model's decision: an active practitioner with no covering deny is allowed by any
    /// covering permit (only the hinted one when `hinted`); failing that, the subject's controller
    /// or unexpired ACCESS guardian acts for the subject (no consent needed, and the subject's
    /// denies, rules about others, do not bind them).
    function _allows(
        uint8 si,
        address who,
        ConsentModel.Query memory q,
        bool hinted,
        bytes32 hint
    ) internal view returns (bool) {
        if (!ConsentModel.wellFormed(q)) return false;
        ConsentModel.Accessor memory a = _accessor(who, si);
        if (a.active && !_covering(si, Effect.DENY, a, q)) {
            if (hinted && hint != bytes32(0)) {
                if (_isCoveringPermit(si, hint, a, q)) return true;
            } else if (_covering(si, Effect.PERMIT, a, q)) {
                return true;
            }
        }
        return a.actsForSubject;
    }

    /// @dev Is (basis, basisId) of a logged access/anchor justified by the model right now?
    function _validBasis(
        uint8 si,
        address who,
        ConsentModel.Query memory q,
        uint8 basis,
        bytes32 basisId
    ) internal view returns (bool) {
        if (!ConsentModel.wellFormed(q)) return false;
        ConsentModel.Accessor memory a = _accessor(who, si);
        if (basis == uint8(AccessBasis.CONSENT)) {
            return a.active && !_covering(si, Effect.DENY, a, q) && _isCoveringPermit(si, basisId, a, q);
        }
        // The subject's denies are rules about others: they do not bind the subject or its guardian.
        if (basis == uint8(AccessBasis.SUBJECT)) return a.actsForSubject && basisId == bytes32(0);
        return false;
    }

    function _activeDenies(uint8 si) internal view returns (uint256 n) {
        for (uint256 i = 0; i < _consents.length; ++i) {
            GConsent storage c = _consents[i];
            if (c.subject != si || c.terms.effect != Effect.DENY || c.revokedAt != 0) continue;
            // An expired deny can never apply again and does not hold a place.
            if (c.terms.validUntil == Codes.NO_EXPIRATION_TIME || c.terms.validUntil > block.timestamp) ++n;
        }
    }

    // ───────────────────────────── random choices ─────────────────────────────

    /// @dev The fuzzer favours small and edge values; hash them so every bit field used below is
    /// uniformly distributed (shrinking still works on the call sequence).
    function _mix(uint256 seed) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, "access")));
    }

    function _actor(uint256 r) internal view returns (address) {
        return _actors[r % _actors.length];
    }

    function _responderBiased(uint256 r) internal view returns (address) {
        if (r % 5 != 0) {
            // Practitioners 1, 2 and 4 are emergency responders.
            uint256 k = (r >> 2) % 3;
            return
                _practitioners[
                    k == 0
                        ? 1
                        : k == 1
                            ? 2
                            : 4
                ].account;
        }
        return _actor(r >> 2);
    }

    /// @dev Mostly the subject's controller, sometimes its guardian, sometimes anyone.
    function _writer(uint8 si, uint256 r) internal view returns (address) {
        uint256 k = r % 8;
        if (k < 5) return _subjects[si].controller;
        if (k < 7) return _subjects[si].guardian;
        return _actor(r >> 3);
    }

    function _purpose(uint256 r) internal pure returns (uint8) {
        // Mostly the common purposes; sometimes an invalid one (> MAX_PURPOSE).
        uint256 k = r % 16;
        if (k < 6) return Codes.PURPOSE_TREAT;
        if (k < 8) return Codes.PURPOSE_ETREAT;
        if (k < 9) return Codes.PURPOSE_HPAYMT;
        if (k < 15) return uint8((r >> 4) % (Codes.MAX_PURPOSE + 1));
        return uint8(Codes.MAX_PURPOSE + 1 + ((r >> 4) % 3));
    }

    function _hint(uint256 r, uint8 si) internal view returns (bytes32) {
        uint256 k = r % 6;
        if (k < 2 || _consents.length == 0) return bytes32(0);
        uint256 i = (r >> 3) % _consents.length;
        if (k < 5) {
            // Prefer a consent of this subject.
            for (uint256 j = 0; j < _consents.length; ++j) {
                GConsent storage c = _consents[(i + j) % _consents.length];
                if (c.subject == si) return ConsentId.unwrap(c.id);
            }
        }
        return (r >> 40) % 2 == 0 ? ConsentId.unwrap(_consents[i].id) : keccak256(abi.encode(r));
    }

    function _categoryMask(uint256 r) internal view returns (uint32 mask) {
        if (r % 8 == 0) return type(uint32).max;
        for (uint256 i = 0; i < _cats.length; ++i) {
            if ((r >> (8 + i)) & 1 == 1) mask |= Codes.bit(_cats[i]);
        }
        if (mask == 0) mask = Codes.bit(_cats[(r >> 20) % _cats.length]);
    }

    function _randomTerms(uint256 seed) internal view returns (ConsentTerms memory t) {
        uint256 r = rand(seed, 1);
        t.effect = r % 3 == 0 ? Effect.DENY : Effect.PERMIT;
        if ((r >> 2) % 2 == 0) {
            t.granteeKind = GranteeKind.PRACTITIONER;
            t.granteeAccount =
                (r >> 3) % 4 == 0 ? _actor(r >> 8) : _practitioners[(r >> 8) % _practitioners.length].account;
        } else {
            t.granteeKind = GranteeKind.ORG_ROLE;
            t.granteeOrg = uint32((r >> 16) % (ORG_COUNT + 2)); // 0 = any, 4 = unknown org
            uint256 k = (r >> 24) % 4;
            t.granteeRoles = k == 0 ? uint8(1 + ((r >> 32) % Codes.ALL_ROLES)) : uint8(1 << ((r >> 32) % 6));
        }
        r = rand(seed, 2);
        t.categories = _categoryMask(r);
        uint32 purposes = uint32(r >> 64) & ConsentModel.ALL_PURPOSES & uint32(r >> 96);
        if ((r >> 128) % 2 == 0) purposes |= Codes.bit(Codes.PURPOSE_TREAT);
        if ((r >> 130) % 3 == 0) purposes |= Codes.bit(Codes.PURPOSE_ETREAT);
        if (t.effect == Effect.DENY && (r >> 132) % 3 == 0) purposes = 0; // all purposes
        if (t.effect == Effect.PERMIT && purposes == 0) purposes = Codes.bit(Codes.PURPOSE_TREAT);
        t.purposes = purposes;
        t.actions = uint8(1 + ((r >> 140) % 3));
        r = rand(seed, 3);
        uint64 nowT = uint64(block.timestamp);
        uint256 w = r % 4;
        if (w == 1) t.validFrom = nowT - uint64((r >> 8) % (5 * DAY));
        else if (w == 2) t.validFrom = nowT + uint64((r >> 8) % (3 * DAY));
        else if (w == 3) t.validFrom = nowT;
        if ((r >> 64) % 2 == 0) {
            uint64 base = t.validFrom > nowT ? t.validFrom : nowT;
            t.validUntil = base + 1 + uint64((r >> 72) % (6 * DAY));
        }
    }

    function _query(uint8 category, uint8 purpose, uint8 action) internal pure returns (ConsentModel.Query memory) {
        return ConsentModel.Query(category, purpose, action);
    }

    // ───────────────────────────── actions ─────────────────────────────

    function grant(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        uint8 si = uint8(seed % _subjects.length);
        address by = _writer(si, seed >> 8);
        ConsentTerms memory t = _randomTerms(seed);
        bool expected =
            _actsFor(si, by, t.effect == Effect.DENY ? Codes.POWER_REVOKE : Codes.POWER_GRANT) &&
                (t.effect == Effect.PERMIT || _activeDenies(si) < 16);
        vm.prank(by);
        try consents.grant(_subjects[si].id, t) returns (ConsentId id) {
            ++grantsOk;
            _consents.push(GConsent(si, id, t, 0));
            if (!expected) ++writeMismatches;
        } catch {
            if (expected) ++writeMismatches;
        }
    }

    function revoke(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        if (_consents.length == 0) return;
        uint256 i = seed % _consents.length;
        GConsent storage c = _consents[i];
        address by = _writer(c.subject, seed >> 16);
        bool expected =
            c.revokedAt == 0 &&
                _actsFor(c.subject, by, c.terms.effect == Effect.DENY ? Codes.POWER_GRANT : Codes.POWER_REVOKE);
        vm.prank(by);
        try consents.revoke(_subjects[c.subject].id, c.id) {
            ++revokesOk;
            c.revokedAt = uint64(block.timestamp);
            if (!expected) ++writeMismatches;
        } catch {
            if (expected) ++writeMismatches;
        }
    }

    /// @dev Suspends (1 time in 3) or reinstates a practitioner, by its organization's admin.
    function togglePractitioner(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        GPractitioner storage p = _practitioners[seed % _practitioners.length];
        bool suspend = (seed >> 8) % 3 == 0;
        if (suspend == p.suspended) return;
        vm.prank(_orgAdmin[p.org]);
        if (suspend) directory.suspendPractitioner(p.account);
        else directory.reinstatePractitioner(p.account);
        p.suspended = suspend;
    }

    /// @dev Governance suspends (1 time in 3) or reinstates an organization.
    function toggleOrganization(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        uint32 org = uint32(1 + (seed % ORG_COUNT));
        bool suspend = (seed >> 8) % 3 == 0;
        if (suspend == _orgSuspended[org]) return;
        if (suspend) directory.suspendOrganization(org);
        else directory.reinstateOrganization(org);
        _orgSuspended[org] = suspend;
    }

    function warp(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        // Mostly hours to days; sometimes a few seconds (to land on window edges).
        uint256 dt = seed % 4 == 0 ? 1 + ((seed >> 2) % 120) : 1 + ((seed >> 2) % (2 * DAY));
        vm.warp(block.timestamp + dt);
    }

    function setBreakGlassOptOut(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        uint8 si = uint8(seed % _subjects.length);
        // Opt out 1 time in 3, back in otherwise (a repeated preference must revert).
        bool optedOut = (seed >> 8) % 3 == 0;
        address by = _writer(si, seed >> 16);
        bool expected =
            optedOut != _subjects[si].optedOut && _actsFor(si, by, optedOut ? Codes.POWER_REVOKE : Codes.POWER_GRANT);
        vm.prank(by);
        try consents.setBreakGlassOptOut(_subjects[si].id, optedOut) {
            _subjects[si].optedOut = optedOut;
            if (!expected) ++writeMismatches;
        } catch {
            if (expected) ++writeMismatches;
        }
    }

    function erase(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        GRecord storage r = _records[seed % _records.length];
        address by = _writer(r.subject, seed >> 16);
        bool expected = !r.erased && _actsFor(r.subject, by, Codes.POWER_ERASE);
        vm.prank(by);
        try records.eraseRecord(r.id) {
            r.erased = true;
            if (!expected) ++writeMismatches;
        } catch {
            if (expected) ++writeMismatches;
        }
    }

    function anchor(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        uint8 si = uint8(seed % _subjects.length);
        address who = (seed >> 8) % 4 == 0 ? _subjects[si].controller : _actor(seed >> 10);
        uint8 category = (seed >> 20) % 8 == 0 ? uint8((seed >> 24) % 32) : _cats[(seed >> 24) % _cats.length];
        bytes32 hint = _hint(seed >> 40, si);
        ConsentModel.Query memory q = _query(category, 0, Codes.ACTION_APPEND);
        // An anchor evaluates only the hinted consent (zero: every consent).
        bool expected = _allows(si, who, q, true, hint);
        RecordId id = RecordId.wrap(_fresh());
        vm.recordLogs();
        vm.prank(who);
        try
            records.anchorRecord(
                id,
                _subjects[si].id,
                category,
                _fresh(),
                RecordId.wrap(0),
                "ipfs://r",
                ConsentId.wrap(hint)
            )
        {
            ++anchorOk;
            Logs.Anchored[] memory ev = Logs.anchored(vm.getRecordedLogs(), address(records));
            _records.push(GRecord(id, si, category, false));
            bool basisOk =
                ev.length == 1 &&
                    ev[0].recordId == RecordId.unwrap(id) &&
                    ev[0].anchoredBy == who &&
                    _validBasis(
                        si,
                        who,
                        q,
                        uint8(ev[0].consentId == bytes32(0) ? AccessBasis.SUBJECT : AccessBasis.CONSENT),
                        ev[0].consentId
                    );
            if (!expected || !basisOk) ++accessesWithoutBasis;
        } catch {
            vm.getRecordedLogs();
            ++anchorRefused;
            if (expected) ++refusalsDespiteBasis;
        }
    }

    function access(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        (bool guided, address who, uint256 ri, uint8 purpose) = _guided(rand(seed, 7));
        if (!guided || seed % 3 == 0) {
            ri = seed % _records.length;
            who = _actor(seed >> 16);
            purpose = _purpose(seed >> 24);
        }
        GRecord memory r = _records[ri];
        ConsentModel.Query memory q = _query(r.category, purpose, Codes.ACTION_READ);
        // A read with a hint falls back to every consent, so the hint does not matter.
        bool expected = !r.erased && _allows(r.subject, who, q, false, 0);
        vm.recordLogs();
        vm.prank(who);
        try records.access(r.id, purpose, ConsentId.wrap(_hint(seed >> 48, r.subject))) {
            ++accessOk;
            Logs.Accessed[] memory ev = Logs.accessed(vm.getRecordedLogs(), address(records));
            bool basisOk = ev.length == 1 && _loggedAccessOk(ev[0], r, who, purpose);
            if (!expected || !basisOk) ++accessesWithoutBasis;
            if (ev.length > 0) _countBasis(ev[0].basis);
        } catch (bytes memory err) {
            vm.getRecordedLogs();
            ++accessRefused;
            if (expected) ++refusalsDespiteBasis;
            _countDenied(err);
        }
    }

    function accessBatch(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        uint256 n = 1 + (seed % 4);
        RecordId[] memory ids = new RecordId[](n);
        GRecord[] memory rs = new GRecord[](n);
        (bool guided, address who, uint256 first, uint8 purpose) = _guided(rand(seed, 7));
        if (!guided || seed % 3 == 0) {
            first = (seed >> 4) % _records.length;
            who = _actor(seed >> 16);
            purpose = _purpose(seed >> 24);
        }
        uint8 si = _records[first].subject;
        rs[0] = _records[first];
        ids[0] = rs[0].id;
        for (uint256 i = 1; i < n; ++i) {
            uint256 r = rand(seed, i);
            // Mostly records of the same subject (a chart), sometimes any record.
            rs[i] = r % 4 == 0 ? _records[(r >> 8) % _records.length] : _recordOf(si, r >> 8);
            ids[i] = rs[i].id;
        }
        bool expected = true;
        for (uint256 i = 0; i < n; ++i) {
            if (
                rs[i].erased ||
                !_allows(rs[i].subject, who, _query(rs[i].category, purpose, Codes.ACTION_READ), false, 0)
            ) {
                expected = false;
            }
        }
        vm.recordLogs();
        vm.prank(who);
        try records.accessBatch(ids, purpose, ConsentId.wrap(_hint(seed >> 48, si))) {
            ++batchOk;
            Logs.Accessed[] memory ev = Logs.accessed(vm.getRecordedLogs(), address(records));
            bool basisOk = ev.length == n;
            for (uint256 i = 0; basisOk && i < n; ++i) basisOk = _loggedAccessOk(ev[i], rs[i], who, purpose);
            if (!expected || !basisOk) ++accessesWithoutBasis;
            if (ev.length > 0) _countBasis(ev[0].basis);
        } catch (bytes memory err) {
            vm.getRecordedLogs();
            ++batchRefused;
            if (expected) ++refusalsDespiteBasis;
            _countDenied(err);
        }
    }

    function breakGlassAccess(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        uint256 n = 1 + (seed % 3);
        uint8 si = uint8((seed >> 4) % _subjects.length);
        RecordId[] memory ids = new RecordId[](n);
        GRecord[] memory rs = new GRecord[](n);
        for (uint256 i = 0; i < n; ++i) {
            uint256 r = rand(seed, i);
            rs[i] = r % 8 == 0 ? _records[(r >> 8) % _records.length] : _recordOf(si, r >> 8);
            ids[i] = rs[i].id;
        }
        address who = _responderBiased(seed >> 16);
        uint256 k = (seed >> 32) % 8;
        uint8 purpose =
            k < 4
                ? Codes.PURPOSE_ETREAT
                : k < 7
                    ? Codes.PURPOSE_BTG
                    : _purpose(seed >> 36);
        bool expected = _breakGlassAllowed(rs, who, purpose);
        vm.recordLogs();
        vm.prank(who);
        try records.breakGlassAccess(ids, purpose, uint16(seed >> 56)) returns (uint256 sessionId) {
            ++breakGlassOk;
            Logs.Accessed[] memory ev = Logs.accessed(vm.getRecordedLogs(), address(records));
            bool basisOk = ev.length == n && _sessionOk(sessionId, who, rs[0].subject);
            for (uint256 i = 0; basisOk && i < n; ++i) {
                basisOk =
                    ev[i].recordId == RecordId.unwrap(rs[i].id) &&
                    ev[i].accessor == who &&
                    ev[i].basis == uint8(AccessBasis.EMERGENCY) &&
                    ev[i].basisId == bytes32(sessionId) &&
                    ev[i].purpose == purpose;
            }
            if (!expected || !basisOk) ++accessesWithoutBasis;
        } catch {
            vm.getRecordedLogs();
            ++breakGlassRefused;
            if (expected) ++refusalsDespiteBasis;
        }
    }

    /// @notice Random view queries: check() and checkWithHint() must equal the model.
    function probe(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        for (uint256 i = 0; i < 3; ++i) {
            uint256 r = rand(seed, i);
            uint8 si = uint8(r % _subjects.length);
            address who = _actor(r >> 8);
            uint8 category = (r >> 16) % 8 == 0 ? uint8((r >> 20) % 34) : _cats[(r >> 20) % _cats.length];
            uint256 k = (r >> 28) % 10;
            uint8 action =
                k < 6
                    ? Codes.ACTION_READ
                    : k < 9
                        ? Codes.ACTION_APPEND
                        : uint8((r >> 32) % 5);
            ConsentModel.Query memory q = _query(category, _purpose(r >> 40), action);
            bytes32 hint = _hint(r >> 64, si);
            ++probes;
            Decision memory d = consents.check(who, _subjects[si].id, q.category, q.purpose, q.action);
            if (d.allowed != _allows(si, who, q, false, 0)) ++checkMismatches;
            else if (d.allowed && !_validBasis(si, who, q, uint8(d.basis), ConsentId.unwrap(d.consentId)))
                ++checkMismatches;
            d = consents.checkWithHint(who, _subjects[si].id, q.category, q.purpose, q.action, ConsentId.wrap(hint));
            if (d.allowed != _allows(si, who, q, true, hint)) ++checkMismatches;
            else if (d.allowed && !_validBasis(si, who, q, uint8(d.basis), ConsentId.unwrap(d.consentId)))
                ++checkMismatches;
        }
    }

    // ───────────────────────────── helpers ─────────────────────────────

    /// @dev A query aimed at an existing consent (permit or deny): a practitioner its grantee
    /// designates, a record of the subject in one of its categories and one of its purposes, so
    /// that covering permits and denies are exercised often, not by luck.
    function _guided(uint256 r) internal view returns (bool found, address who, uint256 recordIndex, uint8 purpose) {
        if (_consents.length == 0) return (false, address(0), 0, 0);
        GConsent storage c = _consents[r % _consents.length];
        ConsentTerms memory t = c.terms;
        if (t.granteeKind == GranteeKind.PRACTITIONER) {
            who = t.granteeAccount;
        } else {
            uint256 n = _practitioners.length;
            uint256 start = (r >> 8) % n;
            for (uint256 j = 0; j < n; ++j) {
                GPractitioner storage p = _practitioners[(start + j) % n];
                if ((t.granteeOrg == 0 || t.granteeOrg == p.org) && t.granteeRoles & p.roles != 0) {
                    who = p.account;
                    break;
                }
            }
            if (who == address(0)) return (false, address(0), 0, 0);
        }
        uint256 m = _records.length;
        uint256 from = (r >> 16) % m;
        for (uint256 j = 0; j < m; ++j) {
            uint256 k = (from + j) % m;
            GRecord storage rec = _records[k];
            if (rec.subject == c.subject && (t.categories >> rec.category) & 1 == 1) {
                found = true;
                recordIndex = k;
                break;
            }
        }
        if (!found) return (false, address(0), 0, 0);
        uint32 purposes = t.purposes == 0 ? ConsentModel.ALL_PURPOSES : t.purposes;
        uint8 start2 = uint8((r >> 24) % (Codes.MAX_PURPOSE + 1));
        for (uint8 j = 0; j <= Codes.MAX_PURPOSE; ++j) {
            uint8 pp = uint8((start2 + j) % (Codes.MAX_PURPOSE + 1));
            if ((purposes >> pp) & 1 == 1) return (true, who, recordIndex, pp);
        }
        return (false, address(0), 0, 0);
    }

    /// @dev A record of subject `si`; 3 times in 4 a readable (not erased) one when there is one.
    function _recordOf(uint8 si, uint256 r) internal view returns (GRecord memory) {
        uint256 n = _records.length;
        uint256 start = r % n;
        bool readable = (r >> 128) % 4 != 0;
        for (uint256 j = 0; j < n; ++j) {
            GRecord storage rec = _records[(start + j) % n];
            if (rec.subject == si && !(readable && rec.erased)) return rec;
        }
        for (uint256 j = 0; j < n; ++j) {
            GRecord storage rec = _records[(start + j) % n];
            if (rec.subject == si) return rec;
        }
        return _records[start];
    }

    function _loggedAccessOk(
        Logs.Accessed memory e,
        GRecord memory r,
        address who,
        uint8 purpose
    ) internal view returns (bool) {
        if (r.erased) return false;
        if (e.recordId != RecordId.unwrap(r.id) || e.accessor != who || e.purpose != purpose) return false;
        if (e.subject != SubjectId.unwrap(_subjects[r.subject].id)) return false;
        bool ok = _validBasis(r.subject, who, _query(r.category, purpose, Codes.ACTION_READ), e.basis, e.basisId);
        return ok;
    }

    function _breakGlassAllowed(GRecord[] memory rs, address who, uint8 purpose) internal view returns (bool) {
        if (purpose != Codes.PURPOSE_ETREAT && purpose != Codes.PURPOSE_BTG) return false;
        uint8 si = rs[0].subject;
        for (uint256 i = 0; i < rs.length; ++i) {
            if (rs[i].erased || rs[i].subject != si) return false;
        }
        ConsentModel.Accessor memory a = _accessor(who, si);
        return a.active && a.roles & Codes.ROLE_EMERGENCY_RESPONDER != 0 && !_subjects[si].optedOut;
    }

    function _sessionOk(uint256 sessionId, address who, uint8 si) internal view returns (bool) {
        (SubjectId s, address responder, , , , uint64 expiresAt, ) = records.getEmergencySession(sessionId);
        return
            responder == who &&
            SubjectId.unwrap(s) == SubjectId.unwrap(_subjects[si].id) &&
            expiresAt > block.timestamp;
    }

    function _countBasis(uint8 basis) internal {
        if (basis == uint8(AccessBasis.CONSENT)) ++consentBasedAccesses;
        else if (basis == uint8(AccessBasis.SUBJECT)) ++subjectBasedAccesses;
    }

    function _countDenied(bytes memory err) internal {
        // AccessDenied(bytes32,address,uint8 reason,bytes32): reason 9 = DENIED_BY_SUBJECT.
        if (
            err.length == 4 + 4 * 32 &&
            selectorOf(err) == bytes4(keccak256("AccessDenied(bytes32,address,uint8,bytes32)"))
        ) {
            uint256 reason;
            // solhint-disable-next-line no-inline-assembly
            assembly ("memory-safe") {
                reason := mload(add(err, add(32, add(4, 64))))
            }
            if (reason == 9) ++deniedBySubjectRefusals;
        }
    }

    /// @notice Activity statistics: calls, access ok/refused, batch ok/refused, break-glass
    /// ok/refused, anchor ok/refused, grants, revokes, consent-based and subject-based accesses,
    /// DENIED_BY_SUBJECT refusals, probes, ghost consents, ghost records, seconds elapsed.
    function stats() external view returns (uint256[18] memory s) {
        s = [
            calls,
            accessOk,
            accessRefused,
            batchOk,
            batchRefused,
            breakGlassOk,
            breakGlassRefused,
            anchorOk,
            anchorRefused,
            grantsOk,
            revokesOk,
            consentBasedAccesses,
            subjectBasedAccesses,
            deniedBySubjectRefusals,
            probes,
            _consents.length,
            _records.length,
            block.timestamp - _start
        ];
    }
}
