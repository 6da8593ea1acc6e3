// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessorStatus, OrgKind, SubjectId} from "../libraries/MedLedgerTypes.sol";

/// @title Participant directory
/// @notice Who takes part in a MedLedger consortium: organizations admitted by consortium
/// governance, practitioners enrolled by their organization's admin, and patients identified by a
/// random subject id controlled by a rotatable key, with guardians and M-of-N recovery. Every
/// participant registers an X25519 encryption public key with a version.
/// @dev No personal data is stored: only ids, addresses, codes, timestamps and public keys.
interface IParticipantDirectory {
    // ───────────────────────────── errors ─────────────────────────────

    /// @notice `orgId` is not an admitted organization.
    error DirectoryUnknownOrganization(uint32 orgId);
    /// @notice `caller` is not the admin of organization `orgId`.
    error DirectoryNotOrganizationAdmin(uint32 orgId, address caller);
    /// @notice `admin` already administers organization `orgId` (one organization per admin account).
    error DirectoryAdminInUse(address admin, uint32 orgId);
    /// @notice Organization `orgId` is suspended and cannot act.
    error DirectoryOrganizationSuspended(uint32 orgId);
    /// @notice Organization `orgId` is already in the requested state.
    error DirectoryOrganizationStatusUnchanged(uint32 orgId, bool suspended);
    /// @notice `account` is already enrolled as a practitioner (of `orgId`).
    error DirectoryPractitionerExists(address account, uint32 orgId);
    /// @notice `account` is not an enrolled practitioner.
    error DirectoryUnknownPractitioner(address account);
    /// @notice Practitioner `account` is already in the requested state.
    error DirectoryPractitionerStatusUnchanged(address account, bool suspended);
    /// @notice `roles` is not a valid non-empty role mask.
    error DirectoryInvalidRoles(uint8 roles);
    /// @notice The credential expiry `validUntil` is not in the future (now: `nowTime`).
    error DirectoryInvalidCredentialExpiry(uint64 validUntil, uint64 nowTime);
    /// @notice `kind` is not a valid organization kind.
    error DirectoryInvalidOrgKind(OrgKind kind);
    /// @notice An address argument (`which`) was zero.
    error DirectoryZeroAddress(string which);
    /// @notice An X25519 public key cannot be all zeros.
    error DirectoryInvalidEncryptionKey(bytes32 key);
    /// @notice A subject id cannot be zero.
    error DirectoryInvalidSubject(SubjectId subject);
    /// @notice `subject` is already registered.
    error DirectorySubjectExists(SubjectId subject);
    /// @notice `subject` is not registered.
    error DirectoryUnknownSubject(SubjectId subject);
    /// @notice `caller` may not register patients (neither the controller nor an active organization's admin).
    error DirectoryNotRegistrar(address caller);
    /// @notice `caller` is not the controller of `subject`.
    error DirectoryNotController(SubjectId subject, address caller);
    /// @notice `guardian` holds no unexpired guardianship of `subject` with power `power`.
    error DirectoryNotGuardian(SubjectId subject, address guardian, uint8 power);
    /// @notice `powers` is not a valid non-empty guardian power mask.
    error DirectoryInvalidPowers(uint8 powers);
    /// @notice The guardian cannot be the subject's own controller.
    error DirectoryGuardianIsController(SubjectId subject, address guardian);
    /// @notice The recovery threshold `threshold` is invalid (must be 1..MAX_GUARDIANS).
    error DirectoryInvalidThreshold(uint8 threshold);
    /// @notice Recovery of `subject` needs `threshold` approvals; `provided` valid ones were given.
    error DirectoryRecoveryThresholdNotMet(SubjectId subject, uint8 threshold, uint256 provided);
    /// @notice `subject` has no recovery threshold set, so guardians cannot recover it.
    error DirectoryRecoveryDisabled(SubjectId subject);
    /// @notice Approvers must be given in strictly ascending order without duplicates.
    error DirectoryApproversNotSorted(address approver);
    /// @notice `approver` did not approve recovery of `subject` to `newController` in this epoch.
    error DirectoryRecoveryNotApproved(SubjectId subject, address approver, address newController);

    // ───────────────────────────── events ─────────────────────────────

    /// @notice Governance admitted an organization.
    event OrganizationAdmitted(
        uint32 indexed orgId,
        OrgKind kind,
        address indexed admin,
        bytes32 encryptionKey,
        uint32 keyVersion
    );
    /// @notice An organization was suspended (true) or reinstated (false).
    event OrganizationStatusChanged(uint32 indexed orgId, bool suspended, address indexed by);
    /// @notice An organization's admin account changed.
    event OrganizationAdminChanged(uint32 indexed orgId, address indexed previousAdmin, address indexed newAdmin);
    /// @notice An organization registered a new encryption key.
    event OrganizationKeyRotated(uint32 indexed orgId, bytes32 encryptionKey, uint32 keyVersion);

    /// @notice An organization enrolled a practitioner.
    event PractitionerEnrolled(
        address indexed account,
        uint32 indexed orgId,
        uint8 roles,
        uint64 credentialValidUntil,
        bytes32 encryptionKey,
        uint32 keyVersion
    );
    /// @notice A practitioner's roles or credential expiry changed.
    event PractitionerUpdated(address indexed account, uint32 indexed orgId, uint8 roles, uint64 credentialValidUntil);
    /// @notice A practitioner was suspended (true) or reinstated (false).
    event PractitionerStatusChanged(address indexed account, uint32 indexed orgId, bool suspended);
    /// @notice A practitioner registered a new encryption key.
    event PractitionerKeyRotated(address indexed account, bytes32 encryptionKey, uint32 keyVersion);

    /// @notice A patient (subject) was registered.
    event PatientRegistered(
        SubjectId indexed subject,
        address indexed controller,
        address indexed registeredBy,
        bytes32 encryptionKey,
        uint32 keyVersion
    );
    /// @notice Control of `subject` moved to `newController` (rotation, or recovery by guardians).
    event ControllerChanged(
        SubjectId indexed subject,
        address indexed previousController,
        address indexed newController,
        bool byRecovery,
        uint32 epoch
    );
    /// @notice A patient registered a new encryption key.
    event PatientKeyRotated(SubjectId indexed subject, bytes32 encryptionKey, uint32 keyVersion);
    /// @notice A guardian was appointed or changed (`powers` 0: removed).
    event GuardianSet(SubjectId indexed subject, address indexed guardian, uint8 powers, uint64 validUntil);
    /// @notice The number of guardian approvals needed for recovery changed (0: recovery disabled).
    event RecoveryThresholdSet(SubjectId indexed subject, uint8 threshold);
    /// @notice A guardian approved moving control of `subject` to `newController` in `epoch`.
    event RecoveryApproved(
        SubjectId indexed subject,
        address indexed guardian,
        address indexed newController,
        uint32 epoch
    );
    /// @notice The controller cancelled every pending recovery approval (the epoch moved on).
    event RecoveryCancelled(SubjectId indexed subject, uint32 epoch);

    // ──────────────────────────── governance ────────────────────────────

    /// @notice Admits an organization. Only consortium governance.
    /// @return orgId the new organization's id (sequential from 1)
    function admitOrganization(OrgKind kind, address admin, bytes32 encryptionKey) external returns (uint32 orgId);

    /// @notice Suspends an organization: from this block none of its members passes a consent
    /// check, anchors or breaks the glass. Only governance.
    function suspendOrganization(uint32 orgId) external;

    /// @notice Lifts a suspension. Only governance.
    function reinstateOrganization(uint32 orgId) external;

    /// @notice Replaces an organization's admin. Governance or the current admin.
    function setOrganizationAdmin(uint32 orgId, address newAdmin) external;

    /// @notice Registers a new encryption key for an organization (version + 1). Its admin only.
    function rotateOrganizationKey(uint32 orgId, bytes32 encryptionKey) external;

    // ─────────────────────────── practitioners ───────────────────────────

    /// @notice Enrolls `account` as a practitioner of `orgId`. The organization's admin only;
    /// the organization must be active.
    function enrollPractitioner(
        uint32 orgId,
        address account,
        uint8 roles,
        uint64 credentialValidUntil,
        bytes32 encryptionKey
    ) external;

    /// @notice Changes a practitioner's roles and credential expiry. Their organization's admin only.
    function updatePractitioner(address account, uint8 roles, uint64 credentialValidUntil) external;

    /// @notice Suspends a practitioner. Their organization's admin only.
    function suspendPractitioner(address account) external;

    /// @notice Lifts a practitioner's suspension. Their organization's admin only.
    function reinstatePractitioner(address account) external;

    /// @notice The calling practitioner registers a new encryption key (version + 1).
    function rotatePractitionerKey(bytes32 encryptionKey) external;

    // ───────────────────────────── patients ─────────────────────────────

    /// @notice Registers a patient under a random subject id. Callable by `controller` itself or by
    /// the admin of an active organization (a sponsoring hospital).
    function registerPatient(SubjectId subject, address controller, bytes32 encryptionKey) external;

    /// @notice The controller hands control to a new key. Cancels pending recoveries.
    function rotateController(SubjectId subject, address newController) external;

    /// @notice The controller registers a new encryption key for the subject (version + 1).
    function rotatePatientKey(SubjectId subject, bytes32 encryptionKey) external;

    /// @notice The controller appoints (or changes) a guardian with `powers` until `validUntil`
    /// (0: no expiry). `powers` 0 removes the guardian.
    function setGuardian(SubjectId subject, address guardian, uint8 powers, uint64 validUntil) external;

    /// @notice The controller sets how many guardian approvals recover control (0 disables recovery).
    /// Pending approvals are cancelled (the epoch moves on).
    function setRecoveryThreshold(SubjectId subject, uint8 threshold) external;

    /// @notice A guardian with the RECOVER power approves moving control to `newController`.
    function approveRecovery(SubjectId subject, address newController) external;

    /// @notice Completes a recovery: `approvers` (ascending, each a current RECOVER guardian that
    /// approved `newController` in this epoch) must reach the threshold. Anyone may call.
    function executeRecovery(SubjectId subject, address newController, address[] calldata approvers) external;

    /// @notice The controller discards every pending recovery approval.
    function cancelRecovery(SubjectId subject) external;

    // ─────────────────────────────── views ───────────────────────────────

    /// @notice The status of `account` as an accessor, with its organization and roles.
    function accessorStatus(address account) external view returns (AccessorStatus status, uint32 orgId, uint8 roles);

    /// @notice Whether `account` may act for `subject` with `power`: the controller holds every
    /// power; a guardian holds the powers it was given, until they expire.
    function actsFor(SubjectId subject, address account, uint8 power) external view returns (bool);

    /// @notice The subject's controller (zero if not registered).
    function controllerOf(SubjectId subject) external view returns (address);

    /// @notice An organization's kind, admin, suspension state and encryption key.
    function getOrganization(
        uint32 orgId
    ) external view returns (OrgKind kind, address admin, bool suspended, bytes32 encryptionKey, uint32 keyVersion);

    /// @notice A practitioner's organization, roles, credential expiry, suspension and key.
    function getPractitioner(
        address account
    )
        external
        view
        returns (
            uint32 orgId,
            uint8 roles,
            uint64 credentialValidUntil,
            bool suspended,
            bytes32 encryptionKey,
            uint32 keyVersion
        );

    /// @notice A patient's controller, key, recovery threshold and epoch.
    function getPatient(
        SubjectId subject
    )
        external
        view
        returns (address controller, bytes32 encryptionKey, uint32 keyVersion, uint8 recoveryThreshold, uint32 epoch);

    /// @notice A guardian's powers and expiry (zero if none).
    function getGuardian(SubjectId subject, address guardian) external view returns (uint8 powers, uint64 validUntil);

    /// @notice The number of organizations admitted so far (ids are 1..count).
    function organizationCount() external view returns (uint32);

    /// @notice The contract's semantic version.
    function version() external pure returns (string memory);
}
