/**
 * Which consent category a FHIR R4 resource is stored under.
 *
 * Two steps:
 * 1. **By resource type** ({@link RESOURCE_CATEGORIES}; any type not listed → `OTHER`), refined by
 *    the resource's own category: an Observation with category `imaging` and a DiagnosticReport
 *    from a radiology/imaging service section (or with `imagingStudy`) → `IMAGING`; an Observation
 *    or DiagnosticReport with a genetics category → `GENETICS`.
 * 2. **Sensitive override by code** ({@link SENSITIVE_CODE_RULES}): if any code of the resource
 *    ({@link codesOf}: `code`, `reasonCode`, `medicationCodeableConcept`, Encounter `type`,
 *    Observation `component.code`, Claim/EOB items, diagnoses and procedures, CarePlan category and
 *    activity codes, …) is in one of the sensitive lists, the resource goes to that category
 *    instead, checked in this order (the first that matches wins): `SUBSTANCE_USE`,
 *    `MENTAL_HEALTH`, `SEXUAL_REPRODUCTIVE`, `GENETICS`. Financial resources are included on
 *    purpose: a claim for an IUD insertion discloses as much as the procedure does.
 *
 * The lists are deliberately small and explicit: they catch what Synthea and common EHR feeds
 * emit, not every code of each class. A deployment with its own policy passes its own
 * `categorize` function to `putFhir`.
 *
 * @example
 * ```ts
 * import { categoryOf } from "medledger";
 * categoryOf({ resourceType: "Condition", code: { coding: [{ system: "http://snomed.info/sct", code: "5602001" }] } }); // "SUBSTANCE_USE"
 * categoryOf({ resourceType: "Observation", code: { text: "Body height" } }); // "OBSERVATIONS"
 * ```
 */
import type { FhirResource } from "fhir/r4.js";

import type { CategoryName } from "../codes.js";

/**
 * What the category functions accept: a typed R4 resource, or any object with a `resourceType`
 * (they read the elements they know and ignore the rest; no validation).
 *
 * @example
 * ```ts
 * import type { ResourceLike } from "medledger";
 * const r: ResourceLike = { resourceType: "Condition", code: { text: "…" } };
 * ```
 */
export type ResourceLike = FhirResource | { readonly resourceType: string; readonly [element: string]: unknown };

/**
 * The category of each resource type (step 1). Types not listed map to `OTHER` (Organization,
 * Practitioner, Location, Device, Bundle, …).
 *
 * @example
 * ```ts
 * import { RESOURCE_CATEGORIES } from "medledger";
 * RESOURCE_CATEGORIES.Immunization; // "IMMUNIZATIONS"
 * ```
 */
export const RESOURCE_CATEGORIES: Readonly<Record<string, CategoryName>> = Object.freeze({
  Patient: "DEMOGRAPHICS",
  RelatedPerson: "DEMOGRAPHICS",
  Encounter: "ENCOUNTERS",
  EpisodeOfCare: "ENCOUNTERS",
  Observation: "OBSERVATIONS",
  ImagingStudy: "IMAGING",
  Media: "IMAGING",
  DiagnosticReport: "DIAGNOSTIC_REPORTS",
  Medication: "MEDICATIONS",
  MedicationRequest: "MEDICATIONS",
  MedicationAdministration: "MEDICATIONS",
  MedicationStatement: "MEDICATIONS",
  MedicationDispense: "MEDICATIONS",
  Immunization: "IMMUNIZATIONS",
  Procedure: "PROCEDURES",
  Condition: "CONDITIONS",
  AllergyIntolerance: "ALLERGIES",
  CarePlan: "CARE_PLANS",
  CareTeam: "CARE_PLANS",
  Goal: "CARE_PLANS",
  Claim: "FINANCIAL",
  ExplanationOfBenefit: "FINANCIAL",
  Coverage: "FINANCIAL",
  DocumentReference: "NOTES",
  Composition: "NOTES",
  ClinicalImpression: "NOTES",
  MolecularSequence: "GENETICS",
});

/**
 * Code system URIs used by the rules.
 *
 * @example
 * ```ts
 * import { CodeSystems } from "medledger";
 * const coding = { system: CodeSystems.SNOMED_CT, code: "38341003" };
 * ```
 */
export const CodeSystems = {
  SNOMED_CT: "http://snomed.info/sct",
  LOINC: "http://loinc.org",
  RXNORM: "http://www.nlm.nih.gov/research/umls/rxnorm",
  ICD10_CM: "http://hl7.org/fhir/sid/icd-10-cm",
  ICD10: "http://hl7.org/fhir/sid/icd-10",
  OBSERVATION_CATEGORY: "http://terminology.hl7.org/CodeSystem/observation-category",
  /** HL7 v2 table 0074: diagnostic service section (DiagnosticReport.category). */
  DIAGNOSTIC_SERVICE_SECTION: "http://terminology.hl7.org/CodeSystem/v2-0074",
} as const;

/**
 * The categories a code can override the resource-type category with, in precedence order.
 *
 * @example
 * ```ts
 * import { sensitiveCategoryOf, type SensitiveCategoryName } from "medledger";
 * const s: SensitiveCategoryName | undefined = sensitiveCategoryOf(resource);
 * ```
 */
export type SensitiveCategoryName = "SUBSTANCE_USE" | "MENTAL_HEALTH" | "SEXUAL_REPRODUCTIVE" | "GENETICS";

/**
 * One list of codes of one kind. `codes` maps each code to its display name (documentation);
 * `ranges` are inclusive ranges of ICD-10 three-character categories (`["F20", "F99"]` covers F20
 * to F99.x; codes compare without the dot, upper case).
 *
 * @example
 * ```ts
 * import type { CodeRule } from "medledger";
 * const rule: CodeRule = { systems: ["http://snomed.info/sct"], codes: { "35489007": "Depressive disorder" }, note: "depression" };
 * ```
 */
export interface CodeRule {
  systems: readonly string[];
  codes?: Readonly<Record<string, string>>;
  ranges?: readonly (readonly [string, string])[];
  /** Why these codes are in this class. */
  note: string;
}

const ICD10 = [CodeSystems.ICD10_CM, CodeSystems.ICD10] as const;

/**
 * The sensitive code lists (step 2), checked in the order of the keys.
 *
 * @example
 * ```ts
 * import { SENSITIVE_CODE_RULES } from "medledger";
 * for (const rule of SENSITIVE_CODE_RULES.MENTAL_HEALTH) console.log(rule.note, Object.keys(rule.codes ?? {}));
 * ```
 */
export const SENSITIVE_CODE_RULES: Readonly<Record<SensitiveCategoryName, readonly CodeRule[]>> = Object.freeze<
  Record<SensitiveCategoryName, readonly CodeRule[]>
>({
  SUBSTANCE_USE: [
    {
      systems: ICD10,
      ranges: [
        ["F10", "F16"],
        ["F18", "F19"],
      ],
      note:
        "ICD-10 F10–F19 mental and behavioural disorders due to psychoactive substance use, except F17 " +
        "(nicotine): 42 CFR Part 2 defines substance use disorder without tobacco, like the LOINC " +
        "tobacco-use observations, which stay OBSERVATIONS.",
    },
    {
      systems: [CodeSystems.SNOMED_CT],
      codes: {
        "55680006": "Drug overdose",
        "5602001": "Opioid abuse",
        "75544000": "Opioid dependence",
        "6525002": "Dependent drug abuse",
        "26416006": "Drug abuse",
        "191816009": "Drug dependence",
        "7200002": "Alcoholism",
        "66590003": "Alcohol dependence",
        "15167005": "Alcohol abuse",
      },
      note: "SNOMED CT drug, opioid and alcohol use disorders (Synthea's opioid and alcohol modules).",
    },
    {
      systems: [CodeSystems.LOINC],
      codes: {
        "82667-7": "Total score [DAST-10]",
        "75626-2": "Total score [AUDIT-C]",
      },
      note: "LOINC drug and alcohol use screening scores.",
    },
  ],
  MENTAL_HEALTH: [
    {
      systems: ICD10,
      ranges: [
        ["F00", "F09"],
        ["F20", "F99"],
      ],
      note: "ICD-10 chapter V (F codes) mental and behavioural disorders, except F10–F19 (substance use).",
    },
    {
      systems: [CodeSystems.SNOMED_CT],
      codes: {
        "35489007": "Depressive disorder",
        "370143000": "Major depressive disorder",
        "36923009": "Major depression, single episode",
        "197480006": "Anxiety disorder",
        "21897009": "Generalized anxiety disorder",
        "47505003": "Posttraumatic stress disorder",
        "13746004": "Bipolar disorder",
        "58214004": "Schizophrenia",
      },
      note: "SNOMED CT depression, anxiety, PTSD, bipolar disorder and schizophrenia.",
    },
    {
      systems: [CodeSystems.LOINC],
      codes: {
        "44249-1": "PHQ-9 quick depression assessment panel",
        "44261-6": "Patient Health Questionnaire 9 item (PHQ-9) total score",
        "55757-9": "Patient Health Questionnaire 2 item (PHQ-2) panel",
        "55758-7": "Patient Health Questionnaire 2 item (PHQ-2) total score",
        "69737-5": "Generalized anxiety disorder 7 item (GAD-7)",
        "70274-6": "Generalized anxiety disorder 7 item (GAD-7) total score",
      },
      note: "LOINC depression and anxiety screening instruments.",
    },
  ],
  SEXUAL_REPRODUCTIVE: [
    {
      systems: ICD10,
      ranges: [
        ["O00", "O9A"],
        ["Z30", "Z30"],
        ["Z32", "Z36"],
        ["Z3A", "Z3A"],
        ["A50", "A64"],
        ["B20", "B20"],
        ["Z21", "Z21"],
        ["N97", "N97"],
      ],
      note:
        "ICD-10 pregnancy, childbirth and the puerperium (O), contraception (Z30), pregnancy " +
        "tests and supervision (Z32–Z36, Z3A), infections with a predominantly sexual mode of " +
        "transmission (A50–A64), HIV (B20, Z21), female infertility (N97).",
    },
    {
      systems: [CodeSystems.SNOMED_CT],
      codes: {
        "72892002": "Normal pregnancy",
        "77386006": "Pregnancy",
        "19169002": "Miscarriage in first trimester",
        "424441002": "Prenatal initial visit",
        "169553002": "Insertion of subcutaneous contraceptive",
        "301807007": "Removal of subcutaneous contraceptive",
        "65200003": "Insertion of intrauterine contraceptive device",
        "46706006": "Replacement of contraceptive intrauterine device",
        "68254000": "Removal of intrauterine device",
        "86406008": "Human immunodeficiency virus infection",
        "76272004": "Syphilis",
        "15628003": "Gonorrhea",
        "105629000": "Chlamydial infection",
      },
      note: "SNOMED CT pregnancy, miscarriage, contraception procedures and sexually transmitted infections.",
    },
    {
      systems: [CodeSystems.RXNORM],
      codes: {
        "1367439": "NuvaRing 0.12/0.015 MG per 24HR 21 Day Vaginal Ring",
        "1605257": "Liletta 52 MG Intrauterine System",
        "807283": "Mirena 52 MG Intrauterine System",
        "389221": "Etonogestrel 68 MG Drug Implant",
        "748962": "Camila 28 Day Pack",
        "757594": "Jolivette 28 Day Pack",
        "831533": "Errin 28 Day Pack",
      },
      note: "RxNorm contraceptives (the ones Synthea's contraception module prescribes).",
    },
    {
      systems: [CodeSystems.LOINC],
      codes: {
        "82810-3": "Pregnancy status",
        "11449-6": "Pregnancy status - Reported",
        "2106-3": "Choriogonadotropin (pregnancy test) [Presence] in Urine",
      },
      note: "LOINC pregnancy status and pregnancy tests.",
    },
  ],
  GENETICS: [
    {
      systems: [CodeSystems.LOINC],
      codes: {
        "51969-4": "Genetic analysis report",
        "81247-9": "Master HL7 genetic variant reporting panel",
        "69548-6": "Genetic variant assessment",
      },
      note: "LOINC genetic test reports and variant observations (HL7 Genomics Reporting IG).",
    },
  ],
});

/**
 * Resource categories (Observation.category, DiagnosticReport.category) that move a resource to
 * IMAGING or GENETICS (step 1).
 *
 * @example
 * ```ts
 * import { CATEGORY_CODE_RULES } from "medledger";
 * CATEGORY_CODE_RULES.IMAGING.length;
 * ```
 */
export const CATEGORY_CODE_RULES: Readonly<Record<"IMAGING" | "GENETICS", readonly CodeRule[]>> = Object.freeze<
  Record<"IMAGING" | "GENETICS", readonly CodeRule[]>
>({
  IMAGING: [
    {
      systems: [CodeSystems.OBSERVATION_CATEGORY],
      codes: { imaging: "Imaging" },
      note: "Observation category imaging.",
    },
    {
      systems: [CodeSystems.DIAGNOSTIC_SERVICE_SECTION],
      codes: {
        RAD: "Radiology",
        RX: "Radiograph",
        CT: "CAT Scan",
        NMR: "Nuclear Magnetic Resonance",
        NMS: "Nuclear Medicine Scan",
        RUS: "Radiology Ultrasound",
        CUS: "Cardiac Ultrasound",
        OUS: "OB Ultrasound",
        VUS: "Vascular Ultrasound",
        XRC: "Cineradiograph",
      },
      note: "DiagnosticReport service sections that are imaging.",
    },
    { systems: [CodeSystems.LOINC], codes: { "LP29684-5": "Radiology" }, note: "LOINC Radiology report category." },
  ],
  GENETICS: [
    { systems: [CodeSystems.DIAGNOSTIC_SERVICE_SECTION], codes: { GE: "Genetics" }, note: "Genetics service section." },
    {
      systems: [CodeSystems.OBSERVATION_CATEGORY],
      codes: { genetics: "Genetics", genomics: "Genomics" },
      note: "Local genetics categories seen on Observations (not in the R4 value set, but common).",
    },
  ],
});

/**
 * A coding as the rules see it.
 *
 * @example
 * ```ts
 * import { codesOf, type CodeRef } from "medledger";
 * const codes: CodeRef[] = codesOf(resource);
 * ```
 */
export interface CodeRef {
  system?: string;
  code?: string;
}

type Json = Record<string, unknown>;

const asArray = (v: unknown): unknown[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** The codings of a CodeableConcept, CodeableConcept[], Coding or Coding[] (anything else: none). */
function codingsOf(value: unknown): CodeRef[] {
  const out: CodeRef[] = [];
  for (const item of asArray(value)) {
    if (!isObject(item)) continue;
    const codings = "coding" in item ? asArray(item.coding) : "code" in item || "system" in item ? [item] : [];
    for (const c of codings) {
      if (!isObject(c)) continue;
      out.push({
        system: typeof c.system === "string" ? c.system : undefined,
        code: typeof c.code === "string" ? c.code : undefined,
      });
    }
  }
  return out;
}

/** Elements that hold a resource's clinical meaning, on top of the generic ones. */
const EXTRA_CODE_ELEMENTS: Readonly<Record<string, (r: Json) => unknown[]>> = {
  Encounter: (r) => [r.type],
  Observation: (r) => asArray(r.component).map((c) => (isObject(c) ? c.code : undefined)),
  DiagnosticReport: (r) => [r.conclusionCode],
  Claim: (r) => claimCodes(r),
  ExplanationOfBenefit: (r) => claimCodes(r),
  CarePlan: (r) => [
    r.category,
    ...asArray(r.activity).flatMap((a) =>
      isObject(a) && isObject(a.detail) ? [a.detail.code, a.detail.reasonCode] : [],
    ),
  ],
  Goal: (r) => [r.description],
  MedicationDispense: (r) => [r.medicationCodeableConcept],
};

function claimCodes(r: Json): unknown[] {
  const items = asArray(r.item).filter(isObject);
  return [
    ...items.map((i) => i.productOrService),
    ...items.flatMap((i) =>
      asArray(i.detail)
        .filter(isObject)
        .map((d) => d.productOrService),
    ),
    ...asArray(r.diagnosis).map((d) => (isObject(d) ? d.diagnosisCodeableConcept : undefined)),
    ...asArray(r.procedure).map((p) => (isObject(p) ? p.procedureCodeableConcept : undefined)),
  ];
}

/**
 * Every coding the sensitive rules look at: `code`, `reasonCode`, `medicationCodeableConcept` of
 * any resource, plus type-specific elements (Encounter.type, Observation.component.code,
 * DiagnosticReport.conclusionCode, Claim/ExplanationOfBenefit item/detail productOrService,
 * diagnosis and procedure codes, CarePlan category and activity codes, Goal.description).
 * Immunization.vaccineCode is not looked at (a vaccine is not a sensitive class here).
 *
 * @example
 * ```ts
 * import { codesOf } from "medledger";
 * codesOf({ resourceType: "Condition", code: { coding: [{ system: "http://snomed.info/sct", code: "38341003" }] } });
 * // [{ system: "http://snomed.info/sct", code: "38341003" }]
 * ```
 */
export function codesOf(resource: ResourceLike): CodeRef[] {
  const r = resource as unknown as Json;
  const elements = [
    r.code,
    r.reasonCode,
    r.medicationCodeableConcept,
    ...(EXTRA_CODE_ELEMENTS[resource.resourceType]?.(r) ?? []),
  ];
  return elements.flatMap(codingsOf);
}

/** ICD-10 codes compare without the dot, upper case; others exactly. */
function normalize(system: string, code: string): string {
  return (ICD10 as readonly string[]).includes(system) ? code.replace(/\./g, "").trim().toUpperCase() : code.trim();
}

function ruleMatches(rule: CodeRule, coding: CodeRef): boolean {
  if (coding.system === undefined || coding.code === undefined || !rule.systems.includes(coding.system)) return false;
  const code = normalize(coding.system, coding.code);
  if (rule.codes !== undefined && Object.hasOwn(rule.codes, code)) return true;
  if (rule.ranges !== undefined && code.length >= 3) {
    const head = code.slice(0, 3);
    return rule.ranges.some(([from, to]) => head >= from && head <= to);
  }
  return false;
}

function anyMatch(rules: readonly CodeRule[], codings: readonly CodeRef[]): boolean {
  return codings.some((c) => rules.some((rule) => ruleMatches(rule, c)));
}

const SENSITIVE_ORDER: readonly SensitiveCategoryName[] = [
  "SUBSTANCE_USE",
  "MENTAL_HEALTH",
  "SEXUAL_REPRODUCTIVE",
  "GENETICS",
];

/**
 * The sensitive category a resource's codes put it in (step 2), or undefined.
 *
 * @example
 * ```ts
 * import { sensitiveCategoryOf } from "medledger";
 * sensitiveCategoryOf({ resourceType: "Condition", code: { coding: [{ system: "http://hl7.org/fhir/sid/icd-10-cm", code: "F32.9" }] } }); // "MENTAL_HEALTH"
 * ```
 */
export function sensitiveCategoryOf(resource: ResourceLike): SensitiveCategoryName | undefined {
  const codings = codesOf(resource);
  if (codings.length === 0) return undefined;
  return SENSITIVE_ORDER.find((category) => anyMatch(SENSITIVE_CODE_RULES[category], codings));
}

/**
 * The category by resource type and the resource's own category (step 1), without code overrides.
 *
 * @example
 * ```ts
 * import { baseCategoryOf } from "medledger";
 * baseCategoryOf({ resourceType: "Organization" }); // "OTHER"
 * ```
 */
export function baseCategoryOf(resource: ResourceLike): CategoryName {
  const base = Object.hasOwn(RESOURCE_CATEGORIES, resource.resourceType)
    ? RESOURCE_CATEGORIES[resource.resourceType]
    : undefined;
  if (resource.resourceType === "Observation" || resource.resourceType === "DiagnosticReport") {
    const r = resource as unknown as Json;
    const categories = codingsOf(r.category);
    if (anyMatch(CATEGORY_CODE_RULES.GENETICS, categories)) return "GENETICS";
    if (anyMatch(CATEGORY_CODE_RULES.IMAGING, categories)) return "IMAGING";
    if (resource.resourceType === "DiagnosticReport" && asArray(r.imagingStudy).length > 0) return "IMAGING";
  }
  return base ?? "OTHER";
}

/**
 * The category a FHIR R4 resource is stored under: by type, refined by its own category, then
 * overridden by sensitive codes (see the module documentation and docs/fhir.md).
 *
 * @example
 * ```ts
 * import { categoryOf } from "medledger";
 * categoryOf({ resourceType: "MedicationRequest", medicationCodeableConcept: { coding: [{ system: "http://www.nlm.nih.gov/research/umls/rxnorm", code: "807283" }] } });
 * // "SEXUAL_REPRODUCTIVE" (Mirena)
 * ```
 */
export function categoryOf(resource: ResourceLike): CategoryName {
  return sensitiveCategoryOf(resource) ?? baseCategoryOf(resource);
}
