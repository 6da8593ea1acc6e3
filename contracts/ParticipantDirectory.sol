// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

import {IParticipantDirectory} from "./interfaces/IParticipantDirectory.sol";
import {AccessorStatus, Codes, OrgKind, SubjectId} from "./libraries/MedLedgerTypes.sol";

/// @title ParticipantDirectory
/// @notice See {IParticipantDirectory}.
/// @dev `GOVERNANCE_ROLE` admits and suspends organizations; it is meant for a TimelockController
/// or a multisig. `DEFAULT_ADMIN_ROLE` manages who holds it. The deploy script hands both to the
/// timelock and the deployer renounces them, so no hot key keeps any power.
contract ParticipantDirectory is IParticipantDirectory, AccessControl {
    bytes32 public constant GOVERNANCE_ROLE = keccak256("GOVERNANCE_ROLE");
    /// @notice The largest recovery threshold (M in M-of-N).
    uint8 public constant MAX_RECOVERY_THRESHOLD = 16;

    struct Organization {
        OrgKind kind;
        bool suspended;
        address admin;
        uint32 keyVersion;
    }

    struct Practitioner {
        uint32 orgId;
        uint8 roles;
        bool suspended;
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
    }

    uint32 private _organizationCount;
    mapping(uint32 orgId => Organization) private _organizations;
    mapping(uint32 orgId => bytes32) private _organizationKeys;
    /// @dev An account administers at most one organization.
    mapping(address admin => uint32 orgId) private _organizationOfAdmin;
    mapping(address account => Practitioner) private _practitioners;
    mapping(address account => bytes32) private _practitionerKeys;
    mapping(SubjectId subject => Patient) private _patients;
    mapping(SubjectId subject => bytes32) private _patientKeys;
    mapping(SubjectId subject => mapping(address guardian => Guardian)) private _guardians;
    /// @dev keccak256(subject, epoch, newController) => guardian => approved
    mapping(bytes32 proposal => mapping(address guardian => bool)) private _recoveryApprovals;

    /// @param governance the account (timelock or multisig; the deployer during set-up) that holds
    /// GOVERNANCE_ROLE and DEFAULT_ADMIN_ROLE.
    constructor(address governance) {
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
        if (kind == OrgKind.NONE) revert DirectoryInvalidOrgKind(kind);
        if (admin == address(0)) revert DirectoryZeroAddress("admin");
        _checkKey(encryptionKey);
        _checkAdminFree(admin);
        orgId = ++_organizationCount;
        _organizationOfAdmin[admin] = orgId;
        _organizations[orgId] = Organization({kind: kind, suspended: false, admin: admin, keyVersion: 1});
        _organizationKeys[orgId] = encryptionKey;
        emit OrganizationAdmitted(orgId, kind, admin, encryptionKey, 1);
    }

    /// @inheritdoc IParticipantDirectory
    function suspendOrganization(uint32 orgId) external onlyRole(GOVERNANCE_ROLE) {
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

    // ─────────────────────────── practitioners ───────────────────────────

    /// @inheritdoc IParticipantDirectory
    function enrollPractitioner(
        uint32 orgId,
        address account,
        uint8 roles,
        uint64 credentialValidUntil,
        bytes32 encryptionKey
    ) external {
        Organization storage org = _adminOrganization(orgId);
        if (org.suspended) revert DirectoryOrganizationSuspended(orgId);
        if (account == address(0)) revert DirectoryZeroAddress("account");
        uint32 existingOrg = _practitioners[account].orgId;
        if (existingOrg != 0) revert DirectoryPractitionerExists(account, existingOrg);
        _checkRolesAndExpiry(roles, credentialValidUntil);
        _checkKey(encryptionKey);
        _practitioners[account] = Practitioner({
            orgId: orgId,
            roles: roles,
            suspended: false,
            credentialValidUntil: credentialValidUntil,
            keyVersion: 1
        });
        _practitionerKeys[account] = encryptionKey;
        emit PractitionerEnrolled(account, orgId, roles, credentialValidUntil, encryptionKey, 1);
    }

    /// @inheritdoc IParticipantDirectory
    function updatePractitioner(address account, uint8 roles, uint64 credentialValidUntil) external {
        Practitioner storage p = _adminPractitioner(account);
        _checkRolesAndExpiry(roles, credentialValidUntil);
        p.roles = roles;
        p.credentialValidUntil = credentialValidUntil;
        emit PractitionerUpdated(account, p.orgId, roles, credentialValidUntil);
    }

    /// @inheritdoc IParticipantDirectory
    function suspendPractitioner(address account) external {
        _setPractitionerSuspended(account, true);
    }

    /// @inheritdoc IParticipantDirectory
    function reinstatePractitioner(address account) external {
        _setPractitionerSuspended(account, false);
    }

    /// @inheritdoc IParticipantDirectory
    function rotatePractitionerKey(bytes32 encryptionKey) external {
        Practitioner storage p = _practitioners[msg.sender];
        if (p.orgId == 0) revert DirectoryUnknownPractitioner(msg.sender);
        _checkKey(encryptionKey);
        uint32 keyVersion = ++p.keyVersion;
        _practitionerKeys[msg.sender] = encryptionKey;
        emit PractitionerKeyRotated(msg.sender, encryptionKey, keyVersion);
    }

    // ───────────────────────────── patients ─────────────────────────────

    /// @inheritdoc IParticipantDirectory
    function registerPatient(SubjectId subject, address controller, bytes32 encryptionKey) external {
        if (SubjectId.unwrap(subject) == bytes32(0)) revert DirectoryInvalidSubject(subject);
        if (controller == address(0)) revert DirectoryZeroAddress("controller");
        if (_patients[subject].controller != address(0)) revert DirectorySubjectExists(subject);
        if (msg.sender != controller && !_isActiveOrganizationAdmin(msg.sender)) {
            revert DirectoryNotRegistrar(msg.sender);
        }
        _checkKey(encryptionKey);
        _patients[subject] = Patient({controller: controller, keyVersion: 1, recoveryThreshold: 0, epoch: 0});
        _patientKeys[subject] = encryptionKey;
        emit PatientRegistered(subject, controller, msg.sender, encryptionKey, 1);
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
        if (guardian == address(0)) revert DirectoryZeroAddress("guardian");
        if (guardian == patient.controller) revert DirectoryGuardianIsController(subject, guardian);
        if (powers > Codes.ALL_POWERS) revert DirectoryInvalidPowers(powers);
        if (powers != 0 && validUntil != Codes.NO_EXPIRATION_TIME && validUntil <= block.timestamp) {
            revert DirectoryInvalidCredentialExpiry(validUntil, uint64(block.timestamp));
        }
        if (powers == 0) {
            delete _guardians[subject][guardian];
            validUntil = 0;
        } else {
            _guardians[subject][guardian] = Guardian({powers: powers, validUntil: validUntil});
        }
        emit GuardianSet(subject, guardian, powers, validUntil);
    }

    /// @inheritdoc IParticipantDirectory
    function setRecoveryThreshold(SubjectId subject, uint8 threshold) external {
        Patient storage patient = _controlledPatient(subject);
        if (threshold > MAX_RECOVERY_THRESHOLD) revert DirectoryInvalidThreshold(threshold);
        patient.recoveryThreshold = threshold;
        emit RecoveryThresholdSet(subject, threshold);
        // Approvals given under the old threshold must not count under a lower one.
        uint32 epoch = ++patient.epoch;
        emit RecoveryCancelled(subject, epoch);
    }

    /// @inheritdoc IParticipantDirectory
    function approveRecovery(SubjectId subject, address newController) external {
        Patient storage patient = _existingPatient(subject);
        if (patient.recoveryThreshold == 0) revert DirectoryRecoveryDisabled(subject);
        if (!_isGuardian(subject, msg.sender, Codes.POWER_RECOVER)) {
            revert DirectoryNotGuardian(subject, msg.sender, Codes.POWER_RECOVER);
        }
        if (newController == address(0)) revert DirectoryZeroAddress("controller");
        _recoveryApprovals[_proposalId(subject, patient.epoch, newController)][msg.sender] = true;
        emit RecoveryApproved(subject, msg.sender, newController, patient.epoch);
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
            if (!_recoveryApprovals[proposal][approver]) {
                revert DirectoryRecoveryNotApproved(subject, approver, newController);
            }
        }
        _changeController(subject, patient, newController, true);
    }

    /// @inheritdoc IParticipantDirectory
    function cancelRecovery(SubjectId subject) external {
        Patient storage patient = _controlledPatient(subject);
        uint32 epoch = ++patient.epoch;
        emit RecoveryCancelled(subject, epoch);
    }

    // ─────────────────────────────── views ───────────────────────────────

    /// @inheritdoc IParticipantDirectory
    function accessorStatus(address account) external view returns (AccessorStatus status, uint32 orgId, uint8 roles) {
        Practitioner storage p = _practitioners[account];
        orgId = p.orgId;
        roles = p.roles;
        if (orgId == 0) return (AccessorStatus.UNKNOWN, 0, 0);
        if (p.suspended) return (AccessorStatus.SUSPENDED, orgId, roles);
        if (p.credentialValidUntil <= block.timestamp) return (AccessorStatus.CREDENTIAL_EXPIRED, orgId, roles);
        if (_organizations[orgId].suspended) return (AccessorStatus.ORGANIZATION_SUSPENDED, orgId, roles);
        return (AccessorStatus.ACTIVE, orgId, roles);
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
            uint32 orgId,
            uint8 roles,
            uint64 credentialValidUntil,
            bool suspended,
            bytes32 encryptionKey,
            uint32 keyVersion
        )
    {
        Practitioner storage p = _existingPractitioner(account);
        return (p.orgId, p.roles, p.credentialValidUntil, p.suspended, _practitionerKeys[account], p.keyVersion);
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
    function getGuardian(SubjectId subject, address guardian) external view returns (uint8 powers, uint64 validUntil) {
        Guardian storage g = _guardians[subject][guardian];
        return (g.powers, g.validUntil);
    }

    /// @inheritdoc IParticipantDirectory
    function organizationCount() external view returns (uint32) {
        return _organizationCount;
    }

    /// @inheritdoc IParticipantDirectory
    function version() external pure returns (string memory) {
        return "1.0.0";
    }

    // ───────────────────────────── internals ─────────────────────────────

    function _setOrganizationSuspended(uint32 orgId, bool suspended) private {
        Organization storage org = _existingOrganization(orgId);
        if (org.suspended == suspended) revert DirectoryOrganizationStatusUnchanged(orgId, suspended);
        org.suspended = suspended;
        emit OrganizationStatusChanged(orgId, suspended, msg.sender);
    }

    function _setPractitionerSuspended(address account, bool suspended) private {
        Practitioner storage p = _adminPractitioner(account);
        if (p.suspended == suspended) revert DirectoryPractitionerStatusUnchanged(account, suspended);
        p.suspended = suspended;
        emit PractitionerStatusChanged(account, p.orgId, suspended);
    }

    function _changeController(
        SubjectId subject,
        Patient storage patient,
        address newController,
        bool byRecovery
    ) private {
        address previous = patient.controller;
        // A guardian cannot also be the controller; drop the guardianship of the new controller.
        if (_guardians[subject][newController].powers != 0) {
            delete _guardians[subject][newController];
            emit GuardianSet(subject, newController, 0, 0);
        }
        patient.controller = newController;
        // Moving the epoch on invalidates every pending recovery approval.
        uint32 epoch = ++patient.epoch;
        emit ControllerChanged(subject, previous, newController, byRecovery, epoch);
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
        if (p.orgId == 0) revert DirectoryUnknownPractitioner(account);
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

    function _checkRolesAndExpiry(uint8 roles, uint64 credentialValidUntil) private view {
        if (roles == 0 || roles > Codes.ALL_ROLES) revert DirectoryInvalidRoles(roles);
        if (credentialValidUntil <= block.timestamp) {
            revert DirectoryInvalidCredentialExpiry(credentialValidUntil, uint64(block.timestamp));
        }
    }

    function _checkKey(bytes32 encryptionKey) private pure {
        if (encryptionKey == bytes32(0)) revert DirectoryInvalidEncryptionKey(encryptionKey);
    }
}
