// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {IConsentRegistry} from "./interfaces/IConsentRegistry.sol";
import {IParticipantDirectory} from "./interfaces/IParticipantDirectory.sol";
import {IRecordRegistry, StudyRead} from "./interfaces/IRecordRegistry.sol";
import {IStudyRegistry} from "./interfaces/IStudyRegistry.sol";
import {
    AccessBasis,
    AccessorStatus,
    Codes,
    ConsentId,
    Decision,
    DenyReason,
    MedLedgerVersion,
    OrgKind,
    RecordId,
    ReviewOutcome,
    StudyId,
    SubjectId
} from "./libraries/MedLedgerTypes.sol";
import {Migratable} from "./utils/Migratable.sol";

/// @title RecordRegistry
/// @notice See {IRecordRegistry}.
contract RecordRegistry is IRecordRegistry, Migratable {
    /// @notice The most records one access call may log.
    uint256 public constant MAX_ACCESS_BATCH = 256;
    /// @notice How long a break-glass session lets its responder read the subject's records.
    uint64 public constant EMERGENCY_SESSION_DURATION = 4 hours;

    /// @dev Two storage slots per record version: the commitment, then the metadata. An access reads
    /// only the metadata slot.
    struct Record {
        bytes32 commitment;
        uint32 custodian;
        uint8 category;
        bool superseded;
        uint64 anchoredAt;
        uint64 erasedAt;
    }

    /// @dev One storage slot per batch (the time fits uint40 until the year 36812).
    struct Batch {
        bytes16 tag;
        uint32 custodian;
        uint32 count;
        uint16 categories;
        uint40 anchoredAt;
    }

    struct EmergencySession {
        SubjectId subject;
        address responder;
        uint32 orgId;
        uint8 purpose;
        uint16 reasonCode;
        uint64 expiresAt;
        ReviewOutcome outcome;
    }

    /// @dev What a study read may cover (from {IStudyRegistry-studyAccessTerms}).
    struct StudyTerms {
        StudyId studyId;
        uint8 purpose;
        uint16 categories;
        uint32 researchOrg;
        uint32 readerOrg;
    }

    IParticipantDirectory private immutable _directory;
    IConsentRegistry private immutable _consents;

    mapping(SubjectId subject => mapping(RecordId recordId => Record)) private _records;
    mapping(SubjectId subject => mapping(bytes32 root => Batch)) private _batches;
    uint256 private _sessionCount;
    mapping(uint256 sessionId => EmergencySession) private _sessions;
    mapping(address responder => mapping(SubjectId subject => uint256 sessionId)) private _latestSession;
    mapping(uint32 orgId => uint32 count) private _pendingReviews;
    /// @dev Set once by the migrator before sealing (the study registry is deployed after this one).
    IStudyRegistry private _studies;

    /// @param directory_ the participant directory (a deployed contract)
    /// @param consents_ the consent registry, which must consult the same directory
    /// @param migrator_ the account that may import 1.0 records until it seals the migration
    constructor(IParticipantDirectory directory_, IConsentRegistry consents_, address migrator_) Migratable(migrator_) {
        if (address(directory_).code.length == 0) revert RecordInvalidAddress("directory");
        if (address(consents_).code.length == 0) revert RecordInvalidAddress("consents");
        address consentsDirectory = consents_.directory();
        if (consentsDirectory != address(directory_))
            revert RecordWiringMismatch(address(directory_), consentsDirectory);
        _directory = directory_;
        _consents = consents_;
    }

    // ───────────────────────────── anchors ─────────────────────────────

    /// @inheritdoc IRecordRegistry
    function anchorRecord(
        SubjectId subject,
        RecordId recordId,
        uint8 category,
        bytes32 digest,
        bytes32 labelCommitment,
        RecordId previous,
        string calldata pointer,
        ConsentId consentHint
    ) external {
        _checkRecordValues(recordId, category, digest, labelCommitment);
        if (_records[subject][recordId].anchoredAt != 0) revert RecordExists(subject, recordId);
        // A consent (or acting for the subject) implies the subject exists: no separate lookup.
        Decision memory d = _authorizeAppend(subject, category, consentHint);
        uint32 custodian = d.accessorOrg;
        if (RecordId.unwrap(previous) != bytes32(0)) {
            Record storage prev = _existingRecord(subject, previous);
            if (prev.erasedAt != 0) revert RecordIsErased(subject, previous, prev.erasedAt);
            if (prev.superseded) revert RecordAlreadySuperseded(subject, previous);
            if (prev.category != category) revert RecordCategoryMismatch(subject, previous, prev.category, category);
            // Only the subject may move a record to another custodian.
            if (d.basis != AccessBasis.SUBJECT && prev.custodian != custodian) {
                revert RecordCustodianMismatch(subject, previous, prev.custodian, custodian);
            }
            prev.superseded = true;
        }
        _store(subject, recordId, digest, labelCommitment, custodian, category, uint64(block.timestamp), 0);
        emit RecordAnchored(
            subject,
            recordId,
            custodian,
            category,
            digest,
            labelCommitment,
            previous,
            pointer,
            msg.sender,
            d.consentId
        );
    }

    /// @inheritdoc IRecordRegistry
    function anchorBatch(
        SubjectId subject,
        bytes32 root,
        bytes16 tag,
        uint32 count,
        uint16 categories,
        string calldata pointer,
        ConsentId consentHint
    ) external {
        if (root == bytes32(0)) revert RecordZeroValue("root");
        if (tag == bytes16(0)) revert RecordZeroValue("tag");
        if (count == 0) revert RecordInvalidBatch("count");
        if (categories == 0) revert RecordInvalidBatch("categories");
        if (_batches[subject][root].anchoredAt != 0) revert RecordBatchExists(subject, root);
        uint32 custodian;
        for (uint8 category = 0; category <= Codes.MAX_CATEGORY; ++category) {
            if (categories & Codes.bit(category) != 0) {
                custodian = _authorizeAppend(subject, category, consentHint).accessorOrg;
            }
        }
        _batches[subject][root] = Batch({
            tag: tag,
            custodian: custodian,
            count: count,
            categories: categories,
            anchoredAt: uint40(block.timestamp)
        });
        emit BatchAnchored(subject, root, tag, custodian, count, categories, pointer, msg.sender);
    }

    /// @inheritdoc IRecordRegistry
    function proveRecord(
        SubjectId subject,
        bytes32 root,
        RecordId recordId,
        uint8 category,
        bytes32 digest,
        bytes32 labelCommitment,
        bytes32[] calldata proof
    ) external {
        Batch storage batch = _batches[subject][root];
        if (batch.anchoredAt == 0) revert RecordUnknownBatch(subject, root);
        if (RecordId.unwrap(recordId) == bytes32(0)) revert RecordZeroValue("recordId");
        if (digest == bytes32(0)) revert RecordZeroValue("digest");
        if (labelCommitment == bytes32(0)) revert RecordZeroValue("labelCommitment");
        if (bytes16(RecordId.unwrap(recordId)) != batch.tag) {
            revert RecordTagMismatch(subject, root, recordId, batch.tag);
        }
        if (category > Codes.MAX_CATEGORY || batch.categories & Codes.bit(category) == 0) {
            revert RecordCategoryOutsideBatch(subject, root, category);
        }
        if (!MerkleProof.verifyCalldata(proof, root, _leaf(subject, recordId, category, digest, labelCommitment))) {
            revert RecordInvalidProof(subject, root, recordId);
        }
        if (_records[subject][recordId].anchoredAt != 0) revert RecordExists(subject, recordId);
        _store(subject, recordId, digest, labelCommitment, batch.custodian, category, batch.anchoredAt, 0);
        emit RecordProven(subject, recordId, root, category, digest, labelCommitment);
    }

    /// @inheritdoc IRecordRegistry
    function eraseRecord(SubjectId subject, RecordId recordId) external {
        Record storage record = _existingRecord(subject, recordId);
        if (!_directory.actsFor(subject, msg.sender, Codes.POWER_ERASE)) {
            revert RecordEraseUnauthorized(subject, msg.sender);
        }
        if (record.erasedAt != 0) revert RecordIsErased(subject, recordId, record.erasedAt);
        record.erasedAt = uint64(block.timestamp);
        emit RecordErased(subject, recordId, msg.sender);
    }

    // ──────────────────────────── access log ────────────────────────────

    /// @inheritdoc IRecordRegistry
    function access(SubjectId subject, RecordId recordId, uint8 purpose, ConsentId consentHint) external {
        uint8 category = _readableRecord(subject, recordId).category;
        Decision memory d = _authorizeRead(subject, recordId, category, purpose, consentHint);
        emit RecordAccessed(subject, recordId, msg.sender, purpose, d.basis, ConsentId.unwrap(d.consentId));
    }

    /// @inheritdoc IRecordRegistry
    function accessBatch(
        SubjectId subject,
        RecordId[] calldata recordIds,
        uint8 purpose,
        ConsentId consentHint
    ) external {
        uint256 n = recordIds.length;
        if (n == 0 || n > MAX_ACCESS_BATCH) revert AccessInvalidBatchSize(n, MAX_ACCESS_BATCH);
        // Decisions depend only on the category here: reuse the last one while it repeats.
        uint8 lastCategory;
        Decision memory d;
        for (uint256 i = 0; i < n; ++i) {
            RecordId recordId = recordIds[i];
            uint8 category = _readableRecord(subject, recordId).category;
            if (i == 0 || category != lastCategory) {
                d = _authorizeRead(subject, recordId, category, purpose, consentHint);
                lastCategory = category;
            }
            emit RecordAccessed(subject, recordId, msg.sender, purpose, d.basis, ConsentId.unwrap(d.consentId));
        }
    }

    /// @inheritdoc IRecordRegistry
    function breakGlassAccess(
        SubjectId subject,
        RecordId[] calldata recordIds,
        uint8 purpose,
        uint16 reasonCode
    ) external returns (uint256 sessionId) {
        uint256 n = recordIds.length;
        if (n == 0 || n > MAX_ACCESS_BATCH) revert AccessInvalidBatchSize(n, MAX_ACCESS_BATCH);
        if (purpose != Codes.PURPOSE_ETREAT && purpose != Codes.PURPOSE_BTG) {
            _refuseBreakGlass(subject, DenyReason.INVALID_PURPOSE, ConsentId.wrap(0));
        }
        (AccessorStatus status, uint32 orgId, uint8 roles, ) = _directory.accessorStatus(msg.sender);
        if (status != AccessorStatus.ACTIVE) _refuseBreakGlass(subject, Codes.reasonFor(status), ConsentId.wrap(0));
        if (roles & Codes.ROLE_EMERGENCY_RESPONDER == 0) {
            _refuseBreakGlass(subject, DenyReason.NOT_EMERGENCY_RESPONDER, ConsentId.wrap(0));
        }
        if (_consents.breakGlassOptedOut(subject)) {
            _refuseBreakGlass(subject, DenyReason.BREAK_GLASS_OPTED_OUT, ConsentId.wrap(0));
        }
        uint16 categories;
        for (uint256 i = 0; i < n; ++i) categories |= Codes.bit(_readableRecord(subject, recordIds[i]).category);
        // Break-glass overrides the absence of consent, never a refusal: a deny naming this
        // responder (itself, its organization or one of its roles) for this read binds here too.
        ConsentId denyId = _consents.findDeny(msg.sender, subject, categories, purpose, Codes.ACTION_READ);
        if (ConsentId.unwrap(denyId) != bytes32(0)) _refuseBreakGlass(subject, DenyReason.DENIED_BY_SUBJECT, denyId);
        sessionId = _emergencySession(subject, orgId, purpose, reasonCode);
        for (uint256 i = 0; i < n; ++i) {
            emit RecordAccessed(subject, recordIds[i], msg.sender, purpose, AccessBasis.EMERGENCY, bytes32(sessionId));
        }
    }

    /// @inheritdoc IRecordRegistry
    function accessForStudy(
        StudyId studyId,
        uint32 runId,
        StudyRead[] calldata reads
    ) external returns (uint256 allowedSubjects) {
        IStudyRegistry studies = _studies;
        if (address(studies) == address(0)) revert RecordStudyRegistryNotSet(studyId);
        StudyTerms memory t;
        t.studyId = studyId;
        (t.purpose, t.categories, t.researchOrg, t.readerOrg) = studies.studyAccessTerms(studyId, runId, msg.sender);
        uint256 total;
        for (uint256 s = 0; s < reads.length; ++s) {
            uint256 n = reads[s].recordIds.length;
            total += n;
            if (n == 0 || total > MAX_ACCESS_BATCH) revert AccessInvalidBatchSize(n == 0 ? 0 : total, MAX_ACCESS_BATCH);
            if (_logStudyRead(t, reads[s].subject, reads[s].recordIds)) ++allowedSubjects;
        }
        if (total == 0) revert AccessInvalidBatchSize(0, MAX_ACCESS_BATCH);
    }

    /// @inheritdoc IRecordRegistry
    function setStudyRegistry(IStudyRegistry studies) external onlyDuringMigration {
        if (address(_studies) != address(0)) revert RecordStudyRegistryAlreadySet(address(_studies));
        if (address(studies).code.length == 0) revert RecordInvalidAddress("studies");
        address studiesDirectory = studies.directory();
        if (studiesDirectory != address(_directory)) revert RecordWiringMismatch(address(_directory), studiesDirectory);
        _studies = studies;
        emit StudyRegistrySet(address(studies));
    }

    /// @inheritdoc IRecordRegistry
    function closeReview(uint256 sessionId, ReviewOutcome outcome) external {
        EmergencySession storage session = _sessions[sessionId];
        if (session.responder == address(0)) revert ReviewUnknownSession(sessionId);
        if (outcome == ReviewOutcome.PENDING) revert ReviewInvalidOutcome(outcome);
        if (session.outcome != ReviewOutcome.PENDING) revert ReviewAlreadyClosed(sessionId, session.outcome);
        (AccessorStatus status, uint32 orgId, uint8 roles, ) = _directory.accessorStatus(msg.sender);
        bool reviewer =
            status == AccessorStatus.ACTIVE &&
                (roles & Codes.ROLE_PRIVACY_OFFICER != 0 || (roles & Codes.ROLE_AUDITOR != 0 && _isRegulator(orgId)));
        if (!reviewer) revert ReviewNotReviewer(sessionId, msg.sender);
        // The responder's organization cannot judge its own responder (nor can the responder).
        uint32 responderOrg = session.orgId;
        if (orgId == responderOrg) revert ReviewNotIndependent(sessionId, msg.sender, orgId);
        session.outcome = outcome;
        --_pendingReviews[responderOrg];
        emit BreakGlassReviewed(sessionId, msg.sender, outcome, orgId);
    }

    // ──────────────────────────── migration ────────────────────────────

    /// @inheritdoc IRecordRegistry
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
    ) external onlyDuringMigration {
        _checkRecordValues(recordId, category, digest, labelCommitment);
        if (anchoredAt == 0 || anchoredAt > block.timestamp) revert RecordInvalidImport("anchoredAt");
        if (erasedAt != 0 && (erasedAt < anchoredAt || erasedAt > block.timestamp)) {
            revert RecordInvalidImport("erasedAt");
        }
        if (_directory.controllerOf(subject) == address(0)) revert RecordUnknownSubject(subject);
        if (_records[subject][recordId].anchoredAt != 0) revert RecordExists(subject, recordId);
        if (RecordId.unwrap(previous) != bytes32(0)) {
            // The previous version may have been erased after it was superseded.
            Record storage prev = _existingRecord(subject, previous);
            if (prev.superseded) revert RecordAlreadySuperseded(subject, previous);
            if (prev.category != category) revert RecordCategoryMismatch(subject, previous, prev.category, category);
            prev.superseded = true;
        }
        _store(subject, recordId, digest, labelCommitment, custodian, category, anchoredAt, erasedAt);
        emit RecordImported(
            subject,
            recordId,
            custodian,
            category,
            digest,
            labelCommitment,
            previous,
            anchoredAt,
            erasedAt
        );
    }

    // ─────────────────────────────── views ───────────────────────────────

    /// @inheritdoc IRecordRegistry
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
        )
    {
        Record storage r = _existingRecord(subject, recordId);
        return (r.commitment, r.custodian, r.category, r.anchoredAt, r.erasedAt, r.superseded);
    }

    /// @inheritdoc IRecordRegistry
    function recordCommitment(bytes32 digest, bytes32 labelCommitment) public pure returns (bytes32) {
        return keccak256(abi.encode(digest, labelCommitment));
    }

    /// @inheritdoc IRecordRegistry
    function getBatch(
        SubjectId subject,
        bytes32 root
    ) external view returns (bytes16 tag, uint32 custodian, uint32 count, uint16 categories, uint64 anchoredAt) {
        Batch storage b = _batches[subject][root];
        if (b.anchoredAt == 0) revert RecordUnknownBatch(subject, root);
        return (b.tag, b.custodian, b.count, b.categories, b.anchoredAt);
    }

    /// @inheritdoc IRecordRegistry
    function batchLeaf(
        SubjectId subject,
        RecordId recordId,
        uint8 category,
        bytes32 digest,
        bytes32 labelCommitment
    ) external pure returns (bytes32) {
        return _leaf(subject, recordId, category, digest, labelCommitment);
    }

    /// @inheritdoc IRecordRegistry
    function verifyBatchMember(
        SubjectId subject,
        bytes32 root,
        RecordId recordId,
        uint8 category,
        bytes32 digest,
        bytes32 labelCommitment,
        bytes32[] calldata proof
    ) external view returns (bool) {
        Batch storage b = _batches[subject][root];
        return
            b.anchoredAt != 0 &&
            bytes16(RecordId.unwrap(recordId)) == b.tag &&
            category <= Codes.MAX_CATEGORY &&
            b.categories & Codes.bit(category) != 0 &&
            MerkleProof.verifyCalldata(proof, root, _leaf(subject, recordId, category, digest, labelCommitment));
    }

    /// @inheritdoc IRecordRegistry
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
        )
    {
        EmergencySession storage s = _sessions[sessionId];
        if (s.responder == address(0)) revert ReviewUnknownSession(sessionId);
        return (s.subject, s.responder, s.orgId, s.purpose, s.reasonCode, s.expiresAt, s.outcome);
    }

    /// @inheritdoc IRecordRegistry
    function pendingReviews(uint32 orgId) external view returns (uint32) {
        return _pendingReviews[orgId];
    }

    /// @inheritdoc IRecordRegistry
    function studyRegistry() external view returns (address) {
        return address(_studies);
    }

    /// @inheritdoc IRecordRegistry
    function directory() external view returns (address) {
        return address(_directory);
    }

    /// @inheritdoc IRecordRegistry
    function consentRegistry() external view returns (address) {
        return address(_consents);
    }

    /// @inheritdoc IRecordRegistry
    function version() external pure returns (string memory) {
        return MedLedgerVersion.VERSION;
    }

    // ───────────────────────────── internals ─────────────────────────────

    function _store(
        SubjectId subject,
        RecordId recordId,
        bytes32 digest,
        bytes32 labelCommitment,
        uint32 custodian,
        uint8 category,
        uint64 anchoredAt,
        uint64 erasedAt
    ) private {
        _records[subject][recordId] = Record({
            commitment: recordCommitment(digest, labelCommitment),
            custodian: custodian,
            category: category,
            superseded: false,
            anchoredAt: anchoredAt,
            erasedAt: erasedAt
        });
    }

    function _authorizeAppend(
        SubjectId subject,
        uint8 category,
        ConsentId consentHint
    ) private view returns (Decision memory d) {
        d = _consents.checkWithHint(msg.sender, subject, category, 0, Codes.ACTION_APPEND, consentHint);
        if (!d.allowed) {
            if (_directory.controllerOf(subject) == address(0)) revert RecordUnknownSubject(subject);
            revert RecordAnchorDenied(subject, msg.sender, category, d.reason, d.consentId);
        }
    }

    /// @dev Checks a read against the hinted consent; when that one does not cover it (a chart
    /// spans categories that other consents may cover) searches the caller's lists. Reverts if refused.
    function _authorizeRead(
        SubjectId subject,
        RecordId recordId,
        uint8 category,
        uint8 purpose,
        ConsentId consentHint
    ) private view returns (Decision memory d) {
        d = _consents.checkWithHint(msg.sender, subject, category, purpose, Codes.ACTION_READ, consentHint);
        if (!d.allowed && ConsentId.unwrap(consentHint) != bytes32(0) && d.reason != DenyReason.DENIED_BY_SUBJECT) {
            Decision memory searched = _consents.check(msg.sender, subject, category, purpose, Codes.ACTION_READ);
            // Keep the hinted consent's reason unless the search found something more telling.
            if (searched.allowed || searched.reason != DenyReason.NO_CONSENT) d = searched;
        }
        if (!d.allowed) revert AccessDenied(subject, recordId, msg.sender, d.reason, d.consentId);
    }

    /// @dev Checks one subject's study read and logs it if the subject allows the study.
    /// @return allowed whether the reads were logged
    function _logStudyRead(
        StudyTerms memory t,
        SubjectId subject,
        RecordId[] calldata recordIds
    ) private returns (bool allowed) {
        uint256 n = recordIds.length;
        uint16 categories;
        for (uint256 i = 0; i < n; ++i) {
            Record storage r = _readableRecord(subject, recordIds[i]);
            if (r.custodian != t.readerOrg) revert RecordNotCustodian(subject, recordIds[i], r.custodian, t.readerOrg);
            if (t.categories & Codes.bit(r.category) == 0) {
                revert RecordCategoryOutsideStudy(t.studyId, subject, recordIds[i], r.category);
            }
            categories |= Codes.bit(r.category);
        }
        // A subject who does not allow the study is skipped: nothing is logged, nothing is read.
        if (!_consents.checkStudy(subject, t.researchOrg, categories, t.purpose).allowed) return false;
        bytes32 basisId = StudyId.unwrap(t.studyId);
        for (uint256 i = 0; i < n; ++i) {
            emit RecordAccessed(subject, recordIds[i], msg.sender, t.purpose, AccessBasis.STUDY, basisId);
        }
        return true;
    }

    function _emergencySession(
        SubjectId subject,
        uint32 orgId,
        uint8 purpose,
        uint16 reasonCode
    ) private returns (uint256 sessionId) {
        sessionId = _latestSession[msg.sender][subject];
        // Reuse the open session; once reviewed (or expired) a new access opens a new review.
        if (sessionId != 0) {
            EmergencySession storage open = _sessions[sessionId];
            if (open.expiresAt > block.timestamp && open.outcome == ReviewOutcome.PENDING) return sessionId;
        }
        sessionId = ++_sessionCount;
        uint64 expiresAt = uint64(block.timestamp) + EMERGENCY_SESSION_DURATION;
        _sessions[sessionId] = EmergencySession({
            subject: subject,
            responder: msg.sender,
            orgId: orgId,
            purpose: purpose,
            reasonCode: reasonCode,
            expiresAt: expiresAt,
            outcome: ReviewOutcome.PENDING
        });
        _latestSession[msg.sender][subject] = sessionId;
        ++_pendingReviews[orgId];
        emit BreakGlassDeclared(sessionId, subject, msg.sender, orgId, purpose, reasonCode, expiresAt);
    }

    function _refuseBreakGlass(SubjectId subject, DenyReason reason, ConsentId consentId) private view {
        revert BreakGlassDenied(subject, msg.sender, reason, consentId);
    }

    function _isRegulator(uint32 orgId) private view returns (bool) {
        (OrgKind kind, , , , ) = _directory.getOrganization(orgId);
        return kind == OrgKind.REGULATOR;
    }

    function _existingRecord(SubjectId subject, RecordId recordId) private view returns (Record storage r) {
        r = _records[subject][recordId];
        if (r.anchoredAt == 0) revert RecordUnknown(subject, recordId);
    }

    function _readableRecord(SubjectId subject, RecordId recordId) private view returns (Record storage r) {
        r = _records[subject][recordId];
        if (r.anchoredAt == 0) {
            revert AccessDenied(subject, recordId, msg.sender, DenyReason.RECORD_UNKNOWN, ConsentId.wrap(0));
        }
        if (r.erasedAt != 0) {
            revert AccessDenied(subject, recordId, msg.sender, DenyReason.RECORD_ERASED, ConsentId.wrap(0));
        }
    }

    function _checkRecordValues(
        RecordId recordId,
        uint8 category,
        bytes32 digest,
        bytes32 labelCommitment
    ) private pure {
        if (RecordId.unwrap(recordId) == bytes32(0)) revert RecordZeroValue("recordId");
        if (digest == bytes32(0)) revert RecordZeroValue("digest");
        if (labelCommitment == bytes32(0)) revert RecordZeroValue("labelCommitment");
        if (category > Codes.MAX_CATEGORY) revert RecordInvalidCategory(category);
    }

    function _leaf(
        SubjectId subject,
        RecordId recordId,
        uint8 category,
        bytes32 digest,
        bytes32 labelCommitment
    ) private pure returns (bytes32) {
        // @openzeppelin/merkle-tree StandardMerkleTree leaf: double keccak of the ABI-encoded values.
        return keccak256(bytes.concat(keccak256(abi.encode(subject, recordId, category, digest, labelCommitment))));
    }
}
