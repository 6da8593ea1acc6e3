// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IConsentRegistry} from "../../contracts/interfaces/IConsentRegistry.sol";
import {IRecordRegistry} from "../../contracts/interfaces/IRecordRegistry.sol";
import {
    AccessBasis,
    Codes,
    ConsentId,
    ConsentState,
    ConsentTerms,
    Decision,
    DenyReason,
    Effect,
    GranteeKind,
    RecordId,
    SubjectId
} from "../../contracts/libraries/MedLedgerTypes.sol";

import {ConsentFixture} from "./utils/ConsentFixture.sol";
import {ConsentModel} from "./utils/ConsentModel.sol";
import {Logs} from "./utils/Logs.sol";

/// @notice Properties 2 and 3 of the consent model, plus terms validation, as fuzz tests:
/// - a revoked or expired consent never passes a check (neither hinted nor as the allowing consent);
/// - a matching deny always wins over any number of permits, in check() and in the registry.
contract ConsentPropertiesTest is ConsentFixture {
    function setUp() public {
        _setUpConsortium();
    }

    // ───────────────────────────── helpers ─────────────────────────────

    struct Granted {
        ConsentId id;
        ConsentTerms terms;
    }

    function _grantAll(ConsentTerms[] memory ts, address by) internal returns (Granted[] memory out) {
        out = new Granted[](ts.length);
        for (uint256 i = 0; i < ts.length; ++i) {
            out[i] = Granted(_grant(subject, by, ts[i]), ts[i]);
        }
    }

    function _covers(
        Granted memory g,
        ConsentModel.Accessor memory a,
        ConsentModel.Query memory q
    ) internal view returns (bool) {
        return ConsentModel.covers(g.terms, consents.getConsent(subject, g.id).revokedAt, a, q, block.timestamp);
    }

    function _anyCovers(
        Granted[] memory gs,
        ConsentModel.Accessor memory a,
        ConsentModel.Query memory q
    ) internal view returns (bool) {
        for (uint256 i = 0; i < gs.length; ++i) {
            if (_covers(gs[i], a, q)) return true;
        }
        return false;
    }

    function _isCoveringOneOf(
        ConsentId id,
        Granted[] memory gs,
        ConsentModel.Accessor memory a,
        ConsentModel.Query memory q
    ) internal view returns (bool) {
        for (uint256 i = 0; i < gs.length; ++i) {
            if (ConsentId.unwrap(gs[i].id) == ConsentId.unwrap(id)) return _covers(gs[i], a, q);
        }
        return false;
    }

    function _check(Practitioner memory p, ConsentModel.Query memory q) internal view returns (Decision memory) {
        return consents.check(p.account, subject, q.category, q.purpose, q.action);
    }

    function _checkHint(
        Practitioner memory p,
        ConsentModel.Query memory q,
        ConsentId hint
    ) internal view returns (Decision memory) {
        return consents.checkWithHint(p.account, subject, q.category, q.purpose, q.action, hint);
    }

    /// @dev Makes `t` cover `q` for `a` now (grantee, window, category, purpose, action).
    function _forceCover(ConsentTerms memory t, Practitioner memory a, ConsentModel.Query memory q) internal view {
        if (t.granteeKind == GranteeKind.PRACTITIONER) {
            t.granteeAccount = a.account;
        } else {
            if (t.granteeOrg != 0) t.granteeOrg = a.org;
            t.granteeRoles |= a.roles;
        }
        if (t.validFrom > block.timestamp) t.validFrom = uint64(block.timestamp);
        t.categories |= Codes.bit(q.category);
        t.purposes |= Codes.bit(q.purpose);
        t.actions |= q.action;
    }

    /// @dev Tries the query through the RecordRegistry (READ: access of a record of the category;
    /// APPEND: anchoring a new one) with `hint`. Returns whether it succeeded, the logged consent
    /// id (basisId / consentId) and the revert data.
    function _viaRegistry(
        Practitioner memory p,
        ConsentModel.Query memory q,
        ConsentId hint,
        RecordId readable
    ) internal returns (bool ok, bytes32 loggedConsent, AccessBasis basis, bytes memory err) {
        vm.recordLogs();
        vm.prank(p.account);
        if (q.action == Codes.ACTION_READ) {
            try records.access(subject, readable, q.purpose, hint) {
                Logs.Accessed[] memory a = Logs.accessed(vm.getRecordedLogs(), address(records));
                assertEq(a.length, 1, "one RecordAccessed");
                return (true, a[0].basisId, AccessBasis(a[0].basis), "");
            } catch (bytes memory e) {
                vm.getRecordedLogs();
                return (false, bytes32(0), AccessBasis.NONE, e);
            }
        } else {
            try
                records.anchorRecord(
                    subject,
                    RecordId.wrap(_fresh()),
                    q.category,
                    _fresh(),
                    _fresh(),
                    RecordId.wrap(0),
                    "ipfs://v",
                    hint
                )
            {
                Logs.Anchored[] memory a = Logs.anchored(vm.getRecordedLogs(), address(records));
                assertEq(a.length, 1, "one RecordAnchored");
                return (true, a[0].consentId, AccessBasis.CONSENT, "");
            } catch (bytes memory e) {
                vm.getRecordedLogs();
                return (false, bytes32(0), AccessBasis.NONE, e);
            }
        }
    }

    // ─────────────── property 2: revoked / expired consents never pass ───────────────

    struct Ctx {
        Practitioner p;
        ConsentModel.Query q;
        ConsentModel.Accessor a;
        RecordId readable; // a record of the query's category, for READ through the registry
    }

    function _ctx(uint8 actorRaw, uint8 category, uint8 purpose, bool append) internal returns (Ctx memory c) {
        c.p = practitioners[actorRaw % practitioners.length];
        c.q = _query(category, purpose, append);
        c.a = _accessor(c.p);
        c.readable = _anchorAsSubject(subject, patient, c.q.category, RecordId.wrap(0));
    }

    /// @dev Grants `n + 1` random permits in order; returns the one at `targetAt` and the others.
    function _grantTargetAmong(
        Ctx memory c,
        uint256 seed,
        uint256 n,
        uint256 targetAt
    ) internal returns (Granted memory target, Granted[] memory others) {
        ConsentTerms[] memory ts = new ConsentTerms[](n + 1);
        for (uint256 i = 0; i < ts.length; ++i) ts[i] = _randomTerms(rand(seed, 200 + i), Effect.PERMIT, c.p, c.q);
        Granted[] memory gs = _grantAll(ts, patient);
        target = gs[targetAt];
        others = new Granted[](n);
        for (uint256 i = 0; i < ts.length; ++i) {
            if (i != targetAt) others[i < targetAt ? i : i - 1] = gs[i];
        }
    }

    /// @dev After `target` stopped being in force: the hinted check refuses (with `reason` when the
    /// grantee matches), check() follows the model over `others` and never names `target`, and
    /// the registry agrees and never logs `target`.
    function _assertNeverPasses(
        Ctx memory c,
        Granted memory target,
        Granted[] memory others,
        DenyReason reason
    ) internal {
        Decision memory d = _checkHint(c.p, c.q, target.id);
        assertFalse(d.allowed, "hinted consent passed after revocation/expiry");
        if (ConsentModel.granteeMatches(target.terms, c.a)) {
            assertEq(uint256(d.reason), uint256(reason), "refusal reason");
            assertEq(ConsentId.unwrap(d.consentId), ConsentId.unwrap(target.id), "explained by the hinted consent");
        }
        Decision memory all = _check(c.p, c.q);
        bool othersCover = _anyCovers(others, c.a, c.q);
        assertEq(all.allowed, othersCover, "check() = model over the other permits");
        if (all.allowed) {
            assertNotEq(ConsentId.unwrap(all.consentId), ConsentId.unwrap(target.id), "check() allowed by it");
            assertTrue(_isCoveringOneOf(all.consentId, others, c.a, c.q), "allowing consent covers the query");
        }
        // Through the registry. A read with a stale hint falls back to searching every consent; an
        // anchor does not (documented: "the hint names it; zero searches"), so an anchor hinting the
        // dead consent is refused and one without a hint follows the model.
        (bool ok, bytes32 logged, , ) = _viaRegistry(c.p, c.q, target.id, c.readable);
        assertEq(ok, c.q.action == Codes.ACTION_READ && othersCover, "registry outcome (stale hint) = model");
        if (ok) assertNotEq(logged, ConsentId.unwrap(target.id), "registry logged it as the basis");
        (ok, logged, , ) = _viaRegistry(c.p, c.q, ConsentId.wrap(0), c.readable);
        assertEq(ok, othersCover, "registry outcome (no hint) = model");
        if (ok) assertNotEq(logged, ConsentId.unwrap(target.id), "registry logged it as the basis");
    }

    /// @param dts two time steps (low and high 32 bits): before and after the revocation
    function testFuzz_revokedConsentNeverPasses(
        uint256 seed,
        uint8 actorRaw,
        uint8 category,
        uint8 purpose,
        bool append,
        uint64 dts
    ) public {
        Ctx memory c = _ctx(actorRaw, category, purpose, append);
        // The target permit among 0..3 other random permits, granted in random order.
        uint256 nOthers = rand(seed, 100) % 4;
        (Granted memory target, Granted[] memory others) = _grantTargetAmong(
            c,
            seed,
            nOthers,
            rand(seed, 101) % (nOthers + 1)
        );

        vm.warp(block.timestamp + (uint32(dts) % (15 days)));
        // Positive control: before revocation the hinted check follows the model exactly.
        _assertHintFollowsModel(c, target);

        // Revoked by the controller or by a guardian with the REVOKE power.
        _revoke(subject, rand(seed, 102) % 2 == 0 ? guardian : patient, target.id);
        assertEq(consents.getConsent(subject, target.id).revokedAt, block.timestamp, "revokedAt recorded");
        vm.warp(block.timestamp + (uint32(dts >> 32) % (15 days)));
        _assertNeverPasses(c, target, others, DenyReason.CONSENT_REVOKED);
    }

    function _assertHintFollowsModel(Ctx memory c, Granted memory target) internal view {
        Decision memory d = _checkHint(c.p, c.q, target.id);
        bool targetCovers = _covers(target, c.a, c.q);
        assertEq(d.allowed, targetCovers, "hinted check while in force = model");
        if (targetCovers) {
            assertEq(ConsentId.unwrap(d.consentId), ConsentId.unwrap(target.id), "allowing consent = hint");
            assertEq(uint256(d.basis), uint256(AccessBasis.CONSENT), "basis CONSENT");
        }
    }

    function testFuzz_expiredConsentNeverPasses(
        uint256 seed,
        uint8 actorRaw,
        uint8 category,
        uint8 purpose,
        bool append,
        uint32 overshoot
    ) public {
        Ctx memory c = _ctx(actorRaw, category, purpose, append);
        ConsentTerms memory tt = _randomTerms(rand(seed, 1), Effect.PERMIT, c.p, c.q);
        if (tt.validUntil == Codes.NO_EXPIRATION_TIME) {
            uint64 base = tt.validFrom > block.timestamp ? tt.validFrom : uint64(block.timestamp);
            tt.validUntil = base + 1 + uint64(rand(seed, 2) % (30 * DAY));
        }
        Granted memory target = Granted(_grant(subject, patient, tt), tt);
        uint256 nOthers = rand(seed, 3) % 3;
        ConsentTerms[] memory ots = new ConsentTerms[](nOthers);
        for (uint256 i = 0; i < nOthers; ++i) ots[i] = _randomTerms(rand(seed, 10 + i), Effect.PERMIT, c.p, c.q);
        Granted[] memory others = _grantAll(ots, guardian);

        // Positive control inside the window (last second before expiry).
        vm.warp(tt.validUntil - 1);
        if (tt.validFrom <= block.timestamp) _assertHintFollowsModel(c, target);
        // At or after validUntil (an exclusive end): never passes.
        vm.warp(uint256(tt.validUntil) + (overshoot % 3 == 0 ? 0 : overshoot % (2 * YEAR))); // licences last 10 years
        _assertNeverPasses(c, target, others, DenyReason.CONSENT_EXPIRED);
    }

    // ─────────────── property 3: a deny always wins ───────────────

    function testFuzz_denyAlwaysWins(
        uint256 seed,
        uint8 actorRaw,
        uint8 category,
        uint8 purpose,
        bool append,
        uint32 elapsed
    ) public {
        _denyScenario(seed, actorRaw, category, purpose, append, elapsed, false);
    }

    /// @notice Same, but the deny and every permit are forced to cover the query: always refused.
    function testFuzz_coveringDenyBeatsCoveringPermits(
        uint256 seed,
        uint8 actorRaw,
        uint8 category,
        uint8 purpose,
        bool append
    ) public {
        _denyScenario(seed, actorRaw, category, purpose, append, 0, true);
    }

    struct DenyCase {
        Granted[] permits;
        Granted[] denies;
    }

    function _grantMix(Ctx memory c, uint256 seed, bool forceCover) internal returns (DenyCase memory m) {
        uint256 nPermits = 1 + (rand(seed, 1) % 4);
        uint256 nDenies = 1 + (rand(seed, 2) % 4 == 0 ? 1 : 0);
        m.permits = new Granted[](nPermits);
        m.denies = new Granted[](nDenies);
        // Interleave grants in a random order (a deny may come before or after the permits).
        uint256 pi = 0;
        uint256 di = 0;
        for (uint256 k = 0; k < nPermits + nDenies; ++k) {
            bool deny = di < nDenies && (pi == nPermits || rand(seed, 300 + k) % 2 == 0);
            ConsentTerms memory t = _randomTerms(rand(seed, 400 + k), deny ? Effect.DENY : Effect.PERMIT, c.p, c.q);
            if (forceCover) _forceCover(t, c.p, c.q);
            // A deny needs REVOKE (tightening): the patient or the guardian records it.
            ConsentId id = _grant(subject, rand(seed, 500 + k) % 2 == 0 ? patient : guardian, t);
            if (deny) m.denies[di++] = Granted(id, t);
            else m.permits[pi++] = Granted(id, t);
        }
    }

    // solhint-disable-next-line function-max-lines
    function _denyScenario(
        uint256 seed,
        uint8 actorRaw,
        uint8 category,
        uint8 purpose,
        bool append,
        uint32 elapsed,
        bool forceCover
    ) internal {
        Ctx memory c = _ctx(actorRaw, category, purpose, append);
        DenyCase memory m = _grantMix(c, seed, forceCover);
        if (!forceCover) vm.warp(block.timestamp + (elapsed % (20 days)));

        bool denyCovers = _anyCovers(m.denies, c.a, c.q);
        bool permitCovers = _anyCovers(m.permits, c.a, c.q);
        if (forceCover) assertTrue(denyCovers && permitCovers, "forced cover");

        Decision memory d = _check(c.p, c.q);
        if (denyCovers) {
            assertFalse(d.allowed, "a covering deny was overridden");
            assertEq(uint256(d.reason), uint256(DenyReason.DENIED_BY_SUBJECT), "reason DENIED_BY_SUBJECT");
            assertTrue(_isCoveringOneOf(d.consentId, m.denies, c.a, c.q), "refusal names a covering deny");
            // Whatever permit is hinted, the deny still wins.
            for (uint256 i = 0; i < m.permits.length; ++i) {
                Decision memory h = _checkHint(c.p, c.q, m.permits[i].id);
                assertFalse(h.allowed, "a covering deny was overridden by a hinted permit");
                assertEq(uint256(h.reason), uint256(DenyReason.DENIED_BY_SUBJECT), "hinted: DENIED_BY_SUBJECT");
            }
        } else {
            assertEq(d.allowed, permitCovers, "no covering deny: check() = permits model");
            if (d.allowed) {
                assertEq(uint256(d.basis), uint256(AccessBasis.CONSENT), "basis CONSENT");
                assertTrue(_isCoveringOneOf(d.consentId, m.permits, c.a, c.q), "allowing consent covers");
            }
        }

        Granted memory hinted = m.permits[rand(seed, 600) % m.permits.length];
        (bool ok, , , bytes memory err) = _viaRegistry(c.p, c.q, hinted.id, c.readable);
        if (denyCovers) {
            assertFalse(ok, "registry let a denied practitioner through");
            if (c.q.action == Codes.ACTION_READ) {
                assertEq(selectorOf(err), IRecordRegistry.AccessDenied.selector, "AccessDenied");
                (, , DenyReason reason, ConsentId by) = _decodeAccessDenied(err);
                assertEq(uint256(reason), uint256(DenyReason.DENIED_BY_SUBJECT), "AccessDenied reason");
                assertTrue(_isCoveringOneOf(by, m.denies, c.a, c.q), "AccessDenied names a covering deny");
            } else {
                assertEq(selectorOf(err), IRecordRegistry.RecordAnchorDenied.selector, "RecordAnchorDenied");
            }
        } else if (c.q.action == Codes.ACTION_READ) {
            // A read falls back to every permit when the hinted one does not cover.
            assertEq(ok, permitCovers, "registry read = permits model");
        } else {
            // An anchor evaluates only the hinted permit ("the hint names it; zero searches").
            assertEq(ok, _covers(hinted, c.a, c.q), "registry anchor = hinted permit model");
        }
        if (c.q.action == Codes.ACTION_APPEND) {
            (ok, , , err) = _viaRegistry(c.p, c.q, ConsentId.wrap(0), c.readable);
            assertEq(ok, !denyCovers && permitCovers, "registry anchor without hint = model");
            if (denyCovers) {
                assertEq(selectorOf(err), IRecordRegistry.RecordAnchorDenied.selector, "RecordAnchorDenied");
            }
        }
    }

    /// @notice Revoking some denies (the registry compacts its list of active denies) lifts
    /// exactly those: every deny still in force keeps refusing what it covers, whatever the order
    /// of revocations, and a revoked one stops refusing.
    function testFuzz_revokingDeniesLiftsExactlyThose(uint256 seed, uint8 nRaw, uint16 revokeMask) public {
        uint256 n = bound(nRaw, 2, 12);
        // Everyone may read every category for TREAT...
        _grant(
            subject,
            patient,
            _orgRoleTerms(Effect.PERMIT, 0, Codes.ALL_ROLES, Codes.ALL_CATEGORIES, 1, Codes.ACTION_READ)
        );
        // ...but deny i forbids practitioner i % 6 to read category i (each query has one deny).
        ConsentId[] memory denyIds = new ConsentId[](n);
        for (uint256 i = 0; i < n; ++i) {
            ConsentTerms memory t = _practitionerPermit(
                practitioners[i % practitioners.length].account,
                Codes.bit(uint8(i)),
                Codes.ALL_PURPOSES,
                Codes.ACTION_READ
            );
            t.effect = Effect.DENY;
            denyIds[i] = _grant(subject, i % 2 == 0 ? patient : guardian, t);
        }
        // Revoke the chosen ones in a random order (lifting a deny needs GRANT: patient or guardian).
        uint256 start = seed % n;
        for (uint256 k = 0; k < n; ++k) {
            uint256 i = (start + k * (seed % 2 == 0 ? 1 : n - 1)) % n;
            if ((revokeMask >> i) & 1 == 1)
                _revoke(subject, (seed >> (8 + k)) % 2 == 0 ? patient : guardian, denyIds[i]);
        }
        for (uint256 i = 0; i < n; ++i) {
            bool revoked = (revokeMask >> i) & 1 == 1;
            Decision memory d = consents.check(
                practitioners[i % practitioners.length].account,
                subject,
                uint8(i),
                Codes.PURPOSE_TREAT,
                Codes.ACTION_READ
            );
            assertEq(d.allowed, revoked, "allowed exactly when its deny was revoked");
            if (!revoked) {
                assertEq(uint256(d.reason), uint256(DenyReason.DENIED_BY_SUBJECT), "still denied by subject");
                assertEq(ConsentId.unwrap(d.consentId), ConsentId.unwrap(denyIds[i]), "by its own deny");
            }
        }
    }

    /// @notice An expired deny whose place was freed (expired consents give their places up when
    /// their list is full) is still a consent of the subject: revoking it must succeed, whatever
    /// other denies are left in the list (1.0 underflowed when none was left).
    function testFuzz_revokingAnExpiredPrunedDenySucceeds(uint8 keepMask, bool byGuardian) public {
        uint256 capacity = consents.BUCKET_CAPACITY();
        ConsentTerms memory t = _practitionerPermit(practitioners[0].account, 1, Codes.ALL_PURPOSES, Codes.ACTION_READ);
        t.effect = Effect.DENY;
        t.validUntil = uint64(block.timestamp + 1 hours);
        ConsentId expiring = _grant(subject, patient, t);
        t.validUntil = Codes.NO_EXPIRATION_TIME;
        ConsentId[] memory others = new ConsentId[](capacity);
        for (uint256 i = 0; i + 1 < capacity; ++i) {
            t.categories = Codes.bit(uint8(1 + i));
            others[i] = _grant(subject, patient, t);
        }
        vm.warp(block.timestamp + 2 hours);
        // The list is full; the expired deny gives its place up for a new one.
        t.categories = Codes.bit(uint8(capacity));
        others[capacity - 1] = _grant(subject, patient, t);
        for (uint256 i = 0; i < capacity; ++i) {
            if ((keepMask >> i) & 1 == 0) _revoke(subject, patient, others[i]);
        }
        _revoke(subject, byGuardian ? guardian : patient, expiring);
        assertEq(consents.getConsent(subject, expiring).revokedAt, block.timestamp, "expired deny revoked");
        for (uint256 i = 0; i < capacity; ++i) {
            Decision memory d = consents.check(
                practitioners[0].account,
                subject,
                uint8(1 + i),
                Codes.PURPOSE_TREAT,
                Codes.ACTION_READ
            );
            bool kept = (keepMask >> i) & 1 == 1;
            assertEq(d.reason == DenyReason.DENIED_BY_SUBJECT, kept, "kept denies still refuse");
        }
    }

    function _decodeAccessDenied(
        bytes memory err
    ) internal pure returns (RecordId recordId, address accessor, DenyReason reason, ConsentId consentId) {
        bytes memory args = new bytes(err.length - 4);
        for (uint256 i = 0; i < args.length; ++i) args[i] = err[i + 4];
        (, recordId, accessor, reason, consentId) = abi.decode(
            args,
            (SubjectId, RecordId, address, DenyReason, ConsentId)
        );
    }

    // ─────────────── the subject and break-glass are not consents ───────────────

    /// @notice A deny binds practitioners, not the subject's own representatives: the controller
    /// and a guardian with ACCESS still read (basis SUBJECT); an unrelated account never does.
    function testFuzz_subjectReadsRegardlessOfConsents(
        uint256 seed,
        uint8 category,
        uint8 purpose,
        bool useGuardian
    ) public {
        Practitioner memory p = practitioners[0];
        ConsentModel.Query memory q = _query(category, purpose, false);
        ConsentTerms memory t = _randomTerms(seed, Effect.DENY, p, q);
        _forceCover(t, p, q);
        t.granteeKind = GranteeKind.ORG_ROLE;
        t.granteeAccount = address(0);
        t.granteeOrg = 0;
        t.granteeRoles = Codes.ALL_ROLES;
        _grant(subject, patient, t);
        address who = useGuardian ? weakGuardian : patient;
        Decision memory d = consents.check(who, subject, q.category, q.purpose, q.action);
        assertTrue(d.allowed, "subject refused");
        assertEq(uint256(d.basis), uint256(AccessBasis.SUBJECT), "basis SUBJECT");
        address stranger = address(uint160(uint256(keccak256(abi.encode(seed)))));
        vm.assume(stranger != patient && stranger != guardian && stranger != weakGuardian);
        assertFalse(consents.check(stranger, subject, q.category, q.purpose, q.action).allowed, "stranger allowed");
    }

    /// @notice The subject needs no consent ("The subject (or a guardian with the ACCESS power)
    /// acts for themself"), and a deny is the subject's rule about others: it must not lock the
    /// subject's controller — or its ACCESS guardian — out of the subject's records when that
    /// person is also an ACTIVE practitioner the deny designates (a clinician treated at their own
    /// hospital who denied "clinicians of my hospital" a category; a parent who is a clinician
    /// there). Regression: the first ConsentRegistry evaluated denies before the subject shortcut
    /// and answered DENIED_BY_SUBJECT, while the same person, once suspended, was allowed.
    function testFuzz_subjectWhoIsAPractitionerIsNotBoundByOwnDeny(
        uint256 seed,
        uint8 category,
        uint8 purpose,
        bool append,
        bool asGuardian
    ) public {
        Practitioner memory clinician = practitioners[asGuardian ? 2 : 0]; // both hospital clinicians
        address controller = asGuardian ? address(0xCAFE) : clinician.account;
        SubjectId own = _register(keccak256("clinician-as-patient"), controller);
        if (asGuardian) _setGuardian(own, controller, clinician.account, Codes.POWER_ACCESS, 0);
        ConsentModel.Query memory q = _query(category, purpose, append);
        // The subject denies its hospital's clinicians (covering the query).
        ConsentTerms memory t = _randomTerms(seed, Effect.DENY, clinician, q);
        t.granteeKind = GranteeKind.ORG_ROLE;
        t.granteeAccount = address(0);
        t.granteeOrg = hospital;
        t.granteeRoles = Codes.ROLE_CLINICIAN;
        _forceCover(t, clinician, q);
        _grant(own, controller, t);

        // Suspended, the clinician is "just" the subject (or its guardian): allowed.
        vm.prank(address(0xAD01));
        directory.suspendPractitioner(clinician.account);
        Decision memory d = consents.check(clinician.account, own, q.category, q.purpose, q.action);
        assertTrue(d.allowed && d.basis == AccessBasis.SUBJECT, "suspended: allowed as the subject");
        // Active again: the same person, same records, must still be allowed as the subject.
        vm.prank(address(0xAD01));
        directory.reinstatePractitioner(clinician.account);
        d = consents.check(clinician.account, own, q.category, q.purpose, q.action);
        assertEq(
            uint256(d.reason),
            uint256(DenyReason.NONE),
            "subject refused by its own deny (reason 9 = DENIED_BY_SUBJECT)"
        );
        assertTrue(d.allowed && d.basis == AccessBasis.SUBJECT, "active: allowed as the subject");
    }

    // ─────────────── consent terms validation ───────────────

    /// @notice Arbitrary terms (edge-biased) are either rejected — with one of the errors the
    /// documented rules they break call for — or stored exactly as given.
    function testFuzz_termsRejectedOrStoredExactly(uint256 seed) public {
        ConsentTerms memory t = _arbitraryTerms(seed);
        bytes4[] memory expected = _specViolations(t);
        uint32 countBefore = consents.consentCount(subject);
        vm.prank(patient);
        try consents.grant(subject, t) returns (ConsentId id) {
            if (expected.length != 0) revert AssertionFailed("accepted terms that break a documented rule");
            assertEq(consents.consentCount(subject), countBefore + 1, "count + 1");
            assertEq(
                ConsentId.unwrap(id),
                ConsentId.unwrap(consents.consentIdAt(subject, countBefore + 1)),
                "sequential id"
            );
            _assertStored(id, t);
        } catch (bytes memory err) {
            if (expected.length == 0) revert AssertionFailed("valid terms rejected");
            bool known = false;
            for (uint256 i = 0; i < expected.length; ++i) known = known || selectorOf(err) == expected[i];
            assertTrue(known, "rejected with an error the broken rule calls for");
            assertEq(consents.consentCount(subject), countBefore, "count unchanged");
        }
    }

    /// @notice Valid random terms of both effects round-trip exactly.
    function testFuzz_validTermsStoredExactly(
        uint256 seed,
        bool deny,
        uint8 actorRaw,
        uint8 category,
        uint8 purpose
    ) public {
        Practitioner memory p = practitioners[actorRaw % practitioners.length];
        ConsentTerms memory t = _randomTerms(
            seed,
            deny ? Effect.DENY : Effect.PERMIT,
            p,
            _query(category, purpose, false)
        );
        assertEq(_specViolations(t).length, 0, "generator makes valid terms");
        _assertStored(_grant(subject, patient, t), t);
    }

    function _assertStored(ConsentId id, ConsentTerms memory t) internal view {
        ConsentState memory s = consents.getConsent(subject, id);
        assertEq(s.revokedAt, 0, "not revoked");
        assertEq(uint256(s.effect), uint256(t.effect), "effect");
        assertEq(uint256(s.granteeKind), uint256(t.granteeKind), "granteeKind");
        assertEq(s.granteeAccount, t.granteeAccount, "granteeAccount");
        assertEq(s.granteeOrg, t.granteeOrg, "granteeOrg");
        assertEq(s.granteeRoles, t.granteeRoles, "granteeRoles");
        assertEq(s.categories, t.categories, "categories");
        assertEq(s.purposes, t.purposes, "purposes (stored exactly as granted)");
        assertEq(s.actions, t.actions, "actions");
        assertEq(s.validFrom, t.validFrom, "validFrom");
        assertEq(s.validUntil, t.validUntil, "validUntil");
        assertEq(s.sequence, consents.consentCount(subject), "sequence");
    }

    /// @dev The documented validity rules each `t` breaks, as the error each calls for (empty: valid).
    function _specViolations(ConsentTerms memory t) internal view returns (bytes4[] memory out) {
        bytes4 invalid = IConsentRegistry.ConsentInvalidTerms.selector;
        bytes4[] memory found = new bytes4[](12);
        uint256 n = 0;
        if (t.granteeKind == GranteeKind.PRACTITIONER) {
            if (t.granteeAccount == address(0)) found[n++] = invalid;
            if (t.granteeOrg != 0 || t.granteeRoles != 0) found[n++] = invalid;
            if (t.granteeAccount != address(0) && !_enrolled(t.granteeAccount)) {
                found[n++] = IConsentRegistry.ConsentUnknownPractitioner.selector;
            }
        } else {
            if (t.granteeAccount != address(0)) found[n++] = invalid;
            if (t.granteeRoles == 0 || t.granteeRoles > Codes.ALL_ROLES) found[n++] = invalid;
            if (t.granteeOrg > 4) found[n++] = IConsentRegistry.ConsentUnknownOrganization.selector;
        }
        if (t.categories == 0 && t.effect == Effect.PERMIT) found[n++] = invalid;
        if (t.actions == 0 || t.actions > Codes.ALL_ACTIONS) found[n++] = invalid;
        if (t.purposes == 0 || t.purposes > ConsentModel.ALL_PURPOSES) found[n++] = invalid;
        if (t.validFrom > type(uint40).max) found[n++] = invalid;
        if (t.validUntil != Codes.NO_EXPIRATION_TIME) {
            if (t.validUntil <= t.validFrom || t.validUntil <= block.timestamp || t.validUntil > type(uint40).max) {
                found[n++] = invalid;
            }
        }
        if (t.sealedTerms == bytes32(0)) found[n++] = invalid;
        out = new bytes4[](n);
        for (uint256 i = 0; i < n; ++i) out[i] = found[i];
    }

    function _enrolled(address account) internal view returns (bool) {
        for (uint256 i = 0; i < practitioners.length; ++i) if (practitioners[i].account == account) return true;
        return false;
    }

    /// @dev Terms whose every field is drawn from edge values (0, 1, limits, limits + 1, max,
    /// now +- 1) or random, each "plausible" most of the time so both outcomes are common.
    // solhint-disable-next-line function-max-lines
    function _arbitraryTerms(uint256 seed) internal view returns (ConsentTerms memory t) {
        uint256 r = rand(seed, 0);
        t.effect = r % 2 == 0 ? Effect.PERMIT : Effect.DENY;
        t.granteeKind = (r >> 1) % 2 == 0 ? GranteeKind.PRACTITIONER : GranteeKind.ORG_ROLE;
        bool plausible = (r >> 2) % 4 != 0; // shape the grantee consistently most of the time
        r = rand(seed, 1);
        uint256 pick = r % 5;
        t.granteeAccount =
            pick == 0
                ? address(0)
                : pick == 1
                    ? practitioners[0].account
                    : address(uint160(r >> 8));
        r = rand(seed, 2);
        pick = r % 4;
        t.granteeOrg =
            pick == 0
                ? 0
                : pick == 1
                    ? 1
                    : uint32(r >> 8);
        r = rand(seed, 3);
        pick = r % 6;
        t.granteeRoles =
            pick == 0
                ? 0
                : pick == 1
                    ? 1
                    : pick == 2
                        ? Codes.ALL_ROLES
                        : pick == 3
                            ? Codes.ALL_ROLES + 1
                            : pick == 4
                                ? type(uint8).max
                                : uint8(r >> 8);
        if (plausible) {
            if (t.granteeKind == GranteeKind.PRACTITIONER) {
                t.granteeOrg = 0;
                t.granteeRoles = 0;
                if (t.granteeAccount == address(0) && (r >> 16) % 2 == 0) t.granteeAccount = address(0xD0C);
            } else {
                t.granteeAccount = address(0);
            }
        }
        r = rand(seed, 4);
        pick = r % 8;
        t.categories =
            pick == 0
                ? 0
                : pick == 1
                    ? 1
                    : pick == 2
                        ? type(uint16).max
                        : uint16(r >> 8) | 1;
        r = rand(seed, 5);
        pick = r % 8;
        t.purposes =
            pick == 0
                ? 0
                : pick == 1
                    ? 1
                    : pick == 2
                        ? ConsentModel.ALL_PURPOSES
                        : pick == 3
                            ? ConsentModel.ALL_PURPOSES + 1
                            : pick == 4
                                ? type(uint16).max
                                : (uint16(r >> 8) & ConsentModel.ALL_PURPOSES) | 1;
        r = rand(seed, 6);
        pick = r % 8;
        t.actions =
            pick == 0
                ? 0
                : pick == 1
                    ? 4
                    : pick == 2
                        ? type(uint8).max
                        : uint8(1 + ((r >> 8) % 3));
        r = rand(seed, 7);
        uint64 nowT = uint64(block.timestamp);
        pick = r % 6;
        t.validFrom =
            pick == 0
                ? 0
                : pick == 1
                    ? nowT - 1
                    : pick == 2
                        ? nowT
                        : pick == 3
                            ? nowT + 1
                            : pick == 4
                                ? type(uint64).max
                                : uint64(r >> 8);
        r = rand(seed, 8);
        pick = r % 9;
        if (pick == 0 || pick == 1) t.validUntil = 0;
        else if (pick == 2) t.validUntil = t.validFrom == 0 ? 0 : t.validFrom - 1;
        else if (pick == 3) t.validUntil = t.validFrom;
        else if (pick == 4) t.validUntil = t.validFrom == type(uint64).max ? t.validFrom : t.validFrom + 1;
        else if (pick == 5) t.validUntil = nowT;
        else if (pick == 6) t.validUntil = nowT + 1;
        else if (pick == 7) t.validUntil = type(uint64).max;
        else t.validUntil = uint64(r >> 8);
        t.sealedTerms = (r >> 200) % 8 == 0 ? bytes32(0) : keccak256(abi.encode("sealed", seed));
    }
}
