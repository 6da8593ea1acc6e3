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
