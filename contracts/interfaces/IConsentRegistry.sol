// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ConsentId, ConsentTerms, Decision, SubjectId} from "../libraries/MedLedgerTypes.sol";

/// @title Consent registry
/// @notice A patient's consents: permits and denies for a grantee (a practitioner, or an
/// organization's active members with a role), over data categories, purposes of use (HL7 v3
/// PurposeOfUse), actions (read, append) and a validity window. A deny always overrides a permit.
/// Revocation records a timestamp; nothing is ever deleted.
/// @dev Loosening (granting a permit, lifting a deny, opting back in to break-glass) needs the
/// GRANT power; tightening (revoking a permit, recording a deny, opting out of break-glass) needs
/// the REVOKE power. The subject's controller holds every power; guardians hold what they were given.
/// Both can act directly or by an EIP-712 signature that anyone relays.
interface IConsentRegistry {
    // ───────────────────────────── errors ─────────────────────────────

    /// @notice `account` may not act for `subject` with `power`.
    error ConsentUnauthorized(SubjectId subject, address account, uint8 power);
    /// @notice The signed request expired at `deadline` (now: `nowTime`).
    error ConsentSignatureExpired(uint256 deadline, uint256 nowTime);
    /// @notice The signature does not come from `signer` for this request, chain and contract.
    error ConsentInvalidSignature(address signer);
    /// @notice The terms are malformed; `field` names what is wrong.
    error ConsentInvalidTerms(string field);
    /// @notice `consentId` is not a consent of `subject`.
    error ConsentUnknown(SubjectId subject, ConsentId consentId);
    /// @notice `consentId` was already revoked at `revokedAt`.
    error ConsentAlreadyRevoked(ConsentId consentId, uint64 revokedAt);
    /// @notice `subject` already has the maximum number of active denies.
    error ConsentTooManyDenies(SubjectId subject, uint256 max);
    /// @notice The subject's break-glass preference is already `optedOut`.
    error ConsentPreferenceUnchanged(SubjectId subject, bool optedOut);

    // ───────────────────────────── events ─────────────────────────────

    /// @notice A consent (permit or deny) was granted.
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
    /// @notice A consent was revoked at `revokedAt` (kept, never deleted).
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

    /// @notice Grants a consent for `subject`. Caller: the controller, or a guardian with GRANT
    /// (permit) or REVOKE (deny).
    function grant(SubjectId subject, ConsentTerms calldata terms) external returns (ConsentId consentId);

    /// @notice Grants a consent signed (EIP-712 `Grant`) by `signer`, who must be allowed to grant
    /// it directly. Anyone may relay. Uses the signer's next nonce.
    function grantBySig(
        SubjectId subject,
        ConsentTerms calldata terms,
        address signer,
        uint256 deadline,
        bytes calldata signature
    ) external returns (ConsentId consentId);

    /// @notice Revokes a consent. Caller: the controller, or a guardian with REVOKE (permit) or
    /// GRANT (deny).
    function revoke(SubjectId subject, ConsentId consentId) external;

    /// @notice Revokes a consent by an EIP-712 `Revoke` signature of `signer`. Anyone may relay.
    function revokeBySig(
        SubjectId subject,
        ConsentId consentId,
        address signer,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Opts the subject out of (or back in to) break-glass emergency access.
    function setBreakGlassOptOut(SubjectId subject, bool optedOut) external;

    // ─────────────────────────────── views ───────────────────────────────

    /// @notice May `accessor` do `action` (a Codes.ACTION_* bit) on `category` of `subject` for
    /// `purpose` now, and under which consent? Checks directory status, the subject's denies and
    /// then every permit. For APPEND the purpose is not evaluated.
    function check(
        address accessor,
        SubjectId subject,
        uint8 category,
        uint8 purpose,
        uint8 action
    ) external view returns (Decision memory);

    /// @notice As {check}, but evaluates only the permit `hint` (zero: all permits), so callers
    /// that know their consent pay for one lookup and get its exact reason on refusal.
    function checkWithHint(
        address accessor,
        SubjectId subject,
        uint8 category,
        uint8 purpose,
        uint8 action,
        ConsentId hint
    ) external view returns (Decision memory);

    /// @notice A consent's terms and revocation time (0: not revoked).
    function getConsent(
        SubjectId subject,
        ConsentId consentId
    ) external view returns (ConsentTerms memory terms, uint64 revokedAt);

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
