/**
 * The codes shared with the contracts (contracts/libraries/MedLedgerTypes.sol): practitioner roles,
 * data categories, HL7 v3 PurposeOfUse codes, actions, guardian powers, and the enums the
 * contracts return. The numbers are part of the on-chain ABI and never change.
 *
 * @example
 * ```ts
 * import { Category, Purpose, categoryMask, purposeMask } from "medledger";
 * const categories = categoryMask(["OBSERVATIONS", "MEDICATIONS"]);
 * const purposes = purposeMask(["TREAT"]);
 * ```
 */

/** Data categories (bit index). A record has one; a consent covers a mask of them. */
export const Category = {
  DEMOGRAPHICS: 0,
  ENCOUNTERS: 1,
  OBSERVATIONS: 2,
  IMAGING: 3,
  MEDICATIONS: 4,
  IMMUNIZATIONS: 5,
  PROCEDURES: 6,
  CONDITIONS: 7,
  NOTES: 8,
  ALLERGIES: 9,
  CARE_PLANS: 10,
  FINANCIAL: 11,
  DIAGNOSTIC_REPORTS: 12,
  DOCUMENTS: 13,
  REQUESTS: 14,
  OTHER: 15,
  MENTAL_HEALTH: 16,
  SEXUAL_REPRODUCTIVE: 17,
  SUBSTANCE_USE: 18,
  GENETICS: 19,
} as const;
export type CategoryName = keyof typeof Category;
/** The sensitive classes, which consents should name explicitly. */
export const SENSITIVE_CATEGORIES: readonly CategoryName[] = [
  "MENTAL_HEALTH",
  "SEXUAL_REPRODUCTIVE",
  "SUBSTANCE_USE",
  "GENETICS",
];

/** HL7 v3 PurposeOfUse codes (bit index). */
export const Purpose = {
  TREAT: 0,
  ETREAT: 1,
  HPAYMT: 2,
  HOPERAT: 3,
  HRESCH: 4,
  CLINTRCH: 5,
  PUBHLTH: 6,
  PATRQT: 7,
  COC: 8,
  BTG: 9,
} as const;
export type PurposeName = keyof typeof Purpose;

/** Practitioner roles (bit masks). */
export const Role = {
  CLINICIAN: 1 << 0,
  EMERGENCY_RESPONDER: 1 << 1,
  RESEARCHER: 1 << 2,
  PAYER: 1 << 3,
  AUDITOR: 1 << 4,
  PRIVACY_OFFICER: 1 << 5,
} as const;
export type RoleName = keyof typeof Role;

/** Actions (bit masks). */
export const Action = { READ: 1 << 0, APPEND: 1 << 1 } as const;
export type ActionName = keyof typeof Action;

/** Guardian powers (bit masks). */
export const Power = {
  GRANT: 1 << 0,
  REVOKE: 1 << 1,
  ERASE: 1 << 2,
  RECOVER: 1 << 3,
  ACCESS: 1 << 4,
} as const;
export type PowerName = keyof typeof Power;

/** Organization kinds (enum OrgKind). */
export const OrgKind = { HOSPITAL: 1, LAB: 2, PAYER: 3, RESEARCH_INSTITUTE: 4, REGULATOR: 5 } as const;
export type OrgKindName = keyof typeof OrgKind;

/** enum Effect */
export const Effect = { PERMIT: 0, DENY: 1 } as const;
/** enum GranteeKind */
export const GranteeKind = { PRACTITIONER: 0, ORG_ROLE: 1 } as const;
/** enum AccessBasis */
export const AccessBasis = ["NONE", "CONSENT", "EMERGENCY", "SUBJECT"] as const;
export type AccessBasisName = (typeof AccessBasis)[number];
/** enum ReviewOutcome */
export const ReviewOutcome = { PENDING: 0, JUSTIFIED: 1, UNJUSTIFIED: 2 } as const;

/** enum DenyReason, in ABI order. */
export const DenyReason = [
  "NONE",
  "NO_CONSENT",
  "CONSENT_REVOKED",
  "CONSENT_EXPIRED",
  "CONSENT_NOT_YET_VALID",
  "CATEGORY_NOT_COVERED",
  "PURPOSE_NOT_ALLOWED",
  "ACTION_NOT_ALLOWED",
  "GRANTEE_MISMATCH",
  "DENIED_BY_SUBJECT",
  "ACCESSOR_UNKNOWN",
  "ACCESSOR_SUSPENDED",
  "CREDENTIAL_EXPIRED",
  "ORGANIZATION_SUSPENDED",
  "SUBJECT_UNKNOWN",
  "RECORD_UNKNOWN",
  "RECORD_ERASED",
  "BREAK_GLASS_OPTED_OUT",
  "NOT_EMERGENCY_RESPONDER",
  "INVALID_PURPOSE",
] as const;
export type DenyReasonName = (typeof DenyReason)[number];

/** The numeric code of a deny reason name. */
export function denyReasonCode(name: DenyReasonName): number {
  return DenyReason.indexOf(name);
}

/** The name of a numeric deny reason (UNKNOWN_<n> if the contracts are newer than this SDK). */
export function denyReasonName(code: number | bigint): DenyReasonName | `UNKNOWN_${number}` {
  return DenyReason[Number(code)] ?? `UNKNOWN_${Number(code)}`;
}

/** A category mask from names. */
export function categoryMask(names: readonly CategoryName[]): number {
  return names.reduce((mask, n) => mask | (1 << Category[n]), 0) >>> 0;
}

/** A purpose mask from names. */
export function purposeMask(names: readonly PurposeName[]): number {
  return names.reduce((mask, n) => mask | (1 << Purpose[n]), 0);
}

/** A role mask from names. */
export function roleMask(names: readonly RoleName[]): number {
  return names.reduce((mask, n) => mask | Role[n], 0);
}

/** An action mask from names. */
export function actionMask(names: readonly ActionName[]): number {
  return names.reduce((mask, n) => mask | Action[n], 0);
}

/** A guardian power mask from names. */
export function powerMask(names: readonly PowerName[]): number {
  return names.reduce((mask, n) => mask | Power[n], 0);
}

/** Every category, as a mask. */
export const ALL_CATEGORIES = categoryMask(Object.keys(Category) as CategoryName[]);
