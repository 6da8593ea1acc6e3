import { expect } from "chai";

import { Category } from "../../../sdk/codes.js";
import type { CategoryName } from "../../../sdk/codes.js";
import {
  CATEGORY_CODE_RULES,
  RESOURCE_CATEGORIES,
  SENSITIVE_CODE_RULES,
  baseCategoryOf,
  categoryOf,
  codesOf,
  isFhirResourceType,
  sensitiveCategoryOf,
} from "../../../sdk/fhir/index.js";
import type { ResourceLike } from "../../../sdk/fhir/index.js";
import { ICD10CM, LOINC, RXNORM, SNOMED, cc, loadSynthea, syntheaFiles } from "./helpers.js";

const OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category";
const V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074";

const condition = (system: string, code: string): ResourceLike => ({
  resourceType: "Condition",
  code: cc(system, code),
});

describe("sdk/fhir categories: resource type → consent category", () => {
  const TABLE: [string, CategoryName][] = [
    ["Patient", "DEMOGRAPHICS"],
    ["RelatedPerson", "DEMOGRAPHICS"],
    ["Encounter", "ENCOUNTERS"],
    ["EpisodeOfCare", "ENCOUNTERS"],
    ["Observation", "OBSERVATIONS"],
    ["ImagingStudy", "IMAGING"],
    ["Media", "IMAGING"],
    ["DiagnosticReport", "DIAGNOSTIC_REPORTS"],
    ["Medication", "MEDICATIONS"],
    ["MedicationRequest", "MEDICATIONS"],
    ["MedicationAdministration", "MEDICATIONS"],
    ["MedicationStatement", "MEDICATIONS"],
    ["MedicationDispense", "MEDICATIONS"],
    ["Immunization", "IMMUNIZATIONS"],
    ["Procedure", "PROCEDURES"],
    ["Condition", "CONDITIONS"],
    ["AllergyIntolerance", "ALLERGIES"],
    ["CarePlan", "CARE_PLANS"],
    ["CareTeam", "CARE_PLANS"],
    ["Goal", "CARE_PLANS"],
    ["Claim", "FINANCIAL"],
    ["ExplanationOfBenefit", "FINANCIAL"],
    ["Coverage", "FINANCIAL"],
    ["DocumentReference", "NOTES"],
    ["Composition", "NOTES"],
    ["ClinicalImpression", "NOTES"],
    ["MolecularSequence", "GENETICS"],
    ["Organization", "OTHER"],
    ["Practitioner", "OTHER"],
    ["Location", "OTHER"],
    ["Bundle", "OTHER"],
    ["Provenance", "OTHER"],
  ];
  for (const [resourceType, expected] of TABLE) {
    it(`${resourceType} → ${expected}`, () => {
      expect(categoryOf({ resourceType })).to.equal(expected);
    });
  }

  it("the table names only real R4 resource types and real categories", () => {
    for (const [type, category] of Object.entries(RESOURCE_CATEGORIES)) {
      expect(isFhirResourceType(type), type).to.equal(true);
      expect(Category[category], category).to.be.a("number");
    }
    expect(categoryOf({ resourceType: "NotAType" })).to.equal("OTHER");
    expect(categoryOf({ resourceType: "toString" })).to.equal("OTHER"); // no prototype look-ups
  });

  it("Observation with category imaging and imaging reports → IMAGING; labs stay", () => {
    expect(categoryOf({ resourceType: "Observation", category: [cc(OBS_CATEGORY, "imaging")] })).to.equal("IMAGING");
    expect(categoryOf({ resourceType: "Observation", category: [cc(OBS_CATEGORY, "laboratory")] })).to.equal(
      "OBSERVATIONS",
    );
    expect(categoryOf({ resourceType: "Observation", category: [cc("http://example.org/local", "imaging")] })).to.equal(
      "OBSERVATIONS",
    );
    expect(categoryOf({ resourceType: "DiagnosticReport", category: [cc(V2_0074, "RAD")] })).to.equal("IMAGING");
    expect(categoryOf({ resourceType: "DiagnosticReport", category: [cc(V2_0074, "CT")] })).to.equal("IMAGING");
    expect(categoryOf({ resourceType: "DiagnosticReport", category: [cc(LOINC, "LP29684-5")] })).to.equal("IMAGING");
    expect(categoryOf({ resourceType: "DiagnosticReport", imagingStudy: [{ reference: "ImagingStudy/1" }] })).to.equal(
      "IMAGING",
    );
    expect(categoryOf({ resourceType: "DiagnosticReport", category: [cc(V2_0074, "LAB")] })).to.equal(
      "DIAGNOSTIC_REPORTS",
    );
  });

  it("genetics categories and codes → GENETICS", () => {
    expect(categoryOf({ resourceType: "DiagnosticReport", category: [cc(V2_0074, "GE")] })).to.equal("GENETICS");
    expect(categoryOf({ resourceType: "Observation", category: [cc(OBS_CATEGORY, "genetics")] })).to.equal("GENETICS");
    expect(categoryOf({ resourceType: "Observation", code: cc(LOINC, "69548-6") })).to.equal("GENETICS");
    expect(categoryOf({ resourceType: "DiagnosticReport", code: cc(LOINC, "81247-9") })).to.equal("GENETICS");
  });
});

describe("sdk/fhir categories: sensitive overrides by code", () => {
  it("ICD-10: F codes → MENTAL_HEALTH, F10–F19 → SUBSTANCE_USE except F17 (nicotine)", () => {
    const cases: [string, CategoryName][] = [
      ["F32.9", "MENTAL_HEALTH"],
      ["F329", "MENTAL_HEALTH"],
      ["f41.1", "MENTAL_HEALTH"],
      ["F03.90", "MENTAL_HEALTH"],
      ["F20.0", "MENTAL_HEALTH"],
      ["F99", "MENTAL_HEALTH"],
      ["F10.20", "SUBSTANCE_USE"],
      ["F11.10", "SUBSTANCE_USE"],
      ["F16", "SUBSTANCE_USE"],
      ["F19.99", "SUBSTANCE_USE"],
      ["F17.210", "CONDITIONS"],
      ["G30.9", "CONDITIONS"], // Alzheimer's disease: nervous system, not chapter V
      ["E11.9", "CONDITIONS"],
      ["O80", "SEXUAL_REPRODUCTIVE"],
      ["O9A.1", "SEXUAL_REPRODUCTIVE"],
      ["Z30.011", "SEXUAL_REPRODUCTIVE"],
      ["Z34.00", "SEXUAL_REPRODUCTIVE"],
      ["A54.9", "SEXUAL_REPRODUCTIVE"],
      ["B20", "SEXUAL_REPRODUCTIVE"],
      ["Z31.0", "CONDITIONS"],
    ];
    for (const [code, expected] of cases) {
      expect(categoryOf(condition(ICD10CM, code)), code).to.equal(expected);
      expect(categoryOf(condition("http://hl7.org/fhir/sid/icd-10", code)), `WHO ${code}`).to.equal(expected);
    }
    // The code system matters: "F32" in another system is nothing.
    expect(categoryOf(condition(SNOMED, "F32"))).to.equal("CONDITIONS");
    expect(categoryOf({ resourceType: "Condition", code: { coding: [{ code: "F32.9" }] } })).to.equal("CONDITIONS");
  });

  it("SNOMED substance use (Synthea's Drug overdose, Opioid abuse), mental health, pregnancy, contraception, STIs", () => {
    expect(categoryOf(condition(SNOMED, "55680006"))).to.equal("SUBSTANCE_USE");
    expect(categoryOf(condition(SNOMED, "5602001"))).to.equal("SUBSTANCE_USE");
    expect(categoryOf(condition(SNOMED, "7200002"))).to.equal("SUBSTANCE_USE");
    expect(categoryOf(condition(SNOMED, "370143000"))).to.equal("MENTAL_HEALTH");
    expect(categoryOf(condition(SNOMED, "21897009"))).to.equal("MENTAL_HEALTH");
    expect(categoryOf(condition(SNOMED, "19169002"))).to.equal("SEXUAL_REPRODUCTIVE");
    expect(categoryOf(condition(SNOMED, "86406008"))).to.equal("SEXUAL_REPRODUCTIVE");
    expect(categoryOf({ resourceType: "Procedure", code: cc(SNOMED, "65200003") })).to.equal("SEXUAL_REPRODUCTIVE");
    // Tobacco is not a substance use disorder here: it stays where the type puts it.
    expect(categoryOf(condition(SNOMED, "449868002"))).to.equal("CONDITIONS");
    expect(categoryOf({ resourceType: "Observation", code: cc(LOINC, "72166-2") })).to.equal("OBSERVATIONS");
  });

  it("looks at medication codes, reasons, encounter types, observation components, claims and care plans", () => {
    const mirena = cc(RXNORM, "807283");
    expect(categoryOf({ resourceType: "MedicationRequest", medicationCodeableConcept: mirena })).to.equal(
      "SEXUAL_REPRODUCTIVE",
    );
    expect(categoryOf({ resourceType: "MedicationStatement", medicationCodeableConcept: mirena })).to.equal(
      "SEXUAL_REPRODUCTIVE",
    );
    expect(categoryOf({ resourceType: "MedicationDispense", medicationCodeableConcept: mirena })).to.equal(
      "SEXUAL_REPRODUCTIVE",
    );
    expect(categoryOf({ resourceType: "Medication", code: mirena })).to.equal("SEXUAL_REPRODUCTIVE");
    expect(
      categoryOf({
        resourceType: "MedicationRequest",
        medicationCodeableConcept: cc(RXNORM, "313782"),
        reasonCode: [cc(ICD10CM, "F41.1")],
      }),
    ).to.equal("MENTAL_HEALTH");
    expect(categoryOf({ resourceType: "Encounter", type: [cc(SNOMED, "424441002")] })).to.equal("SEXUAL_REPRODUCTIVE");
    expect(categoryOf({ resourceType: "Encounter", reasonCode: [cc(SNOMED, "72892002")] })).to.equal(
      "SEXUAL_REPRODUCTIVE",
    );
    expect(categoryOf({ resourceType: "Encounter", type: [cc(SNOMED, "185349003")] })).to.equal("ENCOUNTERS");
    expect(categoryOf({ resourceType: "Observation", code: cc(LOINC, "44261-6") })).to.equal("MENTAL_HEALTH");
    expect(
      categoryOf({
        resourceType: "Observation",
        code: { text: "screening" },
        component: [{ code: cc(LOINC, "82667-7") }],
      }),
    ).to.equal("SUBSTANCE_USE");
    expect(
      categoryOf({ resourceType: "Claim", item: [{ sequence: 1, productOrService: cc(SNOMED, "19169002") }] }),
    ).to.equal("SEXUAL_REPRODUCTIVE");
    expect(
      categoryOf({
        resourceType: "ExplanationOfBenefit",
        diagnosis: [{ diagnosisCodeableConcept: cc(ICD10CM, "F11.20") }],
      }),
    ).to.equal("SUBSTANCE_USE");
    expect(
      categoryOf({ resourceType: "Claim", item: [{ sequence: 1, productOrService: cc(SNOMED, "185349003") }] }),
    ).to.equal("FINANCIAL");
    expect(
      categoryOf({ resourceType: "CarePlan", activity: [{ detail: { code: cc(SNOMED, "370143000") } }] }),
    ).to.equal("MENTAL_HEALTH");
    // A vaccine is not a sensitive class (HPV vaccine stays IMMUNIZATIONS).
    expect(categoryOf({ resourceType: "Immunization", vaccineCode: cc("http://hl7.org/fhir/sid/cvx", "62") })).to.equal(
      "IMMUNIZATIONS",
    );
  });

  it("precedence: SUBSTANCE_USE, then MENTAL_HEALTH, then SEXUAL_REPRODUCTIVE, then GENETICS; all over the type", () => {
    const both = {
      resourceType: "Condition",
      code: {
        coding: [
          { system: ICD10CM, code: "F32.9" },
          { system: ICD10CM, code: "F10.20" },
        ],
      },
    };
    expect(categoryOf(both)).to.equal("SUBSTANCE_USE");
    const pregnancyImaging = {
      resourceType: "Observation",
      category: [cc(OBS_CATEGORY, "imaging")],
      code: cc(LOINC, "82810-3"),
    };
    expect(baseCategoryOf(pregnancyImaging)).to.equal("IMAGING");
    expect(categoryOf(pregnancyImaging)).to.equal("SEXUAL_REPRODUCTIVE");
    expect(
      sensitiveCategoryOf({
        resourceType: "Observation",
        code: cc(LOINC, "69548-6"),
        reasonCode: [cc(SNOMED, "77386006")],
      }),
    ).to.equal("SEXUAL_REPRODUCTIVE");
    expect(sensitiveCategoryOf({ resourceType: "Patient" })).to.equal(undefined);
  });

  it("codesOf reads CodeableConcepts, arrays and Codings, and ignores malformed values", () => {
    expect(codesOf({ resourceType: "Condition", code: cc(SNOMED, "1") })).to.deep.equal([
      { system: SNOMED, code: "1" },
    ]);
    expect(
      codesOf({ resourceType: "Encounter", type: [cc(SNOMED, "2")], reasonCode: [cc(SNOMED, "3")] }).map((c) => c.code),
    ).to.have.members(["2", "3"]);
    expect(codesOf({ resourceType: "SearchParameter", code: "name" })).to.deep.equal([]);
    expect(codesOf({ resourceType: "Condition", code: { coding: [null, 5, { code: 7 }] } })).to.deep.equal([
      { system: undefined, code: undefined },
    ]);
  });

  it("every rule names known code systems and well-formed ranges", () => {
    for (const rules of [...Object.values(SENSITIVE_CODE_RULES), ...Object.values(CATEGORY_CODE_RULES)]) {
      for (const rule of rules) {
        expect(rule.systems.length).to.be.greaterThan(0);
        expect(rule.note.length).to.be.greaterThan(10);
        expect(Object.keys(rule.codes ?? {}).length + (rule.ranges?.length ?? 0)).to.be.greaterThan(0);
        for (const [from, to] of rule.ranges ?? []) {
          expect(from).to.match(/^[A-Z][0-9][0-9A-Z]$/);
          expect(to).to.match(/^[A-Z][0-9][0-9A-Z]$/);
          expect(from <= to).to.equal(true);
        }
      }
    }
  });

  it("Synthea: every resource of the ten bundles maps as the table says, with the expected sensitive overrides", () => {
    const counts = new Map<string, number>();
    for (const file of syntheaFiles()) {
      for (const entry of loadSynthea(file).entry ?? []) {
        const r = entry.resource!;
        const category = categoryOf(r);
        const base = RESOURCE_CATEGORIES[r.resourceType] ?? "OTHER";
        if (category !== base) {
          const allowed = r.resourceType === "Observation" ? ["IMAGING"] : ["SEXUAL_REPRODUCTIVE"];
          expect(allowed, `${r.resourceType}/${r.id ?? ""} → ${category}`).to.include(category);
        }
        const key = `${r.resourceType}→${category}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
    // The miscarriage (Elsy Bechtelar) and the contraception module (Gloria Covarrubias) in Synthea.
    expect(counts.get("Condition→SEXUAL_REPRODUCTIVE")).to.equal(1);
    expect(counts.get("MedicationRequest→SEXUAL_REPRODUCTIVE")).to.equal(11);
    expect(counts.get("Procedure→SEXUAL_REPRODUCTIVE")).to.equal(5);
    expect(counts.get("Observation→IMAGING")).to.equal(3);
    expect(counts.get("Patient→DEMOGRAPHICS")).to.equal(10);
    expect(counts.get("Organization→OTHER")).to.equal(13);
    expect(counts.get("ImagingStudy→IMAGING")).to.equal(7);
  });
});
