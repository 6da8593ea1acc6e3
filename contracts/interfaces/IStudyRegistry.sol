// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessorStatus, StudyId} from "../libraries/MedLedgerTypes.sol";

/// @notice What a researcher registers (see {IStudyRegistry-registerStudy}).
/// @param protocolDigest sha256 of the study's protocol document (anchors clinical-trial protocols)
/// @param queryDigest sha256 of the study's canonical query (the SDK's query language, JSON)
/// @param purpose the PurposeOfUse code of every read: HRESCH or CLINTRCH
/// @param categories the public categories (mask) custodians read for the study
/// @param cells how many integers the query's result vector holds (servers check share lengths)
/// @param minCellSize cells counting fewer patients are suppressed before release (≥ MIN_CELL_SIZE)
/// @param minCustodians the fewest contributing custodians a run may release (≥ MIN_CUSTODIANS):
/// with one contributor, the totals would be that custodian's own values
/// @param maxRuns how many runs the study may have (with differential privacy each spends ε)
/// @param epsilonMilli the differential-privacy parameter ε of one run, times 1000 (0: no noise)
/// @param validFrom when the study may start running
/// @param validUntil when it stops (runs, reads and contributions are refused from then on)
/// @param custodians the participating custodian organizations (hospitals or labs), ascending
struct StudyParams {
    bytes32 protocolDigest;
    bytes32 queryDigest;
    uint8 purpose;
    uint16 categories;
    uint32 cells;
    uint32 minCellSize;
    uint8 minCustodians;
    uint8 maxRuns;
    uint32 epsilonMilli;
    uint64 validFrom;
    uint64 validUntil;
    uint32[] custodians;
}

/// @notice A study as stored (without its custodian list: see {IStudyRegistry-studyCustodians}).
/// `approvedAt` 0: not approved; `closedAt` 0: not closed.
struct StudyState {
    address researcher;
    uint32 researchOrg;
    uint8 purpose;
    uint16 categories;
    uint32 cells;
    uint32 minCellSize;
    uint8 minCustodians;
    uint8 maxRuns;
    uint8 runCount;
    uint32 epsilonMilli;
    uint64 validFrom;
    uint64 validUntil;
    uint64 registeredAt;
    uint32 approvedBy;
    address approver;
    uint64 approvedAt;
    uint64 closedAt;
    bytes32 protocolDigest;
    bytes32 queryDigest;
    bytes32 approvalDigest;
}

/// @notice One run of a study as stored. `servers` are the aggregation servers (keyholder ids) the
/// custodians share to, in the order of their commitments.
struct RunState {
    uint64 openedAt;
    uint64 deadline;
    uint64 keyholderEpoch;
    uint8 contributions;
    uint8 sumShares;
    uint64 resultPublishedAt;
    bytes32 resultDigest;
    uint32[] servers;
    uint32[] contributors;
}

/// @title Study registry
/// @notice Research studies computed across hospitals by secret sharing, so that no hospital,
/// aggregation server or researcher sees any patient's or any single hospital's values. A researcher
/// (RESEARCHER role at a RESEARCH_INSTITUTE) registers a study: digests of its protocol and of its
/// query, its purpose (HRESCH or CLINTRCH) and categories, its disclosure-control parameters
/// (minimum cell size, minimum contributing custodians, ε), its validity window and its custodians.
/// An active member of an independent ETHICS_BOARD organization approves it before any data is
/// touched. The researcher then opens runs: each custodian reads its own consenting patients'
/// records for the run through {IRecordRegistry-accessForStudy} (logged with the study's purpose),
/// evaluates the query locally, splits its result vector into additive shares (one per aggregation
/// server: the active keyholders when the run opened), seals each to its server and commits to them
/// here. After the contribution deadline each server sums the shares it holds for exactly the
/// contributors recorded here and publishes a commitment to its (optionally noised) sum-share; the
/// researcher adds the sum-shares, suppresses small cells and anchors the result's digest.
/// @dev Events are the audit API: an auditor rebuilds every study, approval, run, contribution
/// (who committed which share commitments for how many patients), sum-share and result digest
/// from events alone. Times are block timestamps. Nothing about any patient is stored or emitted.
interface IStudyRegistry {
    // ───────────────────────────── errors ─────────────────────────────

    /// @notice No study has the id `studyId`.
    error StudyUnknown(StudyId studyId);
    /// @notice A study with the id `studyId` is already registered.
    error StudyExists(StudyId studyId);
    /// @notice `account` may not register studies: it must be an ACTIVE practitioner with the
    /// RESEARCHER role at a RESEARCH_INSTITUTE (it is `status`, of organization `orgId`, roles `roles`).
    error StudyNotRegistrar(address account, AccessorStatus status, uint32 orgId, uint8 roles);
    /// @notice `account` may not approve studies: it must be an ACTIVE member of an ETHICS_BOARD
    /// organization (it is `status`, of organization `orgId`).
    error StudyNotEthicsBoard(address account, AccessorStatus status, uint32 orgId);
    /// @notice A study parameter (`field`) is invalid.
    error StudyInvalidParams(string field);
    /// @notice Organization `orgId` cannot be a custodian: not an admitted hospital or lab, or
    /// listed out of ascending order.
    error StudyInvalidCustodian(uint32 orgId);
    /// @notice Study `studyId` was already approved by ethics board `boardOrg`.
    error StudyAlreadyApproved(StudyId studyId, uint32 boardOrg);
    /// @notice Study `studyId` is not approved.
    error StudyNotApproved(StudyId studyId);
    /// @notice Study `studyId` was closed at `closedAt`.
    error StudyIsClosed(StudyId studyId, uint64 closedAt);
    /// @notice Study `studyId` runs only in [`validFrom`, `validUntil`); now is `nowTime`.
    error StudyNotInWindow(StudyId studyId, uint64 validFrom, uint64 validUntil, uint64 nowTime);
    /// @notice Study `studyId` is suspended because `account` (its researcher) is `status`, or its
    /// approving ethics board `boardOrg` is suspended (`status` ORGANIZATION_SUSPENDED).
    error StudySuspended(StudyId studyId, address account, uint32 boardOrg, AccessorStatus status);
    /// @notice `account` is not the researcher of study `studyId` (nor, to close it, a member of
    /// its approving ethics board).
    error StudyNotResearcher(StudyId studyId, address account);
    /// @notice Study `studyId` already had its `maxRuns` runs.
    error StudyRunLimitReached(StudyId studyId, uint8 maxRuns);
    /// @notice A run's contribution window (`window` seconds) must lie in [`min`, `max`] and end
    /// before the study does.
    error StudyInvalidRunWindow(uint64 window, uint64 min, uint64 max);
    /// @notice A run needs at least `min` aggregation servers (active keyholders); there are `active`.
    error StudyNotEnoughServers(uint256 active, uint256 min);
    /// @notice Study `studyId` has no run `runId`.
    error StudyUnknownRun(StudyId studyId, uint32 runId);
    /// @notice Run `runId` of study `studyId` took contributions until `deadline`.
    error StudyRunClosed(StudyId studyId, uint32 runId, uint64 deadline);
    /// @notice Run `runId` of study `studyId` takes contributions until `deadline` and only
    /// `contributions` of its custodians have contributed: its sums cannot be published yet.
    error StudyRunStillOpen(StudyId studyId, uint32 runId, uint64 deadline, uint8 contributions);
    /// @notice `account` may not read or contribute for study `studyId`: it must be an ACTIVE
    /// practitioner with the RESEARCHER role at one of the study's custodians (it is of `orgId`).
    error StudyNotCustodian(StudyId studyId, address account, uint32 orgId);
    /// @notice Custodian `orgId` already contributed to run `runId` of study `studyId`.
    error StudyAlreadyContributed(StudyId studyId, uint32 runId, uint32 orgId);
    /// @notice A contribution carries one non-zero commitment per server: `expected`, not `given`.
    error StudyInvalidCommitments(uint256 given, uint256 expected);
    /// @notice `account` is not the signing account of keyholder `keyholderId`, or that keyholder
    /// is not an aggregation server of run `runId` of study `studyId`.
    error StudyNotServer(StudyId studyId, uint32 runId, uint32 keyholderId, address account);
    /// @notice Keyholder `keyholderId` already published its sum-share for run `runId` of `studyId`.
    error StudySumShareExists(StudyId studyId, uint32 runId, uint32 keyholderId);
    /// @notice Only `contributions` custodians contributed to run `runId` of study `studyId`;
    /// `minCustodians` are needed for any release.
    error StudyTooFewContributions(StudyId studyId, uint32 runId, uint8 contributions, uint8 minCustodians);
    /// @notice A sum-share must cover exactly the run's contributors: their digest is `expected`,
    /// the server summed `given`.
    error StudyContributorsMismatch(StudyId studyId, uint32 runId, bytes32 expected, bytes32 given);
    /// @notice Only `published` of the run's `servers` aggregation servers published their sum-share.
    error StudySumSharesMissing(StudyId studyId, uint32 runId, uint8 published, uint256 servers);
    /// @notice Run `runId` of study `studyId` already has the result digest `resultDigest`.
    error StudyResultExists(StudyId studyId, uint32 runId, bytes32 resultDigest);
    /// @notice A digest or commitment (`field`) was zero.
    error StudyZeroValue(string field);
    /// @notice A constructor address (`which`) was zero, not a contract, or wired to another directory.
    error StudyInvalidAddress(string which);

    // ───────────────────────────── events ─────────────────────────────

    /// @notice A researcher registered a study; `params` are exactly what is stored (with the
    /// custodian list) and `salt` gives the id: studyIdFor(researcher, salt).
    event StudyRegistered(
        StudyId indexed studyId,
        address indexed researcher,
        uint32 indexed researchOrg,
        StudyParams params,
        bytes32 salt
    );
    /// @notice `approver`, an active member of ethics board `boardOrg`, approved the study;
    /// `approvalDigest` is the sha256 of the board's decision document.
    event StudyApproved(
        StudyId indexed studyId,
        uint32 indexed boardOrg,
        address indexed approver,
        bytes32 approvalDigest
    );
    /// @notice The study was closed (by its researcher or its approving board) at `closedAt`.
    event StudyClosed(StudyId indexed studyId, address indexed by, uint64 closedAt);
    /// @notice A run opened: custodians contribute until `deadline`, sharing to `servers`
    /// (keyholder ids, the active set at membership epoch `keyholderEpoch`) in this order.
    event RunOpened(
        StudyId indexed studyId,
        uint32 indexed runId,
        address indexed opener,
        uint64 deadline,
        uint64 keyholderEpoch,
        uint32[] servers
    );
    /// @notice Custodian `custodianOrg` contributed to a run: `contributor` read `subjects`
    /// consenting patients (their reads are in the RecordRegistry's access log) and committed to
    /// one sealed share per server (`commitments[i]` for the run's `servers[i]`).
    event ContributionCommitted(
        StudyId indexed studyId,
        uint32 indexed runId,
        uint32 indexed custodianOrg,
        address contributor,
        uint32 subjects,
        bytes32[] commitments
    );
    /// @notice Aggregation server `keyholderId` published the commitment to its sum-share over the
    /// contributors whose digest is `contributorsDigest` (see {contributorsDigest}).
    event SumSharePublished(
        StudyId indexed studyId,
        uint32 indexed runId,
        uint32 indexed keyholderId,
        bytes32 commitment,
        bytes32 contributorsDigest
    );
    /// @notice The researcher anchored the digest of the released (suppressed) result of a run.
    event ResultPublished(
        StudyId indexed studyId,
        uint32 indexed runId,
        address indexed researcher,
        bytes32 resultDigest
    );

    // ───────────────────────────── studies ─────────────────────────────

    /// @notice Registers a study (not yet approved: nothing may be read for it).
    /// @param salt any 32 bytes; the study's id is studyIdFor(msg.sender, salt)
    /// @param params the study (see {StudyParams})
    /// @return studyId the new study's id
    /// @dev Requirements:
    /// - the caller is an ACTIVE practitioner with the RESEARCHER role at a RESEARCH_INSTITUTE;
    /// - no study has the id; digests are non-zero; `purpose` is HRESCH or CLINTRCH; `categories`
    ///   is non-zero; `cells` is 1..MAX_CELLS; `minCellSize` ≥ MIN_CELL_SIZE; `minCustodians` is
    ///   MIN_CUSTODIANS..custodians; `maxRuns` ≥ 1; `epsilonMilli` ≤ MAX_EPSILON_MILLI; the window
    ///   ends after it starts and in the future;
    /// - `custodians` holds 1..MAX_CUSTODIANS admitted hospitals or labs, strictly ascending.
    ///
    /// Emits a {StudyRegistered} event.
    function registerStudy(bytes32 salt, StudyParams calldata params) external returns (StudyId studyId);

    /// @notice Approves a study on behalf of an independent ethics board.
    /// @param studyId the study
    /// @param approvalDigest sha256 of the board's decision document (non-zero)
    /// @dev Requirements:
    /// - the caller is an ACTIVE practitioner of an ETHICS_BOARD organization (a board is never
    ///   the researcher's organization nor a custodian: those are other kinds);
    /// - the study exists, is neither approved nor closed, and has not ended.
    ///
    /// Emits a {StudyApproved} event.
    function approveStudy(StudyId studyId, bytes32 approvalDigest) external;

    /// @notice Closes a study for ever: no run, read, contribution or sum-share after this.
    /// @param studyId the study
    /// @dev Requirements:
    /// - the study exists and is not closed;
    /// - the caller is its researcher, or an ACTIVE member of the ethics board that approved it.
    ///
    /// Emits a {StudyClosed} event.
    function closeStudy(StudyId studyId) external;

    // ─────────────────────────────── runs ───────────────────────────────

    /// @notice Opens the next run of a study; the active keyholders become its aggregation servers.
    /// @param studyId the study
    /// @param contributionWindow seconds custodians have to contribute (MIN_RUN_WINDOW..MAX_RUN_WINDOW)
    /// @return runId the run's number (1, 2, …)
    /// @dev Requirements:
    /// - the caller is the study's researcher, still ACTIVE; the approving board is not suspended;
    /// - the study is approved, not closed, inside its window, and the deadline falls before it ends;
    /// - fewer than `maxRuns` runs were opened; at least MIN_SERVERS keyholders are active.
    ///
    /// Emits a {RunOpened} event.
    function openRun(StudyId studyId, uint64 contributionWindow) external returns (uint32 runId);

    /// @notice A custodian commits to its contribution to a run: one commitment per aggregation
    /// server to the share sealed to it (the SDK's format: sha256 over the share and a salt).
    /// @param studyId the study
    /// @param runId the run
    /// @param subjects how many consenting patients the custodian read and evaluated for the run
    /// @param commitments one non-zero commitment per server, in the run's server order
    /// @dev Requirements:
    /// - the study is active as for {openRun}; the run exists and its deadline has not passed;
    /// - the caller is an ACTIVE practitioner with the RESEARCHER role at one of the study's
    ///   custodians, which has not contributed to this run yet.
    ///
    /// Emits a {ContributionCommitted} event.
    function commitContribution(
        StudyId studyId,
        uint32 runId,
        uint32 subjects,
        bytes32[] calldata commitments
    ) external;

    /// @notice An aggregation server publishes the commitment to its sum-share of a run.
    /// @param studyId the study
    /// @param runId the run
    /// @param keyholderId the server (one of the run's servers)
    /// @param commitment the commitment to its sum-share (non-zero)
    /// @param digest the contributors it summed: must equal {contributorsDigest}
    /// @dev Requirements:
    /// - the caller is the signing account of keyholder `keyholderId`, a server of the run, which
    ///   has not published yet;
    /// - the study is not closed; the run's deadline has passed or every custodian contributed;
    /// - at least `minCustodians` custodians contributed.
    ///
    /// Emits a {SumSharePublished} event.
    function publishSumShare(
        StudyId studyId,
        uint32 runId,
        uint32 keyholderId,
        bytes32 commitment,
        bytes32 digest
    ) external;

    /// @notice The researcher anchors the digest of the released result of a run.
    /// @param studyId the study
    /// @param runId the run
    /// @param resultDigest sha256 of the released result (the SDK's canonical form; non-zero)
    /// @dev Requirements:
    /// - the caller is the study's researcher;
    /// - every server of the run published its sum-share; the run has no result digest yet.
    ///
    /// Emits a {ResultPublished} event.
    function publishResult(StudyId studyId, uint32 runId, bytes32 resultDigest) external;

    // ─────────────────────────────── views ───────────────────────────────

    /// @notice What a study read by `reader` may cover, for {IRecordRegistry-accessForStudy} and
    /// for the keyholders' release-time check; reverts with the reason when `reader` may not read.
    /// @param studyId the study
    /// @param runId the run the read is for (ANY_RUN: skip the run's deadline, as at key release)
    /// @param reader the reading account
    /// @return purpose the study's purpose
    /// @return categories the study's categories
    /// @return researchOrg the researcher's organization (the grantee research consents name)
    /// @return readerOrg the reader's organization (a custodian: it reads only its own records)
    function studyAccessTerms(
        StudyId studyId,
        uint32 runId,
        address reader
    ) external view returns (uint8 purpose, uint16 categories, uint32 researchOrg, uint32 readerOrg);

    /// @notice A study as stored (reverts with {StudyUnknown}).
    function getStudy(StudyId studyId) external view returns (StudyState memory);

    /// @notice A study's custodian organizations, ascending.
    function studyCustodians(StudyId studyId) external view returns (uint32[] memory);

    /// @notice Whether `orgId` is a custodian of the study.
    function isCustodian(StudyId studyId, uint32 orgId) external view returns (bool);

    /// @notice A run as stored (reverts with {StudyUnknownRun}).
    function getRun(StudyId studyId, uint32 runId) external view returns (RunState memory);

    /// @notice A custodian's contribution to a run (zeros if none): who, when, for how many
    /// patients, and keccak256(abi.encode(commitments)).
    function getContribution(
        StudyId studyId,
        uint32 runId,
        uint32 orgId
    ) external view returns (address contributor, uint64 committedAt, uint32 subjects, bytes32 commitmentsHash);

    /// @notice A server's sum-share commitment for a run (zeros if not published).
    function getSumShare(
        StudyId studyId,
        uint32 runId,
        uint32 keyholderId
    ) external view returns (bytes32 commitment, uint64 publishedAt);

    /// @notice keccak256(abi.encode(contributors)) of a run: the custodian organizations that
    /// contributed, in the order they did (what every sum-share must cover).
    function contributorsDigest(StudyId studyId, uint32 runId) external view returns (bytes32);

    /// @notice The id `researcher` obtains by registering with `salt`.
    function studyIdFor(address researcher, bytes32 salt) external pure returns (StudyId);

    /// @notice The participant directory consulted.
    function directory() external view returns (address);

    /// @notice The keyholder registry whose active keyholders serve as aggregation servers.
    function keyholderRegistry() external view returns (address);

    /// @notice The contract's semantic version.
    function version() external pure returns (string memory);
}
