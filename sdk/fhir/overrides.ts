/**
 * Hospital overrides of the classifier: a JSON file that ADDS rules to the defaults (the defaults
 * always stay). An override can
 * - give labels to codes (matched in the resource's codings and in its `meta.security`, so a
 *   hospital can also say what a local security code, or a bare confidentiality `V`, means), and
 * - set the public category of a resource type (which also makes an administrative type stored),
 *   and give labels to every resource of a type.
 *
 * An override never removes a label. Every override is logged when the classifier is created,
 * and every decision it makes appears in the report with `source: "override"`.
 *
 * File format (`medledgerClassifierOverrides` is the format version):
 * ```json
 * {
 *   "medledgerClassifierOverrides": 1,
 *   "name": "St Elsewhere privacy policy 2026-11",
 *   "codes": [
 *     { "system": "http://snomed.info/sct", "code": "699241002", "display": "…", "labels": ["MENTAL_HEALTH"], "source": "policy MH-12" },
 *     { "system": "http://hl7.org/fhir/sid/icd-10-cm", "range": ["Z55", "Z65"], "display": "…", "labels": ["MENTAL_HEALTH"], "source": "policy MH-13" }
 *   ],
 *   "resourceTypes": [
 *     { "resourceType": "Flag", "category": "CARE_PLANS", "source": "policy D-2" }
 *   ]
 * }
 * ```
 *
 * @example
 * ```ts
 * import { loadClassifierOverrides, createClassifier, putFhir } from "medledger";
 * const classifier = createClassifier({ overrides: await loadClassifierOverrides("classifier-overrides.json") });
 * await putFhir(ml, subject, bundle, { classifier });
 * ```
 */
import { readFile } from "node:fs/promises";

import { Category, LABEL_NAMES, isLabelName } from "../codes.js";
import type { LabelName } from "../codes.js";
import { InvalidInputError } from "../errors.js";
import { isFhirResourceType } from "./validate.js";
import type { PublicCategoryName } from "./terminology.js";

/**
 * A code rule of an override file.
 *
 * @example
 * ```ts
 * import type { CodeOverride } from "medledger";
 * const o: CodeOverride = { system: "http://loinc.org", code: "89204-2", display: "PHQ-9 modified for teens", labels: ["MENTAL_HEALTH"], source: "policy 7" };
 * ```
 */
export interface CodeOverride {
  system: string;
  code?: string;
  range?: readonly [string, string];
  display?: string;
  labels: readonly LabelName[];
  /** Who decided it and where it is written down (shown in every report entry it decides). */
  source: string;
}

/**
 * A resource type rule of an override file.
 *
 * @example
 * ```ts
 * import type { ResourceTypeOverride } from "medledger";
 * const o: ResourceTypeOverride = { resourceType: "Practitioner", category: "OTHER", source: "we keep the treating team with the record" };
 * ```
 */
export interface ResourceTypeOverride {
  resourceType: string;
  category?: PublicCategoryName;
  labels?: readonly LabelName[];
  source: string;
}

/**
 * A parsed, validated override file.
 *
 * @example
 * ```ts
 * import { parseClassifierOverrides } from "medledger";
 * const o = parseClassifierOverrides({ medledgerClassifierOverrides: 1, codes: [], resourceTypes: [] });
 * ```
 */
export interface ClassifierOverrides {
  name?: string;
  codes: readonly CodeOverride[];
  resourceTypes: readonly ResourceTypeOverride[];
}

const SENSITIVE_CATEGORY_NAMES = new Set(["MENTAL_HEALTH", "SEXUAL_REPRODUCTIVE", "SUBSTANCE_USE", "GENETICS"]);
/** The public categories (indexes 0..15), in index order. */
const PUBLIC_CATEGORIES: readonly string[] = Object.keys(Category).filter((c) => !SENSITIVE_CATEGORY_NAMES.has(c));

function isPublicCategory(value: unknown): value is PublicCategoryName {
  return typeof value === "string" && Object.hasOwn(Category, value) && !SENSITIVE_CATEGORY_NAMES.has(value);
}

const bad = (where: string, what: string, allowed?: string): InvalidInputError =>
  new InvalidInputError(
    `Invalid classifier override at ${where}: ${what}`,
    allowed === undefined ? {} : { details: `allowed: ${allowed}` },
  );

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function onlyKeys(o: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(o))
    if (!allowed.includes(key)) throw bad(where, `unknown field ${JSON.stringify(key)}`, allowed.join(", "));
}

function nonEmptyString(v: unknown, where: string): string {
  if (typeof v !== "string" || v.trim() === "") throw bad(where, "should be a non-empty string");
  return v;
}

function labelsOf(v: unknown, where: string, required: boolean): LabelName[] | undefined {
  if (v === undefined && !required) return undefined;
  if (!Array.isArray(v) || (required && v.length === 0))
    throw bad(where, "should be a non-empty array of labels", LABEL_NAMES.join(", "));
  return v.map((l, i) => {
    if (!isLabelName(l)) throw bad(`${where}[${i}]`, `unknown label ${JSON.stringify(l)}`, LABEL_NAMES.join(", "));
    return l;
  });
}

/**
 * Validates an override file's parsed JSON. Throws InvalidInputError naming the first bad field
 * (and listing the allowed values) before anything is classified.
 *
 * @example
 * ```ts
 * import { parseClassifierOverrides } from "medledger";
 * parseClassifierOverrides({ medledgerClassifierOverrides: 1, codes: [{ system: "http://snomed.info/sct", code: "1", labels: ["GENETICS"], source: "x" }] });
 * ```
 */
export function parseClassifierOverrides(json: unknown): ClassifierOverrides {
  if (!isObject(json)) throw bad("$", "should be a JSON object");
  onlyKeys(json, ["medledgerClassifierOverrides", "name", "codes", "resourceTypes"], "$");
  if (json.medledgerClassifierOverrides !== 1)
    throw bad("$.medledgerClassifierOverrides", "unsupported format version", "1");
  const out: { name?: string; codes: CodeOverride[]; resourceTypes: ResourceTypeOverride[] } = {
    codes: [],
    resourceTypes: [],
  };
  if (json.name !== undefined) out.name = nonEmptyString(json.name, "$.name");
  const codes = json.codes ?? [];
  if (!Array.isArray(codes)) throw bad("$.codes", "should be an array");
  codes.forEach((c: unknown, i) => {
    const where = `$.codes[${i}]`;
    if (!isObject(c)) throw bad(where, "should be an object");
    onlyKeys(c, ["system", "code", "range", "display", "labels", "source"], where);
    const rule: CodeOverride = {
      system: nonEmptyString(c.system, `${where}.system`),
      labels: labelsOf(c.labels, `${where}.labels`, true)!,
      source: nonEmptyString(c.source, `${where}.source`),
    };
    if ((c.code === undefined) === (c.range === undefined)) throw bad(where, "needs exactly one of code and range");
    if (c.code !== undefined) rule.code = nonEmptyString(c.code, `${where}.code`);
    if (c.range !== undefined) {
      const r = c.range;
      if (
        !Array.isArray(r) ||
        r.length !== 2 ||
        !r.every((x) => typeof x === "string" && /^[A-Za-z][0-9][0-9A-Za-z]$/.test(x))
      )
        throw bad(`${where}.range`, 'should be two ICD-10 three-character categories, e.g. ["F10", "F19"]');
      const [from, to] = [String(r[0]).toUpperCase(), String(r[1]).toUpperCase()];
      if (from > to) throw bad(`${where}.range`, "starts after it ends");
      rule.range = [from, to];
    }
    if (c.display !== undefined) rule.display = nonEmptyString(c.display, `${where}.display`);
    out.codes.push(rule);
  });
  const types = json.resourceTypes ?? [];
  if (!Array.isArray(types)) throw bad("$.resourceTypes", "should be an array");
  types.forEach((t: unknown, i) => {
    const where = `$.resourceTypes[${i}]`;
    if (!isObject(t)) throw bad(where, "should be an object");
    onlyKeys(t, ["resourceType", "category", "labels", "source"], where);
    const resourceType = nonEmptyString(t.resourceType, `${where}.resourceType`);
    if (!isFhirResourceType(resourceType))
      throw bad(`${where}.resourceType`, `${JSON.stringify(resourceType)} is not an R4 resource type`);
    const rule: ResourceTypeOverride = { resourceType, source: nonEmptyString(t.source, `${where}.source`) };
    if (t.category !== undefined) {
      if (!isPublicCategory(t.category))
        throw bad(
          `${where}.category`,
          `unknown public category ${JSON.stringify(t.category)}`,
          PUBLIC_CATEGORIES.join(", "),
        );
      rule.category = t.category;
    }
    const labels = labelsOf(t.labels, `${where}.labels`, false);
    if (labels !== undefined) rule.labels = labels;
    if (rule.category === undefined && rule.labels === undefined) throw bad(where, "needs a category or labels");
    out.resourceTypes.push(rule);
  });
  return out;
}

/**
 * Reads and validates an override file (JSON). Errors name the file.
 *
 * @example
 * ```ts
 * import { loadClassifierOverrides } from "medledger";
 * const overrides = await loadClassifierOverrides("/etc/medledger/classifier-overrides.json");
 * ```
 */
export async function loadClassifierOverrides(path: string): Promise<ClassifierOverrides> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new InvalidInputError(`Cannot read the classifier override file ${path}`, { cause: err });
  }
  try {
    return parseClassifierOverrides(json);
  } catch (err) {
    if (err instanceof InvalidInputError)
      throw new InvalidInputError(`${err.shortMessage} (in ${path})`, { details: err.details, cause: err });
    throw err;
  }
}
