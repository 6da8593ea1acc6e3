// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

import {IConsentRegistry} from "./interfaces/IConsentRegistry.sol";
import {IParticipantDirectory} from "./interfaces/IParticipantDirectory.sol";
import {
    AccessBasis,
    AccessorStatus,
    Codes,
    ConsentId,
    ConsentState,
    ConsentTerms,
    Decision,
    DenyReason,
    Effect,
    GranteeKind,
    MedLedgerVersion,
    OrgKind,
    SubjectId
} from "./libraries/MedLedgerTypes.sol";
import {SequenceList} from "./libraries/SequenceList.sol";
import {Migratable} from "./utils/Migratable.sol";

/// @title ConsentRegistry
/// @notice See {IConsentRegistry}.
contract ConsentRegistry is IConsentRegistry, EIP712, Nonces, Migratable {
    using SequenceList for uint256;

    /// @notice How many consents one (subject, effect, grantee) list holds.
    uint256 public constant BUCKET_CAPACITY = SequenceList.CAPACITY;
    /// @notice How many places of one list guardians may hold together; the rest are the controller's.
    uint256 public constant GUARDIAN_PLACES = 4;

    /// @dev The purposes a STUDY consent may name: HRESCH and CLINTRCH.
    uint16 private constant RESEARCH_PURPOSES = uint16(1 << Codes.PURPOSE_HRESCH) | uint16(1 << Codes.PURPOSE_CLINTRCH);

    bytes32 private constant TERMS_TYPEHASH = keccak256(
        "ConsentTerms(uint8 effect,uint8 granteeKind,address granteeAccount,uint32 granteeOrg,uint8 granteeRoles,"
        "uint16 categories,uint16 purposes,uint8 actions,uint64 validFrom,uint64 validUntil,bytes32 sealedTerms)"
    );
    bytes32 private constant GRANT_TYPEHASH = keccak256(
        "Grant(address signer,bytes32 subject,ConsentTerms terms,uint256 nonce,uint256 deadline)"
        "ConsentTerms(uint8 effect,uint8 granteeKind,address granteeAccount,uint32 granteeOrg,uint8 granteeRoles,"
        "uint16 categories,uint16 purposes,uint8 actions,uint64 validFrom,uint64 validUntil,bytes32 sealedTerms)"
    );
    bytes32 private constant REVOKE_TYPEHASH = keccak256(
        "Revoke(address signer,bytes32 subject,bytes32 consentId,uint256 nonce,uint256 deadline)"
    );

    /// @dev One storage slot per consent. `grantee` is the practitioner's compact directory id
    /// (PRACTITIONER; 0 only for an imported consent naming an unenrolled account) or the
    /// organization id (ORG_ROLE; 0: any organization). Times fit uint40 until the year 36812.
    struct StoredConsent {
        Effect effect;
        GranteeKind granteeKind;
        uint8 granteeRoles;
        uint8 actions;
        uint16 categories;
        uint16 purposes;
        uint32 grantee;
        uint32 sequence;
        uint40 validFrom;
        uint40 validUntil;
        uint40 revokedAt;
        bool byGuardian;
    }

    struct SubjectPolicy {
        uint32 consentCount;
        /// @dev Denies currently in the subject's lists (expired ones included until pruned): while
        /// 0, a check skips the deny lists.
        uint32 listedDenies;
        bool breakGlassOptedOut;
    }

    /// @dev What a check asks, with the accessor as the directory sees it.
    struct Query {
        uint32 practitionerId;
        uint32 org;
        uint8 roles;
        uint16 categories;
        uint16 purposeBit;
        uint8 action;
    }

    IParticipantDirectory private immutable _directory;

    mapping(SubjectId subject => mapping(ConsentId consentId => StoredConsent)) private _consents;
    mapping(SubjectId subject => SubjectPolicy) private _policies;
    /// @dev The index: per (subject, list key) the sequence numbers of the listed consents, packed
    /// in one word (see {SequenceList}).
    mapping(SubjectId subject => mapping(uint64 listKey => uint256 list)) private _lists;
    /// @dev How many places of a list hold consents created by guardians.
    mapping(SubjectId subject => mapping(uint64 listKey => uint8)) private _guardianPlaces;
    /// @dev Imported consents naming an account that is not an enrolled practitioner (kept for the
    /// record; they never match).
    mapping(SubjectId subject => mapping(ConsentId consentId => address)) private _unenrolledGrantees;

    /// @param directory_ the participant directory (a deployed contract)
    /// @param migrator_ the account that may import 1.0 consents until it seals the migration
    constructor(
        IParticipantDirectory directory_,
        address migrator_
    ) EIP712("MedLedger ConsentRegistry", "2") Migratable(migrator_) {
        if (address(directory_).code.length == 0) revert ConsentInvalidAddress("directory");
        _directory = directory_;
    }

    // ───────────────────────────── writes ─────────────────────────────

    /// @inheritdoc IConsentRegistry
    function grant(SubjectId subject, ConsentTerms calldata terms) external returns (ConsentId) {
        bool byGuardian = _authorize(subject, msg.sender, _grantPower(terms.effect));
        return _grant(subject, terms, msg.sender, byGuardian, false, false, 0);
    }

    /// @inheritdoc IConsentRegistry
    function grantBySig(
        SubjectId subject,
        ConsentTerms calldata terms,
        address signer,
        uint256 deadline,
        bytes calldata signature
    ) external returns (ConsentId) {
        bytes32 structHash = keccak256(
            abi.encode(GRANT_TYPEHASH, signer, subject, _hashTerms(terms), _useNonce(signer), deadline)
        );
        _verifySignature(signer, structHash, deadline, signature);
        bool byGuardian = _authorize(subject, signer, _grantPower(terms.effect));
        return _grant(subject, terms, signer, byGuardian, true, false, 0);
    }

    /// @inheritdoc IConsentRegistry
    function revoke(SubjectId subject, ConsentId consentId) external {
        _revoke(subject, consentId, msg.sender, false);
    }

    /// @inheritdoc IConsentRegistry
    function revokeBySig(
        SubjectId subject,
        ConsentId consentId,
        address signer,
        uint256 deadline,
        bytes calldata signature
    ) external {
        bytes32 structHash = keccak256(
            abi.encode(REVOKE_TYPEHASH, signer, subject, consentId, _useNonce(signer), deadline)
        );
        _verifySignature(signer, structHash, deadline, signature);
        _revoke(subject, consentId, signer, true);
    }

    /// @inheritdoc IConsentRegistry
    function setBreakGlassOptOut(SubjectId subject, bool optedOut) external {
        _authorize(subject, msg.sender, optedOut ? Codes.POWER_REVOKE : Codes.POWER_GRANT);
        SubjectPolicy storage policy = _policies[subject];
        if (policy.breakGlassOptedOut == optedOut) revert ConsentPreferenceUnchanged(subject, optedOut);
        policy.breakGlassOptedOut = optedOut;
        emit BreakGlassPreferenceSet(subject, optedOut, msg.sender);
    }

    // ──────────────────────────── migration ────────────────────────────

    /// @inheritdoc IConsentRegistry
    function importConsent(
        SubjectId subject,
        uint32 sequence,
        ConsentTerms calldata terms,
        uint64 revokedAt,
        address grantedBy
    ) external onlyDuringMigration {
        if (sequence != _policies[subject].consentCount + 1) revert ConsentInvalidImport("sequence");
        address controller = _directory.controllerOf(subject);
        if (controller == address(0)) revert ConsentInvalidImport("subject");
        if (grantedBy == address(0)) revert ConsentInvalidImport("grantedBy");
        if (revokedAt > block.timestamp) revert ConsentInvalidImport("revokedAt");
        _grant(subject, terms, grantedBy, grantedBy != controller, false, true, uint40(revokedAt));
    }

    /// @inheritdoc IConsentRegistry
    function importBreakGlassOptOut(SubjectId subject) external onlyDuringMigration {
        _policies[subject].breakGlassOptedOut = true;
        emit BreakGlassPreferenceSet(subject, true, msg.sender);
    }

    // ─────────────────────────────── views ───────────────────────────────

    /// @inheritdoc IConsentRegistry
    function check(
        address accessor,
        SubjectId subject,
        uint8 category,
        uint8 purpose,
        uint8 action
    ) external view returns (Decision memory) {
        return _check(accessor, subject, category, purpose, action, ConsentId.wrap(0));
    }

    /// @inheritdoc IConsentRegistry
    function checkWithHint(
        address accessor,
        SubjectId subject,
        uint8 category,
        uint8 purpose,
        uint8 action,
        ConsentId hint
    ) external view returns (Decision memory) {
        return _check(accessor, subject, category, purpose, action, hint);
    }

    /// @inheritdoc IConsentRegistry
    function checkStudy(
        SubjectId subject,
        uint32 researchOrg,
        uint16 categories,
        uint8 purpose
    ) external view returns (Decision memory) {
        if (purpose > Codes.MAX_PURPOSE || RESEARCH_PURPOSES & Codes.bit(purpose) == 0) {
            return _refuse(DenyReason.INVALID_PURPOSE, ConsentId.wrap(0), 0);
        }
        if (categories == 0) return _refuse(DenyReason.CATEGORY_NOT_COVERED, ConsentId.wrap(0), 0);
        uint16 purposeBit = Codes.bit(purpose);
        // Denies first: one covering the purpose and any category needed refuses the whole use.
        if (_policies[subject].listedDenies != 0) {
            ConsentId denyId = _studyDeny(subject, researchOrg, categories, purposeBit);
            if (ConsentId.unwrap(denyId) != bytes32(0)) return _refuse(DenyReason.DENIED_BY_SUBJECT, denyId, 0);
        }
        return _studyPermits(subject, researchOrg, categories, purposeBit);
    }

    /// @inheritdoc IConsentRegistry
    function findDeny(
        address accessor,
        SubjectId subject,
        uint16 categories,
        uint8 purpose,
        uint8 action
    ) external view returns (ConsentId) {
        if (_policies[subject].listedDenies == 0 || purpose > Codes.MAX_PURPOSE) return ConsentId.wrap(0);
        (, uint32 org, uint8 roles, uint32 practitionerId) = _directory.accessorStatus(accessor);
        if (practitionerId == 0) return ConsentId.wrap(0);
        return _matchingDeny(subject, Query(practitionerId, org, roles, categories, Codes.bit(purpose), action));
    }

    /// @inheritdoc IConsentRegistry
    function getConsent(SubjectId subject, ConsentId consentId) external view returns (ConsentState memory s) {
        StoredConsent memory c = _consents[subject][consentId];
        if (c.sequence == 0) revert ConsentUnknown(subject, consentId);
        s.effect = c.effect;
        s.granteeKind = c.granteeKind;
        if (c.granteeKind == GranteeKind.PRACTITIONER) {
            s.granteeAccount =
                c.grantee != 0 ? _directory.practitionerAccount(c.grantee) : _unenrolledGrantees[subject][consentId];
        } else {
            s.granteeOrg = c.grantee;
        }
        s.granteeRoles = c.granteeRoles;
        s.categories = c.categories;
        s.purposes = c.purposes;
        s.actions = c.actions;
        s.validFrom = c.validFrom;
        s.validUntil = c.validUntil;
        s.revokedAt = c.revokedAt;
        s.sequence = c.sequence;
        s.byGuardian = c.byGuardian;
    }

    /// @inheritdoc IConsentRegistry
    function listedConsents(
        SubjectId subject,
        Effect effect,
        GranteeKind granteeKind,
        uint32 grantee
    ) external view returns (ConsentId[] memory consentIds) {
        uint256 list = _lists[subject][_listKey(effect, granteeKind, grantee)];
        uint256 size = list.size();
        consentIds = new ConsentId[](size);
        for (uint256 i = 0; i < size; ++i) consentIds[i] = consentIdAt(subject, list.at(i));
    }

    /// @inheritdoc IConsentRegistry
    function consentCount(SubjectId subject) external view returns (uint32) {
        return _policies[subject].consentCount;
    }

    /// @inheritdoc IConsentRegistry
    function consentIdAt(SubjectId subject, uint32 sequence) public pure returns (ConsentId) {
        return ConsentId.wrap(keccak256(abi.encode(subject, sequence)));
    }

    /// @inheritdoc IConsentRegistry
    function breakGlassOptedOut(SubjectId subject) external view returns (bool) {
        return _policies[subject].breakGlassOptedOut;
    }

    /// @inheritdoc IConsentRegistry
    function nonces(address signer) public view override(IConsentRegistry, Nonces) returns (uint256) {
        return super.nonces(signer);
    }

    /// @inheritdoc IConsentRegistry
    function directory() external view returns (address) {
        return address(_directory);
    }

    /// @inheritdoc IConsentRegistry
    function version() external pure returns (string memory) {
        return MedLedgerVersion.VERSION;
    }

    // ─────────────────────────── internals: writes ───────────────────────────

    /// @dev Validates, stores, lists and emits a consent. `importing` relaxes what an earlier
    /// deployment may hold (a window in the past, a permit without public category, an unenrolled
    /// practitioner grantee) and takes the earlier revocation time `revokedAt` (0: none).
    function _grant(
        SubjectId subject,
        ConsentTerms calldata terms,
        address by,
        bool byGuardian,
        bool bySignature,
        bool importing,
        uint40 revokedAt
    ) private returns (ConsentId consentId) {
        _validate(terms, importing);
        uint32 grantee = _grantee(terms, importing);
        SubjectPolicy storage policy = _policies[subject];
        uint32 sequence = ++policy.consentCount;
        consentId = consentIdAt(subject, sequence);
        _consents[subject][consentId] = StoredConsent({
            effect: terms.effect,
            granteeKind: terms.granteeKind,
            granteeRoles: terms.granteeRoles,
            actions: terms.actions,
            categories: terms.categories,
            purposes: terms.purposes,
            grantee: grantee,
            sequence: sequence,
            validFrom: uint40(terms.validFrom),
            validUntil: uint40(terms.validUntil),
            revokedAt: revokedAt,
            byGuardian: byGuardian
        });
        if (terms.granteeKind == GranteeKind.PRACTITIONER && grantee == 0) {
            _unenrolledGrantees[subject][consentId] = terms.granteeAccount;
        } else if (revokedAt == 0 && !_expired(terms.validUntil)) {
            _list(subject, _listKey(terms.effect, terms.granteeKind, grantee), sequence, by, byGuardian, policy);
        }
        emit ConsentGranted(subject, consentId, terms.granteeAccount, terms, by, bySignature);
        if (revokedAt != 0) emit ConsentRevoked(subject, consentId, msg.sender, revokedAt, false);
    }

    function _revoke(SubjectId subject, ConsentId consentId, address by, bool bySignature) private {
        StoredConsent memory c = _consents[subject][consentId];
        if (c.sequence == 0) revert ConsentUnknown(subject, consentId);
        // Lifting a deny loosens access (GRANT); revoking a permit tightens it (REVOKE).
        _authorize(subject, by, c.effect == Effect.DENY ? Codes.POWER_GRANT : Codes.POWER_REVOKE);
        if (c.revokedAt != 0) revert ConsentAlreadyRevoked(consentId, c.revokedAt);
        uint40 revokedAt = uint40(block.timestamp);
        _consents[subject][consentId].revokedAt = revokedAt;
        _unlist(subject, _listKey(c.effect, c.granteeKind, c.grantee), c.sequence, c.byGuardian);
        emit ConsentRevoked(subject, consentId, by, revokedAt, bySignature);
    }

    /// @dev Puts `sequence` on its list. Expired consents give their places up first when the list
    /// (or the guardians' share of it) is full.
    function _list(
        SubjectId subject,
        uint64 listKey,
        uint32 sequence,
        address by,
        bool byGuardian,
        SubjectPolicy storage policy
    ) private {
        uint256 list = _lists[subject][listKey];
        uint256 size = list.size();
        uint8 guardianPlaces = byGuardian ? _guardianPlaces[subject][listKey] : 0;
        if (size == BUCKET_CAPACITY || guardianPlaces >= GUARDIAN_PLACES) {
            (list, size, guardianPlaces) = _pruneExpired(subject, listKey, list, size);
        }
        if (size == BUCKET_CAPACITY) {
            (Effect effect, GranteeKind kind, uint32 grantee) = _decodeListKey(listKey);
            revert ConsentIndexFull(subject, effect, kind, grantee, BUCKET_CAPACITY);
        }
        if (byGuardian) {
            if (guardianPlaces >= GUARDIAN_PLACES) revert ConsentGuardianQuotaExceeded(subject, by, GUARDIAN_PLACES);
            _guardianPlaces[subject][listKey] = guardianPlaces + 1;
        }
        _lists[subject][listKey] = list.withAt(size, sequence);
        if (_isDenyList(listKey)) ++policy.listedDenies;
    }

    /// @dev Takes `sequence` off its list if it is still there (an expired consent may have given
    /// its place up already).
    function _unlist(SubjectId subject, uint64 listKey, uint32 sequence, bool byGuardian) private {
        uint256 list = _lists[subject][listKey];
        uint256 size = list.size();
        for (uint256 i = 0; i < size; ++i) {
            if (list.at(i) == sequence) {
                _lists[subject][listKey] = list.without(i, size);
                if (byGuardian) --_guardianPlaces[subject][listKey];
                if (_isDenyList(listKey)) --_policies[subject].listedDenies;
                return;
            }
        }
    }

    /// @dev Removes every expired consent from a list (and stores the result).
    /// @return list the list without them
    /// @return size its size
    /// @return guardianPlaces the places guardians still hold in it
    function _pruneExpired(
        SubjectId subject,
        uint64 listKey,
        uint256 list,
        uint256 size
    ) private returns (uint256, uint256, uint8 guardianPlaces) {
        guardianPlaces = _guardianPlaces[subject][listKey];
        uint256 removed = 0;
        uint256 i = 0;
        while (i < size) {
            StoredConsent storage c = _consents[subject][consentIdAt(subject, list.at(i))];
            if (_expired(c.validUntil)) {
                list = list.without(i, size);
                --size;
                ++removed;
                if (c.byGuardian) --guardianPlaces;
            } else {
                ++i;
            }
        }
        if (removed != 0) {
            _lists[subject][listKey] = list;
            _guardianPlaces[subject][listKey] = guardianPlaces;
            if (_isDenyList(listKey)) _policies[subject].listedDenies -= uint32(removed);
        }
        return (list, size, guardianPlaces);
    }

    // ─────────────────────────── internals: checks ───────────────────────────

    function _check(
        address accessor,
        SubjectId subject,
        uint8 category,
        uint8 purpose,
        uint8 action,
        ConsentId hint
    ) private view returns (Decision memory d) {
        if (category > Codes.MAX_CATEGORY) return _refuse(DenyReason.CATEGORY_NOT_COVERED, ConsentId.wrap(0), 0);
        if (action != Codes.ACTION_READ && action != Codes.ACTION_APPEND) {
            return _refuse(DenyReason.ACTION_NOT_ALLOWED, ConsentId.wrap(0), 0);
        }
        if (action == Codes.ACTION_READ && purpose > Codes.MAX_PURPOSE) {
            return _refuse(DenyReason.INVALID_PURPOSE, ConsentId.wrap(0), 0);
        }
        (AccessorStatus status, uint32 org, uint8 roles, uint32 practitionerId) = _directory.accessorStatus(accessor);
        if (status == AccessorStatus.ACTIVE) {
            // APPEND ignores the purpose: the bit is then never compared.
            uint16 purposeBit = action == Codes.ACTION_READ ? Codes.bit(purpose) : 0;
            d = _checkConsents(
                subject,
                Query(practitionerId, org, roles, Codes.bit(category), purposeBit, action),
                hint
            );
            if (d.allowed) return d;
        } else {
            d = _refuse(Codes.reasonFor(status), ConsentId.wrap(0), org);
        }
        // The subject (or a guardian with the ACCESS power) acts for themself: no consent needed,
        // and the subject's denies (rules about others) do not apply to them.
        if (_directory.actsFor(subject, accessor, Codes.POWER_ACCESS)) {
            return Decision(true, DenyReason.NONE, AccessBasis.SUBJECT, ConsentId.wrap(0), 0);
        }
    }

    function _checkConsents(SubjectId subject, Query memory q, ConsentId hint) private view returns (Decision memory) {
        // Denies first: a matching deny always wins. While the subject has none, skip the lists.
        if (_policies[subject].listedDenies != 0) {
            ConsentId denyId = _matchingDeny(subject, q);
            if (ConsentId.unwrap(denyId) != bytes32(0)) return _refuse(DenyReason.DENIED_BY_SUBJECT, denyId, q.org);
        }
        if (ConsentId.unwrap(hint) != bytes32(0)) {
            StoredConsent memory c = _consents[subject][hint];
            if (c.sequence == 0 || c.effect != Effect.PERMIT) return _refuse(DenyReason.NO_CONSENT, hint, q.org);
            DenyReason reason = _evaluate(c, q);
            if (reason == DenyReason.NONE) return Decision(true, reason, AccessBasis.CONSENT, hint, q.org);
            return _refuse(reason, hint, q.org);
        }
        // No hint: the accessor's three permit lists; a refusal explains itself by the first
        // listed permit that names the accessor.
        DenyReason best = DenyReason.NO_CONSENT;
        ConsentId bestId;
        uint64[3] memory keys = _accessorLists(Effect.PERMIT, q);
        for (uint256 k = 0; k < 3; ++k) {
            uint256 list = _lists[subject][keys[k]];
            for (uint256 i = 0; i < BUCKET_CAPACITY; ++i) {
                uint32 sequence = list.at(i);
                if (sequence == 0) break;
                ConsentId id = consentIdAt(subject, sequence);
                DenyReason reason = _evaluate(_consents[subject][id], q);
                if (reason == DenyReason.NONE) return Decision(true, reason, AccessBasis.CONSENT, id, q.org);
                if (reason != DenyReason.GRANTEE_MISMATCH && best == DenyReason.NO_CONSENT) {
                    best = reason;
                    bestId = id;
                }
            }
        }
        return _refuse(best, bestId, q.org);
    }

    /// @dev The first listed deny naming the accessor that covers the query (zero if none).
    function _matchingDeny(SubjectId subject, Query memory q) private view returns (ConsentId) {
        uint64[3] memory keys = _accessorLists(Effect.DENY, q);
        for (uint256 k = 0; k < 3; ++k) {
            uint256 list = _lists[subject][keys[k]];
            for (uint256 i = 0; i < BUCKET_CAPACITY; ++i) {
                uint32 sequence = list.at(i);
                if (sequence == 0) break;
                ConsentId id = consentIdAt(subject, sequence);
                if (_evaluate(_consents[subject][id], q) == DenyReason.NONE) return id;
            }
        }
        return ConsentId.wrap(0);
    }

    /// @dev The lists that can name this accessor: its own, its organization's, any organization's.
    function _accessorLists(Effect effect, Query memory q) private pure returns (uint64[3] memory) {
        return
            [
                _listKey(effect, GranteeKind.PRACTITIONER, q.practitionerId),
                _listKey(effect, GranteeKind.ORG_ROLE, q.org),
                _listKey(effect, GranteeKind.ORG_ROLE, 0)
            ];
    }

    /// @dev Why `c` does not cover `q` now (NONE if it does). Used for permits and denies alike.
    function _evaluate(StoredConsent memory c, Query memory q) private view returns (DenyReason) {
        // A STUDY consent names no reader: it never matches here (only {checkStudy} evaluates it).
        bool granteeMatches =
            c.granteeKind == GranteeKind.PRACTITIONER
                ? c.grantee == q.practitionerId
                : c.granteeKind == GranteeKind.ORG_ROLE &&
                    (c.grantee == 0 || c.grantee == q.org) &&
                    (c.granteeRoles & q.roles) != 0;
        if (!granteeMatches) return DenyReason.GRANTEE_MISMATCH;
        if (c.revokedAt != 0) return DenyReason.CONSENT_REVOKED;
        if (block.timestamp < c.validFrom) return DenyReason.CONSENT_NOT_YET_VALID;
        if (_expired(c.validUntil)) return DenyReason.CONSENT_EXPIRED;
        if (c.categories & q.categories == 0) return DenyReason.CATEGORY_NOT_COVERED;
        if (c.actions & q.action == 0) return DenyReason.ACTION_NOT_ALLOWED;
        if (q.action == Codes.ACTION_READ && c.purposes & q.purposeBit == 0) return DenyReason.PURPOSE_NOT_ALLOWED;
        return DenyReason.NONE;
    }

    /// @dev The STUDY lists of `effect` that can name a study of `researchOrg`: the list naming it
    /// and the "any research organization" list (0).
    function _studyLists(
        SubjectId subject,
        Effect effect,
        uint32 researchOrg
    ) private view returns (uint256[2] memory lists) {
        lists[0] = _lists[subject][_listKey(effect, GranteeKind.STUDY, 0)];
        if (researchOrg != 0) lists[1] = _lists[subject][_listKey(effect, GranteeKind.STUDY, researchOrg)];
    }

    /// @dev The first STUDY deny in force for the purpose that covers any of `categories` (zero if none).
    function _studyDeny(
        SubjectId subject,
        uint32 researchOrg,
        uint16 categories,
        uint16 purposeBit
    ) private view returns (ConsentId) {
        uint256[2] memory lists = _studyLists(subject, Effect.DENY, researchOrg);
        for (uint256 k = 0; k < 2; ++k) {
            for (uint256 i = 0; i < BUCKET_CAPACITY; ++i) {
                uint32 sequence = lists[k].at(i);
                if (sequence == 0) break;
                ConsentId id = consentIdAt(subject, sequence);
                StoredConsent storage c = _consents[subject][id];
                if (c.categories & categories != 0 && _studyReason(c, purposeBit) == DenyReason.NONE) return id;
            }
        }
        return ConsentId.wrap(0);
    }

    /// @dev What a scan of the STUDY permits found.
    struct StudyScan {
        uint16 covered;
        ConsentId first;
        DenyReason best;
        ConsentId bestId;
    }

    /// @dev Allowed when the STUDY permits in force for the purpose together cover every category;
    /// otherwise the first reason found.
    function _studyPermits(
        SubjectId subject,
        uint32 researchOrg,
        uint16 categories,
        uint16 purposeBit
    ) private view returns (Decision memory) {
        uint256[2] memory lists = _studyLists(subject, Effect.PERMIT, researchOrg);
        StudyScan memory scan = StudyScan(0, ConsentId.wrap(0), DenyReason.NO_CONSENT, ConsentId.wrap(0));
        for (uint256 k = 0; k < 2; ++k) {
            for (uint256 i = 0; i < BUCKET_CAPACITY; ++i) {
                uint32 sequence = lists[k].at(i);
                if (sequence == 0) break;
                ConsentId id = consentIdAt(subject, sequence);
                StoredConsent storage c = _consents[subject][id];
                DenyReason reason = _studyReason(c, purposeBit);
                if (reason == DenyReason.NONE && c.categories & categories != 0) {
                    if (ConsentId.unwrap(scan.first) == bytes32(0)) scan.first = id;
                    scan.covered |= c.categories & categories;
                } else if (scan.best == DenyReason.NO_CONSENT) {
                    scan.best = reason == DenyReason.NONE ? DenyReason.CATEGORY_NOT_COVERED : reason;
                    scan.bestId = id;
                }
            }
        }
        if (scan.covered == categories) return Decision(true, DenyReason.NONE, AccessBasis.CONSENT, scan.first, 0);
        if (scan.covered != 0) return _refuse(DenyReason.CATEGORY_NOT_COVERED, scan.first, 0);
        return _refuse(scan.best, scan.bestId, 0);
    }

    /// @dev Why a STUDY consent `c` is not in force for reading with `purposeBit` now (NONE if it
    /// is); categories are the caller's to compare.
    function _studyReason(StoredConsent storage c, uint16 purposeBit) private view returns (DenyReason) {
        if (c.revokedAt != 0) return DenyReason.CONSENT_REVOKED;
        if (block.timestamp < c.validFrom) return DenyReason.CONSENT_NOT_YET_VALID;
        if (_expired(c.validUntil)) return DenyReason.CONSENT_EXPIRED;
        if (c.purposes & purposeBit == 0) return DenyReason.PURPOSE_NOT_ALLOWED;
        return DenyReason.NONE;
    }

    function _refuse(DenyReason reason, ConsentId consentId, uint32 org) private pure returns (Decision memory) {
        return Decision(false, reason, AccessBasis.NONE, consentId, org);
    }

    // ─────────────────────────── internals: helpers ───────────────────────────

    /// @dev Checks the shape of the terms (grantee existence is {_grantee}'s).
    function _validate(ConsentTerms calldata t, bool importing) private view {
        if (t.effect == Effect.PERMIT && t.categories == 0 && !importing) revert ConsentInvalidTerms("categories");
        if (t.purposes == 0 || t.purposes > Codes.ALL_PURPOSES) revert ConsentInvalidTerms("purposes");
        if (t.actions == 0 || t.actions > Codes.ALL_ACTIONS) revert ConsentInvalidTerms("actions");
        if (t.validFrom > type(uint40).max) revert ConsentInvalidTerms("validFrom");
        if (
            t.validUntil != Codes.NO_EXPIRATION_TIME &&
            (t.validUntil > type(uint40).max ||
                t.validUntil <= t.validFrom ||
                (!importing && t.validUntil <= block.timestamp))
        ) {
            revert ConsentInvalidTerms("validUntil");
        }
        if (t.sealedTerms == bytes32(0)) revert ConsentInvalidTerms("sealedTerms");
    }

    /// @dev The stored grantee: the practitioner's compact id, or the organization id (0: any).
    function _grantee(ConsentTerms calldata t, bool importing) private view returns (uint32) {
        if (t.granteeKind == GranteeKind.PRACTITIONER) {
            if (t.granteeAccount == address(0)) revert ConsentInvalidTerms("granteeAccount");
            if (t.granteeOrg != 0 || t.granteeRoles != 0) revert ConsentInvalidTerms("granteeOrg/granteeRoles");
            uint32 practitionerId = _directory.practitionerIdOf(t.granteeAccount);
            if (practitionerId == 0 && !importing) revert ConsentUnknownPractitioner(t.granteeAccount);
            return practitionerId;
        }
        if (t.granteeAccount != address(0)) revert ConsentInvalidTerms("granteeAccount");
        if (t.granteeKind == GranteeKind.STUDY) {
            // Research use: no reader named, research purposes and READ only; granteeOrg is the
            // research organization whose approved studies it covers (0: any).
            if (t.granteeRoles != 0) revert ConsentInvalidTerms("granteeRoles");
            if (t.purposes & ~RESEARCH_PURPOSES != 0) revert ConsentInvalidTerms("purposes");
            if (t.actions != Codes.ACTION_READ) revert ConsentInvalidTerms("actions");
            if (t.granteeOrg != 0) {
                if (t.granteeOrg > _directory.organizationCount()) revert ConsentUnknownOrganization(t.granteeOrg);
                (OrgKind kind, , , , ) = _directory.getOrganization(t.granteeOrg);
                if (kind != OrgKind.RESEARCH_INSTITUTE) revert ConsentInvalidTerms("granteeOrg");
            }
            return t.granteeOrg;
        }
        if (t.granteeRoles == 0 || t.granteeRoles > Codes.ALL_ROLES) revert ConsentInvalidTerms("granteeRoles");
        if (t.granteeOrg > _directory.organizationCount()) revert ConsentUnknownOrganization(t.granteeOrg);
        return t.granteeOrg;
    }

    function _grantPower(Effect effect) private pure returns (uint8) {
        return effect == Effect.DENY ? Codes.POWER_REVOKE : Codes.POWER_GRANT;
    }

    /// @dev Reverts unless `account` acts for `subject` with `power`.
    /// @return byGuardian whether it does so as a guardian (rather than as the controller)
    function _authorize(SubjectId subject, address account, uint8 power) private view returns (bool byGuardian) {
        address controller = _directory.controllerOf(subject);
        if (account == controller && controller != address(0)) return false;
        if (controller == address(0) || !_directory.actsFor(subject, account, power)) {
            revert ConsentUnauthorized(subject, account, power);
        }
        return true;
    }

    function _verifySignature(
        address signer,
        bytes32 structHash,
        uint256 deadline,
        bytes calldata signature
    ) private view {
        if (block.timestamp > deadline) revert ConsentSignatureExpired(deadline, block.timestamp);
        if (!SignatureChecker.isValidSignatureNow(signer, _hashTypedDataV4(structHash), signature)) {
            revert ConsentInvalidSignature(signer);
        }
    }

    function _hashTerms(ConsentTerms calldata t) private pure returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    TERMS_TYPEHASH,
                    t.effect,
                    t.granteeKind,
                    t.granteeAccount,
                    t.granteeOrg,
                    t.granteeRoles,
                    t.categories,
                    t.purposes,
                    t.actions,
                    t.validFrom,
                    t.validUntil,
                    t.sealedTerms
                )
            );
    }

    function _expired(uint64 validUntil) private view returns (bool) {
        return validUntil != Codes.NO_EXPIRATION_TIME && validUntil <= block.timestamp;
    }

    /// @dev A list key: effect (bits 40..47), grantee kind (bits 32..39), grantee id (bits 0..31).
    function _listKey(Effect effect, GranteeKind kind, uint32 grantee) private pure returns (uint64) {
        return (uint64(uint8(effect)) << 40) | (uint64(uint8(kind)) << 32) | grantee;
    }

    function _decodeListKey(uint64 listKey) private pure returns (Effect, GranteeKind, uint32) {
        return (Effect(uint8(listKey >> 40)), GranteeKind(uint8(listKey >> 32)), uint32(listKey));
    }

    function _isDenyList(uint64 listKey) private pure returns (bool) {
        return Effect(uint8(listKey >> 40)) == Effect.DENY;
    }
}
