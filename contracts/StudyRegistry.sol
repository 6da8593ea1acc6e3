// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IKeyholderRegistry} from "./interfaces/IKeyholderRegistry.sol";
import {IParticipantDirectory} from "./interfaces/IParticipantDirectory.sol";
import {IStudyRegistry, RunState, StudyParams, StudyState} from "./interfaces/IStudyRegistry.sol";
import {AccessorStatus, Codes, MedLedgerVersion, OrgKind, StudyId} from "./libraries/MedLedgerTypes.sol";

/// @title StudyRegistry
/// @notice See {IStudyRegistry}.
contract StudyRegistry is IStudyRegistry {
    /// @notice The smallest minimum cell size a study may set (DataSHIELD's default threshold).
    uint32 public constant MIN_CELL_SIZE = 3;
    /// @notice The fewest contributing custodians any study may release with.
    uint8 public constant MIN_CUSTODIANS = 2;
    /// @notice The most custodians a study may name.
    uint256 public constant MAX_CUSTODIANS = 32;
    /// @notice The longest result vector a query may encode to.
    uint32 public constant MAX_CELLS = 1 << 16;
    /// @notice The largest ε (× 1000) of one run: 10.
    uint32 public constant MAX_EPSILON_MILLI = 10_000;
    /// @notice The fewest aggregation servers a run may share to (one would see the plain vector).
    uint256 public constant MIN_SERVERS = 2;
    /// @notice Bounds of a run's contribution window.
    uint64 public constant MIN_RUN_WINDOW = 60;
    uint64 public constant MAX_RUN_WINDOW = 30 days;
    /// @notice The run number that {studyAccessTerms} reads as "no particular run".
    uint32 public constant ANY_RUN = 0;

    /// @dev Research purposes: HRESCH and CLINTRCH.
    uint16 private constant RESEARCH_PURPOSES = uint16(1 << Codes.PURPOSE_HRESCH) | uint16(1 << Codes.PURPOSE_CLINTRCH);

    /// @dev Packed: slot 0 researcher … runCount; slot 1 sizes, ε, board and window; slot 2 the
    /// approver and times; then the digests. Times fit uint40 until the year 36812.
    struct Study {
        address researcher;
        uint32 researchOrg;
        uint8 purpose;
        uint16 categories;
        uint8 minCustodians;
        uint8 maxRuns;
        uint8 runCount;
        uint32 cells;
        uint32 minCellSize;
        uint32 epsilonMilli;
        uint32 approvedBy;
        uint40 validFrom;
        uint40 validUntil;
        uint40 registeredAt;
        address approver;
        uint40 approvedAt;
        uint40 closedAt;
        bytes32 protocolDigest;
        bytes32 queryDigest;
        bytes32 approvalDigest;
    }

    struct Run {
        uint40 openedAt;
        uint40 deadline;
        uint64 keyholderEpoch;
        uint8 contributions;
        uint8 sumShares;
        uint40 resultPublishedAt;
        bytes32 resultDigest;
        uint32[] servers;
        uint32[] contributors;
    }

    struct Contribution {
        address contributor;
        uint40 committedAt;
        uint32 subjects;
        bytes32 commitmentsHash;
    }

    struct SumShare {
        bytes32 commitment;
        uint40 publishedAt;
    }

    IParticipantDirectory private immutable _directory;
    IKeyholderRegistry private immutable _keyholders;

    mapping(StudyId studyId => Study) private _studies;
    mapping(StudyId studyId => uint32[] orgIds) private _custodians;
    mapping(StudyId studyId => mapping(uint32 orgId => bool)) private _isCustodian;
    mapping(StudyId studyId => mapping(uint32 runId => Run)) private _runs;
    mapping(StudyId studyId => mapping(uint32 runId => mapping(uint32 orgId => Contribution))) private _contributions;
    mapping(StudyId studyId => mapping(uint32 runId => mapping(uint32 keyholderId => SumShare))) private _sumShares;

    /// @param directory_ the participant directory
    /// @param keyholders_ the keyholder registry (its keyholders are the aggregation servers); it
    /// must consult the same directory
    constructor(IParticipantDirectory directory_, IKeyholderRegistry keyholders_) {
        if (address(directory_).code.length == 0) revert StudyInvalidAddress("directory");
        if (address(keyholders_).code.length == 0 || keyholders_.directory() != address(directory_)) {
            revert StudyInvalidAddress("keyholders");
        }
        _directory = directory_;
        _keyholders = keyholders_;
    }

    // ───────────────────────────── studies ─────────────────────────────

    /// @inheritdoc IStudyRegistry
    function registerStudy(bytes32 salt, StudyParams calldata params) external returns (StudyId studyId) {
        (AccessorStatus status, uint32 orgId, uint8 roles, ) = _directory.accessorStatus(msg.sender);
        if (
            status != AccessorStatus.ACTIVE ||
            roles & Codes.ROLE_RESEARCHER == 0 ||
            _orgKind(orgId) != OrgKind.RESEARCH_INSTITUTE
        ) {
            revert StudyNotRegistrar(msg.sender, status, orgId, roles);
        }
        studyId = studyIdFor(msg.sender, salt);
        if (_studies[studyId].registeredAt != 0) revert StudyExists(studyId);
        _validate(params);
        _storeCustodians(studyId, params.custodians);
        _studies[studyId] = Study({
            researcher: msg.sender,
            researchOrg: orgId,
            purpose: params.purpose,
            categories: params.categories,
            minCustodians: params.minCustodians,
            maxRuns: params.maxRuns,
            runCount: 0,
            cells: params.cells,
            minCellSize: params.minCellSize,
            epsilonMilli: params.epsilonMilli,
            approvedBy: 0,
            validFrom: uint40(params.validFrom),
            validUntil: uint40(params.validUntil),
            registeredAt: uint40(block.timestamp),
            approver: address(0),
            approvedAt: 0,
            closedAt: 0,
            protocolDigest: params.protocolDigest,
            queryDigest: params.queryDigest,
            approvalDigest: bytes32(0)
        });
        emit StudyRegistered(studyId, msg.sender, orgId, params, salt);
    }

    /// @inheritdoc IStudyRegistry
    function approveStudy(StudyId studyId, bytes32 approvalDigest) external {
        uint32 boardOrg = _boardMember(msg.sender);
        Study storage s = _existing(studyId);
        if (s.approvedAt != 0) revert StudyAlreadyApproved(studyId, s.approvedBy);
        if (s.closedAt != 0) revert StudyIsClosed(studyId, s.closedAt);
        if (block.timestamp >= s.validUntil) {
            revert StudyNotInWindow(studyId, s.validFrom, s.validUntil, uint64(block.timestamp));
        }
        if (approvalDigest == bytes32(0)) revert StudyZeroValue("approvalDigest");
        s.approvedBy = boardOrg;
        s.approver = msg.sender;
        s.approvedAt = uint40(block.timestamp);
        s.approvalDigest = approvalDigest;
        emit StudyApproved(studyId, boardOrg, msg.sender, approvalDigest);
    }

    /// @inheritdoc IStudyRegistry
    function closeStudy(StudyId studyId) external {
        Study storage s = _existing(studyId);
        if (s.closedAt != 0) revert StudyIsClosed(studyId, s.closedAt);
        if (msg.sender != s.researcher) {
            (AccessorStatus status, uint32 orgId, , ) = _directory.accessorStatus(msg.sender);
            if (s.approvedAt == 0 || status != AccessorStatus.ACTIVE || orgId != s.approvedBy) {
                revert StudyNotResearcher(studyId, msg.sender);
            }
        }
        s.closedAt = uint40(block.timestamp);
        emit StudyClosed(studyId, msg.sender, uint64(block.timestamp));
    }

    // ─────────────────────────────── runs ───────────────────────────────

    /// @inheritdoc IStudyRegistry
    function openRun(StudyId studyId, uint64 contributionWindow) external returns (uint32 runId) {
        Study storage s = _existing(studyId);
        if (msg.sender != s.researcher) revert StudyNotResearcher(studyId, msg.sender);
        _checkActive(studyId, s);
        if (s.runCount >= s.maxRuns) revert StudyRunLimitReached(studyId, s.maxRuns);
        if (
            contributionWindow < MIN_RUN_WINDOW ||
            contributionWindow > MAX_RUN_WINDOW ||
            block.timestamp + contributionWindow > s.validUntil
        ) {
            revert StudyInvalidRunWindow(contributionWindow, MIN_RUN_WINDOW, MAX_RUN_WINDOW);
        }
        uint32[] memory servers = _keyholders.activeKeyholders();
        if (servers.length < MIN_SERVERS) revert StudyNotEnoughServers(servers.length, MIN_SERVERS);
        runId = ++s.runCount;
        uint64 deadline = uint64(block.timestamp) + contributionWindow;
        uint64 epoch = _keyholders.epoch();
        Run storage r = _runs[studyId][runId];
        r.openedAt = uint40(block.timestamp);
        r.deadline = uint40(deadline);
        r.keyholderEpoch = epoch;
        r.servers = servers;
        emit RunOpened(studyId, runId, msg.sender, deadline, epoch, servers);
    }

    /// @inheritdoc IStudyRegistry
    function commitContribution(
        StudyId studyId,
        uint32 runId,
        uint32 subjects,
        bytes32[] calldata commitments
    ) external {
        Study storage s = _existing(studyId);
        _checkActive(studyId, s);
        Run storage r = _openRun(studyId, runId);
        uint32 orgId = _custodianOf(studyId, msg.sender);
        if (_contributions[studyId][runId][orgId].committedAt != 0) {
            revert StudyAlreadyContributed(studyId, runId, orgId);
        }
        uint256 n = r.servers.length;
        if (commitments.length != n) revert StudyInvalidCommitments(commitments.length, n);
        for (uint256 i = 0; i < n; ++i) {
            if (commitments[i] == bytes32(0)) revert StudyInvalidCommitments(commitments.length, n);
        }
        _contributions[studyId][runId][orgId] = Contribution({
            contributor: msg.sender,
            committedAt: uint40(block.timestamp),
            subjects: subjects,
            commitmentsHash: keccak256(abi.encode(commitments))
        });
        r.contributors.push(orgId);
        ++r.contributions;
        emit ContributionCommitted(studyId, runId, orgId, msg.sender, subjects, commitments);
    }

    /// @inheritdoc IStudyRegistry
    function publishSumShare(
        StudyId studyId,
        uint32 runId,
        uint32 keyholderId,
        bytes32 commitment,
        bytes32 digest
    ) external {
        Study storage s = _existing(studyId);
        if (s.closedAt != 0) revert StudyIsClosed(studyId, s.closedAt);
        Run storage r = _existingRun(studyId, runId);
        if (!_isServer(r, keyholderId) || _keyholderAccount(keyholderId) != msg.sender) {
            revert StudyNotServer(studyId, runId, keyholderId, msg.sender);
        }
        if (_sumShares[studyId][runId][keyholderId].publishedAt != 0) {
            revert StudySumShareExists(studyId, runId, keyholderId);
        }
        // The contributor set is final once the deadline passed or every custodian contributed.
        if (block.timestamp < r.deadline && r.contributions < _custodians[studyId].length) {
            revert StudyRunStillOpen(studyId, runId, r.deadline, r.contributions);
        }
        if (r.contributions < s.minCustodians) {
            revert StudyTooFewContributions(studyId, runId, r.contributions, s.minCustodians);
        }
        bytes32 expected = keccak256(abi.encode(r.contributors));
        if (digest != expected) revert StudyContributorsMismatch(studyId, runId, expected, digest);
        if (commitment == bytes32(0)) revert StudyZeroValue("commitment");
        _sumShares[studyId][runId][keyholderId] = SumShare(commitment, uint40(block.timestamp));
        ++r.sumShares;
        emit SumSharePublished(studyId, runId, keyholderId, commitment, digest);
    }

    /// @inheritdoc IStudyRegistry
    function publishResult(StudyId studyId, uint32 runId, bytes32 resultDigest) external {
        Study storage s = _existing(studyId);
        if (msg.sender != s.researcher) revert StudyNotResearcher(studyId, msg.sender);
        Run storage r = _existingRun(studyId, runId);
        if (r.sumShares < r.servers.length) revert StudySumSharesMissing(studyId, runId, r.sumShares, r.servers.length);
        if (r.resultPublishedAt != 0) revert StudyResultExists(studyId, runId, r.resultDigest);
        if (resultDigest == bytes32(0)) revert StudyZeroValue("resultDigest");
        r.resultDigest = resultDigest;
        r.resultPublishedAt = uint40(block.timestamp);
        emit ResultPublished(studyId, runId, msg.sender, resultDigest);
    }

    // ─────────────────────────────── views ───────────────────────────────

    /// @inheritdoc IStudyRegistry
    function studyAccessTerms(
        StudyId studyId,
        uint32 runId,
        address reader
    ) external view returns (uint8 purpose, uint16 categories, uint32 researchOrg, uint32 readerOrg) {
        Study storage s = _existing(studyId);
        _checkActive(studyId, s);
        if (runId != ANY_RUN) _openRun(studyId, runId);
        readerOrg = _custodianOf(studyId, reader);
        return (s.purpose, s.categories, s.researchOrg, readerOrg);
    }

    /// @inheritdoc IStudyRegistry
    function getStudy(StudyId studyId) external view returns (StudyState memory v) {
        Study storage s = _existing(studyId);
        v.researcher = s.researcher;
        v.researchOrg = s.researchOrg;
        v.purpose = s.purpose;
        v.categories = s.categories;
        v.cells = s.cells;
        v.minCellSize = s.minCellSize;
        v.minCustodians = s.minCustodians;
        v.maxRuns = s.maxRuns;
        v.runCount = s.runCount;
        v.epsilonMilli = s.epsilonMilli;
        v.validFrom = s.validFrom;
        v.validUntil = s.validUntil;
        v.registeredAt = s.registeredAt;
        v.approvedBy = s.approvedBy;
        v.approver = s.approver;
        v.approvedAt = s.approvedAt;
        v.closedAt = s.closedAt;
        v.protocolDigest = s.protocolDigest;
        v.queryDigest = s.queryDigest;
        v.approvalDigest = s.approvalDigest;
    }

    /// @inheritdoc IStudyRegistry
    function studyCustodians(StudyId studyId) external view returns (uint32[] memory) {
        _existing(studyId);
        return _custodians[studyId];
    }

    /// @inheritdoc IStudyRegistry
    function isCustodian(StudyId studyId, uint32 orgId) external view returns (bool) {
        return _isCustodian[studyId][orgId];
    }

    /// @inheritdoc IStudyRegistry
    function getRun(StudyId studyId, uint32 runId) external view returns (RunState memory v) {
        Run storage r = _existingRun(studyId, runId);
        v.openedAt = r.openedAt;
        v.deadline = r.deadline;
        v.keyholderEpoch = r.keyholderEpoch;
        v.contributions = r.contributions;
        v.sumShares = r.sumShares;
        v.resultPublishedAt = r.resultPublishedAt;
        v.resultDigest = r.resultDigest;
        v.servers = r.servers;
        v.contributors = r.contributors;
    }

    /// @inheritdoc IStudyRegistry
    function getContribution(
        StudyId studyId,
        uint32 runId,
        uint32 orgId
    ) external view returns (address contributor, uint64 committedAt, uint32 subjects, bytes32 commitmentsHash) {
        Contribution storage c = _contributions[studyId][runId][orgId];
        return (c.contributor, c.committedAt, c.subjects, c.commitmentsHash);
    }

    /// @inheritdoc IStudyRegistry
    function getSumShare(
        StudyId studyId,
        uint32 runId,
        uint32 keyholderId
    ) external view returns (bytes32 commitment, uint64 publishedAt) {
        SumShare storage share = _sumShares[studyId][runId][keyholderId];
        return (share.commitment, share.publishedAt);
    }

    /// @inheritdoc IStudyRegistry
    function contributorsDigest(StudyId studyId, uint32 runId) external view returns (bytes32) {
        return keccak256(abi.encode(_existingRun(studyId, runId).contributors));
    }

    /// @inheritdoc IStudyRegistry
    function studyIdFor(address researcher, bytes32 salt) public pure returns (StudyId) {
        return StudyId.wrap(keccak256(abi.encode(researcher, salt)));
    }

    /// @inheritdoc IStudyRegistry
    function directory() external view returns (address) {
        return address(_directory);
    }

    /// @inheritdoc IStudyRegistry
    function keyholderRegistry() external view returns (address) {
        return address(_keyholders);
    }

    /// @inheritdoc IStudyRegistry
    function version() external pure returns (string memory) {
        return MedLedgerVersion.VERSION;
    }

    // ───────────────────────────── internals ─────────────────────────────

    function _validate(StudyParams calldata p) private view {
        if (p.protocolDigest == bytes32(0)) revert StudyZeroValue("protocolDigest");
        if (p.queryDigest == bytes32(0)) revert StudyZeroValue("queryDigest");
        if (p.purpose > Codes.MAX_PURPOSE || RESEARCH_PURPOSES & Codes.bit(p.purpose) == 0) {
            revert StudyInvalidParams("purpose");
        }
        if (p.categories == 0) revert StudyInvalidParams("categories");
        if (p.cells == 0 || p.cells > MAX_CELLS) revert StudyInvalidParams("cells");
        if (p.minCellSize < MIN_CELL_SIZE) revert StudyInvalidParams("minCellSize");
        uint256 n = p.custodians.length;
        if (n == 0 || n > MAX_CUSTODIANS) revert StudyInvalidParams("custodians");
        if (p.minCustodians < MIN_CUSTODIANS || p.minCustodians > n) revert StudyInvalidParams("minCustodians");
        if (p.maxRuns == 0) revert StudyInvalidParams("maxRuns");
        if (p.epsilonMilli > MAX_EPSILON_MILLI) revert StudyInvalidParams("epsilonMilli");
        if (p.validFrom > type(uint40).max) revert StudyInvalidParams("validFrom");
        if (p.validUntil > type(uint40).max || p.validUntil <= p.validFrom || p.validUntil <= block.timestamp) {
            revert StudyInvalidParams("validUntil");
        }
    }

    /// @dev Stores the custodians: admitted hospitals or labs, strictly ascending (so no duplicates).
    function _storeCustodians(StudyId studyId, uint32[] calldata custodians) private {
        uint32 previous = 0;
        for (uint256 i = 0; i < custodians.length; ++i) {
            uint32 orgId = custodians[i];
            if (orgId <= previous) revert StudyInvalidCustodian(orgId);
            OrgKind kind = _orgKind(orgId);
            if (kind != OrgKind.HOSPITAL && kind != OrgKind.LAB) revert StudyInvalidCustodian(orgId);
            _isCustodian[studyId][orgId] = true;
            previous = orgId;
        }
        _custodians[studyId] = custodians;
    }

    /// @dev The organization of an ACTIVE ethics-board member; reverts otherwise.
    function _boardMember(address account) private view returns (uint32 orgId) {
        AccessorStatus status;
        (status, orgId, , ) = _directory.accessorStatus(account);
        if (status != AccessorStatus.ACTIVE || _orgKind(orgId) != OrgKind.ETHICS_BOARD) {
            revert StudyNotEthicsBoard(account, status, orgId);
        }
    }

    /// @dev The custodian organization of `account`, an ACTIVE researcher of one of the study's
    /// custodians; reverts otherwise.
    function _custodianOf(StudyId studyId, address account) private view returns (uint32 orgId) {
        AccessorStatus status;
        uint8 roles;
        (status, orgId, roles, ) = _directory.accessorStatus(account);
        if (status != AccessorStatus.ACTIVE || roles & Codes.ROLE_RESEARCHER == 0 || !_isCustodian[studyId][orgId]) {
            revert StudyNotCustodian(studyId, account, orgId);
        }
    }

    /// @dev Reverts unless the study is approved, not closed, inside its window, its researcher is
    /// still ACTIVE (a suspended institute or a barred researcher stops its studies) and its
    /// approving board is not suspended.
    function _checkActive(StudyId studyId, Study storage s) private view {
        if (s.approvedAt == 0) revert StudyNotApproved(studyId);
        if (s.closedAt != 0) revert StudyIsClosed(studyId, s.closedAt);
        if (block.timestamp < s.validFrom || block.timestamp >= s.validUntil) {
            revert StudyNotInWindow(studyId, s.validFrom, s.validUntil, uint64(block.timestamp));
        }
        (AccessorStatus status, , , ) = _directory.accessorStatus(s.researcher);
        if (status != AccessorStatus.ACTIVE) revert StudySuspended(studyId, s.researcher, s.approvedBy, status);
        (, , bool boardSuspended, , ) = _directory.getOrganization(s.approvedBy);
        if (boardSuspended) {
            revert StudySuspended(studyId, s.researcher, s.approvedBy, AccessorStatus.ORGANIZATION_SUSPENDED);
        }
    }

    function _existing(StudyId studyId) private view returns (Study storage s) {
        s = _studies[studyId];
        if (s.registeredAt == 0) revert StudyUnknown(studyId);
    }

    function _existingRun(StudyId studyId, uint32 runId) private view returns (Run storage r) {
        r = _runs[studyId][runId];
        if (r.openedAt == 0) revert StudyUnknownRun(studyId, runId);
    }

    /// @dev A run that still takes contributions (and study reads).
    function _openRun(StudyId studyId, uint32 runId) private view returns (Run storage r) {
        r = _existingRun(studyId, runId);
        if (block.timestamp >= r.deadline) revert StudyRunClosed(studyId, runId, r.deadline);
    }

    function _isServer(Run storage r, uint32 keyholderId) private view returns (bool) {
        uint256 n = r.servers.length;
        for (uint256 i = 0; i < n; ++i) if (r.servers[i] == keyholderId) return true;
        return false;
    }

    function _keyholderAccount(uint32 keyholderId) private view returns (address account) {
        (, account, , , , ) = _keyholders.getKeyholder(keyholderId);
    }

    /// @dev An organization's kind (NONE for an id that was never admitted).
    function _orgKind(uint32 orgId) private view returns (OrgKind kind) {
        if (orgId == 0 || orgId > _directory.organizationCount()) return OrgKind.NONE;
        (kind, , , , ) = _directory.getOrganization(orgId);
    }
}
