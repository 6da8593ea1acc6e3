// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {
    ConsentId,
    ConsentState,
    ConsentTerms,
    Decision,
    Effect,
    GranteeKind,
    SubjectId
} from "../libraries/MedLedgerTypes.sol";
import {IMigratable} from "./IMigratable.sol";

/// @title Consent registry
/// @notice A patient's consents: permits and denies for a grantee (an enrolled practitioner, or an
/// organization's active members with a role), over public data categories, purposes of use (HL7 v3
/// PurposeOfUse), actions (read, append) and a validity window, each with a sealed-terms commitment
/// (emitted, never stored). A deny always overrides a permit; a deny never blocks the subject.
/// Revocation records a timestamp; nothing is ever deleted.
/// @dev Loosening (granting a permit, lifting a deny, opting back in to break-glass) needs the
/// GRANT power; tightening (revoking a permit, recording a deny, opting out of break-glass) needs
/// the REVOKE power. The subject's controller holds every power; guardians hold what they were given.
/// Both can act directly or by an EIP-712 signature (domain version "2") that anyone relays.
///
/// The index: every consent is listed, until it is revoked or has expired, in one bounded list per
/// (subject, effect, grantee) where the grantee is a practitioner, an organization, or "any
/// organization". A check for an accessor reads only the accessor's three lists (practitioner, its
/// organization, any organization) for denies, and the hinted permit or the same three lists for
/// permits. Its cost is therefore independent of the subject's history and of consents that name
/// others. Each list holds at most {BUCKET_CAPACITY} consents, of which at most
/// {GUARDIAN_PLACES} may come from guardians, so a guardian cannot crowd the controller out.
/// Expired entries give their places up when a new consent needs one; revoked entries at once.
interface IConsentRegistry is IMigratable {
    // ───────────────────────────── errors ─────────────────────────────

    /// @notice `account` may not act for `subject` with `power`.
    error ConsentUnauthorized(SubjectId subject, address account, uint8 power);
    /// @notice The signed request expired at `deadline` (now: `nowTime`).
    error ConsentSignatureExpired(uint256 deadline, uint256 nowTime);
    /// @notice The signature does not come from `signer` for this request, chain and contract.
    error ConsentInvalidSignature(address signer);
    /// @notice The terms are malformed; `field` names what is wrong.
    error ConsentInvalidTerms(string field);
    /// @notice The terms name organization `orgId`, which is not admitted.
    error ConsentUnknownOrganization(uint32 orgId);
    /// @notice The terms name `account`, which is not an enrolled practitioner.
    error ConsentUnknownPractitioner(address account);
    /// @notice `consentId` is not a consent of `subject`.
    error ConsentUnknown(SubjectId subject, ConsentId consentId);
    /// @notice `consentId` was already revoked at `revokedAt`.
    error ConsentAlreadyRevoked(ConsentId consentId, uint64 revokedAt);
    /// @notice The list of `subject`'s active `effect` consents for this grantee (kind, practitioner
    /// id or organization id, 0: any organization) already holds `capacity` consents.
    error ConsentIndexFull(SubjectId subject, Effect effect, GranteeKind granteeKind, uint32 grantee, uint256 capacity);
    /// @notice Guardian `guardian` already holds `quota` places of that list; the rest are the controller's.
    error ConsentGuardianQuotaExceeded(SubjectId subject, address guardian, uint256 quota);
    /// @notice The subject's break-glass preference is already `optedOut`.
    error ConsentPreferenceUnchanged(SubjectId subject, bool optedOut);
    /// @notice A constructor address (`which`) was zero or is not a contract.
    error ConsentInvalidAddress(string which);
    /// @notice An imported value (`field`) does not fit the state being rebuilt.
    error ConsentInvalidImport(string field);

    // ───────────────────────────── events ─────────────────────────────

    /// @notice A consent (permit or deny) was granted, or imported by the migrator. The terms are
    /// exactly what is stored (see {getConsent}) plus the sealed-terms commitment, which is not
    /// stored; the consent's sequence is the subject's count of ConsentGranted events so far.
    /// @param subject the subject
    /// @param consentId consentIdAt(subject, sequence)
    /// @param granteeAccount the practitioner grantee (zero for an organization grantee)
    /// @param terms the terms, including `sealedTerms`
    /// @param by the controller or guardian who decided it (the signer when relayed)
    /// @param bySignature whether it arrived as a relayed EIP-712 signature
    event ConsentGranted(
        SubjectId indexed subject,
        ConsentId indexed consentId,
        address indexed granteeAccount,
        ConsentTerms terms,
        address by,
        bool bySignature
    );
    /// @notice A consent was revoked at `revokedAt` (kept, never deleted; it leaves the index).
    event ConsentRevoked(
        SubjectId indexed subject,
        ConsentId indexed consentId,
        address indexed by,
        uint64 revokedAt,
        bool bySignature
    );
    /// @notice The subject opted out of (true) or back in to (false) break-glass access.
    event BreakGlassPreferenceSet(SubjectId indexed subject, bool optedOut, address indexed by);

    // ───────────────────────────── writes ─────────────────────────────

    /// @notice Grants a consent for `subject`.
    /// @param subject the subject
    /// @param terms the terms (see {ConsentTerms})
    /// @return consentId consentIdAt(subject, the subject's next sequence number)
    /// @dev Requirements:
    /// - the caller acts for `subject` with GRANT (a permit) or REVOKE (a deny);
    /// - the terms are well formed: a practitioner grantee is an enrolled practitioner, an
    ///   organization grantee an admitted organization (or 0: any), a STUDY grantee a research
    ///   institute (or 0: any) with research purposes only (HRESCH, CLINTRCH) and READ only; a permit covers at least one
    ///   public category; purposes and actions are non-empty; the window ends in the future;
    ///   `sealedTerms` is not zero;
    /// - the grantee's list has a free place (and, for a guardian, a free guardian place).
    ///
    /// Emits a {ConsentGranted} event.
    function grant(SubjectId subject, ConsentTerms calldata terms) external returns (ConsentId consentId);

    /// @notice Grants a consent signed by `signer` (EIP-712 `Grant(address signer,bytes32 subject,
    /// ConsentTerms terms,uint256 nonce,uint256 deadline)`). Anyone may relay. Uses the signer's
    /// next nonce.
    /// @param subject the subject
    /// @param terms the terms
    /// @param signer who signed: must be allowed to grant the consent directly, now
    /// @param deadline the last second the signature is valid
    /// @param signature an ECDSA signature, or anything `signer`'s ERC-1271 wallet accepts
    /// @return consentId the new consent
    /// @dev Requirements: as {grant} for `signer`; a valid, unexpired signature over the signer's
    /// next nonce.
    ///
    /// Emits a {ConsentGranted} event.
    function grantBySig(
        SubjectId subject,
        ConsentTerms calldata terms,
        address signer,
        uint256 deadline,
        bytes calldata signature
    ) external returns (ConsentId consentId);

    /// @notice Revokes a consent; it leaves the index at once.
    /// @param subject the subject
    /// @param consentId the consent
    /// @dev Requirements:
    /// - the consent exists and is not revoked;
    /// - the caller acts for `subject` with REVOKE (a permit) or GRANT (lifting a deny).
    ///
    /// Emits a {ConsentRevoked} event.
    function revoke(SubjectId subject, ConsentId consentId) external;

    /// @notice Revokes a consent signed by `signer` (EIP-712 `Revoke(address signer,bytes32 subject,
    /// bytes32 consentId,uint256 nonce,uint256 deadline)`). Anyone may relay.
    /// @param subject the subject
    /// @param consentId the consent
    /// @param signer who signed: must be allowed to revoke directly, now
    /// @param deadline the last second the signature is valid
    /// @param signature an ECDSA signature, or anything `signer`'s ERC-1271 wallet accepts
    /// @dev Requirements: as {revoke} for `signer`; a valid, unexpired signature over the signer's
    /// next nonce.
    ///
    /// Emits a {ConsentRevoked} event.
    function revokeBySig(
        SubjectId subject,
        ConsentId consentId,
        address signer,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Opts the subject out of (or back in to) break-glass emergency access.
    /// @param subject the subject
    /// @param optedOut true to opt out
    /// @dev Requirements:
    /// - the caller acts for `subject` with REVOKE (opting out) or GRANT (opting back in);
    /// - the preference changes.
    ///
    /// Emits a {BreakGlassPreferenceSet} event.
    function setBreakGlassOptOut(SubjectId subject, bool optedOut) external;

    // ──────────────────────────── migration ────────────────────────────

    /// @notice Imports a consent of an earlier deployment, keeping its sequence (so its id).
    /// @param subject the subject (already imported into the directory)
    /// @param sequence its sequence in the earlier deployment: must be the subject's next one
    /// @param terms its terms, mapped to 1.1 by the tool (sensitive categories moved to
    /// `sealedTerms`; a permit's public mask may then be 0: it binds nothing on chain)
    /// @param revokedAt when it was revoked (0: not revoked)
    /// @param grantedBy who granted it (decides whether it takes a guardian place)
    /// @dev Requirements: the caller is the migrator and the migration is not sealed; the terms are
    /// well formed except that the window may lie in the past; a practitioner grantee that is not
    /// enrolled is kept for the record but never matches; an active consent needs a place in its list.
    ///
    /// Emits a {ConsentGranted} event (by: `grantedBy`), and a {ConsentRevoked} event if revoked.
    function importConsent(
        SubjectId subject,
        uint32 sequence,
        ConsentTerms calldata terms,
        uint64 revokedAt,
        address grantedBy
    ) external;

    /// @notice Imports a break-glass opt-out of an earlier deployment.
    /// @param subject the subject that opted out
    /// @dev Requirements: the caller is the migrator and the migration is not sealed.
    ///
    /// Emits a {BreakGlassPreferenceSet} event.
    function importBreakGlassOptOut(SubjectId subject) external;

    // ─────────────────────────────── views ───────────────────────────────

    /// @notice May `accessor` do `action` (a Codes.ACTION_* bit) on `category` of `subject` for
    /// `purpose` now, and under which consent? Checks directory status, the accessor's denies and
    /// then the accessor's permits. The subject's controller, and a guardian with ACCESS, needs no
    /// consent and is not bound by the subject's denies (basis SUBJECT). For APPEND the purpose is
    /// not evaluated.
    function check(
        address accessor,
        SubjectId subject,
        uint8 category,
        uint8 purpose,
        uint8 action
    ) external view returns (Decision memory);

    /// @notice As {check}, but evaluates only the permit `hint` (zero: the accessor's lists), so
    /// callers that know their consent get its exact reason on refusal.
    function checkWithHint(
        address accessor,
        SubjectId subject,
        uint8 category,
        uint8 purpose,
        uint8 action,
        ConsentId hint
    ) external view returns (Decision memory);

    /// @notice May the approved study of research organization `researchOrg` use `subject`'s
    /// records of every category in `categories` for `purpose` now, and under which consent? Reads
    /// only the subject's STUDY lists (grantee `researchOrg`, and 0: any research organization):
    /// a deny there covering the purpose and any of the categories refuses (DENIED_BY_SUBJECT);
    /// otherwise the permits in force for the purpose must together cover every category. The
    /// study's approval, window and reader are {IStudyRegistry-studyAccessTerms}' to check.
    /// @return decision allowed with basis CONSENT and the first permit used, or why not
    function checkStudy(
        SubjectId subject,
        uint32 researchOrg,
        uint16 categories,
        uint8 purpose
    ) external view returns (Decision memory decision);

    /// @notice The first active deny of `subject` that names `accessor` (as a practitioner, through
    /// its organization, or through one of its roles at any organization) and covers `action` for
    /// `purpose` on any category of `categories` (zero: none). Directory status is not consulted:
    /// this is what break-glass honours.
    function findDeny(
        address accessor,
        SubjectId subject,
        uint16 categories,
        uint8 purpose,
        uint8 action
    ) external view returns (ConsentId denyId);

    /// @notice A consent as stored (reverts with {ConsentUnknown} if it does not exist).
    function getConsent(SubjectId subject, ConsentId consentId) external view returns (ConsentState memory);

    /// @notice The consents listed in the index for one grantee: `granteeKind` PRACTITIONER with a
    /// practitioner id, or ORG_ROLE with an organization id (0: any organization). Includes
    /// expired consents that have not given their place up yet.
    function listedConsents(
        SubjectId subject,
        Effect effect,
        GranteeKind granteeKind,
        uint32 grantee
    ) external view returns (ConsentId[] memory consentIds);

    /// @notice How many consents `subject` has ever been granted; ids are consentIdAt(subject, 1..n).
    function consentCount(SubjectId subject) external view returns (uint32);

    /// @notice The id of the `sequence`-th consent of `subject`.
    function consentIdAt(SubjectId subject, uint32 sequence) external pure returns (ConsentId);

    /// @notice Whether `subject` opted out of break-glass access.
    function breakGlassOptedOut(SubjectId subject) external view returns (bool);

    /// @notice The next unused EIP-712 nonce of `signer`.
    function nonces(address signer) external view returns (uint256);

    /// @notice The participant directory this registry consults.
    function directory() external view returns (address);

    /// @notice The contract's semantic version.
    function version() external pure returns (string memory);
}
