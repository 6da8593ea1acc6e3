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
    ReviewOutcome,
    SubjectId
} from "../../../contracts/libraries/MedLedgerTypes.sol";

import {Consortium} from "../utils/Consortium.sol";
import {ConsentModel} from "../utils/ConsentModel.sol";
import {Logs} from "../utils/Logs.sol";
import {Vm} from "../utils/Vm.sol";

/// @notice Invariant handler for property 1, "no access event without a valid consent or
/// break-glass", played by adversaries. It deploys its own consortium (it is governance), then
/// performs random sequences of grants (permits and denies, random terms) and revocations by
/// controllers and by hostile guardians whose appointments change over time, practitioner and
/// organization suspensions, the security council barring puppets and suspending the rogue
/// organization, a rogue organization admin enrolling puppet responders and puppet privacy
/// officers, time jumps, anchors, single and batch accesses, break-glass, reviews, opt-outs,
/// erasures and view probes.
///
/// The model is written from the documented rules, independently of the code: a plain list of
/// every consent ever granted, evaluated by brute force (ConsentModel), plus the documented index
/// capacity and guardian quota, the break-glass rule (active responder, not opted out, no active
/// deny naming it for READ with that purpose on a category read) and the review rule (an active
/// privacy officer, or a regulator's auditor, of another organization). It then compares:
/// - an access / batch / break-glass / anchor / review that SUCCEEDS must be allowed by the model
///   at that moment, with the basis the model accepts;
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
        bool barred;
        bool puppet;
    }

    struct GSubject {
        SubjectId id;
        address controller;
        bool optedOut;
    }

    struct GGuardian {
        uint8 powers;
        uint64 validUntil;
    }

    struct GConsent {
        uint8 subject;
        ConsentId id;
        ConsentTerms terms;
        uint64 revokedAt;
        bool byGuardian;
    }

    struct GRecord {
        RecordId id;
        uint8 subject;
        uint8 category;
        bool erased;
    }

    struct GSession {
        uint256 id;
        uint32 responderOrg;
        ReviewOutcome outcome;
    }

    GPractitioner[] internal _practitioners;
    GSubject[] internal _subjects;
    GConsent[] internal _consents;
    GRecord[] internal _records;
    GSession[] internal _sessions;
    address[] internal _actors;
    address[2] internal _guardianPool = [address(0x60), address(0x61)];
    mapping(uint8 subject => mapping(address guardian => GGuardian)) internal _guardians;
    mapping(uint32 org => address) internal _orgAdmin;
    mapping(uint32 org => bool) internal _orgSuspended;
    mapping(uint32 org => OrgKind) internal _orgKind;
    uint32 internal constant ORG_COUNT = 5;
    uint32 internal constant ROGUE = 4; // a hospital whose admin enrolls puppets
    uint32 internal constant REGULATOR = 5;
    uint256 internal constant MAX_PUPPETS = 6;
    uint256 internal immutable _start;
    address internal constant STRANGER = address(0x5757);
    address internal constant COUNCIL = address(0xC0C1);

    /// @dev Record categories used (consents draw masks over the same bits, so they overlap).
    uint8[6] internal _cats = [uint8(0), 2, 4, 7, 13, 15];

    // ───────────────────────────── counters ─────────────────────────────

    /// @notice Accesses (RecordAccessed), anchors or reviews that succeeded without a basis in the model.
    uint256 public accessesWithoutBasis;
    /// @notice Accesses/anchors/break-glass/reviews the model allowed but the registry refused.
    uint256 public refusalsDespiteBasis;
    /// @notice check()/checkWithHint() answers that differ from the model.
    uint256 public checkMismatches;
    /// @notice Writes whose success differs from the model's authorization and capacity rules.
    uint256 public writeMismatches;

    // Activity statistics (to show the handler, and its adversaries, are exercised).
    uint256 public calls;
    uint256 public accessOk;
    uint256 public accessRefused;
    uint256 public batchOk;
    uint256 public breakGlassOk;
    uint256 public breakGlassRefused;
    uint256 public breakGlassDeniedByDeny;
    uint256 public anchorOk;
    uint256 public grantsOk;
    uint256 public revokesOk;
    uint256 public probes;
    uint256 public consentBasedAccesses;
    uint256 public subjectBasedAccesses;
    uint256 public guardianChanges;
    uint256 public guardianGrantsOk;
    uint256 public quotaOrCapacityRefusals;
    uint256 public puppetEnrollments;
    uint256 public puppetBreakGlassOk;
    uint256 public reviewAttempts;
    uint256 public reviewsClosed;
    uint256 public sameOrgReviewAttempts;
    uint256 public councilActions;

    // solhint-disable-next-line function-max-lines
    constructor() {
        if (block.timestamp < T0) vm.warp(T0);
        uint64 nowT = uint64(block.timestamp);
        _start = nowT;
        _deploySystem(); // this handler is governance
        directory.grantRole(directory.SECURITY_COUNCIL_ROLE(), COUNCIL);

        OrgKind[5] memory kinds = [OrgKind.HOSPITAL, OrgKind.LAB, OrgKind.PAYER, OrgKind.HOSPITAL, OrgKind.REGULATOR];
        for (uint32 org = 1; org <= ORG_COUNT; ++org) {
            _orgAdmin[org] = address(uint160(0xAD00 + org));
            _orgKind[org] = kinds[org - 1];
            _admit(kinds[org - 1], _orgAdmin[org]);
        }

        _addPractitioner(address(0xD0C), 1, Codes.ROLE_CLINICIAN, nowT + YEAR, false);
        _addPractitioner(address(0xE3), 1, Codes.ROLE_EMERGENCY_RESPONDER, nowT + YEAR, false);
        // Clinician + responder whose licence runs out during many runs.
        _addPractitioner(
            address(0x3E55),
            1,
            Codes.ROLE_CLINICIAN | Codes.ROLE_EMERGENCY_RESPONDER,
            nowT + 2 * DAY,
            false
        );
        _addPractitioner(address(0x1AB), 2, Codes.ROLE_CLINICIAN | Codes.ROLE_PRIVACY_OFFICER, nowT + YEAR, false);
        _addPractitioner(address(0x9A3), 2, Codes.ROLE_EMERGENCY_RESPONDER | Codes.ROLE_RESEARCHER, nowT + YEAR, false);
        _addPractitioner(address(0xBA7), 3, Codes.ROLE_PAYER | Codes.ROLE_AUDITOR, nowT + YEAR, false);
        _addPractitioner(address(0x0F1), 1, Codes.ROLE_PRIVACY_OFFICER, nowT + YEAR, false);
        _addPractitioner(address(0x1E6), REGULATOR, Codes.ROLE_AUDITOR, nowT + YEAR, false);

        _addSubject(keccak256("subject-0"), address(0xC0));
        _addSubject(keccak256("subject-1"), address(0xC1));
        _setGuardianGhost(
            0,
            _guardianPool[0],
            Codes.POWER_GRANT | Codes.POWER_REVOKE | Codes.POWER_ACCESS,
            nowT + 5 * DAY
        );
        // Subject 1's guardian (ACCESS only) is also an active practitioner the subject's denies
        // may designate: acting for the subject, those denies do not bind it.
        _setGuardianGhost(1, address(0x9A3), Codes.POWER_ACCESS, 0);

        for (uint256 i = 0; i < _practitioners.length; ++i) _actors.push(_practitioners[i].account);
        for (uint256 i = 0; i < _subjects.length; ++i) _actors.push(_subjects[i].controller);
        _actors.push(_guardianPool[0]);
        _actors.push(_guardianPool[1]);
        _actors.push(STRANGER);

        // A starting point where some accesses succeed and some are denied.
        _seedConsent(0, _orgRoleTerms(Effect.PERMIT, 1, Codes.ROLE_CLINICIAN, Codes.ALL_CATEGORIES, 0x3, 3));
        ConsentTerms memory t = _practitionerPermit(address(0x1AB), 0x14, 0x1, Codes.ACTION_READ);
        t.validUntil = nowT + 4 * DAY;
        _seedConsent(1, t);
        _seedConsent(1, _orgRoleTerms(Effect.DENY, 0, Codes.ROLE_PAYER, Codes.ALL_CATEGORIES, Codes.ALL_PURPOSES, 1));
        _seedConsent(0, _orgRoleTerms(Effect.DENY, 1, Codes.ROLE_EMERGENCY_RESPONDER, Codes.bit(13), 0x2, 1));
        _seedConsent(
            1,
            _orgRoleTerms(
                Effect.PERMIT,
                0,
                Codes.ROLE_CLINICIAN | Codes.ROLE_EMERGENCY_RESPONDER,
                Codes.ALL_CATEGORIES,
                0x3,
                3
            )
        );
        _seedRecord(0, 0);
        _seedRecord(0, 2);
        _seedRecord(0, 13);
        _seedRecord(1, 2);
        _seedRecord(1, 15);
    }

    function _addPractitioner(address account, uint32 org, uint8 roles, uint64 validUntil, bool puppet) private {
        _enroll(org, _orgAdmin[org], account, roles, validUntil);
        _practitioners.push(GPractitioner(account, org, roles, validUntil, false, false, puppet));
    }

    function _addSubject(bytes32 salt, address controller) private {
        _subjects.push(GSubject(_register(salt, controller), controller, false));
    }

    function _setGuardianGhost(uint8 si, address guardian, uint8 powers, uint64 until) private {
        _setGuardian(_subjects[si].id, _subjects[si].controller, guardian, powers, until);
        _guardians[si][guardian] = GGuardian(powers, until);
    }

    function _seedConsent(uint8 si, ConsentTerms memory t) private {
        ConsentId id = _grant(_subjects[si].id, _subjects[si].controller, t);
        _consents.push(GConsent(si, id, t, 0, false));
    }

    function _seedRecord(uint8 si, uint8 category) private {
        RecordId id = _anchorAsSubject(_subjects[si].id, _subjects[si].controller, category, RecordId.wrap(0));
        _records.push(GRecord(id, si, category, false));
    }

    // ───────────────────────────── the model ─────────────────────────────

    function _practitioner(address who) internal view returns (bool found, GPractitioner memory p) {
        for (uint256 i = 0; i < _practitioners.length; ++i) {
            if (_practitioners[i].account == who) return (true, _practitioners[i]);
        }
    }

    function _accessor(address who, uint8 si) internal view returns (ConsentModel.Accessor memory a) {
        a.account = who;
        (bool found, GPractitioner memory p) = _practitioner(who);
        if (found) {
            a.org = p.org;
            a.roles = p.roles;
            a.active = !p.suspended && !p.barred && p.credentialValidUntil > block.timestamp && !_orgSuspended[p.org];
        }
        a.actsForSubject = _actsFor(si, who, Codes.POWER_ACCESS);
    }

    /// @dev The controller holds every power; a guardian the powers it was given, until they expire.
    function _actsFor(uint8 si, address who, uint8 power) internal view returns (bool) {
        if (who == _subjects[si].controller) return true;
        GGuardian storage g = _guardians[si][who];
        return g.powers & power == power && (g.validUntil == 0 || g.validUntil > block.timestamp);
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
        if (basis == uint8(AccessBasis.SUBJECT)) return a.actsForSubject && basisId == bytes32(0);
        return false;
    }

    /// @dev Do two consents name the same grantee (the documented list they share)?
    function _sameGrantee(ConsentTerms memory x, ConsentTerms memory y) internal pure returns (bool) {
        if (x.granteeKind != y.granteeKind) return false;
        if (x.granteeKind == GranteeKind.PRACTITIONER) return x.granteeAccount == y.granteeAccount;
        return x.granteeOrg == y.granteeOrg;
    }

    /// @dev The documented index rules: a (subject, effect, grantee) list holds at most
    /// BUCKET_CAPACITY consents in force or not yet valid, of which at most GUARDIAN_PLACES were
    /// granted by guardians; revoked and expired consents hold no place.
    function _hasPlace(uint8 si, ConsentTerms memory t, bool byGuardian) internal view returns (bool) {
        uint256 held;
        uint256 heldByGuardians;
        for (uint256 i = 0; i < _consents.length; ++i) {
            GConsent storage c = _consents[i];
            if (c.subject != si || c.terms.effect != t.effect || !_sameGrantee(c.terms, t) || c.revokedAt != 0)
                continue;
            if (c.terms.validUntil != 0 && c.terms.validUntil <= block.timestamp) continue;
            ++held;
            if (c.byGuardian) ++heldByGuardians;
        }
        return held < 8 && (!byGuardian || heldByGuardians < 4);
    }

    /// @dev Does the grantee exist (an enrolled practitioner, an admitted organization or any)?
    function _granteeExists(ConsentTerms memory t) internal view returns (bool) {
        if (t.granteeKind == GranteeKind.ORG_ROLE) return t.granteeOrg <= ORG_COUNT;
        (bool found, ) = _practitioner(t.granteeAccount);
        return found;
    }

    /// @dev The documented break-glass rule, for responder `who` reading records `rs` of subject
    /// `si` for `purpose`.
    function _breakGlassAllowed(
        GRecord[] memory rs,
        uint8 si,
        address who,
        uint8 purpose
    ) internal view returns (bool) {
        if (purpose != Codes.PURPOSE_ETREAT && purpose != Codes.PURPOSE_BTG) return false;
        for (uint256 i = 0; i < rs.length; ++i) {
            if (rs[i].erased || rs[i].subject != si) return false;
        }
        ConsentModel.Accessor memory a = _accessor(who, si);
        if (!a.active || a.roles & Codes.ROLE_EMERGENCY_RESPONDER == 0 || _subjects[si].optedOut) return false;
        return !_denyBindsEmergency(rs, si, a, purpose);
    }

    /// @dev Break-glass overrides the absence of consent, never a refusal: an active deny that
    /// names the responder and covers READ for this purpose on any category read binds it.
    function _denyBindsEmergency(
        GRecord[] memory rs,
        uint8 si,
        ConsentModel.Accessor memory a,
        uint8 purpose
    ) internal view returns (bool) {
        for (uint256 i = 0; i < rs.length; ++i) {
            if (_covering(si, Effect.DENY, a, _query(rs[i].category, purpose, Codes.ACTION_READ))) return true;
        }
        return false;
    }

    /// @dev The documented review rule.
    function _mayReview(address who, GSession storage s) internal view returns (bool) {
        (bool found, GPractitioner memory p) = _practitioner(who);
        if (!found) return false;
        bool active = !p.suspended && !p.barred && p.credentialValidUntil > block.timestamp && !_orgSuspended[p.org];
        bool reviewer =
            p.roles & Codes.ROLE_PRIVACY_OFFICER != 0 ||
                (p.roles & Codes.ROLE_AUDITOR != 0 && _orgKind[p.org] == OrgKind.REGULATOR);
        return active && reviewer && p.org != s.responderOrg && s.outcome == ReviewOutcome.PENDING;
    }

    // ───────────────────────────── random choices ─────────────────────────────

    function _mix(uint256 seed) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, "access")));
    }

    function _actor(uint256 r) internal view returns (address) {
        return _actors[r % _actors.length];
    }

    function _responderBiased(uint256 r) internal view returns (address) {
        if (r % 5 != 0) {
            uint256 n = _practitioners.length;
            uint256 start = (r >> 3) % n;
            for (uint256 j = 0; j < n; ++j) {
                GPractitioner storage p = _practitioners[(start + j) % n];
                if (p.roles & Codes.ROLE_EMERGENCY_RESPONDER != 0) return p.account;
            }
        }
        return _actor(r >> 2);
    }

    /// @dev Mostly the subject's controller, often a (hostile) guardian, sometimes anyone.
    function _writer(uint8 si, uint256 r) internal view returns (address) {
        uint256 k = r % 8;
        if (k < 4) return _subjects[si].controller;
        if (k < 7) return si == 1 && k == 6 ? address(0x9A3) : _guardianPool[(r >> 3) % 2];
        return _actor(r >> 3);
    }

    function _purpose(uint256 r) internal pure returns (uint8) {
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
            for (uint256 j = 0; j < _consents.length; ++j) {
                GConsent storage c = _consents[(i + j) % _consents.length];
                if (c.subject == si) return ConsentId.unwrap(c.id);
            }
        }
        return (r >> 40) % 2 == 0 ? ConsentId.unwrap(_consents[i].id) : keccak256(abi.encode(r));
    }

    function _categoryMask(uint256 r, Effect effect) internal view returns (uint16 mask) {
        if (r % 8 == 0) return Codes.ALL_CATEGORIES;
        for (uint256 i = 0; i < _cats.length; ++i) {
            if ((r >> (8 + i)) & 1 == 1) mask |= Codes.bit(_cats[i]);
        }
        // A deny may keep no public category (a sealed-only deny), a permit may not.
        if (mask == 0 && (effect == Effect.PERMIT || (r >> 30) % 2 == 0))
            mask = Codes.bit(_cats[(r >> 20) % _cats.length]);
    }

    // solhint-disable-next-line function-max-lines
    function _randomTerms(uint256 seed) internal view returns (ConsentTerms memory t) {
        uint256 r = rand(seed, 1);
        t.effect = r % 3 == 0 ? Effect.DENY : Effect.PERMIT;
        if ((r >> 2) % 2 == 0) {
            t.granteeKind = GranteeKind.PRACTITIONER;
            // Mostly a practitioner (puppets included), sometimes any actor (maybe not enrolled).
            t.granteeAccount =
                (r >> 3) % 6 == 0 ? _actor(r >> 8) : _practitioners[(r >> 8) % _practitioners.length].account;
        } else {
            t.granteeKind = GranteeKind.ORG_ROLE;
            t.granteeOrg = uint32((r >> 16) % (ORG_COUNT + 2)); // 0 = any, 6 = unknown org
            uint256 k = (r >> 24) % 4;
            t.granteeRoles = k == 0 ? uint8(1 + ((r >> 32) % Codes.ALL_ROLES)) : uint8(1 << ((r >> 32) % 6));
        }
        r = rand(seed, 2);
        t.categories = _categoryMask(r, t.effect);
        uint16 purposes = uint16(r >> 64) & ConsentModel.ALL_PURPOSES & uint16(r >> 96);
        if ((r >> 128) % 2 == 0) purposes |= Codes.bit(Codes.PURPOSE_TREAT);
        if ((r >> 130) % 3 == 0) purposes |= Codes.bit(Codes.PURPOSE_ETREAT);
        if ((r >> 131) % 4 == 0) purposes |= Codes.bit(Codes.PURPOSE_BTG);
        if (t.effect == Effect.DENY && (r >> 132) % 3 == 0) purposes = ConsentModel.ALL_PURPOSES;
        if (purposes == 0) purposes = Codes.bit(Codes.PURPOSE_TREAT);
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
            // Hostile guardians like short-lived denies: sometimes a single second.
            t.validUntil = base + 1 + ((r >> 70) % 4 == 0 ? 0 : uint64((r >> 72) % (6 * DAY)));
        }
        t.sealedTerms = keccak256(abi.encode("sealed", seed));
    }

    function _query(uint8 category, uint8 purpose, uint8 action) internal pure returns (ConsentModel.Query memory) {
        return ConsentModel.Query(category, purpose, action);
    }

    // ───────────────────────────── consents ─────────────────────────────

    function grant(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        uint8 si = uint8(seed % _subjects.length);
        address by = _writer(si, seed >> 8);
        ConsentTerms memory t = _randomTerms(seed);
        bool byGuardian = by != _subjects[si].controller;
        bool authorized = _actsFor(si, by, t.effect == Effect.DENY ? Codes.POWER_REVOKE : Codes.POWER_GRANT);
        bool placed = _hasPlace(si, t, byGuardian);
        bool expected = authorized && _granteeExists(t) && placed;
        vm.prank(by);
        try consents.grant(_subjects[si].id, t) returns (ConsentId id) {
            ++grantsOk;
            if (byGuardian) ++guardianGrantsOk;
            _consents.push(GConsent(si, id, t, 0, byGuardian));
            if (!expected) ++writeMismatches;
        } catch {
            if (authorized && _granteeExists(t) && !placed) ++quotaOrCapacityRefusals;
            if (expected) ++writeMismatches;
        }
    }

    /// @notice A burst of grants naming one grantee, by one writer (often a hostile guardian with
    /// short-lived denies): drives lists to their capacity and guardians to their quota.
    function flood(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        uint8 si = uint8(seed % _subjects.length);
        address by = (seed >> 8) % 3 == 0 ? _subjects[si].controller : _guardianPool[(seed >> 10) % 2];
        ConsentTerms memory t = _randomTerms(seed);
        for (uint256 i = 0; i < 6; ++i) {
            t.sealedTerms = keccak256(abi.encode(seed, i));
            bool byGuardian = by != _subjects[si].controller;
            bool authorized = _actsFor(si, by, t.effect == Effect.DENY ? Codes.POWER_REVOKE : Codes.POWER_GRANT);
            bool placed = _hasPlace(si, t, byGuardian);
            bool expected = authorized && _granteeExists(t) && placed;
            vm.prank(by);
            try consents.grant(_subjects[si].id, t) returns (ConsentId id) {
                ++grantsOk;
                if (byGuardian) ++guardianGrantsOk;
                _consents.push(GConsent(si, id, t, 0, byGuardian));
                if (!expected) ++writeMismatches;
            } catch {
                if (authorized && _granteeExists(t) && !placed) ++quotaOrCapacityRefusals;
                if (expected) ++writeMismatches;
            }
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

    /// @notice The controller re-appoints, changes, renews or removes a guardian: guardians change
    /// over time (and a removed hostile guardian's consents stay until someone revokes them).
    function changeGuardian(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        uint8 si = uint8(seed % _subjects.length);
        address g = _guardianPool[(seed >> 8) % 2];
        uint256 k = (seed >> 16) % 4;
        uint8 powers = k == 0 ? 0 : uint8(1 + ((seed >> 24) % Codes.ALL_POWERS));
        uint64 until = (seed >> 32) % 3 == 0 ? 0 : uint64(block.timestamp) + 1 + uint64((seed >> 40) % (3 * DAY));
        _setGuardianGhost(si, g, powers, powers == 0 ? 0 : until);
        ++guardianChanges;
    }

    // ─────────────────────── directory: admins, puppets, council ───────────────────────

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

    /// @notice The rogue hospital's admin enrolls a puppet: a responder, a privacy officer, or both.
    function enrollPuppet(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        if (puppetEnrollments >= MAX_PUPPETS || _orgSuspended[ROGUE]) return;
        uint256 k = seed % 3;
        uint8 roles =
            k == 0
                ? Codes.ROLE_EMERGENCY_RESPONDER
                : k == 1
                    ? Codes.ROLE_PRIVACY_OFFICER
                    : Codes.ROLE_EMERGENCY_RESPONDER | Codes.ROLE_PRIVACY_OFFICER;
        address puppet = address(uint160(0x9900 + puppetEnrollments));
        _addPractitioner(puppet, ROGUE, roles, uint64(block.timestamp) + YEAR, true);
        _actors.push(puppet);
        ++puppetEnrollments;
    }

    /// @notice The security council bars a practitioner (often a puppet) or suspends the rogue
    /// organization at once; governance sometimes lifts a bar.
    function councilActs(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        GPractitioner storage p = _practitioners[seed % _practitioners.length];
        uint256 k = (seed >> 8) % 4;
        if (k == 0 && !_orgSuspended[ROGUE]) {
            vm.prank(COUNCIL);
            directory.suspendOrganization(ROGUE);
            _orgSuspended[ROGUE] = true;
        } else if (k == 1 && p.barred) {
            directory.liftPractitionerBar(p.account);
            p.barred = false;
        } else if (!p.barred) {
            vm.prank(COUNCIL);
            directory.barPractitioner(p.account);
            p.barred = true;
        } else {
            return;
        }
        ++councilActions;
    }

    function warp(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        uint256 dt = seed % 4 == 0 ? 1 + ((seed >> 2) % 120) : 1 + ((seed >> 2) % (2 * DAY));
        vm.warp(block.timestamp + dt);
    }

    function setBreakGlassOptOut(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        uint8 si = uint8(seed % _subjects.length);
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

    // ───────────────────────────── records ─────────────────────────────

    function erase(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        GRecord storage r = _records[seed % _records.length];
        address by = _writer(r.subject, seed >> 16);
        bool expected = !r.erased && _actsFor(r.subject, by, Codes.POWER_ERASE);
        vm.prank(by);
        try records.eraseRecord(_subjects[r.subject].id, r.id) {
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
        // An anchor evaluates only the hinted consent (zero: the caller's lists).
        bool expected = _allows(si, who, q, true, hint);
        RecordId id = RecordId.wrap(_fresh());
        vm.recordLogs();
        vm.prank(who);
        try
            records.anchorRecord(
                _subjects[si].id,
                id,
                category,
                _fresh(),
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
        // Sometimes ask under the wrong subject: an id is unknown outside its subject.
        uint8 asSubject = (seed >> 60) % 8 == 0 ? uint8((r.subject + 1) % _subjects.length) : r.subject;
        ConsentModel.Query memory q = _query(r.category, purpose, Codes.ACTION_READ);
        bool expected = asSubject == r.subject && !r.erased && _allows(r.subject, who, q, false, 0);
        vm.recordLogs();
        vm.prank(who);
        try records.access(_subjects[asSubject].id, r.id, purpose, ConsentId.wrap(_hint(seed >> 48, r.subject))) {
            ++accessOk;
            Logs.Accessed[] memory ev = Logs.accessed(vm.getRecordedLogs(), address(records));
            bool basisOk = ev.length == 1 && _loggedAccessOk(ev[0], r, who, purpose);
            if (!expected || !basisOk) ++accessesWithoutBasis;
            if (ev.length > 0) _countBasis(ev[0].basis);
        } catch {
            vm.getRecordedLogs();
            ++accessRefused;
            if (expected) ++refusalsDespiteBasis;
        }
    }

    function accessBatch(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        (address who, uint256 first, uint8 purpose) = _pick(seed);
        uint8 si = _records[first].subject;
        (RecordId[] memory ids, GRecord[] memory rs) = _chart(seed, first);
        _tryBatch(si, ids, rs, who, purpose, ConsentId.wrap(_hint(seed >> 48, si)));
    }

    /// @dev A reader, a first record and a purpose: guided at a consent 2 times in 3.
    function _pick(uint256 seed) internal view returns (address who, uint256 first, uint8 purpose) {
        bool guided;
        (guided, who, first, purpose) = _guided(rand(seed, 7));
        if (!guided || seed % 3 == 0) {
            first = (seed >> 4) % _records.length;
            who = _actor(seed >> 16);
            purpose = _purpose(seed >> 24);
        }
    }

    /// @dev 1..4 records starting with `first`: mostly of its subject (a chart), sometimes any record.
    function _chart(uint256 seed, uint256 first) internal view returns (RecordId[] memory ids, GRecord[] memory rs) {
        uint256 n = 1 + (seed % 4);
        ids = new RecordId[](n);
        rs = new GRecord[](n);
        rs[0] = _records[first];
        ids[0] = rs[0].id;
        for (uint256 i = 1; i < n; ++i) {
            uint256 r = rand(seed, i);
            rs[i] = r % 4 == 0 ? _records[(r >> 8) % _records.length] : _recordOf(rs[0].subject, r >> 8);
            ids[i] = rs[i].id;
        }
    }

    function _tryBatch(
        uint8 si,
        RecordId[] memory ids,
        GRecord[] memory rs,
        address who,
        uint8 purpose,
        ConsentId hint
    ) internal {
        bool expected = true;
        for (uint256 i = 0; i < rs.length; ++i) {
            if (
                rs[i].subject != si ||
                rs[i].erased ||
                !_allows(si, who, _query(rs[i].category, purpose, Codes.ACTION_READ), false, 0)
            ) {
                expected = false;
            }
        }
        vm.recordLogs();
        vm.prank(who);
        try records.accessBatch(_subjects[si].id, ids, purpose, hint) {
            ++batchOk;
            Logs.Accessed[] memory ev = Logs.accessed(vm.getRecordedLogs(), address(records));
            bool basisOk = ev.length == rs.length;
            for (uint256 i = 0; basisOk && i < rs.length; ++i) basisOk = _loggedAccessOk(ev[i], rs[i], who, purpose);
            if (!expected || !basisOk) ++accessesWithoutBasis;
        } catch {
            vm.getRecordedLogs();
            if (expected) ++refusalsDespiteBasis;
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
        bool expected = _breakGlassAllowed(rs, si, who, purpose);
        (, GPractitioner memory p) = _practitioner(who);
        vm.recordLogs();
        vm.prank(who);
        try records.breakGlassAccess(_subjects[si].id, ids, purpose, uint16(seed >> 56)) returns (uint256 sessionId) {
            ++breakGlassOk;
            if (p.puppet) ++puppetBreakGlassOk;
            Vm.Log[] memory logs = vm.getRecordedLogs();
            Logs.Accessed[] memory ev = Logs.accessed(logs, address(records));
            bool basisOk = ev.length == n && _sessionOk(sessionId, who, si);
            for (uint256 i = 0; basisOk && i < n; ++i) {
                basisOk =
                    ev[i].recordId == RecordId.unwrap(rs[i].id) &&
                    ev[i].accessor == who &&
                    ev[i].basis == uint8(AccessBasis.EMERGENCY) &&
                    ev[i].basisId == bytes32(sessionId) &&
                    ev[i].purpose == purpose;
            }
            if (!expected || !basisOk) ++accessesWithoutBasis;
            if (!_knownSession(sessionId)) _sessions.push(GSession(sessionId, p.org, ReviewOutcome.PENDING));
        } catch {
            vm.getRecordedLogs();
            ++breakGlassRefused;
            if (expected) ++refusalsDespiteBasis;
            else if (_breakGlassWouldPassButForDeny(rs, si, who, purpose)) ++breakGlassDeniedByDeny;
        }
    }

    /// @notice Someone (often a puppet privacy officer, or an officer of the responder's own
    /// organization) tries to close a break-glass review.
    function review(uint256 seed) external {
        ++calls;
        seed = _mix(seed);
        if (_sessions.length == 0) return;
        GSession storage s = _sessions[seed % _sessions.length];
        address who = _actor(seed >> 8);
        if ((seed >> 16) % 2 == 0) {
            // Prefer someone with a reviewer's role.
            uint256 start = (seed >> 24) % _practitioners.length;
            for (uint256 j = 0; j < _practitioners.length; ++j) {
                GPractitioner storage p = _practitioners[(start + j) % _practitioners.length];
                if (p.roles & (Codes.ROLE_PRIVACY_OFFICER | Codes.ROLE_AUDITOR) != 0) {
                    who = p.account;
                    break;
                }
            }
        }
        (bool found, GPractitioner memory reviewer) = _practitioner(who);
        if (found && reviewer.org == s.responderOrg) ++sameOrgReviewAttempts;
        ReviewOutcome outcome = (seed >> 40) % 2 == 0 ? ReviewOutcome.JUSTIFIED : ReviewOutcome.UNJUSTIFIED;
        bool expected = _mayReview(who, s);
        ++reviewAttempts;
        vm.prank(who);
        try records.closeReview(s.id, outcome) {
            ++reviewsClosed;
            s.outcome = outcome;
            if (!expected) ++accessesWithoutBasis;
        } catch {
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

    function _knownSession(uint256 id) internal view returns (bool) {
        for (uint256 i = 0; i < _sessions.length; ++i) if (_sessions[i].id == id) return true;
        return false;
    }

    function _breakGlassWouldPassButForDeny(
        GRecord[] memory rs,
        uint8 si,
        address who,
        uint8 purpose
    ) internal view returns (bool) {
        if (purpose != Codes.PURPOSE_ETREAT && purpose != Codes.PURPOSE_BTG) return false;
        for (uint256 i = 0; i < rs.length; ++i) if (rs[i].erased || rs[i].subject != si) return false;
        ConsentModel.Accessor memory a = _accessor(who, si);
        if (!a.active || a.roles & Codes.ROLE_EMERGENCY_RESPONDER == 0 || _subjects[si].optedOut) return false;
        return _denyBindsEmergency(rs, si, a, purpose);
    }

    /// @dev A query aimed at an existing consent (permit or deny): a practitioner its grantee
    /// designates, a record of the subject in one of its categories and one of its purposes.
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
        uint8 start2 = uint8((r >> 24) % (Codes.MAX_PURPOSE + 1));
        for (uint8 j = 0; j <= Codes.MAX_PURPOSE; ++j) {
            uint8 pp = uint8((start2 + j) % (Codes.MAX_PURPOSE + 1));
            if ((t.purposes >> pp) & 1 == 1) return (true, who, recordIndex, pp);
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
        return _validBasis(r.subject, who, _query(r.category, purpose, Codes.ACTION_READ), e.basis, e.basisId);
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

    /// @notice Activity statistics, in this order: calls, access ok/refused, batch ok, break-glass
    /// ok/refused/refused by a deny, anchors ok, grants, revokes, consent- and subject-based
    /// accesses, probes, guardian changes, guardian grants, quota or capacity refusals, puppets
    /// enrolled, puppet break-glass ok, review attempts, reviews closed, same-organization review
    /// attempts, council actions, ghost consents, ghost records, seconds elapsed.
    function stats() external view returns (uint256[26] memory s) {
        s = [
            calls,
            accessOk,
            accessRefused,
            batchOk,
            breakGlassOk,
            breakGlassRefused,
            breakGlassDeniedByDeny,
            anchorOk,
            grantsOk,
            revokesOk,
            consentBasedAccesses,
            subjectBasedAccesses,
            probes,
            guardianChanges,
            guardianGrantsOk,
            quotaOrCapacityRefusals,
            puppetEnrollments,
            puppetBreakGlassOk,
            reviewAttempts,
            reviewsClosed,
            sameOrgReviewAttempts,
            councilActions,
            _consents.length,
            _records.length,
            _sessions.length,
            block.timestamp - _start
        ];
    }
}
