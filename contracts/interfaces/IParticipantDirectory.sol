// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessorStatus, OrgKind, SubjectId} from "../libraries/MedLedgerTypes.sol";
import {IMigratable} from "./IMigratable.sol";

/// @title Participant directory
/// @notice Who takes part in a MedLedger consortium: organizations admitted by consortium
/// governance, practitioners enrolled by their organization's admin, and patients identified by a
/// subject id that only their registrant can claim, controlled by a rotatable key, with guardians
/// and M-of-N recovery. Participants register X25519 encryption public keys with a version; any
/// account (a guardian, a patient's app) may register its own.
/// @dev No personal data is stored: only ids, addresses, codes, timestamps and public keys.
/// Roles: `GOVERNANCE_ROLE` (a timelock or multisig) admits, suspends and reinstates; the
/// `SECURITY_COUNCIL_ROLE` may only suspend an organization or bar a practitioner, at once (lifting
/// either goes through governance); `DEFAULT_ADMIN_ROLE` manages who holds both.
interface IParticipantDirectory is IMigratable {
    // ───────────────────────────── errors ─────────────────────────────

    /// @notice `orgId` is not an admitted organization.
    error DirectoryUnknownOrganization(uint32 orgId);
    /// @notice `caller` is not the admin of organization `orgId`.
    error DirectoryNotOrganizationAdmin(uint32 orgId, address caller);
    /// @notice `caller` holds neither GOVERNANCE_ROLE nor SECURITY_COUNCIL_ROLE.
    error DirectoryNotGovernanceOrCouncil(address caller);
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
    /// @notice No practitioner has the id `practitionerId`.
    error DirectoryUnknownPractitionerId(uint32 practitionerId);
    /// @notice Practitioner `account` is already in the requested suspension state.
    error DirectoryPractitionerStatusUnchanged(address account, bool suspended);
    /// @notice Practitioner `account` is already in the requested bar state.
    error DirectoryPractitionerBarUnchanged(address account, bool barred);
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
    /// @notice `powers` is not a valid guardian power mask.
    error DirectoryInvalidPowers(uint8 powers);
    /// @notice The guardian cannot be the subject's own controller.
    error DirectoryGuardianIsController(SubjectId subject, address guardian);
    /// @notice The recovery threshold `threshold` is invalid (must be 0..MAX_RECOVERY_THRESHOLD).
    error DirectoryInvalidThreshold(uint8 threshold);
    /// @notice Recovery of `subject` needs `threshold` approvals; `provided` approvers were given.
    error DirectoryRecoveryThresholdNotMet(SubjectId subject, uint8 threshold, uint256 provided);
    /// @notice `subject` has no recovery threshold set, so guardians cannot recover it.
    error DirectoryRecoveryDisabled(SubjectId subject);
    /// @notice Approvers must be given in strictly ascending order without duplicates.
    error DirectoryApproversNotSorted(address approver);
    /// @notice `approver` did not approve recovery of `subject` to `newController` in this epoch
    /// under its current appointment (an approval is void once the guardian's appointment changes).
    error DirectoryRecoveryNotApproved(SubjectId subject, address approver, address newController);
    /// @notice An imported value (`field`) does not fit the state being rebuilt.
    error DirectoryInvalidImport(string field);

    // ───────────────────────────── events ─────────────────────────────

    /// @notice Governance admitted (or the migrator imported) an organization.
    /// @param orgId the organization's id (sequential from 1)
    /// @param kind what kind of organization it is
    /// @param admin the account that administers it
    /// @param encryptionKey its X25519 public key
    /// @param keyVersion the key's version (1 when admitted)
    event OrganizationAdmitted(
        uint32 indexed orgId,
        OrgKind kind,
        address indexed admin,
        bytes32 encryptionKey,
        uint32 keyVersion
    );
    /// @notice An organization was suspended (true) or reinstated (false) by `by` (governance,
    /// the security council, or the migrator).
    event OrganizationStatusChanged(uint32 indexed orgId, bool suspended, address indexed by);
    /// @notice An organization's admin account changed.
    event OrganizationAdminChanged(uint32 indexed orgId, address indexed previousAdmin, address indexed newAdmin);
    /// @notice An organization registered a new encryption key.
    event OrganizationKeyRotated(uint32 indexed orgId, bytes32 encryptionKey, uint32 keyVersion);

    /// @notice An organization enrolled (or the migrator imported) a practitioner.
    /// @param practitionerId the practitioner's compact id (sequential from 1), used by consents
    event PractitionerEnrolled(
        address indexed account,
        uint32 indexed orgId,
        uint32 practitionerId,
        uint8 roles,
        uint64 credentialValidUntil,
        bytes32 encryptionKey,
        uint32 keyVersion
    );
    /// @notice A practitioner's roles or credential expiry changed.
    event PractitionerUpdated(address indexed account, uint32 indexed orgId, uint8 roles, uint64 credentialValidUntil);
    /// @notice Their organization's admin suspended (true) or reinstated (false) a practitioner.
    event PractitionerStatusChanged(address indexed account, uint32 indexed orgId, bool suspended);
    /// @notice Governance or the security council barred (true), or governance lifted the bar
    /// (false) on, a practitioner. A barred practitioner is SUSPENDED whatever its organization says.
    event PractitionerBarred(address indexed account, uint32 indexed orgId, bool barred, address indexed by);
    /// @notice A practitioner registered a new encryption key.
    event PractitionerKeyRotated(address indexed account, bytes32 encryptionKey, uint32 keyVersion);
    /// @notice An account (a guardian, a patient's app) registered its own encryption key.
    event AccountKeyRegistered(address indexed account, bytes32 encryptionKey, uint32 keyVersion);

    /// @notice A patient (subject) was registered.
    /// @param subject keccak256(abi.encode(registeredBy, salt)); for an imported 1.0 subject its
    /// existing id, with `registeredBy` the migrator and `salt` zero
    /// @param salt the registrant's salt
    event PatientRegistered(
        SubjectId indexed subject,
        address indexed controller,
        address indexed registeredBy,
        bytes32 salt,
        bytes32 encryptionKey,
        uint32 keyVersion
    );
    /// @notice Control of `subject` moved to `newController` (rotation, or recovery by guardians).
    /// @param epoch the recovery epoch after the change (every pending approval is void)
    event ControllerChanged(
        SubjectId indexed subject,
        address indexed previousController,
        address indexed newController,
        bool byRecovery,
        uint32 epoch
    );
    /// @notice A patient registered a new encryption key.
    event PatientKeyRotated(SubjectId indexed subject, bytes32 encryptionKey, uint32 keyVersion);
    /// @notice A guardian was appointed, changed or removed (`powers` 0).
    /// @param appointment the guardian's appointment number for this subject, moved on by every
    /// change; recovery approvals given under an earlier appointment are void
    event GuardianSet(
        SubjectId indexed subject,
        address indexed guardian,
        uint8 powers,
        uint64 validUntil,
        uint32 appointment
    );
    /// @notice The number of guardian approvals needed for recovery changed (0: recovery disabled).
    event RecoveryThresholdSet(SubjectId indexed subject, uint8 threshold);
    /// @notice A guardian approved moving control of `subject` to `newController` in `epoch`,
    /// under its appointment number `appointment`.
    event RecoveryApproved(
        SubjectId indexed subject,
        address indexed guardian,
        address indexed newController,
        uint32 epoch,
        uint32 appointment
    );
    /// @notice Every pending recovery approval was cancelled (the epoch moved on to `epoch`).
    event RecoveryCancelled(SubjectId indexed subject, uint32 epoch);

    // ──────────────────────────── governance ────────────────────────────

    /// @notice Admits an organization.
    /// @param kind what kind of organization (not NONE)
    /// @param admin the account that will administer it (one organization per admin account)
    /// @param encryptionKey its X25519 public key (version 1)
    /// @return orgId the new organization's id (sequential from 1)
    /// @dev Requirements:
    /// - the caller holds GOVERNANCE_ROLE;
    /// - `kind` is not NONE, `admin` is not zero and administers no other organization;
    /// - `encryptionKey` is not zero.
    ///
    /// Emits an {OrganizationAdmitted} event.
    function admitOrganization(OrgKind kind, address admin, bytes32 encryptionKey) external returns (uint32 orgId);

    /// @notice Suspends an organization: from this block none of its members passes a consent
    /// check, anchors, breaks the glass or reviews, and its admin can neither enroll nor register.
    /// @param orgId the organization to suspend
    /// @dev Requirements:
    /// - the caller holds GOVERNANCE_ROLE or SECURITY_COUNCIL_ROLE (the council acts at once; only
    ///   governance can lift the suspension);
    /// - `orgId` exists and is not suspended.
    ///
    /// Emits an {OrganizationStatusChanged} event.
    function suspendOrganization(uint32 orgId) external;

    /// @notice Lifts an organization's suspension.
    /// @param orgId the organization to reinstate
    /// @dev Requirements:
    /// - the caller holds GOVERNANCE_ROLE;
    /// - `orgId` exists and is suspended.
    ///
    /// Emits an {OrganizationStatusChanged} event.
    function reinstateOrganization(uint32 orgId) external;

    /// @notice Replaces an organization's admin.
    /// @param orgId the organization
    /// @param newAdmin the new admin account
    /// @dev Requirements:
    /// - the caller holds GOVERNANCE_ROLE or is the organization's current admin;
    /// - `orgId` exists; `newAdmin` is not zero and administers no organization.
    ///
    /// Emits an {OrganizationAdminChanged} event.
    function setOrganizationAdmin(uint32 orgId, address newAdmin) external;

    /// @notice Registers a new encryption key for an organization (version + 1).
    /// @param orgId the organization
    /// @param encryptionKey the new X25519 public key
    /// @dev Requirements:
    /// - the caller is the organization's admin;
    /// - `encryptionKey` is not zero.
    ///
    /// Emits an {OrganizationKeyRotated} event.
    function rotateOrganizationKey(uint32 orgId, bytes32 encryptionKey) external;

    /// @notice Bars a practitioner at once, whatever its organization's admin does: it is SUSPENDED
    /// for every check until governance lifts the bar. The remedy for a rogue organization that
    /// enrolls puppets, next to {suspendOrganization}.
    /// @param account the practitioner
    /// @dev Requirements:
    /// - the caller holds GOVERNANCE_ROLE or SECURITY_COUNCIL_ROLE;
    /// - `account` is an enrolled practitioner that is not barred.
    ///
    /// Emits a {PractitionerBarred} event.
    function barPractitioner(address account) external;

    /// @notice Lifts a practitioner's bar.
    /// @param account the practitioner
    /// @dev Requirements:
    /// - the caller holds GOVERNANCE_ROLE;
    /// - `account` is a barred practitioner.
    ///
    /// Emits a {PractitionerBarred} event.
    function liftPractitionerBar(address account) external;

    // ─────────────────────────── practitioners ───────────────────────────

    /// @notice Enrolls `account` as a practitioner of `orgId`.
    /// @param orgId the organization
    /// @param account the practitioner's account (one organization per practitioner, for ever)
    /// @param roles a non-empty mask of Codes.ROLE_*
    /// @param credentialValidUntil when the practitioner's credential expires (in the future)
    /// @param encryptionKey the practitioner's X25519 public key (version 1)
    /// @return practitionerId the practitioner's compact id (sequential from 1), used by consents
    /// @dev Requirements:
    /// - the caller is the organization's admin and the organization is not suspended;
    /// - `account` is not zero and not enrolled;
    /// - `roles` is valid, `credentialValidUntil` is in the future, `encryptionKey` is not zero.
    ///
    /// Emits a {PractitionerEnrolled} event.
    function enrollPractitioner(
        uint32 orgId,
        address account,
        uint8 roles,
        uint64 credentialValidUntil,
        bytes32 encryptionKey
    ) external returns (uint32 practitionerId);

    /// @notice Changes a practitioner's roles and credential expiry.
    /// @param account the practitioner
    /// @param roles a non-empty mask of Codes.ROLE_*
    /// @param credentialValidUntil the new credential expiry (in the future)
    /// @dev Requirements:
    /// - the caller is the admin of the practitioner's organization;
    /// - `roles` is valid and `credentialValidUntil` is in the future.
    ///
    /// Emits a {PractitionerUpdated} event.
    function updatePractitioner(address account, uint8 roles, uint64 credentialValidUntil) external;

    /// @notice Suspends a practitioner.
    /// @param account the practitioner
    /// @dev Requirements:
    /// - the caller is the admin of the practitioner's organization;
    /// - the practitioner is not suspended by its organization.
    ///
    /// Emits a {PractitionerStatusChanged} event.
    function suspendPractitioner(address account) external;

    /// @notice Lifts a suspension by the practitioner's organization (not a bar by governance).
    /// @param account the practitioner
    /// @dev Requirements:
    /// - the caller is the admin of the practitioner's organization;
    /// - the practitioner is suspended by its organization.
    ///
    /// Emits a {PractitionerStatusChanged} event.
    function reinstatePractitioner(address account) external;

    /// @notice The calling practitioner registers a new encryption key (version + 1).
    /// @param encryptionKey the new X25519 public key
    /// @dev Requirements:
    /// - the caller is an enrolled practitioner; `encryptionKey` is not zero.
    ///
    /// Emits a {PractitionerKeyRotated} event.
    function rotatePractitionerKey(bytes32 encryptionKey) external;

    // ───────────────────────────── accounts ─────────────────────────────

    /// @notice The calling account registers (or replaces) its own encryption key (version + 1), so
    /// that it can receive key material: a guardian with the ACCESS power receives key shares
    /// wrapped to this key.
    /// @param encryptionKey the X25519 public key
    /// @dev Requirements:
    /// - `encryptionKey` is not zero.
    ///
    /// Emits an {AccountKeyRegistered} event.
    function registerAccountKey(bytes32 encryptionKey) external;

    // ───────────────────────────── patients ─────────────────────────────

    /// @notice Registers a patient. The subject id is derived from the caller and `salt`, so nobody
    /// can front-run a registration and claim the id: see {subjectIdFor}.
    /// @param salt 32 random bytes chosen by the registrant
    /// @param controller the patient's key (every power over the subject)
    /// @param encryptionKey the patient's X25519 public key (version 1)
    /// @return subject keccak256(abi.encode(msg.sender, salt))
    /// @dev Requirements:
    /// - the caller is `controller` itself or the admin of an active organization (a sponsor);
    /// - `controller` is not zero and `encryptionKey` is not zero;
    /// - the derived subject is not registered.
    ///
    /// Emits a {PatientRegistered} event.
    function registerPatient(
        bytes32 salt,
        address controller,
        bytes32 encryptionKey
    ) external returns (SubjectId subject);

    /// @notice The controller hands control to a new key. Cancels pending recoveries.
    /// @param subject the subject
    /// @param newController the new controller (drops its guardianship, if any)
    /// @dev Requirements:
    /// - the caller is the subject's controller; `newController` is not zero.
    ///
    /// Emits a {ControllerChanged} event (and a {GuardianSet} event if `newController` was a guardian).
    function rotateController(SubjectId subject, address newController) external;

    /// @notice The controller registers a new encryption key for the subject (version + 1).
    /// @param subject the subject
    /// @param encryptionKey the new X25519 public key
    /// @dev Requirements:
    /// - the caller is the subject's controller; `encryptionKey` is not zero.
    ///
    /// Emits a {PatientKeyRotated} event.
    function rotatePatientKey(SubjectId subject, bytes32 encryptionKey) external;

    /// @notice The controller appoints, changes or removes (`powers` 0) a guardian. Every call moves
    /// the guardian's appointment number on, which voids its pending recovery approvals.
    /// @param subject the subject
    /// @param guardian the guardian's account (not the controller)
    /// @param powers a mask of Codes.POWER_* (0: remove)
    /// @param validUntil when the guardianship expires (0: never; otherwise in the future)
    /// @dev Requirements:
    /// - the caller is the subject's controller;
    /// - `guardian` is neither zero nor the controller; `powers` is valid.
    ///
    /// Emits a {GuardianSet} event.
    function setGuardian(SubjectId subject, address guardian, uint8 powers, uint64 validUntil) external;

    /// @notice The controller sets how many guardian approvals recover control (0 disables
    /// recovery). Pending approvals are cancelled (the epoch moves on).
    /// @param subject the subject
    /// @param threshold 0..MAX_RECOVERY_THRESHOLD
    /// @dev Requirements:
    /// - the caller is the subject's controller; `threshold` is within range.
    ///
    /// Emits a {RecoveryThresholdSet} event and a {RecoveryCancelled} event.
    function setRecoveryThreshold(SubjectId subject, uint8 threshold) external;

    /// @notice A guardian with the RECOVER power approves moving control to `newController`. The
    /// approval holds for the current epoch and the guardian's current appointment only.
    /// @param subject the subject
    /// @param newController the proposed controller
    /// @dev Requirements:
    /// - recovery is enabled for the subject;
    /// - the caller holds an unexpired guardianship with RECOVER; `newController` is not zero.
    ///
    /// Emits a {RecoveryApproved} event.
    function approveRecovery(SubjectId subject, address newController) external;

    /// @notice Completes a recovery. Anyone may call.
    /// @param subject the subject
    /// @param newController the controller the approvers approved
    /// @param approvers ascending, each a current RECOVER guardian whose approval of
    /// `newController` was given in this epoch under its current appointment
    /// @dev Requirements:
    /// - recovery is enabled and `approvers` reach the threshold, all valid as above.
    ///
    /// Emits a {ControllerChanged} event.
    function executeRecovery(SubjectId subject, address newController, address[] calldata approvers) external;

    /// @notice The controller discards every pending recovery approval (the epoch moves on).
    /// @param subject the subject
    /// @dev Requirements:
    /// - the caller is the subject's controller.
    ///
    /// Emits a {RecoveryCancelled} event.
    function cancelRecovery(SubjectId subject) external;

    // ──────────────────────────── migration ────────────────────────────

    /// @notice Imports an organization of an earlier deployment with its id.
    /// @param orgId its id in the earlier deployment: must be the next id (imports go in order)
    /// @param kind its kind
    /// @param admin its admin
    /// @param encryptionKey its current key
    /// @param keyVersion its current key version (≥ 1)
    /// @param suspended whether it is suspended
    /// @dev Requirements: the caller is the migrator and the migration is not sealed; the values
    /// are valid as for {admitOrganization}.
    ///
    /// Emits an {OrganizationAdmitted} event, and an {OrganizationStatusChanged} event if suspended.
    function importOrganization(
        uint32 orgId,
        OrgKind kind,
        address admin,
        bytes32 encryptionKey,
        uint32 keyVersion,
        bool suspended
    ) external;

    /// @notice Imports a practitioner of an earlier deployment (its credential may have expired).
    /// @param account the practitioner's account
    /// @param orgId its organization (already imported)
    /// @param roles its roles
    /// @param credentialValidUntil its credential expiry
    /// @param suspended whether its organization suspended it
    /// @param encryptionKey its current key
    /// @param keyVersion its current key version (≥ 1)
    /// @return practitionerId its new compact id
    /// @dev Requirements: the caller is the migrator and the migration is not sealed; the values
    /// are valid as for {enrollPractitioner} except the expiry.
    ///
    /// Emits a {PractitionerEnrolled} event, and a {PractitionerStatusChanged} event if suspended.
    function importPractitioner(
        address account,
        uint32 orgId,
        uint8 roles,
        uint64 credentialValidUntil,
        bool suspended,
        bytes32 encryptionKey,
        uint32 keyVersion
    ) external returns (uint32 practitionerId);

    /// @notice Imports a patient of an earlier deployment under its existing subject id.
    /// @param subject its existing (random, 1.0) subject id
    /// @param controller its controller
    /// @param encryptionKey its current key
    /// @param keyVersion its current key version (≥ 1)
    /// @param recoveryThreshold its recovery threshold
    /// @param epoch its recovery epoch
    /// @dev Requirements: the caller is the migrator and the migration is not sealed; `subject` is
    /// not zero and not registered; the values are valid as for {registerPatient}.
    ///
    /// Emits a {PatientRegistered} event (registeredBy: the migrator, salt: zero), and
    /// {RecoveryThresholdSet} and {RecoveryCancelled} events when the threshold or epoch is not zero.
    function importPatient(
        SubjectId subject,
        address controller,
        bytes32 encryptionKey,
        uint32 keyVersion,
        uint8 recoveryThreshold,
        uint32 epoch
    ) external;

    /// @notice Imports a guardian of an imported patient.
    /// @param subject the subject (already imported)
    /// @param guardian the guardian
    /// @param powers its powers (not 0)
    /// @param validUntil its expiry (0: never; may be past)
    /// @dev Requirements: the caller is the migrator and the migration is not sealed; `guardian` is
    /// neither zero nor the controller; `powers` is a valid non-empty mask.
    ///
    /// Emits a {GuardianSet} event.
    function importGuardian(SubjectId subject, address guardian, uint8 powers, uint64 validUntil) external;

    // ─────────────────────────────── views ───────────────────────────────

    /// @notice The status of `account` as an accessor, with its organization, roles and compact id.
    /// @return status ACTIVE, or why not
    /// @return orgId its organization (0 if not a practitioner)
    /// @return roles its roles
    /// @return practitionerId its compact id (0 if not a practitioner)
    function accessorStatus(
        address account
    ) external view returns (AccessorStatus status, uint32 orgId, uint8 roles, uint32 practitionerId);

    /// @notice Whether `account` may act for `subject` with `power`: the controller holds every
    /// power; a guardian holds the powers it was given, until they expire.
    function actsFor(SubjectId subject, address account, uint8 power) external view returns (bool);

    /// @notice The subject's controller (zero if not registered).
    function controllerOf(SubjectId subject) external view returns (address);

    /// @notice The subject id `registrant` obtains by registering with `salt`.
    function subjectIdFor(address registrant, bytes32 salt) external pure returns (SubjectId);

    /// @notice An organization's kind, admin, suspension state and encryption key (reverts if unknown).
    function getOrganization(
        uint32 orgId
    ) external view returns (OrgKind kind, address admin, bool suspended, bytes32 encryptionKey, uint32 keyVersion);

    /// @notice A practitioner's id, organization, roles, credential expiry, suspension, bar and key
    /// (reverts if unknown).
    function getPractitioner(
        address account
    )
        external
        view
        returns (
            uint32 practitionerId,
            uint32 orgId,
            uint8 roles,
            uint64 credentialValidUntil,
            bool suspended,
            bool barred,
            bytes32 encryptionKey,
            uint32 keyVersion
        );

    /// @notice The account of the practitioner with compact id `practitionerId` (reverts if unknown).
    function practitionerAccount(uint32 practitionerId) external view returns (address);

    /// @notice The compact id of practitioner `account` (0 if not enrolled).
    function practitionerIdOf(address account) external view returns (uint32);

    /// @notice A patient's controller, key, recovery threshold and epoch (reverts if unknown).
    function getPatient(
        SubjectId subject
    )
        external
        view
        returns (address controller, bytes32 encryptionKey, uint32 keyVersion, uint8 recoveryThreshold, uint32 epoch);

    /// @notice A guardian's powers, expiry and appointment number (powers 0: none).
    function getGuardian(
        SubjectId subject,
        address guardian
    ) external view returns (uint8 powers, uint64 validUntil, uint32 appointment);

    /// @notice Whether `guardian`'s approval of `newController` for `subject` counts now (given in
    /// this epoch, under the guardian's current appointment, which still holds RECOVER).
    function recoveryApproved(SubjectId subject, address guardian, address newController) external view returns (bool);

    /// @notice The encryption key an account registered for itself (zero, 0 if none).
    function getAccountKey(address account) external view returns (bytes32 encryptionKey, uint32 keyVersion);

    /// @notice The number of organizations admitted so far (ids are 1..count).
    function organizationCount() external view returns (uint32);

    /// @notice The number of practitioners enrolled so far (compact ids are 1..count).
    function practitionerCount() external view returns (uint32);

    /// @notice The contract's semantic version.
    function version() external pure returns (string memory);
}
