// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {IConsentRegistry} from "./interfaces/IConsentRegistry.sol";
import {IParticipantDirectory} from "./interfaces/IParticipantDirectory.sol";
import {IRecordRegistry} from "./interfaces/IRecordRegistry.sol";
import {
    AccessBasis,
    AccessorStatus,
    Codes,
    ConsentId,
    Decision,
    DenyReason,
    RecordId,
    ReviewOutcome,
    SubjectId
} from "./libraries/MedLedgerTypes.sol";

/// @title RecordRegistry
/// @notice See {IRecordRegistry}.
contract RecordRegistry is IRecordRegistry {
    /// @notice The most records one access call may log.
    uint256 public constant MAX_ACCESS_BATCH = 256;
    /// @notice How long a break-glass session lets its responder read the subject's records.
    uint64 public constant EMERGENCY_SESSION_DURATION = 4 hours;

    /// @dev Three storage slots per record version.
    struct Record {
        SubjectId subject;
        bytes32 digest;
        uint32 custodian;
        uint8 category;
        bool superseded;
        uint64 anchoredAt;
        uint64 erasedAt;
    }

    struct Batch {
        SubjectId subject;
        uint32 custodian;
        uint32 count;
        uint32 categories;
        uint64 anchoredAt;
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

    IParticipantDirectory private immutable _directory;
    IConsentRegistry private immutable _consents;

    mapping(RecordId recordId => Record) private _records;
    mapping(bytes32 root => Batch) private _batches;
    uint256 private _sessionCount;
    mapping(uint256 sessionId => EmergencySession) private _sessions;
    mapping(address responder => mapping(SubjectId subject => uint256 sessionId)) private _latestSession;
    mapping(uint32 orgId => uint32 count) private _pendingReviews;

    constructor(IParticipantDirectory directory_, IConsentRegistry consents_) {
        _directory = directory_;
        _consents = consents_;
    }

    // ───────────────────────────── anchors ─────────────────────────────

    /// @inheritdoc IRecordRegistry
    function anchorRecord(
        RecordId recordId,
        SubjectId subject,
        uint8 category,
        bytes32 digest,
        RecordId previous,
        string calldata pointer,
        ConsentId consentHint
    ) external {
        if (RecordId.unwrap(recordId) == bytes32(0)) revert RecordZeroValue("recordId");
        if (digest == bytes32(0)) revert RecordZeroValue("digest");
        if (_records[recordId].anchoredAt != 0) revert RecordExists(recordId);
        Decision memory d = _authorizeAppend(subject, category, consentHint);
        if (RecordId.unwrap(previous) != bytes32(0)) {
            Record storage prev = _existingRecord(previous);
            if (SubjectId.unwrap(prev.subject) != SubjectId.unwrap(subject)) {
                revert RecordSubjectMismatch(previous, subject, prev.subject);
            }
            if (prev.erasedAt != 0) revert RecordIsErased(previous, prev.erasedAt);
            if (prev.superseded) revert RecordAlreadySuperseded(previous);
            prev.superseded = true;
        }
        _records[recordId] = Record({
            subject: subject,
            digest: digest,
            custodian: d.accessorOrg,
            category: category,
            superseded: false,
            anchoredAt: uint64(block.timestamp),
            erasedAt: 0
        });
        emit RecordAnchored(
            recordId,
            subject,
            d.accessorOrg,
            category,
            digest,
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
        uint32 count,
        uint32 categories,
        string calldata pointer,
        ConsentId consentHint
    ) external {
        if (root == bytes32(0)) revert RecordZeroValue("root");
        if (count == 0) revert RecordInvalidBatch("count");
        if (categories == 0) revert RecordInvalidBatch("categories");
        if (_batches[root].anchoredAt != 0) revert RecordBatchExists(root);
        uint32 custodian;
        for (uint8 category = 0; category <= Codes.MAX_CATEGORY; ++category) {
            if (categories & Codes.bit(category) != 0) {
                custodian = _authorizeAppend(subject, category, consentHint).accessorOrg;
            }
        }
        _batches[root] = Batch({
            subject: subject,
            custodian: custodian,
            count: count,
            categories: categories,
            anchoredAt: uint64(block.timestamp)
        });
        emit BatchAnchored(root, subject, custodian, count, categories, pointer, msg.sender);
    }

    /// @inheritdoc IRecordRegistry
    function proveRecord(
        bytes32 root,
        RecordId recordId,
        uint8 category,
        bytes32 digest,
        bytes32[] calldata proof
    ) external {
        Batch storage batch = _existingBatch(root);
        if (RecordId.unwrap(recordId) == bytes32(0)) revert RecordZeroValue("recordId");
        if (digest == bytes32(0)) revert RecordZeroValue("digest");
        if (category > Codes.MAX_CATEGORY || batch.categories & Codes.bit(category) == 0) {
            revert RecordCategoryOutsideBatch(root, category);
        }
        if (!MerkleProof.verifyCalldata(proof, root, _leaf(recordId, category, digest))) {
            revert RecordInvalidProof(root, recordId);
        }
        if (_records[recordId].anchoredAt != 0) revert RecordExists(recordId);
        SubjectId subject = batch.subject;
        _records[recordId] = Record({
            subject: subject,
            digest: digest,
            custodian: batch.custodian,
            category: category,
            superseded: false,
            anchoredAt: batch.anchoredAt,
            erasedAt: 0
        });
        emit RecordProven(recordId, root, subject, category, digest);
    }

    /// @inheritdoc IRecordRegistry
    function eraseRecord(RecordId recordId) external {
        Record storage record = _existingRecord(recordId);
        SubjectId subject = record.subject;
        if (!_directory.actsFor(subject, msg.sender, Codes.POWER_ERASE)) {
            revert RecordEraseUnauthorized(subject, msg.sender);
        }
        if (record.erasedAt != 0) revert RecordIsErased(recordId, record.erasedAt);
        record.erasedAt = uint64(block.timestamp);
        emit RecordErased(recordId, subject, msg.sender);
    }

    // ──────────────────────────── access log ────────────────────────────

    /// @inheritdoc IRecordRegistry
    function access(RecordId recordId, uint8 purpose, ConsentId consentHint) external {
        Record storage record = _readableRecord(recordId);
        SubjectId subject = record.subject;
        Decision memory d = _authorizeRead(recordId, subject, record.category, purpose, consentHint);
        emit RecordAccessed(recordId, subject, msg.sender, purpose, d.basis, ConsentId.unwrap(d.consentId));
    }

    /// @inheritdoc IRecordRegistry
    function accessBatch(RecordId[] calldata recordIds, uint8 purpose, ConsentId consentHint) external {
        uint256 n = recordIds.length;
        if (n == 0 || n > MAX_ACCESS_BATCH) revert AccessInvalidBatchSize(n, MAX_ACCESS_BATCH);
        // Decisions depend only on (subject, category): reuse the last one while they repeat.
        SubjectId lastSubject;
        uint8 lastCategory;
        Decision memory d;
        for (uint256 i = 0; i < n; ++i) {
            RecordId recordId = recordIds[i];
            Record storage record = _readableRecord(recordId);
            SubjectId subject = record.subject;
            uint8 category = record.category;
            if (i == 0 || SubjectId.unwrap(subject) != SubjectId.unwrap(lastSubject) || category != lastCategory) {
                d = _authorizeRead(recordId, subject, category, purpose, consentHint);
                lastSubject = subject;
                lastCategory = category;
            }
            emit RecordAccessed(recordId, subject, msg.sender, purpose, d.basis, ConsentId.unwrap(d.consentId));
        }
    }

    /// @inheritdoc IRecordRegistry
    function breakGlassAccess(
        RecordId[] calldata recordIds,
        uint8 purpose,
        uint16 reasonCode
    ) external returns (uint256 sessionId) {
        uint256 n = recordIds.length;
        if (n == 0 || n > MAX_ACCESS_BATCH) revert AccessInvalidBatchSize(n, MAX_ACCESS_BATCH);
        SubjectId subject = _readableRecord(recordIds[0]).subject;
        if (purpose != Codes.PURPOSE_ETREAT && purpose != Codes.PURPOSE_BTG) {
            revert BreakGlassDenied(subject, msg.sender, DenyReason.INVALID_PURPOSE);
        }
        (AccessorStatus status, uint32 orgId, uint8 roles) = _directory.accessorStatus(msg.sender);
        if (status != AccessorStatus.ACTIVE) revert BreakGlassDenied(subject, msg.sender, Codes.reasonFor(status));
        if (roles & Codes.ROLE_EMERGENCY_RESPONDER == 0) {
            revert BreakGlassDenied(subject, msg.sender, DenyReason.NOT_EMERGENCY_RESPONDER);
        }
        if (_consents.breakGlassOptedOut(subject)) {
            revert BreakGlassDenied(subject, msg.sender, DenyReason.BREAK_GLASS_OPTED_OUT);
        }
        sessionId = _emergencySession(subject, orgId, purpose, reasonCode);
        for (uint256 i = 0; i < n; ++i) {
            RecordId recordId = recordIds[i];
            SubjectId recordSubject = _readableRecord(recordId).subject;
            if (SubjectId.unwrap(recordSubject) != SubjectId.unwrap(subject)) {
                revert BreakGlassMixedSubjects(recordId, subject, recordSubject);
            }
            emit RecordAccessed(recordId, subject, msg.sender, purpose, AccessBasis.EMERGENCY, bytes32(sessionId));
        }
    }

    /// @inheritdoc IRecordRegistry
    function closeReview(uint256 sessionId, ReviewOutcome outcome) external {
        EmergencySession storage session = _sessions[sessionId];
        if (session.responder == address(0)) revert ReviewUnknownSession(sessionId);
        if (outcome == ReviewOutcome.PENDING) revert ReviewInvalidOutcome(outcome);
        if (session.outcome != ReviewOutcome.PENDING) revert ReviewAlreadyClosed(sessionId, session.outcome);
        if (msg.sender == session.responder) revert ReviewOwnSession(sessionId, msg.sender);
        (AccessorStatus status, uint32 orgId, uint8 roles) = _directory.accessorStatus(msg.sender);
        if (status != AccessorStatus.ACTIVE || orgId != session.orgId || roles & Codes.ROLE_PRIVACY_OFFICER == 0) {
            revert ReviewNotPrivacyOfficer(sessionId, msg.sender, session.orgId);
        }
        session.outcome = outcome;
        --_pendingReviews[orgId];
        emit BreakGlassReviewed(sessionId, msg.sender, outcome);
    }

    // ─────────────────────────────── views ───────────────────────────────

    /// @inheritdoc IRecordRegistry
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
        )
    {
        Record storage r = _existingRecord(recordId);
        return (r.subject, r.digest, r.custodian, r.category, r.anchoredAt, r.erasedAt, r.superseded);
    }

    /// @inheritdoc IRecordRegistry
    function getBatch(
        bytes32 root
    ) external view returns (SubjectId subject, uint32 custodian, uint32 count, uint32 categories, uint64 anchoredAt) {
        Batch storage b = _existingBatch(root);
        return (b.subject, b.custodian, b.count, b.categories, b.anchoredAt);
    }

    /// @inheritdoc IRecordRegistry
    function verifyBatchMember(
        bytes32 root,
        RecordId recordId,
        uint8 category,
        bytes32 digest,
        bytes32[] calldata proof
    ) external view returns (bool) {
        Batch storage b = _batches[root];
        return
            b.anchoredAt != 0 &&
            category <= Codes.MAX_CATEGORY &&
            b.categories & Codes.bit(category) != 0 &&
            MerkleProof.verifyCalldata(proof, root, _leaf(recordId, category, digest));
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
    function directory() external view returns (address) {
        return address(_directory);
    }

    /// @inheritdoc IRecordRegistry
    function consentRegistry() external view returns (address) {
        return address(_consents);
    }

    /// @inheritdoc IRecordRegistry
    function version() external pure returns (string memory) {
        return "1.0.0";
    }

    // ───────────────────────────── internals ─────────────────────────────

    function _authorizeAppend(
        SubjectId subject,
        uint8 category,
        ConsentId consentHint
    ) private view returns (Decision memory d) {
        if (category > Codes.MAX_CATEGORY) revert RecordInvalidCategory(category);
        if (_directory.controllerOf(subject) == address(0)) revert RecordUnknownSubject(subject);
        d = _consents.checkWithHint(msg.sender, subject, category, 0, Codes.ACTION_APPEND, consentHint);
        if (!d.allowed) revert RecordAnchorDenied(subject, msg.sender, category, d.reason, d.consentId);
    }

    /// @dev Checks a read against the hinted consent; when that one does not cover it (a chart
    /// spans categories that other consents may cover) searches every consent. Reverts if refused.
    function _authorizeRead(
        RecordId recordId,
        SubjectId subject,
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
        if (!d.allowed) revert AccessDenied(recordId, msg.sender, d.reason, d.consentId);
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

    function _existingRecord(RecordId recordId) private view returns (Record storage r) {
        r = _records[recordId];
        if (r.anchoredAt == 0) revert RecordUnknown(recordId);
    }

    function _readableRecord(RecordId recordId) private view returns (Record storage r) {
        r = _records[recordId];
        if (r.anchoredAt == 0) revert AccessDenied(recordId, msg.sender, DenyReason.RECORD_UNKNOWN, ConsentId.wrap(0));
        if (r.erasedAt != 0) revert AccessDenied(recordId, msg.sender, DenyReason.RECORD_ERASED, ConsentId.wrap(0));
    }

    function _existingBatch(bytes32 root) private view returns (Batch storage b) {
        b = _batches[root];
        if (b.anchoredAt == 0) revert RecordUnknownBatch(root);
    }

    function _leaf(RecordId recordId, uint8 category, bytes32 digest) private pure returns (bytes32) {
        // @openzeppelin/merkle-tree StandardMerkleTree leaf: double keccak of the ABI-encoded values.
        return keccak256(bytes.concat(keccak256(abi.encode(recordId, category, digest))));
    }
}
