/**
 * Consents as the SDK takes them (names, dates) and as the contract takes them (masks, seconds).
 * `consentTerms` checks every field at run time: an unknown category, purpose, role or action is
 * an InvalidInputError listing the allowed names — never a silent DEMOGRAPHICS or TREAT.
 *
 * @example
 * ```ts
 * import { consentTerms } from "medledger";
 * const terms = consentTerms({ grantee: { practitioner: doctor }, categories: ["OBSERVATIONS"], purposes: ["TREAT"] });
 * ```
 */
import type { ActionName, CategoryName, ConsentTerms, PurposeName, RoleName } from "../codes.js";
import {
  actionMask,
  categoryMask,
  Effect,
  GranteeKind,
  purposeMask,
  roleMask,
  Category,
  Purpose,
  Role,
  Action,
} from "../codes.js";
import { InvalidInputError } from "../errors.js";
import { ZERO_ADDRESS } from "../types.js";
import { address, hasName, nameIn, namesIn, object, uint, unixSeconds } from "../validate.js";

export type { ConsentTerms } from "../codes.js";

/** A consent as the SDK takes it: names, not bit masks. */
export interface ConsentInput {
  /** A practitioner's account, or an organization's members holding any of `roles` (organization 0: any). */
  grantee: { practitioner: string } | { organization: number; roles: readonly RoleName[] };
  categories: readonly CategoryName[];
  /** Purposes of use; for a deny, omit to cover every purpose. */
  purposes?: readonly PurposeName[];
  /** Default ["READ"]. */
  actions?: readonly ActionName[];
  /** Default "permit". */
  effect?: "permit" | "deny";
  /** Unix time in SECONDS, or a Date (milliseconds are refused). */
  validFrom?: Date | number;
  /** Unix time in SECONDS, or a Date; omit for no expiry. */
  validUntil?: Date | number;
}

const EFFECTS = { permit: Effect.PERMIT, deny: Effect.DENY } as const;

/** Converts a {@link ConsentInput} to the on-chain terms; InvalidInputError on anything malformed. */
export function consentTerms(input: ConsentInput, field = "consent"): ConsentTerms {
  const c = object(input, field);
  const effect = c.effect === undefined ? Effect.PERMIT : EFFECTS[nameIn(EFFECTS, c.effect, `${field}.effect`)];
  const deny = effect === Effect.DENY;
  namesIn(Category, c.categories, `${field}.categories`);
  if (c.purposes !== undefined || !deny) namesIn(Purpose, c.purposes, `${field}.purposes`, { allowEmpty: deny });
  if (c.actions !== undefined) namesIn(Action, c.actions, `${field}.actions`);
  const validFrom = unixSeconds(c.validFrom, `${field}.validFrom`, { optional: true });
  const validUntil = unixSeconds(c.validUntil, `${field}.validUntil`, { optional: true });
  if (validUntil !== 0n && validUntil <= validFrom)
    throw new InvalidInputError(`${field}.validUntil must be after validFrom`, { field: `${field}.validUntil` });
  const base = {
    effect,
    categories: categoryMask(input.categories, `${field}.categories`),
    purposes: purposeMask(input.purposes ?? [], `${field}.purposes`),
    actions: actionMask(input.actions ?? ["READ"], `${field}.actions`),
    validFrom,
    validUntil,
  };
  const grantee = object(c.grantee, `${field}.grantee`);
  const isPractitioner = hasName(grantee, "practitioner");
  if (isPractitioner === hasName(grantee, "organization"))
    throw new InvalidInputError(`${field}.grantee must have either "practitioner" or "organization" (with roles)`, {
      field: `${field}.grantee`,
    });
  if (isPractitioner) {
    return {
      ...base,
      granteeKind: GranteeKind.PRACTITIONER,
      granteeAccount: address(grantee.practitioner, `${field}.grantee.practitioner`),
      granteeOrg: 0,
      granteeRoles: 0,
    };
  }
  namesIn(Role, grantee.roles, `${field}.grantee.roles`);
  return {
    ...base,
    granteeKind: GranteeKind.ORG_ROLE,
    granteeAccount: ZERO_ADDRESS,
    granteeOrg: uint(grantee.organization, `${field}.grantee.organization`, 32),
    granteeRoles: roleMask(grantee.roles as RoleName[], `${field}.grantee.roles`),
  };
}
