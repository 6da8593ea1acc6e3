/**
 * FHIR R4 ingestion for MedLedger: validation against HL7's R4 JSON schema, the resource →
 * consent-category mapping (with sensitive-code overrides), canonical JSON, and `putFhir`, which
 * stores one sealed, anchored record per resource with version chains. See docs/fhir.md.
 *
 * @example
 * ```ts
 * import { putFhir, validateFhir, categoryOf } from "medledger";
 * const check = validateFhir(bundle);
 * if (!check.valid) throw new Error(check.problems.map((p) => `${p.path}: ${p.message}`).join("\n"));
 * console.log(categoryOf(bundle.entry[0].resource)); // e.g. "DEMOGRAPHICS"
 * const { resources } = await putFhir(ml, subject, bundle);
 * for (const r of resources) console.log(`${r.resourceType}/${r.id}: ${r.status} as ${r.category} in ${r.recordId}`);
 * ```
 *
 * @module
 */
export { FhirValidationError, type FhirProblem } from "./errors.js";
export { validateFhir, assertValidFhir, isFhirResourceType, type FhirValidationResult } from "./validate.js";
export { canonicalJson } from "./canonical.js";
export {
  CATEGORY_CODE_RULES,
  CodeSystems,
  RESOURCE_CATEGORIES,
  SENSITIVE_CODE_RULES,
  baseCategoryOf,
  categoryOf,
  codesOf,
  sensitiveCategoryOf,
  type CodeRef,
  type CodeRule,
  type ResourceLike,
  type SensitiveCategoryName,
} from "./categories.js";
export {
  FHIR_MEDIA_TYPE,
  putFhir,
  type FhirPutEntry,
  type FhirPutResult,
  type FhirPutStatus,
  type PutFhirOptions,
} from "./ingest.js";
