/**
 * FHIR R4 ingestion for MedLedger: validation against HL7's R4 JSON schema, the classifier
 * (public clinical category, sensitive labels, and the rule behind each, with the rules as data),
 * canonical JSON, and `putFhir`, which stores one sealed, anchored record per resource with
 * version chains. See docs/fhir.md.
 *
 * @example
 * ```ts
 * import { putFhir, validateFhir, classifyBundle } from "medledger";
 * const check = validateFhir(bundle);
 * if (!check.valid) throw new Error(check.problems.map((p) => `${p.path}: ${p.message}`).join("\n"));
 * for (const e of classifyBundle(bundle)) console.log(e.resource.resourceType, e.classification.category, e.classification.labels);
 * const { resources, skipped } = await putFhir(ml, subject, bundle);
 * for (const r of resources) console.log(`${r.resourceType}/${r.id}: ${r.status} as ${r.category} [${r.labels}] in ${r.recordId}`);
 * ```
 *
 * @module
 */
export { FhirValidationError, type FhirProblem } from "./errors.js";
export { validateFhir, assertValidFhir, isFhirResourceType, type FhirValidationResult } from "./validate.js";
export { canonicalJson, MAX_FHIR_DEPTH } from "./canonical.js";
export { Label, LABEL_NAMES, isLabelName, labelMask, labelNames, type LabelName } from "../codes.js";
export {
  CATEGORY_REFINEMENTS,
  CONTAINER_TYPES,
  CodeSystems,
  EXCLUSIONS,
  INHERITING_TYPES,
  LABEL_VALUE_SETS,
  NON_PROPAGATING_TYPES,
  REASON_ELEMENTS,
  RESOURCE_TYPE_RULES,
  SECURITY_LABEL_RULES,
  SOURCES,
  SYSTEM_ALIASES,
  type CategoryRefinement,
  type Exclusion,
  type PublicCategoryName,
  type ResourceTypeRule,
  type SecurityLabelRule,
  type SkipKind,
  type Source,
  type SourceId,
  type ValueSetEntry,
} from "./terminology.js";
export {
  classifyBundle,
  classifyResource,
  createClassifier,
  defaultClassifier,
  indexBundle,
  type BundleIndex,
  type BundleInput,
  type Classification,
  type ClassificationRule,
  type Classifier,
  type ClassifierOptions,
  type IndexedEntry,
  type ResourceLike,
  type RuleSource,
} from "./classify.js";
export {
  loadClassifierOverrides,
  parseClassifierOverrides,
  type ClassifierOverrides,
  type CodeOverride,
  type ResourceTypeOverride,
} from "./overrides.js";
export {
  FHIR_MEDIA_TYPE,
  putFhir,
  type FhirPutEntry,
  type FhirPutResult,
  type FhirPutStatus,
  type FhirSkippedEntry,
  type PutFhirOptions,
} from "./ingest.js";
