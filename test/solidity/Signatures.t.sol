// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ConsentRegistry} from "../../contracts/ConsentRegistry.sol";
import {IConsentRegistry} from "../../contracts/interfaces/IConsentRegistry.sol";
import {IParticipantDirectory} from "../../contracts/interfaces/IParticipantDirectory.sol";
import {
    Codes,
    ConsentId,
    ConsentState,
    ConsentTerms,
    Effect,
    GranteeKind,
    SubjectId
} from "../../contracts/libraries/MedLedgerTypes.sol";

import {ConsentFixture} from "./utils/ConsentFixture.sol";
import {Logs} from "./utils/Logs.sol";
import {OwnedWallet} from "./utils/OwnedWallet.sol";

/// @notice EIP-712 grantBySig / revokeBySig with random keys: only the controller's signature, or
/// a guardian's holding the needed power, is accepted; nothing is accepted twice, late, tampered,
/// for another signer, or for another chain or contract. Digests are computed here from the
/// documented types (domain version "2", the signer inside Grant and Revoke), cross-checked
/// against ethers' TypedDataEncoder.
contract SignaturesTest is ConsentFixture {
    uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    bytes internal constant TERMS_TYPE =
        "ConsentTerms(uint8 effect,uint8 granteeKind,address granteeAccount,"
        "uint32 granteeOrg,uint8 granteeRoles,uint16 categories,uint16 purposes,uint8 actions,uint64 validFrom,"
        "uint64 validUntil,bytes32 sealedTerms)";
    bytes32 internal constant DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    );

    function setUp() public {
        _setUpConsortium();
    }

    // ───────────────────────────── EIP-712 helpers ─────────────────────────────

    function _domainSeparator(uint256 chainId, address verifying) internal pure returns (bytes32) {
        return
            keccak256(
                abi.encode(DOMAIN_TYPEHASH, keccak256("MedLedger ConsentRegistry"), keccak256("2"), chainId, verifying)
            );
    }

    function _termsHash(ConsentTerms memory t) internal pure returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    keccak256(TERMS_TYPE),
                    t.effect,
                    t.granteeKind,
                    t.granteeAccount,
                    t.granteeOrg,
                    t.granteeRoles,
                    t.categories,
                    t.purposes,
                    t.actions,
                    t.validFrom,
                    t.validUntil,
                    t.sealedTerms
                )
            );
    }

    function _grantDigest(
        uint256 chainId,
        address verifying,
        address signer,
        SubjectId s,
        ConsentTerms memory t,
        uint256 nonce,
        uint256 deadline
    ) internal pure returns (bytes32) {
        bytes32 typehash = keccak256(
            bytes.concat(
                "Grant(address signer,bytes32 subject,ConsentTerms terms,uint256 nonce,uint256 deadline)",
                TERMS_TYPE
            )
        );
        bytes32 structHash = keccak256(abi.encode(typehash, signer, s, _termsHash(t), nonce, deadline));
        return keccak256(abi.encodePacked("\x19\x01", _domainSeparator(chainId, verifying), structHash));
    }

    function _revokeDigest(
        uint256 chainId,
        address verifying,
        address signer,
        SubjectId s,
        ConsentId id,
        uint256 nonce,
        uint256 deadline
    ) internal pure returns (bytes32) {
        bytes32 typehash = keccak256(
            "Revoke(address signer,bytes32 subject,bytes32 consentId,uint256 nonce,uint256 deadline)"
        );
        bytes32 structHash = keccak256(abi.encode(typehash, signer, s, id, nonce, deadline));
        return keccak256(abi.encodePacked("\x19\x01", _domainSeparator(chainId, verifying), structHash));
    }

    function _sign(uint256 pk, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, digest);
        return abi.encodePacked(r, s, v);
    }

    function _pk(uint256 raw) internal pure returns (uint256) {
        return bound(raw, 1, SECP256K1_N - 1);
    }

    /// @dev A fresh subject controlled by the key `pk`.
    function _subjectOf(uint256 pk) internal returns (SubjectId s, address controller) {
        controller = vm.addr(pk);
        s = _register(keccak256(abi.encode("sig-subject", pk)), controller);
    }

    function _terms(uint256 seed) internal view returns (ConsentTerms memory) {
        Practitioner memory p = practitioners[seed % practitioners.length];
        Effect effect = (seed >> 8) % 3 == 0 ? Effect.DENY : Effect.PERMIT;
        return _randomTerms(seed, effect, p, _query(uint8(seed >> 16), uint8(seed >> 24), (seed >> 32) % 2 == 0));
    }

    function _neededPower(ConsentTerms memory t) internal pure returns (uint8) {
        return t.effect == Effect.DENY ? Codes.POWER_REVOKE : Codes.POWER_GRANT;
    }

    // ───────────────────────────── known answer ─────────────────────────────

    /// @notice This file's digest helpers equal ethers' TypedDataEncoder.hash with the SDK's
    /// GRANT_TYPES / REVOKE_TYPES (values generated with ethers 6).
    function test_digestHelpersMatchEthers() public pure {
        ConsentTerms memory t = ConsentTerms({
            effect: Effect.DENY,
            granteeKind: GranteeKind.ORG_ROLE,
            granteeAccount: address(0),
            granteeOrg: 3,
            granteeRoles: 5,
            categories: 0x8004,
            purposes: 0x203,
            actions: 3,
            validFrom: 1750000000,
            validUntil: 1760000000,
            sealedTerms: keccak256("sealed")
        });
        address verifying = 0x1111111111111111111111111111111111111111;
        address signer = 0x2222222222222222222222222222222222222222;
        assertEq(
            _grantDigest(31337, verifying, signer, SubjectId.wrap(keccak256("subject")), t, 7, 1800000000),
            0xd53bb3c0791b852c03fe466e5dd61357e750b7b3cb6e501cc1764ffcd697a041,
            "Grant digest"
        );
        assertEq(
            _revokeDigest(
                31337,
                verifying,
                signer,
                SubjectId.wrap(keccak256("subject")),
                ConsentId.wrap(keccak256("c")),
                2,
                1800000000
            ),
            0x7067aa19aff08bdf66d94300c9db554b15203c176cfcdf8a9d08e56c75e1c52f,
            "Revoke digest"
        );
    }

    // ───────────────────────────── grantBySig ─────────────────────────────

    /// @notice The controller's signature is accepted once (relayed by anyone); the consent is
    /// stored as signed and attributed to the signer; a replay fails; the nonce moves by one.
    function testFuzz_grantBySig_controllerAcceptedOnce(
        uint256 pkRaw,
        uint256 seed,
        address relayer,
        uint32 ttl
    ) public {
        uint256 pk = _pk(pkRaw);
        (SubjectId s, address controller) = _subjectOf(pk);
        ConsentTerms memory t = _terms(seed);
        uint256 nonce = consents.nonces(controller);
        uint256 deadline = block.timestamp + ttl;
        bytes memory sig = _sign(pk, _grantDigest(block.chainid, address(consents), controller, s, t, nonce, deadline));

        vm.recordLogs();
        vm.prank(relayer);
        ConsentId id = consents.grantBySig(s, t, controller, deadline, sig);
        (bool found, , address by, bool bySig) = Logs.granted(vm.getRecordedLogs(), address(consents));
        assertTrue(found, "ConsentGranted emitted");
        assertEq(by, controller, "attributed to the signer");
        assertTrue(bySig, "flagged bySignature");
        assertEq(consents.nonces(controller), nonce + 1, "nonce used");
        assertTrue(_storedAs(consents.getConsent(s, id), t), "stored as signed");

        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ConsentInvalidSignature.selector, controller));
        vm.prank(relayer);
        consents.grantBySig(s, t, controller, deadline, sig);
        assertEq(consents.consentCount(s), 1, "exactly one consent");
    }

    /// @notice A signature by any other key is rejected: claimed as the controller's it is
    /// invalid; as the other key's own it is unauthorized (not a guardian). No nonce is spent.
    function testFuzz_grantBySig_foreignKeyRejected(uint256 pkRaw, uint256 otherRaw, uint256 seed) public {
        uint256 pk = _pk(pkRaw);
        uint256 other = _pk(otherRaw);
        vm.assume(vm.addr(pk) != vm.addr(other));
        (SubjectId s, address controller) = _subjectOf(pk);
        address forger = vm.addr(other);
        ConsentTerms memory t = _terms(seed);
        uint256 deadline = block.timestamp + 1 days;

        bytes memory forged = _sign(
            other,
            _grantDigest(block.chainid, address(consents), controller, s, t, consents.nonces(controller), deadline)
        );
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ConsentInvalidSignature.selector, controller));
        consents.grantBySig(s, t, controller, deadline, forged);

        bytes memory own = _sign(
            other,
            _grantDigest(block.chainid, address(consents), forger, s, t, consents.nonces(forger), deadline)
        );
        vm.expectRevert(
            abi.encodeWithSelector(IConsentRegistry.ConsentUnauthorized.selector, s, forger, _neededPower(t))
        );
        consents.grantBySig(s, t, forger, deadline, own);

        assertEq(consents.nonces(controller), 0, "controller nonce untouched");
        assertEq(consents.nonces(forger), 0, "forger nonce untouched");
        assertEq(consents.consentCount(s), 0, "nothing granted");
    }

    /// @notice A guardian's signature counts only with the needed power (GRANT for a permit,
    /// REVOKE for a deny) and only until the guardianship expires.
    function testFuzz_grantBySig_guardianNeedsThePower(
        uint256 pkRaw,
        uint256 guardianRaw,
        uint8 powersRaw,
        uint32 validFor,
        uint32 elapsed,
        uint256 seed
    ) public {
        uint256 pk = _pk(pkRaw);
        uint256 gpk = _pk(guardianRaw);
        vm.assume(vm.addr(pk) != vm.addr(gpk));
        (SubjectId s, address controller) = _subjectOf(pk);
        address g = vm.addr(gpk);
        uint8 powers = uint8(bound(powersRaw, 1, Codes.ALL_POWERS));
        uint64 until = validFor % 3 == 0 ? 0 : uint64(block.timestamp) + 1 + (validFor % (60 days));
        _setGuardian(s, controller, g, powers, until);
        vm.warp(block.timestamp + (elapsed % (90 days)));

        ConsentTerms memory t = _terms(seed);
        uint8 needed = _neededPower(t);
        bool allowed = powers & needed != 0 && (until == 0 || until > block.timestamp);
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = _sign(gpk, _grantDigest(block.chainid, address(consents), g, s, t, 0, deadline));
        if (!allowed) {
            vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ConsentUnauthorized.selector, s, g, needed));
        }
        consents.grantBySig(s, t, g, deadline, sig);
        assertEq(consents.consentCount(s), allowed ? 1 : 0, "granted iff the guardian holds the power");
        assertEq(consents.nonces(g), allowed ? 1 : 0, "nonce spent iff granted");
    }

    struct Signed {
        address signer;
        SubjectId subject;
        ConsentTerms terms;
        uint256 nonce;
        uint256 deadline;
        uint256 chainId;
        address verifying;
    }

    /// @dev What the signer signed, tampered according to `mode` (8: nothing, it is relayed late).
    function _tampered(
        address signer,
        SubjectId s,
        ConsentTerms memory t,
        uint256 deadline,
        uint256 mode,
        uint256 noise
    ) internal returns (Signed memory x) {
        x = Signed(signer, s, _copy(t), 0, deadline, block.chainid, address(consents));
        if (mode == 0) x.terms.categories ^= uint16(1 << (noise % 16));
        else if (mode == 1) x.terms.validUntil = t.validUntil == 0 ? uint64(block.timestamp) + 1 days : 0;
        else if (mode == 2) x.terms.granteeRoles ^= 1;
        else if (mode == 3) x.subject = SubjectId.wrap(bytes32(uint256(SubjectId.unwrap(s)) ^ 1));
        else if (mode == 4) x.nonce = 1 + (noise % 5);
        else if (mode == 5) x.deadline = deadline + 1;
        else if (mode == 6) x.chainId = block.chainid + 1 + (noise % 1000);
        else if (mode == 7)
            x.verifying = address(new ConsentRegistry(IParticipantDirectory(address(directory)), address(this)));
        else if (mode == 9) x.signer = address(uint160(noise) | 1);
        else if (mode == 10) x.terms.sealedTerms = keccak256(abi.encode(t.sealedTerms));
    }

    /// @notice Tampered terms (sealed commitment included), subject, deadline, nonce or signer field,
    /// another domain (contract or chain), or a late relay never pass.
    function testFuzz_grantBySig_tamperedOrLateRejected(uint256 pkRaw, uint256 seed, uint8 how, uint256 noise) public {
        uint256 pk = _pk(pkRaw);
        (SubjectId s, address controller) = _subjectOf(pk);
        ConsentTerms memory t = _terms(seed);
        uint256 deadline = block.timestamp + 1 + (noise % (30 days));
        uint256 mode = how % 11;
        Signed memory x = _tampered(controller, s, t, deadline, mode, noise);
        if (mode == 9) vm.assume(x.signer != controller);
        bytes memory sig = _sign(
            pk,
            _grantDigest(x.chainId, x.verifying, x.signer, x.subject, x.terms, x.nonce, x.deadline)
        );

        if (mode == 8) {
            // Correct signature, relayed after its deadline.
            vm.warp(deadline + 1 + (noise % 1000));
            vm.expectRevert(
                abi.encodeWithSelector(IConsentRegistry.ConsentSignatureExpired.selector, deadline, block.timestamp)
            );
        } else {
            vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ConsentInvalidSignature.selector, controller));
        }
        consents.grantBySig(s, t, controller, deadline, sig);
        assertEq(consents.consentCount(s), 0, "nothing granted");
    }

    /// @notice The malleated twin (s -> n - s, v flipped) of a valid signature is rejected.
    function testFuzz_grantBySig_malleatedSignatureRejected(uint256 pkRaw, uint256 seed) public {
        uint256 pk = _pk(pkRaw);
        (SubjectId s, address controller) = _subjectOf(pk);
        ConsentTerms memory t = _terms(seed);
        uint256 deadline = block.timestamp + 1 days;
        (uint8 v, bytes32 r, bytes32 ss) = vm.sign(
            pk,
            _grantDigest(block.chainid, address(consents), controller, s, t, 0, deadline)
        );
        bytes memory twin = abi.encodePacked(r, bytes32(SECP256K1_N - uint256(ss)), v == 27 ? uint8(28) : uint8(27));
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ConsentInvalidSignature.selector, controller));
        consents.grantBySig(s, t, controller, deadline, twin);
        // The original still works.
        consents.grantBySig(s, t, controller, deadline, abi.encodePacked(r, ss, v));
    }

    // ───────────────────────────── revokeBySig ─────────────────────────────

    /// @notice revokeBySig: only the controller's (or a REVOKE guardian's, for a permit)
    /// signature revokes; replay fails; a foreign key fails.
    function testFuzz_revokeBySig_onlyOnceAndOnlyByTheController(uint256 pkRaw, uint256 otherRaw, uint256 seed) public {
        uint256 pk = _pk(pkRaw);
        uint256 other = _pk(otherRaw);
        vm.assume(vm.addr(pk) != vm.addr(other));
        (SubjectId s, address controller) = _subjectOf(pk);
        ConsentTerms memory t = _terms(seed);
        ConsentId id = _grant(s, controller, t);
        uint256 deadline = block.timestamp + 1 days;

        bytes memory forged = _sign(
            other,
            _revokeDigest(block.chainid, address(consents), controller, s, id, 0, deadline)
        );
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ConsentInvalidSignature.selector, controller));
        consents.revokeBySig(s, id, controller, deadline, forged);

        bytes memory sig = _sign(pk, _revokeDigest(block.chainid, address(consents), controller, s, id, 0, deadline));
        consents.revokeBySig(s, id, controller, deadline, sig);
        assertEq(consents.getConsent(s, id).revokedAt, block.timestamp, "revoked");

        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ConsentInvalidSignature.selector, controller));
        consents.revokeBySig(s, id, controller, deadline, sig);
    }

    // ───────────────────────────── helpers ─────────────────────────────

    function _copy(ConsentTerms memory t) internal pure returns (ConsentTerms memory c) {
        c = ConsentTerms(
            t.effect,
            t.granteeKind,
            t.granteeAccount,
            t.granteeOrg,
            t.granteeRoles,
            t.categories,
            t.purposes,
            t.actions,
            t.validFrom,
            t.validUntil,
            t.sealedTerms
        );
    }

    /// @dev Whether the stored consent has exactly the signed terms (the sealed commitment is not stored).
    function _storedAs(ConsentState memory s, ConsentTerms memory t) internal pure returns (bool) {
        return
            s.effect == t.effect &&
            s.granteeKind == t.granteeKind &&
            s.granteeAccount == t.granteeAccount &&
            s.granteeOrg == t.granteeOrg &&
            s.granteeRoles == t.granteeRoles &&
            s.categories == t.categories &&
            s.purposes == t.purposes &&
            s.actions == t.actions &&
            s.validFrom == t.validFrom &&
            s.validUntil == t.validUntil;
    }

    // ───────────────────────────── finding 8 ─────────────────────────────

    /// @notice Finding 8: one owner controls two ERC-1271 wallets, the subject's controller and a
    /// guardian with GRANT. On 1.0 the Grant struct did not name the signer, so a signature the
    /// owner made for one wallet was valid for the other at the same nonce: relayed twice, it
    /// granted the consent twice, attributed to two different parties. In 1.1 the signer is part
    /// of the signed data: the second relay is refused.
    function test_oneSignatureIsNotAcceptedForTwoWalletsOfOneOwner() public {
        uint256 ownerPk = 0x0DD1;
        OwnedWallet a = new OwnedWallet(vm.addr(ownerPk));
        OwnedWallet b = new OwnedWallet(vm.addr(ownerPk));
        SubjectId s = _register(keccak256("two-wallets"), address(a));
        _setGuardian(s, address(a), address(b), Codes.POWER_GRANT | Codes.POWER_REVOKE, 0);
        ConsentTerms memory t = _practitionerPermit(practitioners[0].account, 1, 1, Codes.ACTION_READ);
        uint256 deadline = block.timestamp + 1 hours;
        assertEq(consents.nonces(address(a)), consents.nonces(address(b)), "same nonce");
        bytes memory sig = _sign(
            ownerPk,
            _grantDigest(block.chainid, address(consents), address(a), s, t, 0, deadline)
        );
        consents.grantBySig(s, t, address(a), deadline, sig);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ConsentInvalidSignature.selector, address(b)));
        consents.grantBySig(s, t, address(b), deadline, sig);
        assertEq(consents.consentCount(s), 1, "granted once");
        // The same for revocations.
        ConsentId id = consents.consentIdAt(s, 1);
        bytes memory rsig = _sign(
            ownerPk,
            _revokeDigest(block.chainid, address(consents), address(b), s, id, 0, deadline)
        );
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ConsentInvalidSignature.selector, address(a)));
        consents.revokeBySig(s, id, address(a), deadline, rsig);
        consents.revokeBySig(s, id, address(b), deadline, rsig);
        assertEq(consents.getConsent(s, id).revokedAt, block.timestamp, "revoked by the wallet that signed");
    }
}
