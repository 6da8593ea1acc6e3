// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessBasis, ConsentId, DenyReason, RecordId, ReviewOutcome, SubjectId} from "../libraries/MedLedgerTypes.sol";

/// @title Record registry and access log
/// @notice Record anchors (a fingerprint of every version of every encrypted record, chained by
/// previous version, single or by Merkle batch, with erasure tombstones) and the access log (every
/// read, by whom, why, under which consent or break-glass session). Access and anchors share one
/// contract so that an access reads its record without a cross-contract call.
/// @dev Holds no health data: record ids are random, digests are of ciphertext, and the storage
/// pointer is emitted, never stored.
interface IRecordRegistry {
    // ───────────────────────────── errors ─────────────────────────────

    /// @notice A record id, digest or root was zero.
    error RecordZeroValue(string field);
    /// @notice `category` is not a valid category index.
    error RecordInvalidCategory(uint8 category);
    /// @notice `recordId` is already anchored (ids are never reused).
    error RecordExists(RecordId recordId);
    /// @notice `recordId` is not anchored (or, for a batch member, not yet proven).
    error RecordUnknown(RecordId recordId);
    /// @notice `subject` is not registered.
    error RecordUnknownSubject(SubjectId subject);
    /// @notice `account` may not anchor `category` records for `subject`; `reason` says why.
    error RecordAnchorDenied(
        SubjectId subject,
        address account,
        uint8 category,
        DenyReason reason,
        ConsentId consentId
    );
    /// @notice The previous version belongs to another subject: `expected` is the subject being
    /// anchored, `actual` the previous version's.
    error RecordSubjectMismatch(RecordId previous, SubjectId expected, SubjectId actual);
    /// @notice `previous` already has a successor: version chains never fork.
    error RecordAlreadySuperseded(RecordId previous);
    /// @notice `recordId` was erased at `erasedAt`.
    error RecordIsErased(RecordId recordId, uint64 erasedAt);
    /// @notice `account` may not erase records of `subject`.
    error RecordEraseUnauthorized(SubjectId subject, address account);
    /// @notice A batch with this `root` exists already.
    error RecordBatchExists(bytes32 root);
    /// @notice No batch with this `root`.
    error RecordUnknownBatch(bytes32 root);
    /// @notice A batch's `count` or `categories` is invalid.
    error RecordInvalidBatch(string field);
    /// @notice The Merkle proof does not place `recordId` in batch `root`.
    error RecordInvalidProof(bytes32 root, RecordId recordId);
    /// @notice `category` is not among the categories the batch `root` was anchored for.
    error RecordCategoryOutsideBatch(bytes32 root, uint8 category);

    /// @notice `accessor` may not read `recordId`; `reason` says why; `consentId` is the consent
    /// (or deny) that explains it, zero if none.
    error AccessDenied(RecordId recordId, address accessor, DenyReason reason, ConsentId consentId);
    /// @notice An access batch must hold 1..`max` records; it held `length`.
    error AccessInvalidBatchSize(uint256 length, uint256 max);
    /// @notice Break-glass refused for `accessor` on `subject`; `reason` says why.
    error BreakGlassDenied(SubjectId subject, address accessor, DenyReason reason);
    /// @notice A break-glass batch mixed subjects: `recordId` belongs to `actual`, not `expected`.
    error BreakGlassMixedSubjects(RecordId recordId, SubjectId expected, SubjectId actual);
    /// @notice No break-glass session `sessionId`.
    error ReviewUnknownSession(uint256 sessionId);
    /// @notice The review of `sessionId` was already closed with `outcome`.
    error ReviewAlreadyClosed(uint256 sessionId, ReviewOutcome outcome);
    /// @notice `account` is not an active privacy officer of the responder's organization `orgId`.
    error ReviewNotPrivacyOfficer(uint256 sessionId, address account, uint32 orgId);
    /// @notice `account` broke the glass in session `sessionId` and cannot review it.
    error ReviewOwnSession(uint256 sessionId, address account);
    /// @notice A review can only close as JUSTIFIED or UNJUSTIFIED.
    error ReviewInvalidOutcome(ReviewOutcome outcome);

    // ───────────────────────────── events ─────────────────────────────

    /// @notice A record version was anchored.
    /// @param custodian the organization holding the ciphertext and key (0: the subject)
    /// @param digest sha256 of the sealed envelope (ciphertext, never plaintext)
    /// @param previous the version this one supersedes (zero for a first version)
    /// @param pointer where the envelope is stored (content address); emitted, not stored
    /// @param consentId the append consent used (zero when the subject anchored)
    event RecordAnchored(
        RecordId indexed recordId,
        SubjectId indexed subject,
        uint32 indexed custodian,
        uint8 category,
        bytes32 digest,
        RecordId previous,
        string pointer,
        address anchoredBy,
        ConsentId consentId
    );
    /// @notice A Merkle root for `count` first versions of `subject`'s records was anchored.
    /// Leaves follow the StandardMerkleTree of the npm package openzeppelin merkle-tree over
    /// (bytes32 recordId, uint8 category, bytes32 digest); `pointer` locates the batch manifest.
    event BatchAnchored(
        bytes32 indexed root,
        SubjectId indexed subject,
        uint32 indexed custodian,
        uint32 count,
        uint32 categories,
        string pointer,
        address anchoredBy
    );
    /// @notice A batch member was proven and now has its own anchor state.
    event RecordProven(
        RecordId indexed recordId,
        bytes32 indexed root,
        SubjectId indexed subject,
        uint8 category,
        bytes32 digest
    );
    /// @notice A record version was tombstoned; its digest stays as history.
    event RecordErased(RecordId indexed recordId, SubjectId indexed subject, address indexed by);
    /// @notice A record was read. `basisId` is the consent id (CONSENT), the break-glass session
    /// id (EMERGENCY), or zero (SUBJECT).
    event RecordAccessed(
        RecordId indexed recordId,
        SubjectId indexed subject,
        address indexed accessor,
        uint8 purpose,
        AccessBasis basis,
        bytes32 basisId
    );
    /// @notice An emergency responder broke the glass; a review is pending until a privacy officer closes it.
    event BreakGlassDeclared(
        uint256 indexed sessionId,
        SubjectId indexed subject,
        address indexed responder,
        uint32 orgId,
        uint8 purpose,
        uint16 reasonCode,
        uint64 expiresAt
    );
    /// @notice A privacy officer closed the review of a break-glass session.
    event BreakGlassReviewed(uint256 indexed sessionId, address indexed officer, ReviewOutcome outcome);

    // ───────────────────────────── anchors ─────────────────────────────

    /// @notice Anchors one record version. Caller: an active practitioner holding an APPEND
    /// consent for `subject` and `category` (the hint names it; zero searches), or the subject.
    function anchorRecord(
        RecordId recordId,
        SubjectId subject,
        uint8 category,
        bytes32 digest,
        RecordId previous,
        string calldata pointer,
        ConsentId consentHint
    ) external;

    /// @notice Anchors a Merkle root over `count` first versions of `subject`'s records, in the
    /// categories of the `categories` mask; the caller needs APPEND for each of them.
    function anchorBatch(
        SubjectId subject,
        bytes32 root,
        uint32 count,
        uint32 categories,
        string calldata pointer,
        ConsentId consentHint
    ) external;

    /// @notice Proves a batch member; it then has its own anchor state (accessible, erasable,
    /// can be superseded). Anyone may call; idempotent callers should check {getRecord} first.
    function proveRecord(
        bytes32 root,
        RecordId recordId,
        uint8 category,
        bytes32 digest,
        bytes32[] calldata proof
    ) external;

    /// @notice Tombstones a record version. Caller: the subject's controller or a guardian with ERASE.
    function eraseRecord(RecordId recordId) external;

    // ──────────────────────────── access log ────────────────────────────

    /// @notice Logs a read of one record for `purpose` after checking directory status and
    /// consent (deny wins); reverts with {AccessDenied} otherwise.
    function access(RecordId recordId, uint8 purpose, ConsentId consentHint) external;

    /// @notice As {access} for many records (e.g. a whole chart): one event per record; all or nothing.
    function accessBatch(RecordId[] calldata recordIds, uint8 purpose, ConsentId consentHint) external;

    /// @notice Emergency access without consent by an active emergency responder, for ETREAT or
    /// BTG, unless the subject opted out. Opens (or reuses) a time-limited session with a review
    /// pending for the responder's organization's privacy officer. All records: one subject. A
    /// session is reused while it is open and unreviewed; after expiry or review a new one opens.
    function breakGlassAccess(
        RecordId[] calldata recordIds,
        uint8 purpose,
        uint16 reasonCode
    ) external returns (uint256 sessionId);

    /// @notice A privacy officer of the responder's organization closes a break-glass review.
    function closeReview(uint256 sessionId, ReviewOutcome outcome) external;

    // ─────────────────────────────── views ───────────────────────────────

    /// @notice A record version's anchor state.
    function getRecord(
        RecordId recordId
    )
        external
        view
        returns (
            SubjectId subject,
            bytes32 digest,
            uint32 custodian,
            uint8 category,
            uint64 anchoredAt,
            uint64 erasedAt,
            bool superseded
        );

    /// @notice A batch's subject, custodian, size, category mask and time.
    function getBatch(
        bytes32 root
    ) external view returns (SubjectId subject, uint32 custodian, uint32 count, uint32 categories, uint64 anchoredAt);

    /// @notice Whether `recordId` with `category` and `digest` is a member of batch `root` (and its
    /// category is among the batch's). A batch's `count` is informational: every leaf of the tree
    /// whose proof verifies is a member.
    function verifyBatchMember(
        bytes32 root,
        RecordId recordId,
        uint8 category,
        bytes32 digest,
        bytes32[] calldata proof
    ) external view returns (bool);

    /// @notice A break-glass session.
    function getEmergencySession(
        uint256 sessionId
    )
        external
        view
        returns (
            SubjectId subject,
            address responder,
            uint32 orgId,
            uint8 purpose,
            uint16 reasonCode,
            uint64 expiresAt,
            ReviewOutcome outcome
        );

    /// @notice Break-glass reviews of organization `orgId` still pending.
    function pendingReviews(uint32 orgId) external view returns (uint32);

    /// @notice The participant directory and consent registry this registry consults.
    function directory() external view returns (address);

    /// @notice The consent registry this registry consults.
    function consentRegistry() external view returns (address);

    /// @notice The contract's semantic version.
    function version() external pure returns (string memory);
}
