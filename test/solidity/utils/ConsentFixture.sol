// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {
    Codes,
    ConsentTerms,
    Effect,
    GranteeKind,
    OrgKind,
    SubjectId
} from "../../../contracts/libraries/MedLedgerTypes.sol";

import {Consortium} from "./Consortium.sol";
import {ConsentModel} from "./ConsentModel.sol";

/// @notice A fixed consortium for the consent fuzz tests (hospital, lab, payer, research
/// institute; six practitioners with different roles; one patient with guardians) and a biased
/// random-terms generator that often, but not always, covers a given query.
abstract contract ConsentFixture is Consortium {
    uint256 internal constant PATIENT_PK = 0xA11CE;
    uint256 internal constant GUARDIAN_PK = 0x6A4D;
    uint256 internal constant WEAK_GUARDIAN_PK = 0x3EA4;

    address internal patient;
    address internal guardian; // GRANT | REVOKE | ACCESS
    address internal weakGuardian; // ACCESS | ERASE only
    SubjectId internal subject;

    uint32 internal hospital;
    uint32 internal lab;
    uint32 internal payer;
    uint32 internal research;

    struct Practitioner {
        address account;
        uint32 org;
        uint8 roles;
    }

    Practitioner[] internal practitioners;

    function _setUpConsortium() internal {
        vm.warp(T0);
        _deploySystem();
        hospital = _admit(OrgKind.HOSPITAL, address(0xAD01));
        lab = _admit(OrgKind.LAB, address(0xAD02));
        payer = _admit(OrgKind.PAYER, address(0xAD03));
        research = _admit(OrgKind.RESEARCH_INSTITUTE, address(0xAD04));
        uint64 licence = uint64(T0) + 10 * YEAR;
        _addPractitioner(hospital, address(0xAD01), address(0xD0C), Codes.ROLE_CLINICIAN, licence);
        _addPractitioner(hospital, address(0xAD01), address(0xE3), Codes.ROLE_EMERGENCY_RESPONDER, licence);
        _addPractitioner(
            hospital,
            address(0xAD01),
            address(0x3E55),
            Codes.ROLE_CLINICIAN | Codes.ROLE_EMERGENCY_RESPONDER,
            licence
        );
        _addPractitioner(lab, address(0xAD02), address(0x1AB), Codes.ROLE_CLINICIAN, licence);
        _addPractitioner(payer, address(0xAD03), address(0xBA7), Codes.ROLE_PAYER, licence);
        _addPractitioner(
            research,
            address(0xAD04),
            address(0x5C1),
            Codes.ROLE_RESEARCHER | Codes.ROLE_AUDITOR,
            licence
        );

        patient = vm.addr(PATIENT_PK);
        guardian = vm.addr(GUARDIAN_PK);
        weakGuardian = vm.addr(WEAK_GUARDIAN_PK);
        subject = _register(keccak256("consent-subject"), patient);
        _setGuardian(subject, patient, guardian, Codes.POWER_GRANT | Codes.POWER_REVOKE | Codes.POWER_ACCESS, 0);
        _setGuardian(subject, patient, weakGuardian, Codes.POWER_ACCESS | Codes.POWER_ERASE, 0);
    }

    function _addPractitioner(uint32 org, address admin, address account, uint8 roles, uint64 licence) private {
        _enroll(org, admin, account, roles, licence);
        practitioners.push(Practitioner(account, org, roles));
    }

    /// @dev The model's view of an (active) practitioner of the fixture.
    function _accessor(Practitioner memory p) internal pure returns (ConsentModel.Accessor memory) {
        return
            ConsentModel.Accessor({
                account: p.account,
                active: true,
                org: p.org,
                roles: p.roles,
                actsForSubject: false
            });
    }

    function _query(uint8 category, uint8 purpose, bool append) internal pure returns (ConsentModel.Query memory q) {
        q.category = uint8(category % (uint256(Codes.MAX_CATEGORY) + 1));
        q.purpose = uint8(purpose % (uint256(Codes.MAX_PURPOSE) + 1));
        q.action = append ? Codes.ACTION_APPEND : Codes.ACTION_READ;
    }

    /// @notice Valid random terms of `effect`, biased (about 3 in 4 per dimension) to cover `q` for
    /// `a`, with a random validity window around now. Grantees are enrolled practitioners and
    /// admitted organizations (or any organization); purposes are never empty ("every purpose" is
    /// the full mask); a deny's public categories may be empty (a sealed-only deny).
    // solhint-disable-next-line function-max-lines
    function _randomTerms(
        uint256 seed,
        Effect effect,
        Practitioner memory a,
        ConsentModel.Query memory q
    ) internal view returns (ConsentTerms memory t) {
        t.effect = effect;
        uint256 r = rand(seed, 1);
        uint256 g = r % 8;
        if (g < 3) {
            t.granteeKind = GranteeKind.PRACTITIONER;
            t.granteeAccount = a.account;
        } else if (g == 3) {
            t.granteeKind = GranteeKind.PRACTITIONER;
            t.granteeAccount = practitioners[(r >> 8) % practitioners.length].account;
        } else {
            t.granteeKind = GranteeKind.ORG_ROLE;
            uint256 o = (r >> 16) % 4;
            t.granteeOrg =
                o == 0
                    ? 0
                    : o == 1
                        ? uint32((r >> 24) % 5)
                        : a.org;
            uint8 roles = uint8((r >> 32) % Codes.ALL_ROLES) + 1;
            if ((r >> 40) % 4 != 0) roles |= a.roles;
            t.granteeRoles = roles;
        }
        r = rand(seed, 2);
        uint16 cats = uint16(r) & uint16(r >> 32) & uint16(r >> 64); // sparse random bits
        if ((r >> 96) % 4 != 0) cats |= Codes.bit(q.category);
        if ((r >> 104) % 8 == 0) cats = Codes.ALL_CATEGORIES;
        if (cats == 0 && (effect == Effect.PERMIT || (r >> 120) % 4 != 0)) {
            cats = Codes.bit(uint8((r >> 112) % (uint256(Codes.MAX_CATEGORY) + 1)));
        }
        t.categories = cats;

        r = rand(seed, 3);
        uint16 purposes = uint16(r) & uint16(r >> 16) & ConsentModel.ALL_PURPOSES;
        if ((r >> 32) % 4 != 0) purposes |= Codes.bit(q.purpose);
        if (effect == Effect.DENY && (r >> 40) % 4 == 0) purposes = ConsentModel.ALL_PURPOSES;
        if (purposes == 0) purposes = Codes.bit(uint8((r >> 48) % 10));
        t.purposes = purposes;

        r = rand(seed, 4);
        uint8 actions = uint8(r % 3) + 1;
        if ((r >> 8) % 4 != 0) actions |= q.action;
        t.actions = actions;

        r = rand(seed, 5);
        uint64 nowT = uint64(block.timestamp);
        uint256 w = r % 4;
        if (w == 0) t.validFrom = 0;
        else if (w == 1) t.validFrom = nowT - uint64((r >> 8) % (30 * DAY));
        else if (w == 2) t.validFrom = nowT + uint64((r >> 8) % (10 * DAY));
        else t.validFrom = nowT;
        if ((r >> 64) % 3 == 0) {
            t.validUntil = Codes.NO_EXPIRATION_TIME;
        } else {
            uint64 base = t.validFrom > nowT ? t.validFrom : nowT;
            t.validUntil = base + 1 + uint64((r >> 72) % (20 * DAY));
        }
        t.sealedTerms = keccak256(abi.encode("sealed", seed));
    }
}
