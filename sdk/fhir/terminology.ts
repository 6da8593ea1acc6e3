/**
 * The classification rules AS DATA: which public clinical category each FHIR R4 resource type is
 * filed under, which security labels and which codes put a resource in a sensitive class (a
 * label), which codes are deliberately NOT labelled, and the public source that justifies every
 * entry. The engine that applies them is sdk/fhir/classify.ts; docs/fhir.md renders these tables
 * (a test checks that the document matches this file), so a terminologist can review them without
 * reading code.
 *
 * Matching: on (system, code), never on display text. ICD-10-CM entries match the code and every
 * code below it (`Z11.3` matches `Z11.3`, `Z113`, `z11.39`), ranges match three-character
 * categories (`F20`–`F99`); other systems match exactly. Every entry names its `source` (a key of
 * {@link SOURCES}).
 *
 * @example
 * ```ts
 * import { LABEL_VALUE_SETS, SOURCES } from "medledger";
 * for (const e of LABEL_VALUE_SETS.SUBSTANCE_USE) console.log(e.system, e.code ?? e.range, e.display, SOURCES[e.source].title);
 * ```
 */
import type { CategoryName, LabelName } from "../codes.js";

/**
 * A public clinical category (indexes 0..15): what goes on chain in clear.
 *
 * @example
 * ```ts
 * import type { PublicCategoryName } from "medledger";
 * const c: PublicCategoryName = "DOCUMENTS";
 * ```
 */
export type PublicCategoryName = CategoryName;

/**
 * Code system URIs (the canonical FHIR URI of each).
 *
 * @example
 * ```ts
 * import { CodeSystems } from "medledger";
 * const coding = { system: CodeSystems.SNOMED_CT, code: "714812005" };
 * ```
 */
export const CodeSystems = Object.freeze({
  SNOMED_CT: "http://snomed.info/sct",
  LOINC: "http://loinc.org",
  RXNORM: "http://www.nlm.nih.gov/research/umls/rxnorm",
  ICD10_CM: "http://hl7.org/fhir/sid/icd-10-cm",
  /** WHO ICD-10: matched by the ICD-10-CM entries (the chapters and blocks used here agree). */
  ICD10: "http://hl7.org/fhir/sid/icd-10",
  CVX: "http://hl7.org/fhir/sid/cvx",
  ACT_CODE: "http://terminology.hl7.org/CodeSystem/v3-ActCode",
  CONFIDENTIALITY: "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
  OBSERVATION_CATEGORY: "http://terminology.hl7.org/CodeSystem/observation-category",
  /** HL7 v2 table 0074: diagnostic service section (DiagnosticReport.category). */
  DIAGNOSTIC_SERVICE_SECTION: "http://terminology.hl7.org/CodeSystem/v2-0074",
} as const);

/**
 * Other spellings of the same code systems (HL7 OIDs, pre-R4 URIs), read as the canonical URI.
 *
 * @example
 * ```ts
 * import { SYSTEM_ALIASES } from "medledger";
 * SYSTEM_ALIASES["urn:oid:2.16.840.1.113883.6.96"]; // "http://snomed.info/sct"
 * ```
 */
export const SYSTEM_ALIASES: Readonly<Record<string, string>> = Object.freeze({
  "urn:oid:2.16.840.1.113883.6.96": CodeSystems.SNOMED_CT,
  "urn:oid:2.16.840.1.113883.6.1": CodeSystems.LOINC,
  "urn:oid:2.16.840.1.113883.6.88": CodeSystems.RXNORM,
  "urn:oid:2.16.840.1.113883.6.90": CodeSystems.ICD10_CM,
  "urn:oid:2.16.840.1.113883.6.3": CodeSystems.ICD10,
  "urn:oid:2.16.840.1.113883.12.292": CodeSystems.CVX,
  "urn:oid:2.16.840.1.113883.5.4": CodeSystems.ACT_CODE,
  "http://hl7.org/fhir/v3/ActCode": CodeSystems.ACT_CODE,
  "urn:oid:2.16.840.1.113883.5.25": CodeSystems.CONFIDENTIALITY,
  "http://hl7.org/fhir/v3/Confidentiality": CodeSystems.CONFIDENTIALITY,
});

/**
 * A public source cited by the tables.
 *
 * @example
 * ```ts
 * import type { Source } from "medledger";
 * const s: Source = { title: "ICD-10-CM", url: "https://www.cdc.gov/nchs/icd/icd-10-cm/" };
 * ```
 */
export interface Source {
  title: string;
  url: string;
}

/**
 * The public sources the tables cite, by key.
 *
 * @example
 * ```ts
 * import { SOURCES } from "medledger";
 * SOURCES["42cfr2"].title;
 * ```
 */
export const SOURCES = Object.freeze({
  "hl7-actcode": {
    title: "HL7 v3 ActCode: InformationSensitivityPolicy and ActUSPrivacyLaw codes (as published with FHIR R4 4.0.1)",
    url: "http://terminology.hl7.org/CodeSystem/v3-ActCode",
  },
  "hl7-confidentiality": {
    title: "HL7 v3 Confidentiality (U, L, M, N, R, V; and the deprecated ETH, HIV, PSY, SDV)",
    url: "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
  },
  "hl7-ds4p": {
    title: "HL7 FHIR Data Segmentation for Privacy (DS4P) IG: security labels in meta.security",
    url: "http://hl7.org/fhir/uv/security-label-ds4p/",
  },
  "42cfr2": {
    title: "42 CFR Part 2, § 2.11: a substance use disorder excludes tobacco and caffeine",
    url: "https://www.ecfr.gov/current/title-42/chapter-I/subchapter-A/part-2",
  },
  "samhsa-c2s": {
    title: "SAMHSA Consent2Share / DS4P pilots: sensitive categories ETH, PSY, HIV, SEX, STD, SDV, GDIS by code",
    url: "https://www.samhsa.gov/about-us/who-we-are/laws-regulations/confidentiality-regulations-faqs",
  },
  icd10cm: {
    title: "ICD-10-CM tabular list (CDC NCHS): chapter and block of each code or range",
    url: "https://www.cdc.gov/nchs/icd/icd-10-cm/",
  },
  snomed: {
    title: "SNOMED CT (US edition): the concept's fully specified name",
    url: "https://browser.ihtsdotools.org/",
  },
  synthea: {
    title: "Synthea modules that emit the code (pregnancy, contraceptives, mental health and substance use screening)",
    url: "https://github.com/synthetichealth/synthea/tree/master/src/main/resources/modules",
  },
  loinc: {
    title: "LOINC (Regenstrief): the term's long common name",
    url: "https://loinc.org/",
  },
  "uscore-sogi": {
    title: "US Core / USCDI sexual orientation (LOINC 76690-7) and gender identity (LOINC 76691-5) observations",
    url: "http://hl7.org/fhir/us/core/",
  },
  "hl7-genomics": {
    title: "HL7 FHIR Genomics Reporting IG: LOINC codes of genetic reports and variant observations",
    url: "http://hl7.org/fhir/uv/genomics-reporting/",
  },
  "hl7-v2-0074": {
    title: "HL7 v2 table 0074 (diagnostic service section): GE Genetics",
    url: "http://terminology.hl7.org/CodeSystem/v2-0074",
  },
  gina: {
    title: "GINA 2008 and HIPAA 45 CFR 160.103: genetic information includes genetic tests and family medical history",
    url: "https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-160/subpart-A/section-160.103",
  },
  "vsac-oud-meds": {
    title: "VSAC value set 'Opiate Antagonists' (OID 2.16.840.1.113883.3.464.1003.198.12.1132; CMS137 SUD treatment)",
    url: "https://vsac.nlm.nih.gov/valueset/2.16.840.1.113883.3.464.1003.198.12.1132/expansion",
  },
  rxnorm: {
    title: "RxNorm (NLM): the concept's name",
    url: "https://mor.nlm.nih.gov/RxNav/",
  },
  cvx: {
    title: "CDC CVX vaccine codes; ACIP routine adolescent HPV vaccination",
    url: "https://www2.cdc.gov/vaccines/iis/iisstandards/vaccines.asp?rpt=cvx",
  },
  "fhir-r4": {
    title: "FHIR R4 resource list (module and category of each resource type)",
    url: "http://hl7.org/fhir/R4/resourcelist.html",
  },
} as const satisfies Record<string, Source>);

/**
 * A key of {@link SOURCES}.
 *
 * @example
 * ```ts
 * import type { SourceId } from "medledger";
 * const s: SourceId = "icd10cm";
 * ```
 */
export type SourceId = keyof typeof SOURCES;

/**
 * One entry of a value set: a code (or an ICD-10-CM range of three-character categories) of one
 * system, its display, and the source that justifies it.
 *
 * @example
 * ```ts
 * import type { ValueSetEntry } from "medledger";
 * const e: ValueSetEntry = { system: "http://hl7.org/fhir/sid/icd-10-cm", range: ["F10", "F19"], display: "Substance use disorders", source: "icd10cm" };
 * ```
 */
export interface ValueSetEntry {
  system: string;
  /** Exact code (ICD-10-CM: this code and every code below it). */
  code?: string;
  /** ICD-10-CM only: inclusive range of three-character categories. */
  range?: readonly [string, string];
  display: string;
  source: SourceId;
  /** Why, where the display alone does not say. */
  note?: string;
}

const SCT = CodeSystems.SNOMED_CT;
const LNC = CodeSystems.LOINC;
const RXN = CodeSystems.RXNORM;
const ICD = CodeSystems.ICD10_CM;

// One entry per line, as a reviewer reads a table.
// prettier-ignore
/**
 * The codes that put a resource in each sensitive class (step 2 of the classification). A code
 * may appear under several labels (a depression screening after a pregnancy is both; an
 * aneuploidy screen is reproductive and genetic).
 *
 * @example
 * ```ts
 * import { LABEL_VALUE_SETS } from "medledger";
 * LABEL_VALUE_SETS.MENTAL_HEALTH.some((e) => e.code === "171207006"); // true
 * ```
 */
export const LABEL_VALUE_SETS: Readonly<Record<LabelName, readonly ValueSetEntry[]>> = Object.freeze({
  MENTAL_HEALTH: [
    { system: ICD, range: ["F01", "F09"], display: "Mental disorders due to known physiological conditions (incl. dementia)", source: "icd10cm", note: "Chapter 5 block F01–F09" },
    { system: ICD, range: ["F20", "F99"], display: "Chapter 5 from schizophrenia to unspecified mental disorder", source: "icd10cm", note: "Chapter 5 without F10–F19 (SUBSTANCE_USE)" },
    { system: ICD, code: "R45.851", display: "Suicidal ideations", source: "icd10cm" },
    { system: ICD, code: "T14.91", display: "Suicide attempt", source: "icd10cm" },
    { system: ICD, code: "Z13.3", display: "Encounter for screening examination for mental health and behavioral disorders", source: "icd10cm" },
    { system: ICD, code: "Z91.5", display: "Personal history of self-harm", source: "icd10cm" },
    { system: SCT, code: "35489007", display: "Depressive disorder", source: "snomed" },
    { system: SCT, code: "370143000", display: "Major depressive disorder", source: "snomed" },
    { system: SCT, code: "36923009", display: "Major depression, single episode", source: "snomed" },
    { system: SCT, code: "197480006", display: "Anxiety disorder", source: "snomed" },
    { system: SCT, code: "21897009", display: "Generalized anxiety disorder", source: "snomed" },
    { system: SCT, code: "47505003", display: "Posttraumatic stress disorder", source: "snomed" },
    { system: SCT, code: "13746004", display: "Bipolar disorder", source: "snomed" },
    { system: SCT, code: "58214004", display: "Schizophrenia", source: "snomed" },
    { system: SCT, code: "192127007", display: "Child attention deficit disorder", source: "synthea", note: "ICD-10-CM F90 (chapter 5)" },
    { system: SCT, code: "171207006", display: "Depression screening (procedure)", source: "synthea", note: "issue 13: filed as PROCEDURES before" },
    { system: SCT, code: "454711000124102", display: "Depression screening using Patient Health Questionnaire Two-Item score (procedure)", source: "synthea" },
    { system: SCT, code: "715252007", display: "Depression screening using Patient Health Questionnaire Nine Item score (procedure)", source: "synthea" },
    { system: SCT, code: "710841007", display: "Assessment of anxiety (procedure)", source: "synthea" },
    { system: SCT, code: "228557008", display: "Cognitive and behavioral therapy (regime/therapy)", source: "synthea", note: "issue 13: filed as PROCEDURES before" },
    { system: LNC, code: "44249-1", display: "PHQ-9 quick depression assessment panel", source: "loinc" },
    { system: LNC, code: "44261-6", display: "Patient Health Questionnaire 9 item (PHQ-9) total score", source: "loinc" },
    { system: LNC, code: "55757-9", display: "Patient Health Questionnaire 2 item (PHQ-2) panel", source: "loinc" },
    { system: LNC, code: "55758-7", display: "Patient Health Questionnaire 2 item (PHQ-2) total score", source: "loinc" },
    { system: LNC, code: "69737-5", display: "Generalized anxiety disorder 7 item (GAD-7)", source: "loinc" },
    { system: LNC, code: "70274-6", display: "Generalized anxiety disorder 7 item (GAD-7) total score", source: "loinc" },
  ],
  SEXUAL_REPRODUCTIVE: [
    { system: ICD, range: ["O00", "O9A"], display: "Pregnancy, childbirth and the puerperium (chapter 15, incl. O04 termination of pregnancy)", source: "icd10cm" },
    { system: ICD, range: ["A50", "A64"], display: "Infections with a predominantly sexual mode of transmission", source: "icd10cm" },
    { system: ICD, range: ["B20", "B20"], display: "Human immunodeficiency virus [HIV] disease", source: "icd10cm" },
    { system: ICD, range: ["Z21", "Z21"], display: "Asymptomatic human immunodeficiency virus [HIV] infection status", source: "icd10cm" },
    { system: ICD, range: ["R75", "R75"], display: "Inconclusive laboratory evidence of human immunodeficiency virus [HIV]", source: "icd10cm" },
    { system: ICD, range: ["Z30", "Z37"], display: "Encounters for contraception, procreative management, pregnancy and delivery; outcome of delivery", source: "icd10cm", note: "Z38 (the liveborn infant's own code) is not included" },
    { system: ICD, range: ["Z39", "Z39"], display: "Encounter for maternal postpartum care and examination", source: "icd10cm" },
    { system: ICD, range: ["Z3A", "Z3A"], display: "Weeks of gestation", source: "icd10cm" },
    { system: ICD, range: ["N96", "N97"], display: "Recurrent pregnancy loss; female infertility", source: "icd10cm" },
    { system: ICD, range: ["N46", "N46"], display: "Male infertility", source: "icd10cm" },
    { system: ICD, range: ["F64", "F64"], display: "Gender identity disorders", source: "icd10cm", note: "also MENTAL_HEALTH (chapter 5)" },
    { system: ICD, code: "Z11.3", display: "Encounter for screening for infections with a predominantly sexual mode of transmission", source: "icd10cm" },
    { system: ICD, code: "Z11.4", display: "Encounter for screening for human immunodeficiency virus [HIV]", source: "icd10cm" },
    { system: ICD, code: "Z20.2", display: "Contact with and (suspected) exposure to infections with a predominantly sexual mode of transmission", source: "icd10cm" },
    { system: ICD, code: "Z20.6", display: "Contact with and (suspected) exposure to human immunodeficiency virus [HIV]", source: "icd10cm" },
    { system: ICD, code: "Z70", display: "Counseling related to sexual attitude, behavior and orientation", source: "icd10cm" },
    { system: ICD, code: "Z71.7", display: "Human immunodeficiency virus [HIV] counseling", source: "icd10cm" },
    { system: ICD, code: "Z72.5", display: "High risk sexual behavior", source: "icd10cm" },
    { system: ICD, code: "Z87.890", display: "Personal history of sex reassignment", source: "icd10cm" },
    { system: ICD, code: "Z97.5", display: "Presence of (intrauterine) contraceptive device", source: "icd10cm" },
    { system: ICD, code: "Z98.51", display: "Tubal ligation status", source: "icd10cm" },
    { system: ICD, code: "Z98.52", display: "Vasectomy status", source: "icd10cm" },
    { system: ICD, code: "T74.2", display: "Sexual abuse, confirmed", source: "icd10cm", note: "HL7 SDV" },
    { system: ICD, code: "T76.2", display: "Sexual abuse, suspected", source: "icd10cm", note: "HL7 SDV" },
    { system: ICD, code: "Z04.4", display: "Encounter for examination and observation following alleged rape", source: "icd10cm", note: "HL7 SDV" },
    { system: SCT, code: "714812005", display: "Induced termination of pregnancy (procedure)", source: "synthea", note: "issue 13: filed as PROCEDURES before" },
    { system: SCT, code: "386394001", display: "Pregnancy termination care (regime/therapy)", source: "synthea", note: "issue 13" },
    { system: SCT, code: "10383002", display: "Counseling for termination of pregnancy (procedure)", source: "synthea", note: "issue 13" },
    { system: SCT, code: "72892002", display: "Normal pregnancy", source: "synthea" },
    { system: SCT, code: "77386006", display: "Pregnancy", source: "snomed" },
    { system: SCT, code: "47200007", display: "High risk pregnancy (finding)", source: "synthea" },
    { system: SCT, code: "424441002", display: "Prenatal initial visit (regime/therapy)", source: "synthea" },
    { system: SCT, code: "424619006", display: "Prenatal visit (regime/therapy)", source: "synthea" },
    { system: SCT, code: "169762003", display: "Postnatal visit (regime/therapy)", source: "synthea" },
    { system: SCT, code: "134435003", display: "Routine antenatal care (regime/therapy)", source: "synthea" },
    { system: SCT, code: "252160004", display: "Standard pregnancy test (procedure)", source: "synthea" },
    { system: SCT, code: "169230002", display: "Ultrasound scan for fetal viability (procedure)", source: "synthea" },
    { system: SCT, code: "274804006", display: "Evaluation of uterine fundal height (procedure)", source: "synthea" },
    { system: SCT, code: "225158009", display: "Auscultation of the fetal heart (procedure)", source: "synthea" },
    { system: SCT, code: "271442007", display: "Fetal anatomy study (procedure)", source: "synthea" },
    { system: SCT, code: "275833003", display: "Alpha-fetoprotein test - antenatal (procedure)", source: "synthea" },
    { system: SCT, code: "169673001", display: "Antenatal RhD antibody screening (procedure)", source: "synthea" },
    { system: SCT, code: "443529005", display: "Detection of chromosomal aneuploidy in prenatal amniotic fluid specimen using FISH screening technique (procedure)", source: "synthea", note: "also GENETICS" },
    { system: SCT, code: "19169002", display: "Miscarriage in first trimester", source: "synthea" },
    { system: SCT, code: "156073000", display: "Complete miscarriage (disorder)", source: "synthea" },
    { system: SCT, code: "35999006", display: "Blighted ovum (disorder)", source: "synthea" },
    { system: SCT, code: "161744009", display: "Past pregnancy history of miscarriage (situation)", source: "synthea" },
    { system: SCT, code: "79586000", display: "Tubal pregnancy (disorder)", source: "synthea" },
    { system: SCT, code: "236931002", display: "Methotrexate injection into tubal pregnancy (procedure)", source: "synthea" },
    { system: SCT, code: "445912000", display: "Excision of fallopian tube and surgical removal of ectopic pregnancy (procedure)", source: "synthea" },
    { system: SCT, code: "267253006", display: "Fetus with chromosomal abnormality (disorder)", source: "synthea", note: "also GENETICS" },
    { system: SCT, code: "398254007", display: "Pre-eclampsia (disorder)", source: "synthea" },
    { system: SCT, code: "198992004", display: "Eclampsia in pregnancy (disorder)", source: "synthea" },
    { system: SCT, code: "169553002", display: "Insertion of subcutaneous contraceptive", source: "synthea" },
    { system: SCT, code: "301807007", display: "Removal of subcutaneous contraceptive", source: "synthea" },
    { system: SCT, code: "65200003", display: "Insertion of intrauterine contraceptive device", source: "synthea" },
    { system: SCT, code: "46706006", display: "Replacement of contraceptive intrauterine device", source: "synthea" },
    { system: SCT, code: "68254000", display: "Removal of intrauterine device", source: "synthea" },
    { system: SCT, code: "1263416007", display: "Removal of intrauterine contraceptive device (procedure)", source: "synthea" },
    { system: SCT, code: "287664005", display: "Bilateral tubal ligation (procedure)", source: "synthea" },
    { system: SCT, code: "22523008", display: "Vasectomy (procedure)", source: "synthea" },
    { system: SCT, code: "86406008", display: "Human immunodeficiency virus infection", source: "snomed" },
    { system: SCT, code: "31676001", display: "Human immunodeficiency virus antigen test (procedure)", source: "synthea" },
    { system: SCT, code: "76272004", display: "Syphilis", source: "snomed" },
    { system: SCT, code: "15628003", display: "Gonorrhea", source: "snomed" },
    { system: SCT, code: "105629000", display: "Chlamydial infection", source: "snomed" },
    { system: SCT, code: "310861008", display: "Chlamydia antigen test (procedure)", source: "synthea", note: "issue 13" },
    { system: SCT, code: "165829005", display: "Gonorrhea infection titer test (procedure)", source: "synthea", note: "issue 13" },
    { system: SCT, code: "269828009", display: "Syphilis infectious titer test (procedure)", source: "synthea", note: "issue 13" },
    { system: RXN, code: "1367439", display: "NuvaRing 0.12/0.015 MG per 24HR 21 Day Vaginal Ring", source: "synthea" },
    { system: RXN, code: "1605257", display: "Liletta 52 MG Intrauterine System", source: "synthea" },
    { system: RXN, code: "807283", display: "Mirena 52 MG Intrauterine System", source: "synthea" },
    { system: RXN, code: "389221", display: "Etonogestrel 68 MG Drug Implant", source: "synthea" },
    { system: RXN, code: "748962", display: "Camila 28 Day Pack", source: "synthea" },
    { system: RXN, code: "757594", display: "Jolivette 28 Day Pack", source: "synthea" },
    { system: RXN, code: "831533", display: "Errin 28 Day Pack", source: "synthea" },
    { system: LNC, code: "82810-3", display: "Pregnancy status", source: "loinc" },
    { system: LNC, code: "11449-6", display: "Pregnancy status - Reported", source: "loinc" },
    { system: LNC, code: "2106-3", display: "Choriogonadotropin (pregnancy test) [Presence] in Urine", source: "loinc" },
    { system: LNC, code: "55277-8", display: "HIV status", source: "loinc", note: "issue 13: filed as OBSERVATIONS before" },
    { system: LNC, code: "75622-1", display: "HIV 1 and 2 tests - Meaningful Use set", source: "loinc" },
    { system: LNC, code: "56888-1", display: "HIV 1+2 Ab+HIV1 p24 Ag [Presence] in Serum or Plasma by Immunoassay", source: "loinc" },
    { system: LNC, code: "76690-7", display: "Sexual orientation", source: "uscore-sogi", note: "issue 13: filed as OBSERVATIONS before" },
    { system: LNC, code: "76691-5", display: "Gender identity", source: "uscore-sogi" },
  ],
  SUBSTANCE_USE: [
    { system: ICD, range: ["F10", "F19"], display: "Mental and behavioral disorders due to psychoactive substance use", source: "icd10cm", note: "F17 (nicotine) excluded, see the exclusions" },
    { system: ICD, code: "O99.31", display: "Alcohol use complicating pregnancy, childbirth, and the puerperium", source: "icd10cm", note: "also SEXUAL_REPRODUCTIVE (chapter 15)" },
    { system: ICD, code: "O99.32", display: "Drug use complicating pregnancy, childbirth, and the puerperium", source: "icd10cm", note: "also SEXUAL_REPRODUCTIVE (chapter 15)" },
    { system: ICD, code: "Z71.4", display: "Alcohol abuse counseling and surveillance", source: "icd10cm" },
    { system: ICD, code: "Z71.5", display: "Drug abuse counseling and surveillance", source: "icd10cm" },
    { system: SCT, code: "55680006", display: "Drug overdose", source: "synthea", note: "Synthea's opioid addiction module" },
    { system: SCT, code: "5602001", display: "Opioid abuse", source: "snomed" },
    { system: SCT, code: "75544000", display: "Opioid dependence", source: "snomed" },
    { system: SCT, code: "6525002", display: "Dependent drug abuse", source: "snomed" },
    { system: SCT, code: "26416006", display: "Drug abuse", source: "snomed" },
    { system: SCT, code: "191816009", display: "Drug dependence", source: "snomed" },
    { system: SCT, code: "7200002", display: "Alcoholism", source: "snomed" },
    { system: SCT, code: "66590003", display: "Alcohol dependence", source: "snomed" },
    { system: SCT, code: "15167005", display: "Alcohol abuse", source: "snomed" },
    { system: SCT, code: "428211000124100", display: "Assessment of substance use (procedure)", source: "synthea" },
    { system: SCT, code: "713106006", display: "Screening for drug abuse (procedure)", source: "synthea" },
    { system: LNC, code: "82667-7", display: "Total score [DAST-10]", source: "loinc" },
    { system: LNC, code: "75626-2", display: "Total score [AUDIT-C]", source: "loinc" },
    { system: RXN, code: "1819", display: "buprenorphine (ingredient)", source: "rxnorm", note: "a Medication coded by ingredient" },
    { system: RXN, code: "7243", display: "naltrexone (ingredient)", source: "rxnorm", note: "a Medication coded by ingredient" },
    { system: RXN, code: "864978", display: "methadone hydrochloride 40 MG Tablet for Oral Suspension", source: "rxnorm", note: "the dispersible form opioid treatment programs dispense; analgesic strengths are not labelled" },
    { system: RXN, code: "197623", display: "disulfiram 250 MG Oral Tablet", source: "vsac-oud-meds" },
    { system: RXN, code: "197624", display: "disulfiram 500 MG Oral Tablet", source: "vsac-oud-meds" },
    { system: RXN, code: "238129", display: "1 ML buprenorphine 0.3 MG/ML Injection", source: "vsac-oud-meds", note: "also an analgesic: labelled anyway (over-labelling is the safe error)" },
    { system: RXN, code: "351264", display: "buprenorphine 2 MG Sublingual Tablet", source: "vsac-oud-meds" },
    { system: RXN, code: "351265", display: "buprenorphine 8 MG Sublingual Tablet", source: "vsac-oud-meds" },
    { system: RXN, code: "351266", display: "buprenorphine 2 MG / naloxone 0.5 MG Sublingual Tablet", source: "vsac-oud-meds" },
    { system: RXN, code: "351267", display: "buprenorphine 8 MG / naloxone 2 MG Sublingual Tablet", source: "vsac-oud-meds" },
    { system: RXN, code: "637213", display: "naltrexone 380 MG Injection", source: "vsac-oud-meds" },
    { system: RXN, code: "835726", display: "acamprosate calcium 333 MG Delayed Release Oral Tablet", source: "vsac-oud-meds" },
    { system: RXN, code: "1010600", display: "buprenorphine 2 MG / naloxone 0.5 MG Sublingual Film", source: "vsac-oud-meds" },
    { system: RXN, code: "1010604", display: "buprenorphine 8 MG / naloxone 2 MG Sublingual Film", source: "vsac-oud-meds" },
    { system: RXN, code: "1307056", display: "buprenorphine 4 MG / naloxone 1 MG Sublingual Film", source: "vsac-oud-meds" },
    { system: RXN, code: "1307061", display: "buprenorphine 12 MG / naloxone 3 MG Sublingual Film", source: "vsac-oud-meds" },
    { system: RXN, code: "1431076", display: "buprenorphine 1.4 MG / naloxone 0.36 MG Sublingual Tablet", source: "vsac-oud-meds" },
    { system: RXN, code: "1431102", display: "buprenorphine 5.7 MG / naloxone 1.4 MG Sublingual Tablet", source: "vsac-oud-meds" },
    { system: RXN, code: "1483744", display: "naltrexone hydrochloride 50 MG Oral Tablet", source: "vsac-oud-meds" },
    { system: RXN, code: "1542390", display: "buprenorphine 2.1 MG / naloxone 0.3 MG Buccal Film", source: "vsac-oud-meds" },
    { system: RXN, code: "1544851", display: "buprenorphine 4.2 MG / naloxone 0.7 MG Buccal Film", source: "vsac-oud-meds" },
    { system: RXN, code: "1544854", display: "buprenorphine 6.3 MG / naloxone 1 MG Buccal Film", source: "vsac-oud-meds" },
    { system: RXN, code: "1597568", display: "buprenorphine 11.4 MG / naloxone 2.9 MG Sublingual Tablet", source: "vsac-oud-meds" },
    { system: RXN, code: "1597573", display: "buprenorphine 8.6 MG / naloxone 2.1 MG Sublingual Tablet", source: "vsac-oud-meds" },
    { system: RXN, code: "1655032", display: "1 ML buprenorphine 0.3 MG/ML Cartridge", source: "vsac-oud-meds" },
    { system: RXN, code: "1666338", display: "buprenorphine 2.9 MG / naloxone 0.71 MG Sublingual Tablet", source: "vsac-oud-meds" },
    { system: RXN, code: "1797650", display: "buprenorphine 74.2 MG Drug Implant", source: "vsac-oud-meds" },
    { system: RXN, code: "1864412", display: "buprenorphine 0.7 MG / naloxone 0.18 MG Sublingual Tablet", source: "vsac-oud-meds" },
    { system: RXN, code: "1996184", display: "0.5 ML buprenorphine 200 MG/ML Prefilled Syringe", source: "vsac-oud-meds" },
    { system: RXN, code: "1996192", display: "1.5 ML buprenorphine 200 MG/ML Prefilled Syringe", source: "vsac-oud-meds" },
  ],
  GENETICS: [
    { system: ICD, range: ["Q90", "Q99"], display: "Chromosomal abnormalities, not elsewhere classified", source: "icd10cm", note: "HL7 GDIS (genetic disease)" },
    { system: ICD, range: ["Z14", "Z15"], display: "Genetic carrier; genetic susceptibility to disease", source: "icd10cm" },
    { system: ICD, code: "Z13.7", display: "Encounter for screening for genetic and chromosomal anomalies", source: "icd10cm" },
    { system: ICD, code: "Z31.43", display: "Encounter of female for testing for genetic disease carrier status for procreative management", source: "icd10cm", note: "also SEXUAL_REPRODUCTIVE (Z31)" },
    { system: ICD, code: "Z31.44", display: "Encounter of male for testing for genetic disease carrier status for procreative management", source: "icd10cm", note: "also SEXUAL_REPRODUCTIVE (Z31)" },
    { system: ICD, code: "Z36.0", display: "Encounter for antenatal screening for chromosomal anomalies", source: "icd10cm", note: "also SEXUAL_REPRODUCTIVE (Z36)" },
    { system: ICD, code: "Z84.81", display: "Family history of carrier of genetic disease", source: "icd10cm" },
    { system: SCT, code: "443529005", display: "Detection of chromosomal aneuploidy in prenatal amniotic fluid specimen using FISH screening technique (procedure)", source: "synthea", note: "also SEXUAL_REPRODUCTIVE" },
    { system: SCT, code: "267253006", display: "Fetus with chromosomal abnormality (disorder)", source: "synthea", note: "also SEXUAL_REPRODUCTIVE" },
    { system: LNC, code: "51969-4", display: "Genetic analysis report", source: "hl7-genomics" },
    { system: LNC, code: "55233-1", display: "Genetic analysis master panel", source: "hl7-genomics" },
    { system: LNC, code: "81247-9", display: "Master HL7 genetic variant reporting panel", source: "hl7-genomics" },
    { system: LNC, code: "69548-6", display: "Genetic variant assessment", source: "hl7-genomics" },
    { system: LNC, code: "48018-6", display: "Gene studied [ID]", source: "hl7-genomics" },
    { system: LNC, code: "48004-6", display: "DNA change (c.HGVS)", source: "hl7-genomics" },
    { system: LNC, code: "81290-9", display: "Genomic DNA change (gHGVS)", source: "hl7-genomics" },
    { system: LNC, code: "53037-8", display: "Genetic variation clinical significance [Imp]", source: "hl7-genomics" },
    { system: CodeSystems.DIAGNOSTIC_SERVICE_SECTION, code: "GE", display: "Genetics (DiagnosticReport.category)", source: "hl7-v2-0074" },
    { system: CodeSystems.OBSERVATION_CATEGORY, code: "genetics", display: "Genetics (local Observation.category, not in the R4 value set)", source: "hl7-genomics" },
    { system: CodeSystems.OBSERVATION_CATEGORY, code: "genomics", display: "Genomics (local Observation.category, not in the R4 value set)", source: "hl7-genomics" },
  ],
});

/**
 * A code reviewed and deliberately NOT given a label: it carves the code out of a broader entry
 * of the same label (F17 out of F10–F19) or records a decision a reviewer would otherwise ask
 * about (tobacco, HPV vaccines, analgesic methadone).
 *
 * @example
 * ```ts
 * import type { Exclusion } from "medledger";
 * const x: Exclusion = { system: "http://hl7.org/fhir/sid/icd-10-cm", range: ["F17", "F17"], display: "Nicotine dependence", labels: ["SUBSTANCE_USE"], reason: "…", source: "42cfr2" };
 * ```
 */
export interface Exclusion extends Omit<ValueSetEntry, "note"> {
  /** The labels this code does not get. */
  labels: readonly LabelName[];
  reason: string;
}

// One entry per line, as a reviewer reads a table.
// prettier-ignore
/**
 * Codes reviewed and not labelled (defaults only: a hospital override may still label them).
 *
 * @example
 * ```ts
 * import { EXCLUSIONS } from "medledger";
 * EXCLUSIONS.find((x) => x.range?.[0] === "F17")?.reason;
 * ```
 */
export const EXCLUSIONS: readonly Exclusion[] = Object.freeze([
  { system: ICD, range: ["F17", "F17"], display: "Nicotine dependence", labels: ["SUBSTANCE_USE"], reason: "42 CFR 2.11 defines substance use disorder without tobacco", source: "42cfr2" },
  { system: SCT, code: "449868002", display: "Smokes tobacco daily", labels: ["SUBSTANCE_USE"], reason: "tobacco use (42 CFR 2.11); smoking status stays OBSERVATIONS", source: "42cfr2" },
  { system: RXN, code: "198031", display: "24 HR nicotine 0.292 MG/HR Transdermal System", labels: ["SUBSTANCE_USE"], reason: "tobacco cessation (42 CFR 2.11)", source: "42cfr2" },
  { system: RXN, code: "1551468", display: "12 HR bupropion hydrochloride 90 MG / naltrexone hydrochloride 8 MG Extended Release Oral Tablet", labels: ["SUBSTANCE_USE"], reason: "in the VSAC set, but prescribed for weight management", source: "vsac-oud-meds" },
  { system: RXN, code: "864706", display: "methadone hydrochloride 10 MG Oral Tablet", labels: ["SUBSTANCE_USE"], reason: "analgesic strength; methadone for opioid use disorder is dispensed by opioid treatment programs", source: "rxnorm" },
  { system: RXN, code: "864718", display: "methadone hydrochloride 5 MG Oral Tablet", labels: ["SUBSTANCE_USE"], reason: "analgesic strength (as above)", source: "rxnorm" },
  { system: ICD, range: ["G30", "G30"], display: "Alzheimer's disease", labels: ["MENTAL_HEALTH"], reason: "chapter 6 (nervous system), not chapter 5; dementia coded F01–F03 is labelled", source: "icd10cm" },
  { system: SCT, code: "26929004", display: "Alzheimer's disease (disorder)", labels: ["MENTAL_HEALTH"], reason: "as ICD-10-CM G30 (nervous system)", source: "icd10cm" },
  { system: CodeSystems.CVX, code: "62", display: "HPV, quadrivalent", labels: ["SEXUAL_REPRODUCTIVE"], reason: "routine adolescent immunization (ACIP), says nothing about sexual activity", source: "cvx" },
  { system: CodeSystems.CVX, code: "118", display: "HPV, bivalent", labels: ["SEXUAL_REPRODUCTIVE"], reason: "routine immunization (as above)", source: "cvx" },
  { system: CodeSystems.CVX, code: "137", display: "HPV, unspecified formulation", labels: ["SEXUAL_REPRODUCTIVE"], reason: "routine immunization (as above)", source: "cvx" },
  { system: CodeSystems.CVX, code: "165", display: "HPV9", labels: ["SEXUAL_REPRODUCTIVE"], reason: "routine immunization (as above)", source: "cvx" },
] satisfies Exclusion[]);

/**
 * One security label (meta.security) the classifier knows: the labels it gives (possibly none,
 * with the reason in `note`).
 *
 * @example
 * ```ts
 * import type { SecurityLabelRule } from "medledger";
 * const r: SecurityLabelRule = { system: "http://terminology.hl7.org/CodeSystem/v3-ActCode", code: "ETH", display: "substance abuse information sensitivity", labels: ["SUBSTANCE_USE"], source: "hl7-actcode" };
 * ```
 */
export interface SecurityLabelRule {
  system: string;
  code: string;
  display: string;
  labels: readonly LabelName[];
  source: SourceId;
  /** For `labels: []`: why it names no class, and whether the report asks for review. */
  note?: string;
  /** The importer should look at it (the report lists it under `notes`). */
  review?: boolean;
}

const ACT = CodeSystems.ACT_CODE;
const CONF = CodeSystems.CONFIDENTIALITY;

// One entry per line, as a reviewer reads a table.
// prettier-ignore
/**
 * The security labels (step 1): HL7 v3 ActCode sensitivity and privacy-law codes, and
 * Confidentiality codes. A code not listed here gives no label and is reported as unknown.
 *
 * @example
 * ```ts
 * import { SECURITY_LABEL_RULES } from "medledger";
 * SECURITY_LABEL_RULES.filter((r) => r.labels.includes("MENTAL_HEALTH")).map((r) => r.code);
 * ```
 */
export const SECURITY_LABEL_RULES: readonly SecurityLabelRule[] = Object.freeze([
  { system: ACT, code: "ETH", display: "substance abuse information sensitivity", labels: ["SUBSTANCE_USE"], source: "hl7-actcode" },
  { system: ACT, code: "SUD", display: "substance use disorder information sensitivity", labels: ["SUBSTANCE_USE"], source: "hl7-actcode" },
  { system: ACT, code: "ETHUD", display: "alcohol use disorder information sensitivity", labels: ["SUBSTANCE_USE"], source: "hl7-actcode" },
  { system: ACT, code: "OPIOIDUD", display: "opioid use disorder information sensitivity", labels: ["SUBSTANCE_USE"], source: "hl7-actcode" },
  { system: ACT, code: "42CFRPart2", display: "42 CFR Part 2", labels: ["SUBSTANCE_USE"], source: "42cfr2" },
  { system: ACT, code: "PSY", display: "psychiatry disorder information sensitivity", labels: ["MENTAL_HEALTH"], source: "hl7-actcode" },
  { system: ACT, code: "MH", display: "mental health information sensitivity", labels: ["MENTAL_HEALTH"], source: "hl7-actcode" },
  { system: ACT, code: "BH", display: "behavioral health information sensitivity", labels: ["MENTAL_HEALTH"], source: "hl7-actcode" },
  { system: ACT, code: "COGN", display: "cognitive disability information sensitivity", labels: ["MENTAL_HEALTH"], source: "hl7-actcode", note: "a child of BH" },
  { system: ACT, code: "DVD", display: "developmental disability information sensitivity", labels: ["MENTAL_HEALTH"], source: "hl7-actcode", note: "a child of BH" },
  { system: ACT, code: "EMOTDIS", display: "emotional disturbance information sensitivity", labels: ["MENTAL_HEALTH"], source: "hl7-actcode", note: "a child of BH" },
  { system: ACT, code: "PSYTHPN", display: "psychotherapy note information sensitivity", labels: ["MENTAL_HEALTH"], source: "hl7-actcode" },
  { system: ACT, code: "HIPAAPsyNotes", display: "HIPAA psychotherapy notes", labels: ["MENTAL_HEALTH"], source: "hl7-actcode" },
  { system: ACT, code: "SPI", display: "specially protected information sensitivity", labels: ["MENTAL_HEALTH", "SUBSTANCE_USE"], source: "hl7-actcode", note: "defined as substance use, psychiatric, mental health, behavioral health and cognitive information: both classes" },
  { system: ACT, code: "HIV", display: "HIV/AIDS information sensitivity", labels: ["SEXUAL_REPRODUCTIVE"], source: "hl7-actcode" },
  { system: ACT, code: "STD", display: "sexually transmitted disease information sensitivity", labels: ["SEXUAL_REPRODUCTIVE"], source: "hl7-actcode" },
  { system: ACT, code: "SEX", display: "sexuality and reproductive health information sensitivity", labels: ["SEXUAL_REPRODUCTIVE"], source: "hl7-actcode" },
  { system: ACT, code: "SDV", display: "sexual assault, abuse, or domestic violence information sensitivity", labels: ["SEXUAL_REPRODUCTIVE"], source: "hl7-actcode", note: "no violence class among the four: filed with sexual health, where sexual assault belongs" },
  { system: ACT, code: "MST", display: "military sexual trauma information sensitivity", labels: ["SEXUAL_REPRODUCTIVE"], source: "hl7-actcode" },
  { system: ACT, code: "GENDER", display: "gender and sexual orientation information sensitivity", labels: ["SEXUAL_REPRODUCTIVE"], source: "hl7-actcode" },
  { system: ACT, code: "GDIS", display: "genetic disease information sensitivity", labels: ["GENETICS"], source: "hl7-actcode" },
  { system: ACT, code: "Title38Section7332", display: "Title 38 Section 7332", labels: ["SUBSTANCE_USE", "SEXUAL_REPRODUCTIVE"], source: "hl7-actcode", note: "covers drug abuse, alcoholism, HIV and sickle cell anemia: the classes of the first three" },
  { system: CONF, code: "ETH", display: "substance abuse related (deprecated Confidentiality code)", labels: ["SUBSTANCE_USE"], source: "hl7-confidentiality" },
  { system: CONF, code: "HIV", display: "HIV related (deprecated Confidentiality code)", labels: ["SEXUAL_REPRODUCTIVE"], source: "hl7-confidentiality" },
  { system: CONF, code: "PSY", display: "psychiatry related (deprecated Confidentiality code)", labels: ["MENTAL_HEALTH"], source: "hl7-confidentiality" },
  { system: CONF, code: "SDV", display: "sexual and domestic violence related (deprecated Confidentiality code)", labels: ["SEXUAL_REPRODUCTIVE"], source: "hl7-confidentiality" },
  { system: CONF, code: "R", display: "restricted", labels: [], source: "hl7-confidentiality", review: true, note: "names no class (HL7 lists mental health, HIV, substance use, violence, genetics, reproductive health, employees and celebrities as examples): no label; the codes decide; the report asks for review" },
  { system: CONF, code: "V", display: "very restricted", labels: [], source: "hl7-confidentiality", review: true, note: "names no class (victims of abuse, patient-requested, taboo, legal lock): no label; the codes decide; the report asks for review" },
  { system: CONF, code: "U", display: "unrestricted", labels: [], source: "hl7-confidentiality", note: "never lowers a label the codes give" },
  { system: CONF, code: "L", display: "low", labels: [], source: "hl7-confidentiality", note: "never lowers a label the codes give" },
  { system: CONF, code: "M", display: "moderate", labels: [], source: "hl7-confidentiality", note: "never lowers a label the codes give" },
  { system: CONF, code: "N", display: "normal", labels: [], source: "hl7-confidentiality", note: "never lowers a label the codes give" },
  { system: ACT, code: "TBOO", display: "taboo", labels: [], source: "hl7-actcode", review: true, note: "a handling instruction (discuss with the patient first), not a class" },
  { system: ACT, code: "VIO", display: "violence information sensitivity", labels: [], source: "hl7-actcode", review: true, note: "violence by an unrelated person: no class among the four" },
  { system: ACT, code: "SCA", display: "sickle cell anemia information sensitivity", labels: [], source: "hl7-actcode", review: true, note: "no class among the four" },
  { system: ACT, code: "SICKLE", display: "sickle cell", labels: [], source: "hl7-actcode", review: true, note: "no class among the four" },
  { system: ACT, code: "PRS", display: "patient requested information sensitivity", labels: [], source: "hl7-actcode", review: true, note: "the patient's request names no class: a deny the patient signs covers it" },
] satisfies SecurityLabelRule[]);

/**
 * What a resource type is: a public category (and labels that come with the type itself), or not
 * the patient's health data (skipped by `putFhir`, reported as skipped).
 *
 * @example
 * ```ts
 * import type { ResourceTypeRule } from "medledger";
 * const r: ResourceTypeRule = { category: "OBSERVATIONS", labels: ["GENETICS"], source: "gina" };
 * ```
 */
export type ResourceTypeRule =
  | { category: PublicCategoryName; labels?: readonly LabelName[]; source?: SourceId; note?: string }
  | { skip: SkipKind; note?: string };

/**
 * Why a resource type is not stored as the patient's health data.
 * - `directory`: who and where (practitioners, organizations, locations, schedules): the
 *   consortium's directory, not a fact about the patient;
 * - `definition`: knowledge and conformance artifacts (a Questionnaire form, a ValueSet);
 * - `infrastructure`: messaging and exchange envelopes (MessageHeader, OperationOutcome).
 *
 * @example
 * ```ts
 * import type { SkipKind } from "medledger";
 * const k: SkipKind = "directory";
 * ```
 */
export type SkipKind = "directory" | "definition" | "infrastructure";

const DIRECTORY = { skip: "directory" } as const;
const DEFINITION = { skip: "definition" } as const;
const INFRASTRUCTURE = { skip: "infrastructure" } as const;
const cat = (category: PublicCategoryName, note?: string): ResourceTypeRule =>
  note === undefined ? { category } : { category, note };

/**
 * Every FHIR R4 resource type (all 146), in the FHIR R4 resource list's order of modules.
 *
 * @example
 * ```ts
 * import { RESOURCE_TYPE_RULES } from "medledger";
 * RESOURCE_TYPE_RULES.QuestionnaireResponse; // { category: "OBSERVATIONS", … }
 * ```
 */
export const RESOURCE_TYPE_RULES: Readonly<Record<string, ResourceTypeRule>> = Object.freeze({
  // Individuals
  Patient: cat("DEMOGRAPHICS"),
  RelatedPerson: cat("DEMOGRAPHICS"),
  Person: cat("DEMOGRAPHICS", "links the patient's identities"),
  Practitioner: DIRECTORY,
  PractitionerRole: DIRECTORY,
  Group: { skip: "directory", note: "a set of people, not one patient's data" },
  // Entities
  Organization: DIRECTORY,
  OrganizationAffiliation: DIRECTORY,
  HealthcareService: DIRECTORY,
  Endpoint: DIRECTORY,
  Location: DIRECTORY,
  InsurancePlan: DIRECTORY,
  Substance: DEFINITION,
  BiologicallyDerivedProduct: cat("PROCEDURES", "a product (blood, tissue) collected from or given to the patient"),
  Device: cat("OTHER", "the patient's device or implant"),
  DeviceMetric: DEFINITION,
  // Workflow
  Task: cat("REQUESTS"),
  Appointment: cat("ENCOUNTERS"),
  AppointmentResponse: cat("ENCOUNTERS"),
  Schedule: DIRECTORY,
  Slot: DIRECTORY,
  VerificationResult: { skip: "directory", note: "verification of a directory entry" },
  // Management
  Encounter: cat("ENCOUNTERS"),
  EpisodeOfCare: cat("ENCOUNTERS"),
  Flag: cat("NOTES"),
  List: cat("NOTES"),
  Library: DEFINITION,
  // Clinical summary
  AllergyIntolerance: cat("ALLERGIES"),
  AdverseEvent: cat("CONDITIONS"),
  Condition: cat("CONDITIONS"),
  Procedure: cat("PROCEDURES"),
  FamilyMemberHistory: {
    category: "CONDITIONS",
    labels: ["GENETICS"],
    source: "gina",
    note: "family medical history is genetic information (GINA)",
  },
  ClinicalImpression: cat("NOTES"),
  DetectedIssue: cat("NOTES"),
  // Diagnostics
  Observation: cat("OBSERVATIONS"),
  Media: cat("DOCUMENTS"),
  DiagnosticReport: cat("DIAGNOSTIC_REPORTS"),
  Specimen: cat("OBSERVATIONS"),
  BodyStructure: cat("OBSERVATIONS"),
  ImagingStudy: cat("IMAGING"),
  QuestionnaireResponse: cat("OBSERVATIONS", "answers to a form: assessments and screenings"),
  MolecularSequence: {
    category: "OBSERVATIONS",
    labels: ["GENETICS"],
    source: "hl7-genomics",
    note: "a sequence is genetic information",
  },
  // Medications
  MedicationRequest: cat("MEDICATIONS"),
  MedicationAdministration: cat("MEDICATIONS"),
  MedicationDispense: cat("MEDICATIONS"),
  MedicationStatement: cat("MEDICATIONS"),
  Medication: cat("MEDICATIONS"),
  MedicationKnowledge: DEFINITION,
  Immunization: cat("IMMUNIZATIONS"),
  ImmunizationEvaluation: cat("IMMUNIZATIONS"),
  ImmunizationRecommendation: cat("IMMUNIZATIONS"),
  // Care provision
  CarePlan: cat("CARE_PLANS"),
  CareTeam: cat("CARE_PLANS"),
  Goal: cat("CARE_PLANS"),
  ServiceRequest: cat("REQUESTS"),
  NutritionOrder: cat("REQUESTS"),
  VisionPrescription: cat("REQUESTS"),
  RiskAssessment: cat("OBSERVATIONS"),
  RequestGroup: cat("REQUESTS"),
  // Request and response
  Communication: cat("NOTES"),
  CommunicationRequest: cat("REQUESTS"),
  DeviceRequest: cat("REQUESTS"),
  DeviceUseStatement: cat("PROCEDURES", "the patient's use of a device"),
  GuidanceResponse: cat("NOTES"),
  SupplyRequest: cat("REQUESTS"),
  SupplyDelivery: cat("OTHER"),
  // Financial
  Coverage: cat("FINANCIAL"),
  CoverageEligibilityRequest: cat("FINANCIAL"),
  CoverageEligibilityResponse: cat("FINANCIAL"),
  EnrollmentRequest: cat("FINANCIAL"),
  EnrollmentResponse: cat("FINANCIAL"),
  Claim: cat("FINANCIAL"),
  ClaimResponse: cat("FINANCIAL"),
  Invoice: cat("FINANCIAL"),
  PaymentNotice: cat("FINANCIAL"),
  PaymentReconciliation: cat("FINANCIAL"),
  Account: cat("FINANCIAL"),
  ChargeItem: cat("FINANCIAL"),
  ChargeItemDefinition: DEFINITION,
  Contract: cat("FINANCIAL"),
  ExplanationOfBenefit: cat("FINANCIAL"),
  // Documents
  Composition: cat("DOCUMENTS"),
  DocumentManifest: cat("DOCUMENTS"),
  DocumentReference: cat("DOCUMENTS"),
  Binary: cat("DOCUMENTS"),
  Bundle: cat(
    "OTHER",
    "a Bundle inside a Bundle: one record; a document Bundle → DOCUMENTS; labels of every resource inside",
  ),
  // Security, exchange and other foundation resources
  Consent: cat("OTHER", "the patient's own consent document"),
  Provenance: cat("OTHER"),
  AuditEvent: cat("OTHER"),
  Basic: cat("OTHER"),
  Linkage: cat("OTHER"),
  ResearchSubject: cat("OTHER", "the patient's enrolment in a study"),
  MeasureReport: cat("OTHER"),
  MessageHeader: INFRASTRUCTURE,
  OperationOutcome: INFRASTRUCTURE,
  Parameters: INFRASTRUCTURE,
  Subscription: INFRASTRUCTURE,
  TestReport: INFRASTRUCTURE,
  TestScript: INFRASTRUCTURE,
  // Definitional, conformance and knowledge artifacts
  ActivityDefinition: DEFINITION,
  CapabilityStatement: DEFINITION,
  CatalogEntry: DEFINITION,
  CodeSystem: DEFINITION,
  CompartmentDefinition: DEFINITION,
  ConceptMap: DEFINITION,
  DeviceDefinition: DEFINITION,
  EffectEvidenceSynthesis: DEFINITION,
  EventDefinition: DEFINITION,
  Evidence: DEFINITION,
  EvidenceVariable: DEFINITION,
  ExampleScenario: DEFINITION,
  GraphDefinition: DEFINITION,
  ImplementationGuide: DEFINITION,
  Measure: DEFINITION,
  MedicinalProduct: DEFINITION,
  MedicinalProductAuthorization: DEFINITION,
  MedicinalProductContraindication: DEFINITION,
  MedicinalProductIndication: DEFINITION,
  MedicinalProductIngredient: DEFINITION,
  MedicinalProductInteraction: DEFINITION,
  MedicinalProductManufactured: DEFINITION,
  MedicinalProductPackaged: DEFINITION,
  MedicinalProductPharmaceutical: DEFINITION,
  MedicinalProductUndesirableEffect: DEFINITION,
  MessageDefinition: DEFINITION,
  NamingSystem: DEFINITION,
  ObservationDefinition: DEFINITION,
  OperationDefinition: DEFINITION,
  PlanDefinition: DEFINITION,
  Questionnaire: { skip: "definition", note: "the form; the patient's answers are a QuestionnaireResponse" },
  ResearchDefinition: DEFINITION,
  ResearchElementDefinition: DEFINITION,
  ResearchStudy: DEFINITION,
  RiskEvidenceSynthesis: DEFINITION,
  SearchParameter: DEFINITION,
  SpecimenDefinition: DEFINITION,
  StructureDefinition: DEFINITION,
  StructureMap: DEFINITION,
  SubstanceNucleicAcid: DEFINITION,
  SubstancePolymer: DEFINITION,
  SubstanceProtein: DEFINITION,
  SubstanceReferenceInformation: DEFINITION,
  SubstanceSourceMaterial: DEFINITION,
  SubstanceSpecification: DEFINITION,
  TerminologyCapabilities: DEFINITION,
  ValueSet: DEFINITION,
});

/**
 * One refinement of the public category by the resource's own `category` codes.
 *
 * @example
 * ```ts
 * import type { CategoryRefinement } from "medledger";
 * const r: CategoryRefinement = { resourceTypes: ["Observation"], system: "http://terminology.hl7.org/CodeSystem/observation-category", codes: { imaging: "Imaging" }, category: "IMAGING" };
 * ```
 */
export interface CategoryRefinement {
  resourceTypes: readonly string[];
  system: string;
  codes: Readonly<Record<string, string>>;
  category: PublicCategoryName;
}

/**
 * Codes of a resource's own `category` that refine its public category (Observation category
 * imaging, DiagnosticReport from an imaging service section → IMAGING).
 *
 * @example
 * ```ts
 * import { CATEGORY_REFINEMENTS } from "medledger";
 * CATEGORY_REFINEMENTS[0]?.category; // "IMAGING"
 * ```
 */
export const CATEGORY_REFINEMENTS: readonly CategoryRefinement[] = Object.freeze<CategoryRefinement[]>([
  {
    resourceTypes: ["Observation"],
    system: CodeSystems.OBSERVATION_CATEGORY,
    codes: { imaging: "Imaging" },
    category: "IMAGING",
  },
  {
    resourceTypes: ["DiagnosticReport"],
    system: CodeSystems.DIAGNOSTIC_SERVICE_SECTION,
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
    category: "IMAGING",
  },
  {
    resourceTypes: ["DiagnosticReport"],
    system: CodeSystems.LOINC,
    codes: { "LP29684-5": "Radiology" },
    category: "IMAGING",
  },
]);

/**
 * Step 3, references. The resource types that inherit the labels of what they reference and of
 * what references them in the same Bundle (billing, reports, plans and encounters: sensitivity
 * follows the data into them). ClaimResponse is the adjudication of a Claim, like an EOB.
 *
 * @example
 * ```ts
 * import { INHERITING_TYPES } from "medledger";
 * INHERITING_TYPES.includes("Claim"); // true
 * ```
 */
export const INHERITING_TYPES: readonly string[] = Object.freeze([
  "Claim",
  "ExplanationOfBenefit",
  "ClaimResponse",
  "DiagnosticReport",
  "CarePlan",
  "Encounter",
]);

/**
 * Elements that name a resource's REASON: any resource inherits the labels of the resource its
 * reason points to (a physical exam done because of a pregnancy discloses the pregnancy).
 *
 * @example
 * ```ts
 * import { REASON_ELEMENTS } from "medledger";
 * REASON_ELEMENTS; // ["reasonReference", "addresses"]
 * ```
 */
export const REASON_ELEMENTS: readonly string[] = Object.freeze(["reasonReference", "addresses"]);

/**
 * Types that pass on only their OWN labels (not inherited ones): everything done during a visit
 * references the Encounter, so an inherited encounter label would spread to unrelated results of
 * the same visit (a lipid panel taken at the visit where a depression screening happened).
 *
 * @example
 * ```ts
 * import { CONTAINER_TYPES } from "medledger";
 * CONTAINER_TYPES; // ["Encounter", "EpisodeOfCare"]
 * ```
 */
export const CONTAINER_TYPES: readonly string[] = Object.freeze(["Encounter", "EpisodeOfCare"]);

/**
 * Types whose labels never spread by reference: everything references the patient.
 *
 * @example
 * ```ts
 * import { NON_PROPAGATING_TYPES } from "medledger";
 * NON_PROPAGATING_TYPES.includes("Patient"); // true
 * ```
 */
export const NON_PROPAGATING_TYPES: readonly string[] = Object.freeze(["Patient", "RelatedPerson", "Person"]);
