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
    ConsentTerms,
    Decision,
    DenyReason,
    Effect,
    GranteeKind,
    SubjectId
} from "./libraries/MedLedgerTypes.sol";

/// @title ConsentRegistry
/// @notice See {IConsentRegistry}.
contract ConsentRegistry is IConsentRegistry, EIP712, Nonces {
    /// @notice The most active denies one subject may hold (bounds the cost of every check).
    uint256 public constant MAX_DENIES = 16;

    bytes32 private constant TERMS_TYPEHASH = keccak256(
        "ConsentTerms(uint8 effect,uint8 granteeKind,address granteeAccount,uint32 granteeOrg,uint8 granteeRoles,"
        "uint32 categories,uint32 purposes,uint8 actions,uint64 validFrom,uint64 validUntil)"
    );
    bytes32 private constant GRANT_TYPEHASH = keccak256(
        "Grant(bytes32 subject,ConsentTerms terms,uint256 nonce,uint256 deadline)"
        "ConsentTerms(uint8 effect,uint8 granteeKind,address granteeAccount,uint32 granteeOrg,uint8 granteeRoles,"
        "uint32 categories,uint32 purposes,uint8 actions,uint64 validFrom,uint64 validUntil)"
    );
    bytes32 private constant REVOKE_TYPEHASH = keccak256(
        "Revoke(bytes32 subject,bytes32 consentId,uint256 nonce,uint256 deadline)"
    );

    uint32 private constant ALL_PURPOSES = uint32((1 << (uint256(Codes.MAX_PURPOSE) + 1)) - 1);

    /// @dev Two storage slots per consent.
    struct StoredConsent {
        address granteeAccount;
        uint32 granteeOrg;
        uint8 granteeRoles;
        GranteeKind granteeKind;
        Effect effect;
        uint8 actions;
        uint32 categories;
        // ── slot 2
        uint32 purposes;
        uint64 validFrom;
        uint64 validUntil;
        uint64 revokedAt;
        uint32 sequence;
    }

    struct SubjectPolicy {
        uint32 consentCount;
        uint8 denyCount;
        bool breakGlassOptedOut;
    }

    IParticipantDirectory private immutable _directory;

    mapping(SubjectId subject => mapping(ConsentId consentId => StoredConsent)) private _consents;
    mapping(SubjectId subject => SubjectPolicy) private _policies;
    /// @dev The subject's active denies, compacted (index < denyCount).
    mapping(SubjectId subject => mapping(uint256 index => ConsentId)) private _denies;

    constructor(IParticipantDirectory directory_) EIP712("MedLedger ConsentRegistry", "1") {
        _directory = directory_;
    }

    // ───────────────────────────── writes ─────────────────────────────

    /// @inheritdoc IConsentRegistry
    function grant(SubjectId subject, ConsentTerms calldata terms) external returns (ConsentId) {
        _authorize(subject, msg.sender, _grantPower(terms.effect));
        return _grant(subject, terms, msg.sender, false);
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
            abi.encode(GRANT_TYPEHASH, subject, _hashTerms(terms), _useNonce(signer), deadline)
        );
        _verifySignature(signer, structHash, deadline, signature);
        _authorize(subject, signer, _grantPower(terms.effect));
        return _grant(subject, terms, signer, true);
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
        bytes32 structHash = keccak256(abi.encode(REVOKE_TYPEHASH, subject, consentId, _useNonce(signer), deadline));
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
    function getConsent(
        SubjectId subject,
        ConsentId consentId
    ) external view returns (ConsentTerms memory terms, uint64 revokedAt) {
        StoredConsent storage c = _existingConsent(subject, consentId);
        terms = ConsentTerms({
            effect: c.effect,
            granteeKind: c.granteeKind,
            granteeAccount: c.granteeAccount,
            granteeOrg: c.granteeOrg,
            granteeRoles: c.granteeRoles,
            categories: c.categories,
            purposes: c.purposes,
            actions: c.actions,
            validFrom: c.validFrom,
            validUntil: c.validUntil
        });
        revokedAt = c.revokedAt;
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
        return "1.0.0";
    }

    // ───────────────────────────── internals ─────────────────────────────

    function _grant(
        SubjectId subject,
        ConsentTerms calldata terms,
        address by,
        bool bySignature
    ) private returns (ConsentId consentId) {
        uint32 purposes = _validate(terms);
        SubjectPolicy storage policy = _policies[subject];
        uint32 sequence = ++policy.consentCount;
        consentId = consentIdAt(subject, sequence);
        if (terms.effect == Effect.DENY) {
            uint8 denyCount = policy.denyCount;
            // Expired denies can never apply again: free their places before refusing.
            if (denyCount >= MAX_DENIES) denyCount = _pruneExpiredDenies(subject, policy);
            if (denyCount >= MAX_DENIES) revert ConsentTooManyDenies(subject, MAX_DENIES);
            _denies[subject][denyCount] = consentId;
            policy.denyCount = denyCount + 1;
        }
        _consents[subject][consentId] = StoredConsent({
            granteeAccount: terms.granteeAccount,
            granteeOrg: terms.granteeOrg,
            granteeRoles: terms.granteeRoles,
            granteeKind: terms.granteeKind,
            effect: terms.effect,
            actions: terms.actions,
            categories: terms.categories,
            purposes: purposes,
            validFrom: terms.validFrom,
            validUntil: terms.validUntil,
            revokedAt: 0,
            sequence: sequence
        });
        emit ConsentGranted(subject, consentId, terms.granteeAccount, terms, by, bySignature);
    }

    function _revoke(SubjectId subject, ConsentId consentId, address by, bool bySignature) private {
        StoredConsent storage c = _existingConsent(subject, consentId);
        // Lifting a deny loosens access (GRANT); revoking a permit tightens it (REVOKE).
        _authorize(subject, by, c.effect == Effect.DENY ? Codes.POWER_GRANT : Codes.POWER_REVOKE);
        if (c.revokedAt != 0) revert ConsentAlreadyRevoked(consentId, c.revokedAt);
        uint64 revokedAt = uint64(block.timestamp);
        c.revokedAt = revokedAt;
        if (c.effect == Effect.DENY) _removeDeny(subject, consentId);
        emit ConsentRevoked(subject, consentId, by, revokedAt, bySignature);
    }

    function _pruneExpiredDenies(SubjectId subject, SubjectPolicy storage policy) private returns (uint8 count) {
        count = policy.denyCount;
        mapping(uint256 => ConsentId) storage denies = _denies[subject];
        mapping(ConsentId => StoredConsent) storage consents = _consents[subject];
        uint256 i = 0;
        while (i < count) {
            uint64 validUntil = consents[denies[i]].validUntil;
            if (validUntil != Codes.NO_EXPIRATION_TIME && validUntil <= block.timestamp) {
                denies[i] = denies[count - 1];
                denies[count - 1] = ConsentId.wrap(0);
                --count;
            } else {
                ++i;
            }
        }
        policy.denyCount = count;
    }

    function _removeDeny(SubjectId subject, ConsentId consentId) private {
        SubjectPolicy storage policy = _policies[subject];
        uint256 count = policy.denyCount;
        mapping(uint256 => ConsentId) storage denies = _denies[subject];
        // An expired deny may already have given its place up (see _pruneExpiredDenies).
        for (uint256 i = 0; i < count; ++i) {
            if (ConsentId.unwrap(denies[i]) == ConsentId.unwrap(consentId)) {
                uint256 last = count - 1;
                denies[i] = denies[last];
                denies[last] = ConsentId.wrap(0);
                policy.denyCount = uint8(last);
                return;
            }
        }
    }

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
        (AccessorStatus status, uint32 org, uint8 roles) = _directory.accessorStatus(accessor);
        if (status == AccessorStatus.ACTIVE) {
            Query memory q = Query(accessor, org, roles, Codes.bit(category), Codes.bit(purpose % 32), action);
            d = _checkConsents(subject, q, hint);
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

    struct Query {
        address accessor;
        uint32 org;
        uint8 roles;
        uint32 categoryBit;
        uint32 purposeBit;
        uint8 action;
    }

    function _checkConsents(SubjectId subject, Query memory q, ConsentId hint) private view returns (Decision memory) {
        SubjectPolicy storage policy = _policies[subject];
        mapping(ConsentId => StoredConsent) storage consents = _consents[subject];
        // Denies first: a matching deny always wins.
        uint256 denyCount = policy.denyCount;
        for (uint256 i = 0; i < denyCount; ++i) {
            ConsentId denyId = _denies[subject][i];
            if (_evaluate(consents[denyId], q) == DenyReason.NONE) {
                return _refuse(DenyReason.DENIED_BY_SUBJECT, denyId, q.org);
            }
        }
        if (ConsentId.unwrap(hint) != bytes32(0)) {
            StoredConsent storage c = consents[hint];
            if (c.sequence == 0 || c.effect != Effect.PERMIT) return _refuse(DenyReason.NO_CONSENT, hint, q.org);
            DenyReason reason = _evaluate(c, q);
            if (reason == DenyReason.NONE) return Decision(true, reason, AccessBasis.CONSENT, hint, q.org);
            return _refuse(reason, hint, q.org);
        }
        // No hint: newest first, so a refusal explains itself by the most recent relevant consent.
        DenyReason best = DenyReason.NO_CONSENT;
        ConsentId bestId;
        for (uint32 sequence = policy.consentCount; sequence > 0; --sequence) {
            ConsentId id = consentIdAt(subject, sequence);
            StoredConsent storage c = consents[id];
            if (c.effect != Effect.PERMIT) continue;
            DenyReason reason = _evaluate(c, q);
            if (reason == DenyReason.NONE) return Decision(true, reason, AccessBasis.CONSENT, id, q.org);
            if (reason != DenyReason.GRANTEE_MISMATCH && best == DenyReason.NO_CONSENT) {
                best = reason;
                bestId = id;
            }
        }
        return _refuse(best, bestId, q.org);
    }

    /// @dev Why `c` does not cover `q` now (NONE if it does). Used for permits and denies alike.
    function _evaluate(StoredConsent storage c, Query memory q) private view returns (DenyReason) {
        bool granteeMatches =
            c.granteeKind == GranteeKind.PRACTITIONER
                ? c.granteeAccount == q.accessor
                : (c.granteeOrg == 0 || c.granteeOrg == q.org) && (c.granteeRoles & q.roles) != 0;
        if (!granteeMatches) return DenyReason.GRANTEE_MISMATCH;
        if (c.revokedAt != 0) return DenyReason.CONSENT_REVOKED;
        if (block.timestamp < c.validFrom) return DenyReason.CONSENT_NOT_YET_VALID;
        if (c.validUntil != Codes.NO_EXPIRATION_TIME && block.timestamp >= c.validUntil) {
            return DenyReason.CONSENT_EXPIRED;
        }
        if (c.categories & q.categoryBit == 0) return DenyReason.CATEGORY_NOT_COVERED;
        if (c.actions & q.action == 0) return DenyReason.ACTION_NOT_ALLOWED;
        if (q.action == Codes.ACTION_READ && c.purposes & q.purposeBit == 0) return DenyReason.PURPOSE_NOT_ALLOWED;
        return DenyReason.NONE;
    }

    function _refuse(DenyReason reason, ConsentId consentId, uint32 org) private pure returns (Decision memory) {
        return Decision(false, reason, AccessBasis.NONE, consentId, org);
    }

    /// @dev Checks the terms; returns the purposes mask to store (a deny with purposes 0 covers all).
    function _validate(ConsentTerms calldata t) private view returns (uint32 purposes) {
        if (t.granteeKind == GranteeKind.PRACTITIONER) {
            if (t.granteeAccount == address(0)) revert ConsentInvalidTerms("granteeAccount");
            if (t.granteeOrg != 0 || t.granteeRoles != 0) revert ConsentInvalidTerms("granteeOrg/granteeRoles");
        } else {
            if (t.granteeAccount != address(0)) revert ConsentInvalidTerms("granteeAccount");
            if (t.granteeRoles == 0 || t.granteeRoles > Codes.ALL_ROLES) revert ConsentInvalidTerms("granteeRoles");
        }
        if (t.categories == 0) revert ConsentInvalidTerms("categories");
        if (t.actions == 0 || t.actions > Codes.ALL_ACTIONS) revert ConsentInvalidTerms("actions");
        purposes = t.purposes;
        if (purposes > ALL_PURPOSES) revert ConsentInvalidTerms("purposes");
        if (purposes == 0) {
            if (t.effect == Effect.PERMIT) revert ConsentInvalidTerms("purposes");
            purposes = ALL_PURPOSES;
        }
        if (
            t.validUntil != Codes.NO_EXPIRATION_TIME && (t.validUntil <= t.validFrom || t.validUntil <= block.timestamp)
        ) {
            revert ConsentInvalidTerms("validUntil");
        }
    }

    function _grantPower(Effect effect) private pure returns (uint8) {
        return effect == Effect.DENY ? Codes.POWER_REVOKE : Codes.POWER_GRANT;
    }

    function _authorize(SubjectId subject, address account, uint8 power) private view {
        if (!_directory.actsFor(subject, account, power)) revert ConsentUnauthorized(subject, account, power);
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

    function _existingConsent(SubjectId subject, ConsentId consentId) private view returns (StoredConsent storage c) {
        c = _consents[subject][consentId];
        if (c.sequence == 0) revert ConsentUnknown(subject, consentId);
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
                    t.validUntil
                )
            );
    }
}
