// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @dev A patient's pseudonymous identifier. Since 1.1: keccak256(abi.encode(registrant, salt)), so
/// only the account that registers it can claim it (see {IParticipantDirectory-registerPatient}).
/// Never derived from personal data.
type SubjectId is bytes32;
/// @dev One version of one encrypted record: 32 random bytes chosen by the writer, unique within its
/// subject (records are keyed by (subject, recordId)). A Merkle batch member's id starts with the
/// batch's 16-byte tag.
type RecordId is bytes32;
/// @dev A consent (permit or deny): keccak256(abi.encode(subject, sequence number within the subject)).
type ConsentId is bytes32;
/// @dev A research study: keccak256(abi.encode(researcher, salt)) (see {IStudyRegistry-registerStudy}),
/// so only the researcher who registers it can claim it, and it is known before registration.
type StudyId is bytes32;

/// @notice The one version string every MedLedger contract reports from `version()`.
library MedLedgerVersion {
    string internal constant VERSION = "1.1.0";
}

/// @notice Kinds of organization admitted by consortium governance.
enum OrgKind {
    NONE,
    HOSPITAL,
    LAB,
    PAYER,
    RESEARCH_INSTITUTE,
    REGULATOR,
    /// @dev An independent research ethics committee / institutional review board: its active
    /// members approve studies (see {IStudyRegistry-approveStudy}). Appended in 1.1 for research.
    ETHICS_BOARD
}

/// @notice Whether a consent grants (permit) or forbids (deny) access. A deny always wins.
enum Effect {
    PERMIT,
    DENY
}

/// @notice Who a consent is for: one enrolled practitioner, or the active members of an organization
/// (granteeOrg 0 = any organization) holding any of `granteeRoles`, or (STUDY) any ethics-approved
/// study run by the research organization `granteeOrg` (0: by any research organization). A STUDY
/// consent never lets anyone read directly: it is evaluated only by
/// {IConsentRegistry-checkStudy}, for a custodian's read on behalf of an approved study. New kinds
/// may be appended; existing values never change.
enum GranteeKind {
    PRACTITIONER,
    ORG_ROLE,
    STUDY
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
    SUBJECT,
    /// @dev A custodian's read for an approved study; the access event's basisId is the study id.
    STUDY
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

/// @notice Outcome recorded by an independent reviewer when closing a break-glass review.
enum ReviewOutcome {
    PENDING,
    JUSTIFIED,
    UNJUSTIFIED
}

/// @notice The terms of a consent, as granted (directly or by signature).
/// @dev `categories` is a mask over the public clinical categories 0..15, `purposes` over the
/// PurposeOfUse codes, `actions` over READ/APPEND (see {Codes}). A permit needs a non-zero
/// `categories`; a deny may have 0 (a sealed-only deny: it binds nothing on chain, the keyholders
/// enforce its sealed part). `purposes` is never 0: "every purpose" is the full mask, stored and
/// emitted as given. `validUntil` 0 means no expiry (Codes.NO_EXPIRATION_TIME).
/// `sealedTerms` is a salted commitment to the consent's sealed terms (the sensitive labels it
/// allows or denies, and any refinement). It must be non-zero; it is covered by the EIP-712
/// signature and emitted in {IConsentRegistry-ConsentGranted}, but never stored, and no contract
/// branches on its value.
struct ConsentTerms {
    Effect effect;
    GranteeKind granteeKind;
    address granteeAccount;
    uint32 granteeOrg;
    uint8 granteeRoles;
    uint16 categories;
    uint16 purposes;
    uint8 actions;
    uint64 validFrom;
    uint64 validUntil;
    bytes32 sealedTerms;
}

/// @notice A consent as stored (what {IConsentRegistry-getConsent} returns): the terms without the
/// sealed commitment (emitted, never stored), plus its revocation time, its sequence number within
/// the subject and whether a guardian (rather than the controller) created it.
struct ConsentState {
    Effect effect;
    GranteeKind granteeKind;
    address granteeAccount;
    uint32 granteeOrg;
    uint8 granteeRoles;
    uint16 categories;
    uint16 purposes;
    uint8 actions;
    uint64 validFrom;
    uint64 validUntil;
    uint64 revokedAt;
    uint32 sequence;
    bool byGuardian;
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

/// @notice Codes shared by every MedLedger contract: practitioner roles, public data categories,
/// HL7 v3 PurposeOfUse codes, actions and guardian powers. Each is a bit index; masks combine them.
/// @dev The sensitive classes (mental health, sexual and reproductive health, substance use,
/// genetics) are not categories: they are sealed labels that never appear on chain in clear.
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

    // Public clinical categories (bit indexes 0..15; a record has one, a consent a mask).
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
    uint8 internal constant CAT_DOCUMENTS = 13; // DocumentReference, Binary, Media, Composition
    uint8 internal constant CAT_REQUESTS = 14; // ServiceRequest, DeviceRequest, NutritionOrder, referrals, Task
    uint8 internal constant CAT_OTHER = 15; // clinical, unclassified
    uint8 internal constant MAX_CATEGORY = 15;
    uint16 internal constant ALL_CATEGORIES = type(uint16).max;

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
    uint16 internal constant ALL_PURPOSES = uint16((1 << (uint256(MAX_PURPOSE) + 1)) - 1);

    // Actions (bit masks, uint8).
    uint8 internal constant ACTION_READ = 1 << 0;
    uint8 internal constant ACTION_APPEND = 1 << 1;
    uint8 internal constant ALL_ACTIONS = ACTION_READ | ACTION_APPEND;

    // Guardian powers (bit masks, uint8).
    uint8 internal constant POWER_GRANT = 1 << 0; // grant permits, lift denies, opt back in to break-glass
    uint8 internal constant POWER_REVOKE = 1 << 1; // revoke permits, record denies, opt out of break-glass
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
    function bit(uint8 index) internal pure returns (uint16) {
        return uint16(1) << index;
    }
}
