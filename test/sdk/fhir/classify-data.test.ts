import { expect } from "chai";

import { classifyBundle } from "../../../sdk/fhir/index.js";
import { currentSection, renderSection, syntheaCounts, writeSection } from "./doc-tables.js";
import { CONTRACEPTION_BUNDLE, loadSynthea, syntheaFiles } from "./helpers.js";

describe("sdk/fhir classify: the ten Synthea bundles", () => {
  it("every resource gets a clinical category or is skipped as directory data; the sensitive ones are labelled", () => {
    const counts = Object.fromEntries(syntheaCounts());
    // Before (issue 13): 30 resources in SEXUAL_REPRODUCTIVE, the rest in their type's category,
    // Organization and Practitioner in OTHER. After: resource type | public category (on chain) |
    // labels (sealed).
    expect(counts).to.deep.equal({
      "AllergyIntolerance | ALLERGIES | —": 18,
      "CarePlan | CARE_PLANS | —": 17,
      "Claim | FINANCIAL | —": 214,
      "Claim | FINANCIAL | SEXUAL_REPRODUCTIVE": 17,
      "Condition | CONDITIONS | —": 56,
      "Condition | CONDITIONS | SEXUAL_REPRODUCTIVE": 1,
      "DiagnosticReport | DIAGNOSTIC_REPORTS | —": 59,
      "Encounter | ENCOUNTERS | —": 172,
      "Encounter | ENCOUNTERS | SEXUAL_REPRODUCTIVE": 16,
      "ExplanationOfBenefit | FINANCIAL | —": 182,
      "ExplanationOfBenefit | FINANCIAL | SEXUAL_REPRODUCTIVE": 6,
      "Goal | CARE_PLANS | —": 13,
      "ImagingStudy | IMAGING | —": 7,
      "Immunization | IMMUNIZATIONS | —": 111,
      "MedicationRequest | MEDICATIONS | —": 32,
      "MedicationRequest | MEDICATIONS | SEXUAL_REPRODUCTIVE": 11,
      "Observation | IMAGING | —": 3,
      "Observation | OBSERVATIONS | —": 1037,
      "Organization | skipped (directory) | —": 13,
      "Patient | DEMOGRAPHICS | —": 10,
      "Practitioner | skipped (directory) | —": 13,
      "Procedure | PROCEDURES | —": 69,
      "Procedure | PROCEDURES | SEXUAL_REPRODUCTIVE": 5,
    });
  });

  it("the contraception bundle: every claim for a contraceptive, and its EOB, follows the data into billing", () => {
    const entries = classifyBundle(loadSynthea(CONTRACEPTION_BUNDLE));
    const labelled = (type: string) =>
      entries.filter((e) => e.resource.resourceType === type && e.classification.labels.length > 0);
    expect(labelled("MedicationRequest")).to.have.length(11);
    expect(labelled("Procedure")).to.have.length(5);
    // The medication claims reference the MedicationRequest only (`prescription`), without its code.
    const medicationClaims = labelled("Claim").filter((e) => "prescription" in e.resource);
    expect(medicationClaims).to.have.length(11);
    for (const c of medicationClaims)
      expect(c.classification.rules.some((r) => r.source === "reference")).to.equal(true);
    expect(syntheaFiles()).to.include(CONTRACEPTION_BUNDLE);
  });
});

describe("docs/fhir.md", () => {
  it("renders the classifier's tables and the Synthea counts exactly as the data says", async () => {
    const expected = await renderSection();
    if (process.env.MEDLEDGER_UPDATE_DOCS === "1") writeSection(expected);
    expect(currentSection(), "run the FHIR tests with MEDLEDGER_UPDATE_DOCS=1 to regenerate").to.equal(expected);
  });
});
