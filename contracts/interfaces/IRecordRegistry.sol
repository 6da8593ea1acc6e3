// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {
    AccessBasis,
    ConsentId,
    DenyReason,
    RecordId,
    ReviewOutcome,
    StudyId,
    SubjectId
} from "../libraries/MedLedgerTypes.sol";
import {IMigratable} from "./IMigratable.sol";
import {IStudyRegistry} from "./IStudyRegistry.sol";

/// @notice One subject's records read for a study (see {IRecordRegistry-accessForStudy}).
struct StudyRead {
    SubjectId subject;
    RecordId[] recordIds;
}

/// @title Record registry and access log
/// @notice Record anchors (a commitment to every version of every encrypted record, chained by
/// previous version, single or by Merkle batch, with erasure tombstones) and the access log (every
/// read, by whom, why, under which consent or break-glass session). Access and anchors share one
/// contract so that an access reads its record without a cross-contract call.
/// @dev Records are keyed by (subject, recordId) and batches by (subject, root): another subject's
/// anchor can never take a record id or a batch root. A record stores two slots: the commitment
/// keccak256(abi.encode(digest, labelCommitment)) and its metadata. The digest (of ciphertext) and
/// the salted label commitment are emitted, and so is the storage pointer; none of them is branched
/// on. Holds no health data: ids are random, the clinical category is a public type, and the
/// sensitive labels are sealed.
///
/// Version chains: a new version names its `previous`, a record of the same subject that is neither
/// erased nor superseded (chains never fork), and keeps its category; unless the subject (its
/// controller or an ACCESS guardian) anchors it, it also keeps its custodian, so one organization
/// cannot supersede another's record.
interface IRecordRegistry is IMigratable {
    // ───────────────────────────── errors ─────────────────────────────

    /// @notice A record id, digest, label commitment, root or tag (`field`) was zero.
    error RecordZeroValue(string field);
    /// @notice `category` is not a public category index (0..15).
    error RecordInvalidCategory(uint8 category);
    /// @notice `recordId` is already anchored for `subject` (ids are never reused).
    error RecordExists(SubjectId subject, RecordId recordId);
    /// @notice `recordId` is not anchored for `subject` (or, for a batch member, not yet proven).
    error RecordUnknown(SubjectId subject, RecordId recordId);
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
    /// @notice A new version must keep the category of `previous` (`expected`), not `actual`.
    error RecordCategoryMismatch(SubjectId subject, RecordId previous, uint8 expected, uint8 actual);
    /// @notice Only the subject may move a record to another custodian: `previous` is held by
    /// `expected`, the anchoring practitioner's organization is `actual`.
    error RecordCustodianMismatch(SubjectId subject, RecordId previous, uint32 expected, uint32 actual);
    /// @notice `previous` already has a successor: version chains never fork.
    error RecordAlreadySuperseded(SubjectId subject, RecordId previous);
    /// @notice `recordId` was erased at `erasedAt`.
    error RecordIsErased(SubjectId subject, RecordId recordId, uint64 erasedAt);
    /// @notice `account` may not erase records of `subject`.
    error RecordEraseUnauthorized(SubjectId subject, address account);
    /// @notice `subject` already has a batch with this `root`.
    error RecordBatchExists(SubjectId subject, bytes32 root);
    /// @notice `subject` has no batch with this `root`.
    error RecordUnknownBatch(SubjectId subject, bytes32 root);
    /// @notice A batch's `field` (count or categories) is invalid.
    error RecordInvalidBatch(string field);
    /// @notice The Merkle proof does not place `recordId` in `subject`'s batch `root`.
    error RecordInvalidProof(SubjectId subject, bytes32 root, RecordId recordId);
    /// @notice `category` is not among the categories `subject`'s batch `root` was anchored for.
    error RecordCategoryOutsideBatch(SubjectId subject, bytes32 root, uint8 category);
    /// @notice A member of batch `root` must have an id starting with the batch's `tag`.
    error RecordTagMismatch(SubjectId subject, bytes32 root, RecordId recordId, bytes16 tag);
    /// @notice A constructor address (`which`) was zero or is not a contract.
    error RecordInvalidAddress(string which);
    /// @notice No study registry was set before the migration was sealed: study `studyId` cannot be read for.
    error RecordStudyRegistryNotSet(StudyId studyId);
    /// @notice The study registry is already set to `studyRegistry` (it is set once).
    error RecordStudyRegistryAlreadySet(address studyRegistry);
    /// @notice A study read covers only the reader's own records: `recordId` of `subject` is held
    /// by `custodian`, the reader is of `readerOrg`.
    error RecordNotCustodian(SubjectId subject, RecordId recordId, uint32 custodian, uint32 readerOrg);
    /// @notice `recordId` of `subject` is of `category`, outside the categories of study `studyId`.
    error RecordCategoryOutsideStudy(StudyId studyId, SubjectId subject, RecordId recordId, uint8 category);
    /// @notice The consent registry consults `consentsDirectory`, not the directory `directory` given.
    error RecordWiringMismatch(address directory, address consentsDirectory);
    /// @notice An imported value (`field`) does not fit the state being rebuilt.
    error RecordInvalidImport(string field);

    /// @notice `accessor` may not read `subject`'s `recordId`; `reason` says why; `consentId` is the
    /// consent (or deny) that explains it, zero if none.
    error AccessDenied(SubjectId subject, RecordId recordId, address accessor, DenyReason reason, ConsentId consentId);
    /// @notice An access batch must hold 1..`max` records; it held `length`.
    error AccessInvalidBatchSize(uint256 length, uint256 max);
    /// @notice Break-glass refused for `accessor` on `subject`; `reason` says why; `consentId` is the
    /// subject's deny that binds the responder (DENIED_BY_SUBJECT), zero otherwise.
    error BreakGlassDenied(SubjectId subject, address accessor, DenyReason reason, ConsentId consentId);
    /// @notice No break-glass session `sessionId`.
    error ReviewUnknownSession(uint256 sessionId);
    /// @notice The review of `sessionId` was already closed with `outcome`.
    error ReviewAlreadyClosed(uint256 sessionId, ReviewOutcome outcome);
    /// @notice `account` is not an active privacy officer, nor an active auditor of a regulator.
    error ReviewNotReviewer(uint256 sessionId, address account);
    /// @notice `account` belongs to the responder's own organization `orgId`: a review must be
    /// independent of it.
    error ReviewNotIndependent(uint256 sessionId, address account, uint32 orgId);
    /// @notice A review can only close as JUSTIFIED or UNJUSTIFIED.
    error ReviewInvalidOutcome(ReviewOutcome outcome);

    // ───────────────────────────── events ─────────────────────────────

    /// @notice A record version was anchored.
    /// @param subject the subject
    /// @param recordId the version's id (unique within the subject)
    /// @param custodian the organization holding the ciphertext and key (0: the subject)
    /// @param category the public clinical category
    /// @param digest sha256 of the sealed envelope (ciphertext, never plaintext)
    /// @param labelCommitment the salted commitment to the record's sensitive-label mask
    /// @param previous the version this one supersedes (zero for a first version)
    /// @param pointer where the envelope is stored (content address); emitted, not stored
    /// @param anchoredBy the caller
    /// @param consentId the APPEND consent used (zero when the subject anchored)
    event RecordAnchored(
        SubjectId indexed subject,
        RecordId indexed recordId,
        uint32 indexed custodian,
        uint8 category,
        bytes32 digest,
        bytes32 labelCommitment,
        RecordId previous,
        string pointer,
        address anchoredBy,
        ConsentId consentId
    );
    /// @notice A Merkle root over `count` first versions of `subject`'s records was anchored.
    /// Leaves follow the StandardMerkleTree of the npm package openzeppelin merkle-tree over
    /// (bytes32 subject, bytes32 recordId, uint8 category, bytes32 digest, bytes32 labelCommitment);
    /// every member's record id starts with `tag`, so a reader finds a member's batch with one
    /// log query on `tag`. `pointer` locates the batch manifest.
    event BatchAnchored(
        SubjectId indexed subject,
        bytes32 indexed root,
        bytes16 indexed tag,
        uint32 custodian,
        uint32 count,
        uint16 categories,
        string pointer,
        address anchoredBy
    );
    /// @notice A batch member was proven and now has its own anchor state.
    event RecordProven(
        SubjectId indexed subject,
        RecordId indexed recordId,
        bytes32 indexed root,
        uint8 category,
        bytes32 digest,
        bytes32 labelCommitment
    );
    /// @notice The migrator imported a record version of an earlier deployment.
    event RecordImported(
        SubjectId indexed subject,
        RecordId indexed recordId,
        uint32 indexed custodian,
        uint8 category,
        bytes32 digest,
        bytes32 labelCommitment,
        RecordId previous,
        uint64 anchoredAt,
        uint64 erasedAt
    );
    /// @notice A record version was tombstoned; its commitment stays as history.
    event RecordErased(SubjectId indexed subject, RecordId indexed recordId, address indexed by);
    /// @notice A record was read. `basisId` is the consent id (CONSENT), the break-glass session
    /// id (EMERGENCY), zero (SUBJECT), or the study id (STUDY: a custodian's read for a study).
    event RecordAccessed(
        SubjectId indexed subject,
        RecordId indexed recordId,
        address indexed accessor,
        uint8 purpose,
        AccessBasis basis,
        bytes32 basisId
    );
    /// @notice An emergency responder broke the glass; a review is pending until an independent
    /// reviewer closes it.
    event BreakGlassDeclared(
        uint256 indexed sessionId,
        SubjectId indexed subject,
        address indexed responder,
        uint32 orgId,
        uint8 purpose,
        uint16 reasonCode,
        uint64 expiresAt
    );
    /// @notice The migrator connected the study registry that study reads consult.
    event StudyRegistrySet(address indexed studyRegistry);
    /// @notice An independent reviewer (of organization `reviewerOrg`) closed a break-glass review.
    event BreakGlassReviewed(
        uint256 indexed sessionId,
        address indexed reviewer,
        ReviewOutcome outcome,
        uint32 reviewerOrg
    );

    // ───────────────────────────── anchors ─────────────────────────────

    /// @notice Anchors one record version.
    /// @param subject the subject
    /// @param recordId 32 random bytes, unused within the subject
    /// @param category the public clinical category (0..15); a new version keeps its previous one's
    /// @param digest sha256 of the sealed envelope
    /// @param labelCommitment the salted commitment to the record's label mask (never zero)
    /// @param previous the version it supersedes (zero: a first version)
    /// @param pointer where the envelope is stored; emitted, not stored
    /// @param consentHint the APPEND consent to use (zero: search the caller's consents)
    /// @dev Requirements:
    /// - `recordId`, `digest` and `labelCommitment` are not zero, `category` ≤ 15, and `recordId`
    ///   is not anchored for `subject`;
    /// - the caller is an active practitioner with an APPEND consent for `subject` and `category`
    ///   (custodian: its organization), or acts for the subject with ACCESS (custodian 0);
    /// - a non-zero `previous` is a record of `subject`, neither erased nor superseded, of the same
    ///   category and, unless the subject anchors, of the same custodian.
    ///
    /// Emits a {RecordAnchored} event.
    function anchorRecord(
        SubjectId subject,
        RecordId recordId,
        uint8 category,
        bytes32 digest,
        bytes32 labelCommitment,
        RecordId previous,
        string calldata pointer,
        ConsentId consentHint
    ) external;

    /// @notice Anchors a Merkle root over `count` first versions of `subject`'s records in the
    /// categories of the `categories` mask.
    /// @param subject the subject
    /// @param root the StandardMerkleTree root (see {BatchAnchored})
    /// @param tag 16 random bytes that start every member's record id
    /// @param count how many leaves (informational)
    /// @param categories the mask of the members' categories
    /// @param pointer where the batch manifest is stored
    /// @param consentHint the APPEND consent to use (zero: search)
    /// @dev Requirements:
    /// - `root` and `tag` are not zero, `count` and `categories` are not zero, and `subject` has no
    ///   batch with `root`;
    /// - the caller may anchor (as {anchorRecord}) every category of the mask.
    ///
    /// Emits a {BatchAnchored} event.
    function anchorBatch(
        SubjectId subject,
        bytes32 root,
        bytes16 tag,
        uint32 count,
        uint16 categories,
        string calldata pointer,
        ConsentId consentHint
    ) external;

    /// @notice Proves a batch member; it then has its own anchor state (accessible, erasable, can be
    /// superseded). Anyone may call; idempotent callers should check {getRecord} first.
    /// @param subject the subject of the batch
    /// @param root the batch root
    /// @param recordId the member's id (starting with the batch's tag)
    /// @param category its category (in the batch's mask)
    /// @param digest its envelope digest
    /// @param labelCommitment its label commitment
    /// @param proof the StandardMerkleTree proof
    /// @dev Requirements:
    /// - the batch exists; the member's values are non-zero, its id starts with the tag, its
    ///   category is in the mask, the proof verifies and the id is not anchored for `subject`.
    ///
    /// Emits a {RecordProven} event.
    function proveRecord(
        SubjectId subject,
        bytes32 root,
        RecordId recordId,
        uint8 category,
        bytes32 digest,
        bytes32 labelCommitment,
        bytes32[] calldata proof
    ) external;

    /// @notice Tombstones a record version.
    /// @param subject the subject
    /// @param recordId the version
    /// @dev Requirements:
    /// - the record exists and is not erased;
    /// - the caller acts for `subject` with ERASE (the controller, or a guardian with ERASE).
    ///
    /// Emits a {RecordErased} event.
    function eraseRecord(SubjectId subject, RecordId recordId) external;

    // ──────────────────────────── access log ────────────────────────────

    /// @notice Logs a read of one record for `purpose` after checking directory status and
    /// consent (deny wins). A hint that does not cover the read falls back to the caller's lists.
    /// @param subject the subject
    /// @param recordId the record
    /// @param purpose a PurposeOfUse code
    /// @param consentHint the READ consent to use (zero: search the caller's consents)
    /// @dev Requirements:
    /// - the record exists and is not erased;
    /// - the caller passes the consent check (or acts for the subject with ACCESS).
    ///
    /// Emits a {RecordAccessed} event.
    function access(SubjectId subject, RecordId recordId, uint8 purpose, ConsentId consentHint) external;

    /// @notice As {access} for several records of one subject (a chart): one event per record; all
    /// or nothing. The decision is reused while the category repeats.
    /// @param subject the subject
    /// @param recordIds 1..MAX_ACCESS_BATCH records of the subject
    /// @param purpose a PurposeOfUse code
    /// @param consentHint the READ consent to use (zero: search the caller's consents)
    /// @dev Requirements: each record readable as by {access}.
    ///
    /// Emits one {RecordAccessed} event per record.
    function accessBatch(
        SubjectId subject,
        RecordId[] calldata recordIds,
        uint8 purpose,
        ConsentId consentHint
    ) external;

    /// @notice Emergency access without consent by an active emergency responder. Opens (or reuses,
    /// while open and unreviewed) a time-limited session with a review pending for an independent
    /// reviewer.
    /// @param subject the subject
    /// @param recordIds 1..MAX_ACCESS_BATCH records of the subject
    /// @param purpose ETREAT or BTG
    /// @param reasonCode the responder's reason code (free, for the review)
    /// @return sessionId the session the reads are logged under
    /// @dev Requirements:
    /// - every record exists and is not erased; `purpose` is ETREAT or BTG;
    /// - the caller is an ACTIVE practitioner with the EMERGENCY_RESPONDER role;
    /// - the subject has not opted out of break-glass;
    /// - no active deny of the subject names the caller (as a practitioner, through its
    ///   organization, or through one of its roles) for READ with `purpose` on a category of one
    ///   of the records: break-glass overrides the absence of consent, never a refusal.
    ///
    /// Emits a {BreakGlassDeclared} event when a session opens, and one {RecordAccessed} per record.
    function breakGlassAccess(
        SubjectId subject,
        RecordId[] calldata recordIds,
        uint8 purpose,
        uint16 reasonCode
    ) external returns (uint256 sessionId);

    /// @notice A custodian reads its own patients' records for a run of an approved study. Each
    /// subject's reads are logged only if the subject's research consents in force now allow the
    /// study (a STUDY permit covering the study's purpose and every category read, and no STUDY
    /// deny covering any of them: see {IConsentRegistry-checkStudy}); a subject who does not allow
    /// it is skipped silently, so the logged reads are exactly the run's contributing patients.
    /// @param studyId the study
    /// @param runId the run (its contribution deadline must not have passed)
    /// @param reads per subject, the records read (1..MAX_ACCESS_BATCH records in all)
    /// @return allowedSubjects how many subjects' reads were logged
    /// @dev Requirements:
    /// - a study registry is set; {IStudyRegistry-studyAccessTerms} accepts the caller for the run
    ///   (approved, active study; ACTIVE researcher of a custodian of the study);
    /// - every record exists, is not erased, is held by the caller's organization and is of one of
    ///   the study's categories; every subject lists at least one record.
    ///
    /// Emits one {RecordAccessed} event (purpose: the study's; basis STUDY; basisId: the study id)
    /// per record of each subject that allows the study.
    function accessForStudy(
        StudyId studyId,
        uint32 runId,
        StudyRead[] calldata reads
    ) external returns (uint256 allowedSubjects);

    /// @notice Connects the study registry (once, during the migration window).
    /// @param studies the study registry (a contract consulting the same directory)
    /// @dev Requirements:
    /// - the caller is the migrator and the migration is not sealed; no study registry is set yet;
    /// - `studies` is a contract whose directory is this registry's.
    ///
    /// Emits a {StudyRegistrySet} event.
    function setStudyRegistry(IStudyRegistry studies) external;

    /// @notice An independent reviewer closes a break-glass review.
    /// @param sessionId the session
    /// @param outcome JUSTIFIED or UNJUSTIFIED
    /// @dev Requirements:
    /// - the session exists and its review is pending; `outcome` is not PENDING;
    /// - the caller is an ACTIVE practitioner of an organization other than the responder's, holding
    ///   the PRIVACY_OFFICER role, or the AUDITOR role at a REGULATOR organization.
    ///
    /// Emits a {BreakGlassReviewed} event.
    function closeReview(uint256 sessionId, ReviewOutcome outcome) external;

    // ──────────────────────────── migration ────────────────────────────

    /// @notice Imports a record version of an earlier deployment (a single anchor, or a batch member
    /// the tool verified against its earlier root).
    /// @param subject the subject (already imported into the directory)
    /// @param recordId its id
    /// @param category its public category (the tool maps earlier sensitive categories to labels)
    /// @param digest its envelope digest
    /// @param labelCommitment its label commitment, supplied by the tool
    /// @param custodian its custodian (0: the subject)
    /// @param anchoredAt when it was anchored (not zero)
    /// @param erasedAt when it was erased (0: not erased)
    /// @param previous the version it superseded (imported earlier; zero for a first version)
    /// @dev Requirements: the caller is the migrator and the migration is not sealed; the values
    /// are non-zero where {anchorRecord} requires it; `previous` is an unsuperseded record of the
    /// subject with the same category.
    ///
    /// Emits a {RecordImported} event.
    function importRecord(
        SubjectId subject,
        RecordId recordId,
        uint8 category,
        bytes32 digest,
        bytes32 labelCommitment,
        uint32 custodian,
        uint64 anchoredAt,
        uint64 erasedAt,
        RecordId previous
    ) external;

    // ─────────────────────────────── views ───────────────────────────────

    /// @notice A record version's anchor state (reverts with {RecordUnknown} if not anchored).
    /// @return commitment keccak256(abi.encode(digest, labelCommitment)), see {recordCommitment}
    function getRecord(
        SubjectId subject,
        RecordId recordId
    )
        external
        view
        returns (
            bytes32 commitment,
            uint32 custodian,
            uint8 category,
            uint64 anchoredAt,
            uint64 erasedAt,
            bool superseded
        );

    /// @notice The commitment a record stores for `digest` and `labelCommitment`.
    function recordCommitment(bytes32 digest, bytes32 labelCommitment) external pure returns (bytes32);

    /// @notice A batch's tag, custodian, size, category mask and time (reverts if unknown).
    function getBatch(
        SubjectId subject,
        bytes32 root
    ) external view returns (bytes16 tag, uint32 custodian, uint32 count, uint16 categories, uint64 anchoredAt);

    /// @notice The StandardMerkleTree leaf of a batch member.
    function batchLeaf(
        SubjectId subject,
        RecordId recordId,
        uint8 category,
        bytes32 digest,
        bytes32 labelCommitment
    ) external pure returns (bytes32);

    /// @notice Whether the values are a member of `subject`'s batch `root` (tag, category and proof
    /// checked). A batch's `count` is informational: every leaf whose proof verifies is a member.
    function verifyBatchMember(
        SubjectId subject,
        bytes32 root,
        RecordId recordId,
        uint8 category,
        bytes32 digest,
        bytes32 labelCommitment,
        bytes32[] calldata proof
    ) external view returns (bool);

    /// @notice A break-glass session (reverts if unknown).
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

    /// @notice Break-glass reviews of responders of organization `orgId` still pending.
    function pendingReviews(uint32 orgId) external view returns (uint32);

    /// @notice The study registry study reads consult (zero if none was set).
    function studyRegistry() external view returns (address);

    /// @notice The participant directory this registry consults.
    function directory() external view returns (address);

    /// @notice The consent registry this registry consults.
    function consentRegistry() external view returns (address);

    /// @notice The contract's semantic version.
    function version() external pure returns (string memory);
}
