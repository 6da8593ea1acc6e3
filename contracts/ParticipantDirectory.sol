// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

import {IParticipantDirectory} from "./interfaces/IParticipantDirectory.sol";
import {AccessorStatus, Codes, MedLedgerVersion, OrgKind, SubjectId} from "./libraries/MedLedgerTypes.sol";
import {Migratable} from "./utils/Migratable.sol";

/// @title ParticipantDirectory
/// @notice See {IParticipantDirectory}.
/// @dev `GOVERNANCE_ROLE` admits, suspends and reinstates; it is meant for a TimelockController or a
/// multisig. `SECURITY_COUNCIL_ROLE` may only suspend organizations and bar practitioners, with no
/// delay. `DEFAULT_ADMIN_ROLE` manages who holds both. The deploy tool hands the roles to the
/// timelock and the deployer renounces them, so no hot key keeps any power.
contract ParticipantDirectory is IParticipantDirectory, AccessControl, Migratable {
    bytes32 public constant GOVERNANCE_ROLE = keccak256("GOVERNANCE_ROLE");
    bytes32 public constant SECURITY_COUNCIL_ROLE = keccak256("SECURITY_COUNCIL_ROLE");
    /// @notice The largest recovery threshold (M in M-of-N).
    uint8 public constant MAX_RECOVERY_THRESHOLD = 16;

    struct Organization {
        OrgKind kind;
        bool suspended;
        address admin;
        uint32 keyVersion;
    }

    struct Practitioner {
        uint32 id;
        uint32 orgId;
        uint8 roles;
        bool suspended; // by its organization's admin
        bool barred; // by governance or the security council
        uint64 credentialValidUntil;
        uint32 keyVersion;
    }

    struct Patient {
        address controller;
        uint32 keyVersion;
        uint8 recoveryThreshold;
        uint32 epoch;
    }

    struct Guardian {
        uint8 powers;
        uint64 validUntil;
        /// @dev Moves on at every change of this guardianship; approvals name the appointment they
        /// were given under.
        uint32 appointment;
    }

    struct AccountKey {
        bytes32 key;
        uint32 version;
    }

    uint32 private _organizationCount;
    uint32 private _practitionerCount;
    mapping(uint32 orgId => Organization) private _organizations;
    mapping(uint32 orgId => bytes32) private _organizationKeys;
    /// @dev An account administers at most one organization.
    mapping(address admin => uint32 orgId) private _organizationOfAdmin;
    mapping(address account => Practitioner) private _practitioners;
    mapping(address account => bytes32) private _practitionerKeys;
    mapping(uint32 practitionerId => address account) private _practitionerAccounts;
    mapping(SubjectId subject => Patient) private _patients;
    mapping(SubjectId subject => bytes32) private _patientKeys;
    mapping(SubjectId subject => mapping(address guardian => Guardian)) private _guardians;
    /// @dev keccak256(subject, epoch, newController) => guardian => the appointment it approved under.
    mapping(bytes32 proposal => mapping(address guardian => uint32 appointment)) private _recoveryApprovals;
    mapping(address account => AccountKey) private _accountKeys;

    /// @param governance the account (timelock or multisig; the deployer during set-up) that holds
    /// GOVERNANCE_ROLE and DEFAULT_ADMIN_ROLE
    /// @param migrator_ the account that may import 1.0 state until it seals the migration
    constructor(address governance, address migrator_) Migratable(migrator_) {
        if (governance == address(0)) revert DirectoryZeroAddress("governance");
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
        _grantRole(GOVERNANCE_ROLE, governance);
    }

    // ──────────────────────────── governance ────────────────────────────

    /// @inheritdoc IParticipantDirectory
    function admitOrganization(
        OrgKind kind,
        address admin,
        bytes32 encryptionKey
    ) external onlyRole(GOVERNANCE_ROLE) returns (uint32 orgId) {
        orgId = _organizationCount + 1;
        _addOrganization(orgId, kind, admin, encryptionKey, 1);
    }

    /// @inheritdoc IParticipantDirectory
    function suspendOrganization(uint32 orgId) external {
        _checkGovernanceOrCouncil();
        _setOrganizationSuspended(orgId, true);
    }

    /// @inheritdoc IParticipantDirectory
    function reinstateOrganization(uint32 orgId) external onlyRole(GOVERNANCE_ROLE) {
        _setOrganizationSuspended(orgId, false);
    }

    /// @inheritdoc IParticipantDirectory
    function setOrganizationAdmin(uint32 orgId, address newAdmin) external {
        Organization storage org = _existingOrganization(orgId);
        if (msg.sender != org.admin && !hasRole(GOVERNANCE_ROLE, msg.sender)) {
            revert DirectoryNotOrganizationAdmin(orgId, msg.sender);
        }
        if (newAdmin == address(0)) revert DirectoryZeroAddress("admin");
        _checkAdminFree(newAdmin);
        address previous = org.admin;
        delete _organizationOfAdmin[previous];
        _organizationOfAdmin[newAdmin] = orgId;
        org.admin = newAdmin;
        emit OrganizationAdminChanged(orgId, previous, newAdmin);
    }

    /// @inheritdoc IParticipantDirectory
    function rotateOrganizationKey(uint32 orgId, bytes32 encryptionKey) external {
        Organization storage org = _adminOrganization(orgId);
        _checkKey(encryptionKey);
        uint32 keyVersion = ++org.keyVersion;
        _organizationKeys[orgId] = encryptionKey;
        emit OrganizationKeyRotated(orgId, encryptionKey, keyVersion);
    }

    /// @inheritdoc IParticipantDirectory
    function barPractitioner(address account) external {
        _checkGovernanceOrCouncil();
        _setPractitionerBarred(account, true);
    }

    /// @inheritdoc IParticipantDirectory
    function liftPractitionerBar(address account) external onlyRole(GOVERNANCE_ROLE) {
        _setPractitionerBarred(account, false);
    }

    // ─────────────────────────── practitioners ───────────────────────────

    /// @inheritdoc IParticipantDirectory
    function enrollPractitioner(
        uint32 orgId,
        address account,
        uint8 roles,
        uint64 credentialValidUntil,
        bytes32 encryptionKey
    ) external returns (uint32 practitionerId) {
        Organization storage org = _adminOrganization(orgId);
        if (org.suspended) revert DirectoryOrganizationSuspended(orgId);
        if (credentialValidUntil <= block.timestamp) {
            revert DirectoryInvalidCredentialExpiry(credentialValidUntil, uint64(block.timestamp));
        }
        practitionerId = _addPractitioner(account, orgId, roles, credentialValidUntil, encryptionKey, 1);
    }

    /// @inheritdoc IParticipantDirectory
    function updatePractitioner(address account, uint8 roles, uint64 credentialValidUntil) external {
        Practitioner storage p = _adminPractitioner(account);
        _checkRoles(roles);
        if (credentialValidUntil <= block.timestamp) {
            revert DirectoryInvalidCredentialExpiry(credentialValidUntil, uint64(block.timestamp));
        }
        p.roles = roles;
        p.credentialValidUntil = credentialValidUntil;
        emit PractitionerUpdated(account, p.orgId, roles, credentialValidUntil);
    }

    /// @inheritdoc IParticipantDirectory
    function suspendPractitioner(address account) external {
        _setPractitionerSuspended(_adminPractitioner(account), account, true);
    }

    /// @inheritdoc IParticipantDirectory
    function reinstatePractitioner(address account) external {
        _setPractitionerSuspended(_adminPractitioner(account), account, false);
    }

    /// @inheritdoc IParticipantDirectory
    function rotatePractitionerKey(bytes32 encryptionKey) external {
        Practitioner storage p = _existingPractitioner(msg.sender);
        _checkKey(encryptionKey);
        uint32 keyVersion = ++p.keyVersion;
        _practitionerKeys[msg.sender] = encryptionKey;
        emit PractitionerKeyRotated(msg.sender, encryptionKey, keyVersion);
    }

    // ───────────────────────────── accounts ─────────────────────────────

    /// @inheritdoc IParticipantDirectory
    function registerAccountKey(bytes32 encryptionKey) external {
        _checkKey(encryptionKey);
        AccountKey storage k = _accountKeys[msg.sender];
        uint32 keyVersion = ++k.version;
        k.key = encryptionKey;
        emit AccountKeyRegistered(msg.sender, encryptionKey, keyVersion);
    }

    // ───────────────────────────── patients ─────────────────────────────

    /// @inheritdoc IParticipantDirectory
    function registerPatient(
        bytes32 salt,
        address controller,
        bytes32 encryptionKey
    ) external returns (SubjectId subject) {
        if (msg.sender != controller && !_isActiveOrganizationAdmin(msg.sender)) {
            revert DirectoryNotRegistrar(msg.sender);
        }
        subject = subjectIdFor(msg.sender, salt);
        _addPatient(subject, controller, salt, encryptionKey, 1);
    }

    /// @inheritdoc IParticipantDirectory
    function rotateController(SubjectId subject, address newController) external {
        Patient storage patient = _controlledPatient(subject);
        if (newController == address(0)) revert DirectoryZeroAddress("controller");
        _changeController(subject, patient, newController, false);
    }

    /// @inheritdoc IParticipantDirectory
    function rotatePatientKey(SubjectId subject, bytes32 encryptionKey) external {
        Patient storage patient = _controlledPatient(subject);
        _checkKey(encryptionKey);
        uint32 keyVersion = ++patient.keyVersion;
        _patientKeys[subject] = encryptionKey;
        emit PatientKeyRotated(subject, encryptionKey, keyVersion);
    }

    /// @inheritdoc IParticipantDirectory
    function setGuardian(SubjectId subject, address guardian, uint8 powers, uint64 validUntil) external {
        Patient storage patient = _controlledPatient(subject);
        if (powers != 0 && validUntil != Codes.NO_EXPIRATION_TIME && validUntil <= block.timestamp) {
            revert DirectoryInvalidCredentialExpiry(validUntil, uint64(block.timestamp));
        }
        _setGuardian(subject, patient, guardian, powers, validUntil);
    }

    /// @inheritdoc IParticipantDirectory
    function setRecoveryThreshold(SubjectId subject, uint8 threshold) external {
        Patient storage patient = _controlledPatient(subject);
        _setRecoveryThreshold(subject, patient, threshold);
        // Approvals given under the old threshold must not count under a lower one.
        _cancelRecovery(subject, patient);
    }

    /// @inheritdoc IParticipantDirectory
    function approveRecovery(SubjectId subject, address newController) external {
        Patient storage patient = _existingPatient(subject);
        if (patient.recoveryThreshold == 0) revert DirectoryRecoveryDisabled(subject);
        if (!_isGuardian(subject, msg.sender, Codes.POWER_RECOVER)) {
            revert DirectoryNotGuardian(subject, msg.sender, Codes.POWER_RECOVER);
        }
        if (newController == address(0)) revert DirectoryZeroAddress("controller");
        uint32 appointment = _guardians[subject][msg.sender].appointment;
        _recoveryApprovals[_proposalId(subject, patient.epoch, newController)][msg.sender] = appointment;
        emit RecoveryApproved(subject, msg.sender, newController, patient.epoch, appointment);
    }

    /// @inheritdoc IParticipantDirectory
    function executeRecovery(SubjectId subject, address newController, address[] calldata approvers) external {
        Patient storage patient = _existingPatient(subject);
        uint8 threshold = patient.recoveryThreshold;
        if (threshold == 0) revert DirectoryRecoveryDisabled(subject);
        if (approvers.length < threshold) {
            revert DirectoryRecoveryThresholdNotMet(subject, threshold, approvers.length);
        }
        bytes32 proposal = _proposalId(subject, patient.epoch, newController);
        address previous = address(0);
        for (uint256 i = 0; i < approvers.length; ++i) {
            address approver = approvers[i];
            if (approver <= previous) revert DirectoryApproversNotSorted(approver);
            previous = approver;
            // A guardian removed or expired since approving no longer counts.
            if (!_isGuardian(subject, approver, Codes.POWER_RECOVER)) {
                revert DirectoryNotGuardian(subject, approver, Codes.POWER_RECOVER);
            }
            // An approval given under an earlier appointment (before a removal, renewal or change
            // of powers) is void.
            if (_recoveryApprovals[proposal][approver] != _guardians[subject][approver].appointment) {
                revert DirectoryRecoveryNotApproved(subject, approver, newController);
            }
        }
        _changeController(subject, patient, newController, true);
    }

    /// @inheritdoc IParticipantDirectory
    function cancelRecovery(SubjectId subject) external {
        _cancelRecovery(subject, _controlledPatient(subject));
    }

    // ──────────────────────────── migration ────────────────────────────

    /// @inheritdoc IParticipantDirectory
    function importOrganization(
        uint32 orgId,
        OrgKind kind,
        address admin,
        bytes32 encryptionKey,
        uint32 keyVersion,
        bool suspended
    ) external onlyDuringMigration {
        if (orgId != _organizationCount + 1) revert DirectoryInvalidImport("orgId");
        if (keyVersion == 0) revert DirectoryInvalidImport("keyVersion");
        _addOrganization(orgId, kind, admin, encryptionKey, keyVersion);
        if (suspended) _setOrganizationSuspended(orgId, true);
    }

    /// @inheritdoc IParticipantDirectory
    function importPractitioner(
        address account,
        uint32 orgId,
        uint8 roles,
        uint64 credentialValidUntil,
        bool suspended,
        bytes32 encryptionKey,
        uint32 keyVersion
    ) external onlyDuringMigration returns (uint32 practitionerId) {
        _existingOrganization(orgId);
        if (keyVersion == 0) revert DirectoryInvalidImport("keyVersion");
        practitionerId = _addPractitioner(account, orgId, roles, credentialValidUntil, encryptionKey, keyVersion);
        if (suspended) _setPractitionerSuspended(_practitioners[account], account, true);
    }

    /// @inheritdoc IParticipantDirectory
    function importPatient(
        SubjectId subject,
        address controller,
        bytes32 encryptionKey,
        uint32 keyVersion,
        uint8 recoveryThreshold,
        uint32 epoch
    ) external onlyDuringMigration {
        if (SubjectId.unwrap(subject) == bytes32(0)) revert DirectoryInvalidSubject(subject);
        if (keyVersion == 0) revert DirectoryInvalidImport("keyVersion");
        _addPatient(subject, controller, bytes32(0), encryptionKey, keyVersion);
        Patient storage patient = _patients[subject];
        if (recoveryThreshold != 0) _setRecoveryThreshold(subject, patient, recoveryThreshold);
        if (epoch != 0) {
            patient.epoch = epoch;
            emit RecoveryCancelled(subject, epoch);
        }
    }

    /// @inheritdoc IParticipantDirectory
    function importGuardian(
        SubjectId subject,
        address guardian,
        uint8 powers,
        uint64 validUntil
    ) external onlyDuringMigration {
        if (powers == 0) revert DirectoryInvalidPowers(powers);
        _setGuardian(subject, _existingPatient(subject), guardian, powers, validUntil);
    }

    // ─────────────────────────────── views ───────────────────────────────

    /// @inheritdoc IParticipantDirectory
    function accessorStatus(
        address account
    ) external view returns (AccessorStatus status, uint32 orgId, uint8 roles, uint32 practitionerId) {
        Practitioner storage p = _practitioners[account];
        orgId = p.orgId;
        roles = p.roles;
        practitionerId = p.id;
        if (practitionerId == 0) status = AccessorStatus.UNKNOWN;
        else if (p.suspended || p.barred) status = AccessorStatus.SUSPENDED;
        else if (p.credentialValidUntil <= block.timestamp) status = AccessorStatus.CREDENTIAL_EXPIRED;
        else if (_organizations[orgId].suspended) status = AccessorStatus.ORGANIZATION_SUSPENDED;
        else status = AccessorStatus.ACTIVE;
    }

    /// @inheritdoc IParticipantDirectory
    function actsFor(SubjectId subject, address account, uint8 power) external view returns (bool) {
        address controller = _patients[subject].controller;
        if (controller == address(0)) return false;
        return account == controller || _isGuardian(subject, account, power);
    }

    /// @inheritdoc IParticipantDirectory
    function controllerOf(SubjectId subject) external view returns (address) {
        return _patients[subject].controller;
    }

    /// @inheritdoc IParticipantDirectory
    function subjectIdFor(address registrant, bytes32 salt) public pure returns (SubjectId) {
        return SubjectId.wrap(keccak256(abi.encode(registrant, salt)));
    }

    /// @inheritdoc IParticipantDirectory
    function getOrganization(
        uint32 orgId
    ) external view returns (OrgKind kind, address admin, bool suspended, bytes32 encryptionKey, uint32 keyVersion) {
        Organization storage org = _existingOrganization(orgId);
        return (org.kind, org.admin, org.suspended, _organizationKeys[orgId], org.keyVersion);
    }

    /// @inheritdoc IParticipantDirectory
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
        )
    {
        Practitioner memory p = _existingPractitioner(account);
        practitionerId = p.id;
        orgId = p.orgId;
        roles = p.roles;
        credentialValidUntil = p.credentialValidUntil;
        suspended = p.suspended;
        barred = p.barred;
        encryptionKey = _practitionerKeys[account];
        keyVersion = p.keyVersion;
    }

    /// @inheritdoc IParticipantDirectory
    function practitionerAccount(uint32 practitionerId) external view returns (address account) {
        account = _practitionerAccounts[practitionerId];
        if (account == address(0)) revert DirectoryUnknownPractitionerId(practitionerId);
    }

    /// @inheritdoc IParticipantDirectory
    function practitionerIdOf(address account) external view returns (uint32) {
        return _practitioners[account].id;
    }

    /// @inheritdoc IParticipantDirectory
    function getPatient(
        SubjectId subject
    )
        external
        view
        returns (address controller, bytes32 encryptionKey, uint32 keyVersion, uint8 recoveryThreshold, uint32 epoch)
    {
        Patient storage patient = _existingPatient(subject);
        return (
            patient.controller,
            _patientKeys[subject],
            patient.keyVersion,
            patient.recoveryThreshold,
            patient.epoch
        );
    }

    /// @inheritdoc IParticipantDirectory
    function getGuardian(
        SubjectId subject,
        address guardian
    ) external view returns (uint8 powers, uint64 validUntil, uint32 appointment) {
        Guardian storage g = _guardians[subject][guardian];
        return (g.powers, g.validUntil, g.appointment);
    }

    /// @inheritdoc IParticipantDirectory
    function recoveryApproved(SubjectId subject, address guardian, address newController) external view returns (bool) {
        Patient storage patient = _patients[subject];
        if (patient.controller == address(0) || !_isGuardian(subject, guardian, Codes.POWER_RECOVER)) return false;
        bytes32 proposal = _proposalId(subject, patient.epoch, newController);
        return _recoveryApprovals[proposal][guardian] == _guardians[subject][guardian].appointment;
    }

    /// @inheritdoc IParticipantDirectory
    function getAccountKey(address account) external view returns (bytes32 encryptionKey, uint32 keyVersion) {
        AccountKey storage k = _accountKeys[account];
        return (k.key, k.version);
    }

    /// @inheritdoc IParticipantDirectory
    function organizationCount() external view returns (uint32) {
        return _organizationCount;
    }

    /// @inheritdoc IParticipantDirectory
    function practitionerCount() external view returns (uint32) {
        return _practitionerCount;
    }

    /// @inheritdoc IParticipantDirectory
    function version() external pure returns (string memory) {
        return MedLedgerVersion.VERSION;
    }

    // ───────────────────────────── internals ─────────────────────────────

    function _addOrganization(
        uint32 orgId,
        OrgKind kind,
        address admin,
        bytes32 encryptionKey,
        uint32 keyVersion
    ) private {
        if (kind == OrgKind.NONE) revert DirectoryInvalidOrgKind(kind);
        if (admin == address(0)) revert DirectoryZeroAddress("admin");
        _checkKey(encryptionKey);
        _checkAdminFree(admin);
        _organizationCount = orgId;
        _organizationOfAdmin[admin] = orgId;
        _organizations[orgId] = Organization({kind: kind, suspended: false, admin: admin, keyVersion: keyVersion});
        _organizationKeys[orgId] = encryptionKey;
        emit OrganizationAdmitted(orgId, kind, admin, encryptionKey, keyVersion);
    }

    function _addPractitioner(
        address account,
        uint32 orgId,
        uint8 roles,
        uint64 credentialValidUntil,
        bytes32 encryptionKey,
        uint32 keyVersion
    ) private returns (uint32 practitionerId) {
        if (account == address(0)) revert DirectoryZeroAddress("account");
        uint32 existingOrg = _practitioners[account].orgId;
        if (existingOrg != 0) revert DirectoryPractitionerExists(account, existingOrg);
        _checkRoles(roles);
        _checkKey(encryptionKey);
        practitionerId = ++_practitionerCount;
        _practitioners[account] = Practitioner({
            id: practitionerId,
            orgId: orgId,
            roles: roles,
            suspended: false,
            barred: false,
            credentialValidUntil: credentialValidUntil,
            keyVersion: keyVersion
        });
        _practitionerAccounts[practitionerId] = account;
        _practitionerKeys[account] = encryptionKey;
        emit PractitionerEnrolled(
            account,
            orgId,
            practitionerId,
            roles,
            credentialValidUntil,
            encryptionKey,
            keyVersion
        );
    }

    function _addPatient(
        SubjectId subject,
        address controller,
        bytes32 salt,
        bytes32 encryptionKey,
        uint32 keyVersion
    ) private {
        if (controller == address(0)) revert DirectoryZeroAddress("controller");
        if (_patients[subject].controller != address(0)) revert DirectorySubjectExists(subject);
        _checkKey(encryptionKey);
        _patients[subject] = Patient({controller: controller, keyVersion: keyVersion, recoveryThreshold: 0, epoch: 0});
        _patientKeys[subject] = encryptionKey;
        emit PatientRegistered(subject, controller, msg.sender, salt, encryptionKey, keyVersion);
    }

    function _setGuardian(
        SubjectId subject,
        Patient storage patient,
        address guardian,
        uint8 powers,
        uint64 validUntil
    ) private {
        if (guardian == address(0)) revert DirectoryZeroAddress("guardian");
        if (guardian == patient.controller) revert DirectoryGuardianIsController(subject, guardian);
        if (powers > Codes.ALL_POWERS) revert DirectoryInvalidPowers(powers);
        Guardian storage g = _guardians[subject][guardian];
        if (powers == 0) validUntil = 0;
        g.powers = powers;
        g.validUntil = validUntil;
        // Every change of the appointment (including removal) voids the guardian's approvals.
        uint32 appointment = ++g.appointment;
        emit GuardianSet(subject, guardian, powers, validUntil, appointment);
    }

    function _setRecoveryThreshold(SubjectId subject, Patient storage patient, uint8 threshold) private {
        if (threshold > MAX_RECOVERY_THRESHOLD) revert DirectoryInvalidThreshold(threshold);
        patient.recoveryThreshold = threshold;
        emit RecoveryThresholdSet(subject, threshold);
    }

    function _cancelRecovery(SubjectId subject, Patient storage patient) private {
        uint32 epoch = ++patient.epoch;
        emit RecoveryCancelled(subject, epoch);
    }

    function _setOrganizationSuspended(uint32 orgId, bool suspended) private {
        Organization storage org = _existingOrganization(orgId);
        if (org.suspended == suspended) revert DirectoryOrganizationStatusUnchanged(orgId, suspended);
        org.suspended = suspended;
        emit OrganizationStatusChanged(orgId, suspended, msg.sender);
    }

    function _setPractitionerSuspended(Practitioner storage p, address account, bool suspended) private {
        if (p.suspended == suspended) revert DirectoryPractitionerStatusUnchanged(account, suspended);
        p.suspended = suspended;
        emit PractitionerStatusChanged(account, p.orgId, suspended);
    }

    function _setPractitionerBarred(address account, bool barred) private {
        Practitioner storage p = _existingPractitioner(account);
        if (p.barred == barred) revert DirectoryPractitionerBarUnchanged(account, barred);
        p.barred = barred;
        emit PractitionerBarred(account, p.orgId, barred, msg.sender);
    }

    function _changeController(
        SubjectId subject,
        Patient storage patient,
        address newController,
        bool byRecovery
    ) private {
        address previous = patient.controller;
        // A guardian cannot also be the controller: end the new controller's guardianship.
        Guardian storage g = _guardians[subject][newController];
        if (g.powers != 0) {
            g.powers = 0;
            g.validUntil = 0;
            emit GuardianSet(subject, newController, 0, 0, ++g.appointment);
        }
        patient.controller = newController;
        // Moving the epoch on invalidates every pending recovery approval.
        uint32 epoch = ++patient.epoch;
        emit ControllerChanged(subject, previous, newController, byRecovery, epoch);
    }

    function _checkGovernanceOrCouncil() private view {
        if (!hasRole(GOVERNANCE_ROLE, msg.sender) && !hasRole(SECURITY_COUNCIL_ROLE, msg.sender)) {
            revert DirectoryNotGovernanceOrCouncil(msg.sender);
        }
    }

    function _existingOrganization(uint32 orgId) private view returns (Organization storage org) {
        org = _organizations[orgId];
        if (org.kind == OrgKind.NONE) revert DirectoryUnknownOrganization(orgId);
    }

    function _adminOrganization(uint32 orgId) private view returns (Organization storage org) {
        org = _existingOrganization(orgId);
        if (org.admin != msg.sender) revert DirectoryNotOrganizationAdmin(orgId, msg.sender);
    }

    function _existingPractitioner(address account) private view returns (Practitioner storage p) {
        p = _practitioners[account];
        if (p.id == 0) revert DirectoryUnknownPractitioner(account);
    }

    function _adminPractitioner(address account) private view returns (Practitioner storage p) {
        p = _existingPractitioner(account);
        _adminOrganization(p.orgId);
    }

    function _existingPatient(SubjectId subject) private view returns (Patient storage patient) {
        patient = _patients[subject];
        if (patient.controller == address(0)) revert DirectoryUnknownSubject(subject);
    }

    function _controlledPatient(SubjectId subject) private view returns (Patient storage patient) {
        patient = _existingPatient(subject);
        if (patient.controller != msg.sender) revert DirectoryNotController(subject, msg.sender);
    }

    function _isGuardian(SubjectId subject, address account, uint8 power) private view returns (bool) {
        Guardian storage g = _guardians[subject][account];
        return
            g.powers & power == power &&
            power != 0 &&
            (g.validUntil == Codes.NO_EXPIRATION_TIME || g.validUntil > block.timestamp);
    }

    function _isActiveOrganizationAdmin(address account) private view returns (bool) {
        uint32 orgId = _organizationOfAdmin[account];
        return orgId != 0 && !_organizations[orgId].suspended;
    }

    function _checkAdminFree(address admin) private view {
        uint32 orgId = _organizationOfAdmin[admin];
        if (orgId != 0) revert DirectoryAdminInUse(admin, orgId);
    }

    function _proposalId(SubjectId subject, uint32 epoch, address newController) private pure returns (bytes32) {
        return keccak256(abi.encode(subject, epoch, newController));
    }

    function _checkRoles(uint8 roles) private pure {
        if (roles == 0 || roles > Codes.ALL_ROLES) revert DirectoryInvalidRoles(roles);
    }

    function _checkKey(bytes32 encryptionKey) private pure {
        if (encryptionKey == bytes32(0)) revert DirectoryInvalidEncryptionKey(encryptionKey);
    }
}
