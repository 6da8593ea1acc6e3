/**
 * INTERIM BRIDGE — contracts 1.0 only; delete this file when sealed labels land (issue 14).
 *
 * In contracts 1.0 the sensitive classes are still on-chain categories 16..19, and a record has
 * exactly one category. Until records anchor a label commitment next to a public category, a
 * labelled record is anchored under its STRICTEST label's 1.0 category, an unlabelled one under
 * its public clinical category. The order, strictest first:
 * 1. SUBSTANCE_USE: 42 CFR Part 2 requires the patient's written consent for nearly every
 *    disclosure, payment and most treatment included, and prohibits re-disclosure;
 * 2. MENTAL_HEALTH: psychotherapy notes need an authorization for any use (45 CFR 164.508), and
 *    many states restrict mental-health records further;
 * 3. SEXUAL_REPRODUCTIVE: state laws (minors' consent, HIV testing, reproductive care) and the
 *    2024 HIPAA reproductive-health rule restrict specific disclosures;
 * 4. GENETICS: GINA restricts use by health plans and employers, not by those treating.
 *
 * Known limit of the bridge: a record with two labels is anchored under one of them, so in 1.0 a
 * deny that names only the other one does not cover it on chain. Sealed labels fix this: every
 * label is committed and checked by the keyholders.
 *
 * @example
 * ```ts
 * import { anchorCategoryOf } from "medledger";
 * anchorCategoryOf({ category: "PROCEDURES", labels: ["MENTAL_HEALTH", "SEXUAL_REPRODUCTIVE"] }); // "MENTAL_HEALTH"
 * anchorCategoryOf({ category: "PROCEDURES", labels: [] }); // "PROCEDURES"
 * ```
 */
import type { CategoryName } from "../codes.js";
import type { LabelName } from "./labels.js";
import type { PublicCategoryName } from "./terminology.js";

/**
 * INTERIM BRIDGE: the labels in the order the 1.0 anchor prefers them (strictest first).
 *
 * @example
 * ```ts
 * import { INTERIM_LABEL_PRECEDENCE } from "medledger";
 * INTERIM_LABEL_PRECEDENCE[0]; // "SUBSTANCE_USE"
 * ```
 */
export const INTERIM_LABEL_PRECEDENCE: readonly LabelName[] = Object.freeze([
  "SUBSTANCE_USE",
  "MENTAL_HEALTH",
  "SEXUAL_REPRODUCTIVE",
  "GENETICS",
]);

/**
 * INTERIM BRIDGE: the 1.0 on-chain category of a classified record (see the module comment).
 *
 * @example
 * ```ts
 * import { anchorCategoryOf, classifyResource } from "medledger";
 * anchorCategoryOf(classifyResource(resource));
 * ```
 */
export function anchorCategoryOf(c: { category: PublicCategoryName; labels: readonly LabelName[] }): CategoryName {
  return INTERIM_LABEL_PRECEDENCE.find((label) => c.labels.includes(label)) ?? c.category;
}
