/**
 * Consents as the SDK takes them (names, dates) and as the contract takes them (masks, seconds,
 * and a salted commitment to the sealed terms: the sensitive labels a permit lets through or a
 * deny refuses, which never go on chain in clear). `consentTerms` checks every field at run time:
 * an unknown category, label, purpose, role or action is an InvalidInputError listing the allowed
 * names — never a silent DEMOGRAPHICS or TREAT.
 *
 * @example
 * ```ts
 * import { consentTerms } from "medledger";
 * const { terms, opening } = consentTerms(
 *   { grantee: { practitioner: doctor }, categories: ["OBSERVATIONS"], purposes: ["TREAT"], sealed: { allowLabels: ["GENETICS"] } },
 *   subject,
 * );
 * ```
 */
import type { ActionName, CategoryName, ConsentTerms, LabelName, PurposeName, RoleName } from "../codes.js";
import {
  Action,
  ALL_PURPOSES,
  actionMask,
  Category,
  categoryMask,
  Effect,
  GranteeKind,
  Label,
  labelMask,
  Purpose,
  purposeMask,
  Role,
  roleMask,
} from "../codes.js";
import { InvalidInputError } from "../errors.js";
import { sealTerms, termsCommitment } from "../sealed/commitments.js";
import type { SealedTermsOpening } from "../sealed/commitments.js";
import { ZERO_ADDRESS } from "../types.js";
import { address, bytes32, hasName, nameIn, namesIn, object, uint, unixSeconds } from "../validate.js";

export type { ConsentTerms } from "../codes.js";

/** The purposes a research (studies) consent may name: HRESCH and CLINTRCH. */
const RESEARCH_PURPOSES = (1 << Purpose.HRESCH) | (1 << Purpose.CLINTRCH);
export type { SealedTermsOpening } from "../sealed/commitments.js";

/** A consent as the SDK takes it: names, not bit masks. */
export interface ConsentInput {
  /**
   * A practitioner's account, or an organization's members holding any of `roles` (organization 0:
   * any), or (research) the ethics-approved studies of a research organization (`studies:
   * { organization: 0 }` or omitted: of any research organization). A studies consent lets no one
   * read directly; it needs research purposes (HRESCH, CLINTRCH) and READ only.
   */
  grantee:
    | { practitioner: string }
    | { organization: number; roles: readonly RoleName[] }
    | { studies: { organization?: number } };
  /**
   * Public clinical categories. A permit names at least one; a deny may name none when it names
   * sensitive labels only (`sealed.denyLabels`): it then binds nothing on chain, the keyholders
   * enforce it.
   */
  categories?: readonly CategoryName[];
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
  /**
   * The sealed terms (never on chain in clear: a salted commitment is). A permit may let
   * sensitive labels through (`allowLabels`, by default nowhere: a permit covers no sensitive
   * record), optionally only within some of its categories (`refinement`); a deny may refuse
   * labels (`denyLabels`).
   */
  sealed?: {
    allowLabels?: readonly LabelName[];
    denyLabels?: readonly LabelName[];
    refinement?: readonly CategoryName[];
  };
}

/** A consent's on-chain terms and the opening of its sealed-terms commitment (kept by the patient's app). */
export interface SealedConsent {
  terms: ConsentTerms;
  opening: SealedTermsOpening;
}

const EFFECTS = { permit: Effect.PERMIT, deny: Effect.DENY } as const;

/** The sealed part of a consent, checked against its effect and public categories. */
function sealedPart(c: Record<string, unknown>, deny: boolean, categories: number, field: string) {
  if (c.sealed === undefined) return { allowLabels: 0, denyLabels: 0, refinement: 0 };
  const s = object(c.sealed, `${field}.sealed`);
  const f = (name: string) => `${field}.sealed.${name}`;
  for (const key of Object.keys(s))
    if (!["allowLabels", "denyLabels", "refinement"].includes(key))
      throw new InvalidInputError(`Unknown sealed term: ${f(key)}`, {
        field: f(key),
        allowed: ["allowLabels", "denyLabels", "refinement"],
      });
  const labels = (name: string) =>
    s[name] === undefined ? 0 : labelMask(namesIn(Label, s[name], f(name), { allowEmpty: true }), f(name));
  const allowLabels = labels("allowLabels");
  const denyLabels = labels("denyLabels");
  const refinement =
    s.refinement === undefined
      ? 0
      : categoryMask(namesIn(Category, s.refinement, f("refinement"), { allowEmpty: true }), f("refinement"));
  if (deny && (allowLabels !== 0 || refinement !== 0))
    throw new InvalidInputError(
      `A deny refuses labels (denyLabels); it has no ${f(allowLabels !== 0 ? "allowLabels" : "refinement")}`,
      { field: f(allowLabels !== 0 ? "allowLabels" : "refinement") },
    );
  if (!deny && denyLabels !== 0)
    throw new InvalidInputError(
      `A permit lets labels through (allowLabels); record a deny to refuse them, not ${f("denyLabels")}`,
      { field: f("denyLabels") },
    );
  if ((refinement & ~categories) !== 0)
    throw new InvalidInputError(`${f("refinement")} must name only categories the permit covers`, {
      field: f("refinement"),
    });
  return { allowLabels, denyLabels, refinement };
}

/**
 * Converts a {@link ConsentInput} for `subject` to the on-chain terms, with a fresh sealed-terms
 * commitment and its opening; InvalidInputError on anything malformed.
 */
export function consentTerms(input: ConsentInput, subject: string, field = "consent"): SealedConsent {
  const c = object(input, field);
  const subjectId = bytes32(subject, "subject");
  const effect = c.effect === undefined ? Effect.PERMIT : EFFECTS[nameIn(EFFECTS, c.effect, `${field}.effect`)];
  const deny = effect === Effect.DENY;
  const names = c.categories === undefined && deny ? [] : c.categories;
  const categories = categoryMask(namesIn(Category, names, `${field}.categories`, { allowEmpty: deny }));
  if (c.purposes !== undefined || !deny) namesIn(Purpose, c.purposes, `${field}.purposes`, { allowEmpty: deny });
  if (c.actions !== undefined) namesIn(Action, c.actions, `${field}.actions`);
  const validFrom = unixSeconds(c.validFrom, `${field}.validFrom`, { optional: true });
  const validUntil = unixSeconds(c.validUntil, `${field}.validUntil`, { optional: true });
  if (validUntil !== 0n && validUntil <= validFrom)
    throw new InvalidInputError(`${field}.validUntil must be after validFrom`, { field: `${field}.validUntil` });
  const sealed = sealedPart(c, deny, categories, field);
  if (deny && categories === 0 && sealed.denyLabels === 0)
    throw new InvalidInputError(`A deny must name ${field}.categories or ${field}.sealed.denyLabels`, {
      field: `${field}.categories`,
    });
  const purposes = purposeMask(input.purposes ?? [], `${field}.purposes`);
  const opening = sealTerms({ subject: subjectId, ...sealed });
  const base = {
    effect,
    categories,
    // A deny for every purpose names them all (the contracts never read 0 as "all").
    purposes: deny && purposes === 0 ? ALL_PURPOSES : purposes,
    actions: actionMask(input.actions ?? ["READ"], `${field}.actions`),
    validFrom,
    validUntil,
    sealedTerms: termsCommitment(opening),
  };
  const grantee = object(c.grantee, `${field}.grantee`);
  if (hasName(grantee, "studies")) {
    if (hasName(grantee, "practitioner") || hasName(grantee, "organization"))
      throw new InvalidInputError(`${field}.grantee must have one of "practitioner", "organization" or "studies"`, {
        field: `${field}.grantee`,
      });
    const studies = object(grantee.studies, `${field}.grantee.studies`);
    const terms: ConsentTerms = {
      ...base,
      // A research deny for "every purpose" means every research purpose (the only ones it may name).
      purposes: deny && purposes === 0 ? RESEARCH_PURPOSES : base.purposes,
      granteeKind: GranteeKind.STUDY,
      granteeAccount: ZERO_ADDRESS,
      granteeOrg:
        studies.organization === undefined
          ? 0
          : uint(studies.organization, `${field}.grantee.studies.organization`, 32),
      granteeRoles: 0,
    };
    return { terms, opening };
  }
  const isPractitioner = hasName(grantee, "practitioner");
  if (isPractitioner === hasName(grantee, "organization"))
    throw new InvalidInputError(`${field}.grantee must have either "practitioner" or "organization" (with roles)`, {
      field: `${field}.grantee`,
    });
  if (isPractitioner) {
    const terms: ConsentTerms = {
      ...base,
      granteeKind: GranteeKind.PRACTITIONER,
      granteeAccount: address(grantee.practitioner, `${field}.grantee.practitioner`),
      granteeOrg: 0,
      granteeRoles: 0,
    };
    return { terms, opening };
  }
  namesIn(Role, grantee.roles, `${field}.grantee.roles`);
  const terms: ConsentTerms = {
    ...base,
    granteeKind: GranteeKind.ORG_ROLE,
    granteeAccount: ZERO_ADDRESS,
    granteeOrg: uint(grantee.organization, `${field}.grantee.organization`, 32),
    granteeRoles: roleMask(grantee.roles as RoleName[], `${field}.grantee.roles`),
  };
  return { terms, opening };
}
