// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ParticipantDirectory} from "../../../contracts/ParticipantDirectory.sol";
import {ConsentRegistry} from "../../../contracts/ConsentRegistry.sol";
import {RecordRegistry} from "../../../contracts/RecordRegistry.sol";
import {IParticipantDirectory} from "../../../contracts/interfaces/IParticipantDirectory.sol";
import {IConsentRegistry} from "../../../contracts/interfaces/IConsentRegistry.sol";
import {
    Codes,
    ConsentId,
    ConsentTerms,
    Effect,
    GranteeKind,
    OrgKind,
    RecordId,
    SubjectId
} from "../../../contracts/libraries/MedLedgerTypes.sol";

import {TestBase} from "./TestBase.sol";

/// @notice Deploys a consortium the way fixtures/world.ts does (through the SDK's deploy):
/// ParticipantDirectory(governance, migrator) -> ConsentRegistry(directory, migrator) ->
/// RecordRegistry(directory, consents, migrator), migration sealed, with `address(this)` as
/// governance, plus small helpers to populate it.
abstract contract Consortium is TestBase {
    /// @dev A realistic start time (tests warp here first so "now - x" never underflows).
    uint256 internal constant T0 = 1_750_000_000;
    uint64 internal constant DAY = 1 days;
    uint64 internal constant YEAR = 365 days;

    ParticipantDirectory internal directory;
    ConsentRegistry internal consents;
    RecordRegistry internal records;

    uint256 private _nonce;

    function _deploySystem() internal {
        directory = new ParticipantDirectory(address(this), address(this));
        consents = new ConsentRegistry(IParticipantDirectory(address(directory)), address(this));
        records = new RecordRegistry(
            IParticipantDirectory(address(directory)),
            IConsentRegistry(address(consents)),
            address(this)
        );
        directory.sealMigration();
        consents.sealMigration();
        records.sealMigration();
    }

    function _key(string memory label) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked("x25519:", label));
    }

    /// @dev A fresh, never-zero pseudo-random 32-byte value (record ids, digests).
    function _fresh() internal returns (bytes32) {
        return keccak256(abi.encode("fresh", address(this), ++_nonce));
    }

    function _admit(OrgKind kind, address admin) internal returns (uint32) {
        return directory.admitOrganization(kind, admin, _key("org"));
    }

    function _enroll(uint32 orgId, address admin, address account, uint8 roles, uint64 validUntil) internal {
        vm.prank(admin);
        directory.enrollPractitioner(orgId, account, roles, validUntil, _key("practitioner"));
    }

    /// @dev The controller registers itself with `salt`; returns keccak256(abi.encode(controller, salt)).
    function _register(bytes32 salt, address controller) internal returns (SubjectId subject) {
        vm.prank(controller);
        subject = directory.registerPatient(salt, controller, _key("patient"));
    }

    function _setGuardian(
        SubjectId subject,
        address controller,
        address guardian,
        uint8 powers,
        uint64 validUntil
    ) internal {
        vm.prank(controller);
        directory.setGuardian(subject, guardian, powers, validUntil);
    }

    function _grant(SubjectId subject, address by, ConsentTerms memory t) internal returns (ConsentId id) {
        vm.prank(by);
        id = consents.grant(subject, t);
    }

    function _revoke(SubjectId subject, address by, ConsentId id) internal {
        vm.prank(by);
        consents.revoke(subject, id);
    }

    /// @dev The controller anchors a record version for its own subject (no consent needed).
    function _anchorAsSubject(
        SubjectId subject,
        address controller,
        uint8 category,
        RecordId previous
    ) internal returns (RecordId id) {
        id = RecordId.wrap(_fresh());
        vm.prank(controller);
        records.anchorRecord(subject, id, category, _fresh(), _fresh(), previous, "ipfs://x", ConsentId.wrap(0));
    }

    /// @dev A fresh, never-zero sealed-terms commitment (its content never matters on chain).
    function _sealed(uint256 n) internal pure returns (bytes32) {
        return keccak256(abi.encode("sealed-terms", n));
    }

    /// @dev A permit for one practitioner: READ on `categories` for `purposes`, no expiry.
    function _practitionerPermit(
        address account,
        uint16 categories,
        uint16 purposes,
        uint8 actions
    ) internal pure returns (ConsentTerms memory) {
        return
            ConsentTerms({
                effect: Effect.PERMIT,
                granteeKind: GranteeKind.PRACTITIONER,
                granteeAccount: account,
                granteeOrg: 0,
                granteeRoles: 0,
                categories: categories,
                purposes: purposes,
                actions: actions,
                validFrom: 0,
                validUntil: Codes.NO_EXPIRATION_TIME,
                sealedTerms: _sealed(uint160(account) ^ categories ^ purposes)
            });
    }

    function _orgRoleTerms(
        Effect effect,
        uint32 org,
        uint8 roles,
        uint16 categories,
        uint16 purposes,
        uint8 actions
    ) internal pure returns (ConsentTerms memory) {
        return
            ConsentTerms({
                effect: effect,
                granteeKind: GranteeKind.ORG_ROLE,
                granteeAccount: address(0),
                granteeOrg: org,
                granteeRoles: roles,
                categories: categories,
                purposes: purposes,
                actions: actions,
                validFrom: 0,
                validUntil: Codes.NO_EXPIRATION_TIME,
                sealedTerms: _sealed(uint256(org) ^ roles ^ categories)
            });
    }
}
