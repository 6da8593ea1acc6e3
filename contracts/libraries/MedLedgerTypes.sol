// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @dev A patient's pseudonymous identifier: 32 random bytes, never derived from personal data.
type SubjectId is bytes32;
/// @dev One version of one encrypted record: 32 random bytes chosen by the writer.
type RecordId is bytes32;
/// @dev A consent (permit or deny): keccak256(subject, sequence number within the subject).
type ConsentId is bytes32;

/// @notice Kinds of organization admitted by consortium governance.
enum OrgKind {
    NONE,
    HOSPITAL,
    LAB,
    PAYER,
    RESEARCH_INSTITUTE,
    REGULATOR
}

/// @notice Whether a consent grants (permit) or forbids (deny) access. A deny always wins.
enum Effect {
    PERMIT,
    DENY
}

/// @notice Who a consent is for: one practitioner, or the active members of an organization
/// (granteeOrg 0 = any organization) holding any of `granteeRoles`.
enum GranteeKind {
    PRACTITIONER,
    ORG_ROLE
}

/// @notice The state of an accessor in the participant directory, as a consent check sees it.
enum AccessorStatus {
    ACTIVE,
    UNKNOWN,
    SUSPENDED,
    CREDENTIAL_EXPIRED,
    ORGANIZATION_SUSPENDED
}

/// @notice On what grounds an access or anchor was allowed.
enum AccessBasis {
    NONE,
    CONSENT,
    EMERGENCY,
    SUBJECT
}

/// @notice Why a consent check said no (NONE when it said yes). Order is part of the ABI.
enum DenyReason {
    NONE,
    NO_CONSENT,
    CONSENT_REVOKED,
    CONSENT_EXPIRED,
    CONSENT_NOT_YET_VALID,
    CATEGORY_NOT_COVERED,
    PURPOSE_NOT_ALLOWED,
    ACTION_NOT_ALLOWED,
    GRANTEE_MISMATCH,
    DENIED_BY_SUBJECT,
    ACCESSOR_UNKNOWN,
    ACCESSOR_SUSPENDED,
    CREDENTIAL_EXPIRED,
    ORGANIZATION_SUSPENDED,
    SUBJECT_UNKNOWN,
    RECORD_UNKNOWN,
    RECORD_ERASED,
    BREAK_GLASS_OPTED_OUT,
    NOT_EMERGENCY_RESPONDER,
    INVALID_PURPOSE
}

/// @notice Outcome recorded by a privacy officer when closing a break-glass review.
enum ReviewOutcome {
    PENDING,
    JUSTIFIED,
    UNJUSTIFIED
}

/// @notice The terms of a consent, as granted (directly or by signature).
/// @dev `categories`, `purposes` and `actions` are bitmasks over the codes in {Codes}.
/// `validUntil` 0 means no expiry (Codes.NO_EXPIRATION_TIME). For a deny, `purposes` 0 means all.
struct ConsentTerms {
    Effect effect;
    GranteeKind granteeKind;
    address granteeAccount;
    uint32 granteeOrg;
    uint8 granteeRoles;
    uint32 categories;
    uint32 purposes;
    uint8 actions;
    uint64 validFrom;
    uint64 validUntil;
}

/// @notice The answer of a consent check.
/// @param allowed whether the action may happen now
/// @param reason why not (NONE when allowed)
/// @param basis on what grounds it is allowed (CONSENT or SUBJECT)
/// @param consentId the consent that allows it, or that explains the refusal (zero if none)
/// @param accessorOrg the accessor's organization (0 for the subject or a guardian)
struct Decision {
    bool allowed;
    DenyReason reason;
    AccessBasis basis;
    ConsentId consentId;
    uint32 accessorOrg;
}

/// @notice Codes shared by every MedLedger contract: practitioner roles, data categories,
/// HL7 v3 PurposeOfUse codes, actions and guardian powers. Each is a bit index; masks combine them.
library Codes {
    uint64 internal constant NO_EXPIRATION_TIME = 0;

    // Practitioner roles (bit masks, uint8).
    uint8 internal constant ROLE_CLINICIAN = 1 << 0;
    uint8 internal constant ROLE_EMERGENCY_RESPONDER = 1 << 1;
    uint8 internal constant ROLE_RESEARCHER = 1 << 2;
    uint8 internal constant ROLE_PAYER = 1 << 3;
    uint8 internal constant ROLE_AUDITOR = 1 << 4;
    uint8 internal constant ROLE_PRIVACY_OFFICER = 1 << 5;
    uint8 internal constant ALL_ROLES = (1 << 6) - 1;

    // Data categories (bit indexes 0..31; a record has one, a consent a mask).
    uint8 internal constant CAT_DEMOGRAPHICS = 0;
    uint8 internal constant CAT_ENCOUNTERS = 1;
    uint8 internal constant CAT_OBSERVATIONS = 2; // observations and lab results
    uint8 internal constant CAT_IMAGING = 3;
    uint8 internal constant CAT_MEDICATIONS = 4;
    uint8 internal constant CAT_IMMUNIZATIONS = 5;
    uint8 internal constant CAT_PROCEDURES = 6;
    uint8 internal constant CAT_CONDITIONS = 7;
    uint8 internal constant CAT_NOTES = 8;
    uint8 internal constant CAT_ALLERGIES = 9;
    uint8 internal constant CAT_CARE_PLANS = 10;
    uint8 internal constant CAT_FINANCIAL = 11; // claims, explanations of benefit, coverage
    uint8 internal constant CAT_DIAGNOSTIC_REPORTS = 12;
    uint8 internal constant CAT_OTHER = 15;
    uint8 internal constant CAT_MENTAL_HEALTH = 16; // sensitive
    uint8 internal constant CAT_SEXUAL_REPRODUCTIVE = 17; // sensitive
    uint8 internal constant CAT_SUBSTANCE_USE = 18; // sensitive
    uint8 internal constant CAT_GENETICS = 19; // sensitive
    uint8 internal constant MAX_CATEGORY = 31;

    // HL7 v3 PurposeOfUse (bit indexes).
    uint8 internal constant PURPOSE_TREAT = 0;
    uint8 internal constant PURPOSE_ETREAT = 1;
    uint8 internal constant PURPOSE_HPAYMT = 2;
    uint8 internal constant PURPOSE_HOPERAT = 3;
    uint8 internal constant PURPOSE_HRESCH = 4;
    uint8 internal constant PURPOSE_CLINTRCH = 5;
    uint8 internal constant PURPOSE_PUBHLTH = 6;
    uint8 internal constant PURPOSE_PATRQT = 7;
    uint8 internal constant PURPOSE_COC = 8;
    uint8 internal constant PURPOSE_BTG = 9;
    uint8 internal constant MAX_PURPOSE = 9;

    // Actions (bit masks, uint8).
    uint8 internal constant ACTION_READ = 1 << 0;
    uint8 internal constant ACTION_APPEND = 1 << 1;
    uint8 internal constant ALL_ACTIONS = ACTION_READ | ACTION_APPEND;

    // Guardian powers (bit masks, uint8).
    uint8 internal constant POWER_GRANT = 1 << 0; // grant consents and denies' removal, opt back in to break-glass
    uint8 internal constant POWER_REVOKE = 1 << 1; // revoke consents, record denies, opt out of break-glass
    uint8 internal constant POWER_ERASE = 1 << 2; // tombstone records
    uint8 internal constant POWER_RECOVER = 1 << 3; // approve a controller recovery
    uint8 internal constant POWER_ACCESS = 1 << 4; // read and append records as the subject's representative
    uint8 internal constant ALL_POWERS = (1 << 5) - 1;

    /// @dev The refusal reason for an accessor that is not ACTIVE.
    function reasonFor(AccessorStatus status) internal pure returns (DenyReason) {
        if (status == AccessorStatus.SUSPENDED) return DenyReason.ACCESSOR_SUSPENDED;
        if (status == AccessorStatus.CREDENTIAL_EXPIRED) return DenyReason.CREDENTIAL_EXPIRED;
        if (status == AccessorStatus.ORGANIZATION_SUSPENDED) return DenyReason.ORGANIZATION_SUSPENDED;
        return DenyReason.ACCESSOR_UNKNOWN;
    }

    /// @dev The single bit for `index` (callers check index ranges first).
    function bit(uint8 index) internal pure returns (uint32) {
        return uint32(1) << index;
    }
}
