/**
 * Every list the SDK shares with the contracts (contracts/libraries/MedLedgerTypes.sol), written
 * ONCE: public data categories, HL7 v3 PurposeOfUse codes, practitioner roles, actions, guardian
 * powers, organization kinds, the contracts' enums (effect, grantee kind, accessor status, access
 * basis, deny reason, review outcome) and the fields of ConsentTerms. The numbers are part of the
 * on-chain ABI and never change; test/sdk/codes.test.ts checks each list against the compiled
 * contracts' AST and ABI, so a drift fails CI. See CONTRIBUTING.md ("How to add a category, purpose or deny reason").
 *
 * Also here, SDK-only: the four sensitive LABELS (mental health, sexual and reproductive health,
 * substance use, genetics). They are not categories and never appear on chain in clear: a record
 * anchors a salted commitment to its label mask and a consent a commitment to its sealed terms
 * (sdk/sealed/commitments.ts). Their bits are part of that commitment format and never change.
 *
 * Every function taking names checks them at run time (own properties only) and throws
 * `InvalidInputError` listing the allowed names.
 *
 * @example
 * ```ts
 * import { Category, categoryMask, purposeMask } from "medledger";
 * const categories = categoryMask(["OBSERVATIONS", "MEDICATIONS"]); // 0b10100
 * const purposes = purposeMask(["TREAT"]);
 * Category.OBSERVATIONS; // 2
 * ```
 */
import { InvalidInputError } from "./errors.js";
import { hasName, nameIn, namesIn } from "./validate.js";

/**
 * Public clinical categories (Codes.CAT_*: bit indexes 0..15). A record has one; a consent covers
 * a mask of them. What a chain observer sees in clear: the sensitive classes are {@link Label}s.
 */
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
} as const;
export type CategoryName = keyof typeof Category;

/**
 * The sensitive labels and their bits (SDK-only: sealed, never on chain in clear). A record
 * carries a mask of every label that applies (a multi-label record carries all of them), so a
 * consent or deny naming any one of them governs it.
 *
 * @example
 * ```ts
 * import { Label } from "medledger";
 * const mask = Label.MENTAL_HEALTH | Label.GENETICS; // 9
 * ```
 */
export const Label = Object.freeze({
  MENTAL_HEALTH: 1,
  SEXUAL_REPRODUCTIVE: 2,
  SUBSTANCE_USE: 4,
  GENETICS: 8,
} as const);
export type LabelName = keyof typeof Label;
/** Every label name, in bit order. */
export const LABEL_NAMES: readonly LabelName[] = Object.freeze(
  (Object.keys(Label) as LabelName[]).sort((a, b) => Label[a] - Label[b]),
);
/** The mask of all four labels. */
export const ALL_LABELS = 0x0f;

/** HL7 v3 PurposeOfUse codes (Codes.PURPOSE_*: bit indexes). */
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

/** Practitioner roles (Codes.ROLE_*: bit masks). */
export const Role = {
  CLINICIAN: 1 << 0,
  EMERGENCY_RESPONDER: 1 << 1,
  RESEARCHER: 1 << 2,
  PAYER: 1 << 3,
  AUDITOR: 1 << 4,
  PRIVACY_OFFICER: 1 << 5,
} as const;
export type RoleName = keyof typeof Role;

/** Actions (Codes.ACTION_*: bit masks). */
export const Action = { READ: 1 << 0, APPEND: 1 << 1 } as const;
export type ActionName = keyof typeof Action;

/** Guardian powers (Codes.POWER_*: bit masks). */
export const Power = {
  GRANT: 1 << 0,
  REVOKE: 1 << 1,
  ERASE: 1 << 2,
  RECOVER: 1 << 3,
  ACCESS: 1 << 4,
} as const;
export type PowerName = keyof typeof Power;

/** enum OrgKind, the kinds governance can admit (NONE = 0 is "not an organization"). */
export const OrgKind = { HOSPITAL: 1, LAB: 2, PAYER: 3, RESEARCH_INSTITUTE: 4, REGULATOR: 5, ETHICS_BOARD: 6 } as const;
export type OrgKindName = keyof typeof OrgKind;

/** enum Effect */
export const Effect = { PERMIT: 0, DENY: 1 } as const;
/** enum GranteeKind */
export const GranteeKind = { PRACTITIONER: 0, ORG_ROLE: 1, STUDY: 2 } as const;
/** enum ReviewOutcome */
export const ReviewOutcome = { PENDING: 0, JUSTIFIED: 1, UNJUSTIFIED: 2 } as const;
export type ReviewOutcomeName = keyof typeof ReviewOutcome;

/** enum AccessorStatus, in ABI order. */
export const AccessorStatus = [
  "ACTIVE",
  "UNKNOWN",
  "SUSPENDED",
  "CREDENTIAL_EXPIRED",
  "ORGANIZATION_SUSPENDED",
] as const;
export type AccessorStatusName = (typeof AccessorStatus)[number];

/** enum AccessBasis, in ABI order. */
export const AccessBasis = ["NONE", "CONSENT", "EMERGENCY", "SUBJECT", "STUDY"] as const;
export type AccessBasisName = (typeof AccessBasis)[number];

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

/**
 * struct ConsentTerms, field by field in ABI order with its ABI type: the EIP-712 type, the SDK's
 * {@link ConsentTerms} type and the conversions are all derived from this list.
 */
export const CONSENT_TERMS_FIELDS = [
  { name: "effect", type: "uint8" },
  { name: "granteeKind", type: "uint8" },
  { name: "granteeAccount", type: "address" },
  { name: "granteeOrg", type: "uint32" },
  { name: "granteeRoles", type: "uint8" },
  { name: "categories", type: "uint16" },
  { name: "purposes", type: "uint16" },
  { name: "actions", type: "uint8" },
  { name: "validFrom", type: "uint64" },
  { name: "validUntil", type: "uint64" },
  { name: "sealedTerms", type: "bytes32" },
] as const;

type TermsField = (typeof CONSENT_TERMS_FIELDS)[number];
type FieldValue<T> = T extends "address" | "bytes32" ? string : T extends "uint64" ? bigint : number;
/**
 * The on-chain ConsentTerms tuple (numbers for small integers, bigints for uint64 times, hex for
 * the address and the sealed-terms commitment).
 */
export type ConsentTerms = { [F in TermsField as F["name"]]: FieldValue<F["type"]> };
/** The terms as stored (getConsent): without the sealed commitment, which is emitted, never stored. */
export type StoredConsentTerms = Omit<ConsentTerms, "sealedTerms">;

/**
 * Converts a decoded ConsentTerms struct (bigints, named fields) to {@link ConsentTerms}; fields
 * the struct lacks (`sealedTerms` of a stored consent) are left out.
 */
export function toConsentTerms(decoded: Readonly<Record<string, unknown>>): ConsentTerms {
  const out: Record<string, unknown> = {};
  for (const { name, type } of CONSENT_TERMS_FIELDS) {
    const v = decoded[name];
    if (v === undefined) continue;
    out[name] =
      type === "address"
        ? v
        : type === "bytes32"
          ? (v as string).toLowerCase()
          : type === "uint64"
            ? BigInt(v as bigint)
            : Number(v);
  }
  return out as ConsentTerms;
}

// ─── names → codes (validated) ───

/** The code of a category name; InvalidInputError for an unknown name. */
export const categoryCode = (name: CategoryName, field = "category"): number => Category[nameIn(Category, name, field)];
/** The code of a purpose-of-use name; InvalidInputError for an unknown name. */
export const purposeCode = (name: PurposeName, field = "purpose"): number => Purpose[nameIn(Purpose, name, field)];
/** The code of an organization kind name; InvalidInputError for an unknown name. */
export const orgKindCode = (name: OrgKindName, field = "kind"): number => OrgKind[nameIn(OrgKind, name, field)];
/** The code of a review outcome that closes a review (JUSTIFIED or UNJUSTIFIED). */
export function reviewOutcomeCode(name: Exclude<ReviewOutcomeName, "PENDING">, field = "outcome"): number {
  const closing = { JUSTIFIED: ReviewOutcome.JUSTIFIED, UNJUSTIFIED: ReviewOutcome.UNJUSTIFIED } as const;
  return closing[nameIn(closing, name, field)];
}

function bitMask<T extends Record<string, number>>(
  table: T,
  names: readonly (keyof T)[],
  field: string,
  shift: boolean,
) {
  return (
    namesIn(table, names, field, { allowEmpty: true }).reduce((m, n) => m | (shift ? 1 << table[n]! : table[n]!), 0) >>>
    0
  );
}

/** A category mask from names. */
export const categoryMask = (names: readonly CategoryName[], field = "categories"): number =>
  bitMask(Category, names, field, true);
/** A purpose mask from names. */
export const purposeMask = (names: readonly PurposeName[], field = "purposes"): number =>
  bitMask(Purpose, names, field, true);
/** A role mask from names. */
export const roleMask = (names: readonly RoleName[], field = "roles"): number => bitMask(Role, names, field, false);
/** An action mask from names. */
export const actionMask = (names: readonly ActionName[], field = "actions"): number =>
  bitMask(Action, names, field, false);
/** A guardian power mask from names. */
export const powerMask = (names: readonly PowerName[], field = "powers"): number => bitMask(Power, names, field, false);
/** A sensitive-label mask from names (InvalidInputError naming an unknown one). */
export const labelMask = (names: readonly LabelName[], field = "labels"): number => bitMask(Label, names, field, false);

/** Whether `name` is a label name (own properties only: `toString` is not a label). */
export const isLabelName = (name: unknown): name is LabelName => hasName(Label, name);

/** Every public category, as a mask (Codes.ALL_CATEGORIES). */
export const ALL_CATEGORIES = categoryMask(Object.keys(Category) as CategoryName[]);
/** Every purpose of use, as a mask (Codes.ALL_PURPOSES): an all-purpose deny names them all. */
export const ALL_PURPOSES = purposeMask(Object.keys(Purpose) as PurposeName[]);

// ─── codes → names (unknown codes from newer contracts stay visible) ───

function reverse<T extends Record<string, number>>(table: T): Map<number, keyof T & string> {
  return new Map(Object.entries(table).map(([k, v]) => [v, k]));
}
const CATEGORY_NAMES = reverse(Category);
const PURPOSE_NAMES = reverse(Purpose);

/** The label names of a mask, in bit order; InvalidInputError for bits outside the four. */
export function labelNames(mask: number): LabelName[] {
  if (!Number.isInteger(mask) || mask < 0 || mask > ALL_LABELS)
    throw new InvalidInputError(`Not a label mask: ${String(mask)}`, {
      field: "labels",
      details: `an integer from 0 to ${ALL_LABELS}`,
    });
  return LABEL_NAMES.filter((name) => (mask & Label[name]) !== 0);
}

/** The name of a category code (CATEGORY_<n> if the contracts are newer than this SDK). */
export const categoryName = (code: number | bigint): CategoryName | `CATEGORY_${number}` =>
  CATEGORY_NAMES.get(Number(code)) ?? `CATEGORY_${Number(code)}`;
/** The name of a purpose code (PURPOSE_<n> if unknown). */
export const purposeName = (code: number | bigint): PurposeName | `PURPOSE_${number}` =>
  PURPOSE_NAMES.get(Number(code)) ?? `PURPOSE_${Number(code)}`;
/** The name of a numeric deny reason (UNKNOWN_<n> if the contracts are newer than this SDK). */
export const denyReasonName = (code: number | bigint): DenyReasonName | `UNKNOWN_${number}` =>
  DenyReason[Number(code)] ?? `UNKNOWN_${Number(code)}`;
const REASON_CODES = Object.fromEntries(DenyReason.map((n, i) => [n, i])) as Record<DenyReasonName, number>;
/** The code of a deny reason name. */
export const denyReasonCode = (name: DenyReasonName): number => REASON_CODES[nameIn(REASON_CODES, name, "reason")];
/** The name of an access basis code (NONE if unknown). */
export const accessBasisName = (code: number | bigint): AccessBasisName => AccessBasis[Number(code)] ?? "NONE";
/** The name of an accessor status code (UNKNOWN if out of range). */
export const accessorStatusName = (code: number | bigint): AccessorStatusName =>
  AccessorStatus[Number(code)] ?? "UNKNOWN";

/** An enum list (names in ABI order) as a name → code table, e.g. `enumCodes(AccessBasis).SUBJECT === 3`. */
export function enumCodes<const T extends readonly string[]>(names: T): { readonly [K in T[number]]: number } {
  return Object.freeze(Object.fromEntries(names.map((n, i) => [n, i]))) as { readonly [K in T[number]]: number };
}
