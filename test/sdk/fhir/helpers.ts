/**
 * Test input for the FHIR suites: the ten Synthea R4 transaction Bundles of the shared test data
 * (vendored in fixtures/data/synthea; provenance in fixtures/README.md).
 */
import { readFileSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";

import type { Bundle, FhirResource } from "fhir/r4.js";

export const projectRoot = fileURLToPath(new URL("../../../", import.meta.url));
export const syntheaDir = resolve(projectRoot, "fixtures/data/synthea");

/** File names of the Synthea bundles, sorted. */
export function syntheaFiles(): string[] {
  return readdirSync(syntheaDir)
    .filter((f) => f.endsWith(".json.gz"))
    .sort();
}

/** One Synthea bundle, parsed (a fresh copy on every call). */
export function loadSynthea(file: string): Bundle<FhirResource> {
  return JSON.parse(gunzipSync(readFileSync(resolve(syntheaDir, file))).toString("utf8")) as Bundle<FhirResource>;
}

/** The smallest Synthea bundle (Clarence Mills, 104 entries). */
export const SMALL_BUNDLE = "Clarence_Mills_0753ad6c-5935-4faa-9cfe-b7269e963d77.json.gz";

/** A deep copy of a JSON value. */
export function clone<T>(value: T): T {
  return structuredClone(value);
}

/** What `fn` throws (undefined if it returns). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err;
  }
}

/** A CodeableConcept with one coding. */
export function cc(
  system: string,
  code: string,
  display?: string,
): { coding: { system: string; code: string; display?: string }[] } {
  return { coding: [display === undefined ? { system, code } : { system, code, display }] };
}

export const SNOMED = "http://snomed.info/sct";
export const LOINC = "http://loinc.org";
export const RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm";
export const ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm";
export const CVX = "http://hl7.org/fhir/sid/cvx";
export const ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
export const CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";

export const hl7Dir = resolve(projectRoot, "fixtures/data/hl7");

/** One vendored HL7 R4 example (fixtures/data/hl7), parsed. */
export function loadHl7(file: string): FhirResource {
  return JSON.parse(readFileSync(resolve(hl7Dir, file), "utf8")) as FhirResource;
}

/** File names of the vendored HL7 examples, sorted. */
export function hl7Files(): string[] {
  return readdirSync(hl7Dir)
    .filter((f) => f.endsWith(".json"))
    .sort();
}

/** Gloria Covarrubias: the contraception module (IUD insertion, implant, pills) with its Claims and EOBs. */
export const CONTRACEPTION_BUNDLE = "Gloria_Covarrubias_15044ad5-0e57-4c20-b927-87490a5e8827.json.gz";

const ref = (id: string) => ({ reference: `urn:uuid:${id}` });

/**
 * A transaction Bundle shaped as Synthea's pregnancy module writes an induced abortion
 * (synthetichealth/synthea, modules/pregnancy.json: Become_Pregnant, Induced_Abortion_Encounter,
 * Induced_Abortion_Therapy/Procedure, Abortion_Followup_Encounter, Pregnancy_Termination_Care,
 * Physical_Exam_Post_Abortion, Depression_Screening_Post_Abortion) with the Claims and EOBs
 * Synthea's FHIR R4 exporter writes for such encounters: none of the ten vendored bundles has
 * this path, so it is written out here, code for code. Ids are fixed urn:uuid values. The first
 * encounter's reasonCode (Synthea writes the pregnancy there) is left out on purpose: its label
 * then arrives only by reference.
 */
export function syntheaAbortionBundle(): Bundle<FhirResource> {
  const u = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
  const patient = u(1);
  const pregnancy = u(2);
  const enc1 = u(3);
  const enc2 = u(4);
  const procedure = (n: number, encounter: string, code: string, display: string, reason = true): FhirResource => ({
    resourceType: "Procedure",
    id: u(n),
    status: "completed",
    code: cc(SNOMED, code, display),
    subject: ref(patient),
    encounter: ref(encounter),
    ...(reason ? { reasonReference: [ref(pregnancy)] } : {}),
    performedPeriod: { start: "2019-03-02T10:00:00+00:00", end: "2019-03-02T10:30:00+00:00" },
  });
  const claim = (n: number, encounter: string, procedures: [number, string, string][]): FhirResource => ({
    resourceType: "Claim",
    id: u(n),
    status: "active",
    type: cc("http://terminology.hl7.org/CodeSystem/claim-type", "institutional"),
    use: "claim",
    patient: ref(patient),
    created: "2019-03-02T11:00:00+00:00",
    provider: { display: "Hospital" },
    priority: cc("http://terminology.hl7.org/CodeSystem/processpriority", "normal"),
    procedure: procedures.map(([p], i) => ({ sequence: i + 1, procedureReference: ref(u(p)) })),
    insurance: [{ sequence: 1, focal: true, coverage: { display: "private" } }],
    item: [
      {
        sequence: 1,
        productOrService: cc(SNOMED, "308335008", "Patient encounter procedure"),
        encounter: [ref(encounter)],
      },
      ...procedures.map(([, code, display], i) => ({
        sequence: i + 2,
        procedureSequence: [i + 1],
        productOrService: cc(SNOMED, code, display),
      })),
    ],
    total: { value: 700, currency: "USD" },
  });
  const encounter = (id: string, code: string, display: string, day: string): FhirResource => ({
    resourceType: "Encounter",
    id,
    status: "finished",
    class: { system: "http://terminology.hl7.org/CodeSystem/v3-ActCode", code: "AMB" },
    type: [cc(SNOMED, code, display)],
    subject: ref(patient),
    period: { start: `${day}T10:00:00+00:00`, end: `${day}T11:00:00+00:00` },
  });
  const eob = (n: number, claimN: number, encounter: string): FhirResource => ({
    resourceType: "ExplanationOfBenefit",
    id: u(n),
    status: "active",
    type: cc("http://terminology.hl7.org/CodeSystem/claim-type", "institutional"),
    use: "claim",
    patient: ref(patient),
    created: "2019-03-02T11:00:00+00:00",
    insurer: { display: "private" },
    provider: { display: "Hospital" },
    claim: ref(u(claimN)),
    outcome: "complete",
    insurance: [{ focal: true, coverage: { display: "private" } }],
    item: [
      {
        sequence: 1,
        productOrService: cc(SNOMED, "308335008", "Patient encounter procedure"),
        encounter: [ref(encounter)],
      },
    ],
  });
  const resources: FhirResource[] = [
    { resourceType: "Patient", id: patient, gender: "female", birthDate: "1995-04-01" },
    {
      resourceType: "Condition",
      id: pregnancy,
      clinicalStatus: cc("http://terminology.hl7.org/CodeSystem/condition-clinical", "resolved"),
      code: cc(SNOMED, "72892002", "Normal pregnancy"),
      subject: ref(patient),
      encounter: ref(enc1),
      onsetDateTime: "2019-01-20T10:00:00+00:00",
    },
    encounter(enc1, "270427003", "Patient-initiated encounter", "2019-03-02"),
    procedure(10, enc1, "10383002", "Counseling for termination of pregnancy"),
    procedure(11, enc1, "714812005", "Induced termination of pregnancy"),
    claim(20, enc1, [
      [10, "10383002", "Counseling for termination of pregnancy"],
      [11, "714812005", "Induced termination of pregnancy"],
    ]),
    eob(30, 20, enc1),
    encounter(enc2, "424619006", "Prenatal visit", "2019-03-16"),
    procedure(12, enc2, "386394001", "Pregnancy termination care"),
    procedure(13, enc2, "5880005", "Physical examination procedure"),
    procedure(14, enc2, "171207006", "Depression screening"),
    claim(21, enc2, [
      [12, "386394001", "Pregnancy termination care"],
      [13, "5880005", "Physical examination procedure"],
      [14, "171207006", "Depression screening"],
    ]),
    eob(31, 21, enc2),
    {
      resourceType: "Observation",
      id: u(40),
      status: "final",
      code: cc(LOINC, "8480-6", "Systolic blood pressure"),
      subject: ref(patient),
      encounter: ref(enc2),
      valueQuantity: { value: 118, unit: "mm[Hg]" },
    },
  ];
  return {
    resourceType: "Bundle",
    type: "transaction",
    entry: resources.map((resource) => ({
      fullUrl: `urn:uuid:${resource.id!}`,
      resource,
      request: { method: "POST" as const, url: resource.resourceType },
    })),
  };
}
