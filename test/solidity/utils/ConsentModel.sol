// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Codes, ConsentTerms, GranteeKind} from "../../../contracts/libraries/MedLedgerTypes.sol";

/// @notice An independent reference model of a consent decision, written from the documented
/// semantics (IConsentRegistry / MedLedgerTypes NatSpec), not from ConsentRegistry's code.
library ConsentModel {
    /// @dev Every PurposeOfUse bit (0..MAX_PURPOSE).
    uint16 internal constant ALL_PURPOSES = uint16((1 << (uint256(Codes.MAX_PURPOSE) + 1)) - 1);

    /// @notice What the model knows of an accessor: directory state as a consent check sees it.
    /// A practitioner grantee is named by account (the registry's compact ids are its business).
    struct Accessor {
        address account;
        bool active; // enrolled, not suspended, credential unexpired, organization not suspended
        uint32 org;
        uint8 roles;
        bool actsForSubject; // the subject's controller, or an unexpired guardian with POWER_ACCESS
    }

    struct Query {
        uint8 category;
        uint8 purpose;
        uint8 action; // Codes.ACTION_READ or Codes.ACTION_APPEND (anything else is refused)
    }

    /// @notice Is the grantee of `t` this accessor?
    function granteeMatches(ConsentTerms memory t, Accessor memory a) internal pure returns (bool) {
        if (t.granteeKind == GranteeKind.PRACTITIONER) return t.granteeAccount == a.account;
        return (t.granteeOrg == 0 || t.granteeOrg == a.org) && (t.granteeRoles & a.roles) != 0;
    }

    /// @notice Is the consent in force at `nowTime` (not revoked, inside [validFrom, validUntil))?
    function inForce(ConsentTerms memory t, uint64 revokedAt, uint256 nowTime) internal pure returns (bool) {
        if (revokedAt != 0) return false;
        if (nowTime < t.validFrom) return false;
        if (t.validUntil != Codes.NO_EXPIRATION_TIME && nowTime >= t.validUntil) return false;
        return true;
    }

    /// @notice Does the consent (permit or deny) cover (grantee, window, category, purpose, action)?
    /// APPEND does not evaluate the purpose. (Since 1.1 "every purpose" is the full mask, never 0.)
    function covers(
        ConsentTerms memory t,
        uint64 revokedAt,
        Accessor memory a,
        Query memory q,
        uint256 nowTime
    ) internal pure returns (bool) {
        if (!granteeMatches(t, a)) return false;
        if (!inForce(t, revokedAt, nowTime)) return false;
        if (q.category > Codes.MAX_CATEGORY) return false;
        if ((t.categories >> q.category) & 1 == 0) return false;
        if (t.actions & q.action == 0) return false;
        if (q.action == Codes.ACTION_READ) {
            if (q.purpose > Codes.MAX_PURPOSE) return false;
            if ((t.purposes >> q.purpose) & 1 == 0) return false;
        }
        return true;
    }

    /// @notice Is the query well formed at all (valid category, action, and purpose for a READ)?
    function wellFormed(Query memory q) internal pure returns (bool) {
        if (q.category > Codes.MAX_CATEGORY) return false;
        if (q.action != Codes.ACTION_READ && q.action != Codes.ACTION_APPEND) return false;
        if (q.action == Codes.ACTION_READ && q.purpose > Codes.MAX_PURPOSE) return false;
        return true;
    }
}
