/**
 * The classifier: for each FHIR R4 resource, its PUBLIC clinical category (what goes on chain in
 * clear) and its sensitive LABELS (mental health, sexual and reproductive health, substance use,
 * genetics), with the rule that decided each, so an importer can review them.
 *
 * The rules are data (sdk/fhir/terminology.ts, rendered in docs/fhir.md); this module applies
 * them. Evidence is looked at in this order, and the labels are the UNION of everything found
 * (nothing found later removes a label found earlier):
 * 1. **Security labels** (`meta.security`): HL7 v3 ActCode sensitivity and privacy-law codes,
 *    Confidentiality codes ({@link SECURITY_LABEL_RULES}). Confidentiality R or V alone names no
 *    class: no label, a review note.
 * 2. **Codes**, wherever the resource carries a Coding (code, category, reasonCode,
 *    valueCodeableConcept, medicationCodeableConcept, type, Claim/EOB items, diagnoses and
 *    procedures, components, answers, extensions…), matched on (system, code) against
 *    {@link LABEL_VALUE_SETS} minus {@link EXCLUSIONS}. Identifiers and narrative are not read;
 *    display text never decides. Contained resources count as part of the resource.
 *    A code outside the tables gives no label: the resource keeps its type's category unlabelled
 *    (hospital-specific codes are added with overrides).
 * 3. **References** inside one Bundle ({@link indexBundle}): a Claim, ExplanationOfBenefit,
 *    ClaimResponse, DiagnosticReport, CarePlan or Encounter inherits the labels of what it
 *    references and of what references it; any resource inherits the labels of its reason
 *    (`reasonReference`, `addresses`). Labels follow chains (EOB → Claim → MedicationRequest →
 *    its reason), except that an Encounter passes on only its own labels, and the Patient none.
 *
 * @example
 * ```ts
 * import { classifyResource, classifyBundle } from "medledger";
 * classifyResource({ resourceType: "Procedure", code: { coding: [{ system: "http://snomed.info/sct", code: "714812005" }] } });
 * // { category: "PROCEDURES", labels: ["SEXUAL_REPRODUCTIVE"], rules: [...], notes: [] }
 * for (const e of classifyBundle(bundle)) console.log(e.resource.resourceType, e.classification.labels);
 * ```
 */
import type { Bundle, FhirResource } from "fhir/r4.js";

import { MAX_FHIR_DEPTH } from "./canonical.js";
import { FhirValidationError } from "./errors.js";
import { LABEL_NAMES, Label } from "../codes.js";
import type { LabelName } from "../codes.js";
import type { ClassifierOverrides } from "./overrides.js";
import {
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
} from "./terminology.js";
import type { PublicCategoryName, ResourceTypeRule, SkipKind, SourceId } from "./terminology.js";

/**
 * What the classifier accepts: a typed R4 resource, or any object with a `resourceType` (it reads
 * what it knows and ignores the rest; no validation).
 *
 * @example
 * ```ts
 * import type { ResourceLike } from "medledger";
 * const r: ResourceLike = { resourceType: "Condition", code: { text: "…" } };
 * ```
 */
export type ResourceLike = FhirResource | { readonly resourceType: string; readonly [element: string]: unknown };

/**
 * Where a decision came from.
 *
 * @example
 * ```ts
 * import type { RuleSource } from "medledger";
 * const s: RuleSource = "security-label";
 * ```
 */
export type RuleSource = "security-label" | "code" | "reference" | "resource-type" | "override";

/**
 * One decision: a label or the category, where it came from, and a human-readable detail (the
 * code or label, its display and its source; or the reference followed).
 *
 * @example
 * ```ts
 * import type { ClassificationRule } from "medledger";
 * const r: ClassificationRule = { label: "SUBSTANCE_USE", source: "code", detail: "ICD-10-CM F11.20 in code: …" };
 * ```
 */
export type ClassificationRule =
  | { label: LabelName; source: RuleSource; detail: string }
  | { category: PublicCategoryName; source: RuleSource; detail: string };

/**
 * The classification of one resource.
 *
 * @example
 * ```ts
 * import { classifyResource, type Classification } from "medledger";
 * const c: Classification = classifyResource(resource);
 * if (c.skip === undefined) console.log(c.category, c.labels);
 * ```
 */
export interface Classification {
  /** The public clinical category (0..15). For a skipped type: what it would be filed under. */
  category: PublicCategoryName;
  /** Every sensitive label, in bit order (empty: none). */
  labels: LabelName[];
  /** The rule behind the category and behind each label. */
  rules: ClassificationRule[];
  /** What an importer should look at: labels that name no class, unknown security labels. */
  notes: string[];
  /** Set when the resource is not the patient's health data (`putFhir` skips it). */
  skip?: SkipKind;
}

/**
 * A classifier: the default rules plus a hospital's overrides.
 *
 * @example
 * ```ts
 * import { createClassifier } from "medledger";
 * const classifier = createClassifier({ overrides, log: (line) => logger.info(line) });
 * classifier.classifyResource(resource);
 * ```
 */
export interface Classifier {
  readonly overrides: ClassifierOverrides | undefined;
  /** One resource; with an index, its labels by reference too. */
  classifyResource(resource: ResourceLike, index?: BundleIndex): Classification;
  /** Classifies every resource of a Bundle (or a list) together, references included. */
  indexBundle(input: BundleInput): BundleIndex;
}

/**
 * A Bundle, or the resources of one (with their `fullUrl`s, which references may use).
 *
 * @example
 * ```ts
 * import type { BundleInput } from "medledger";
 * const input: BundleInput = [{ resource: claim, fullUrl: "urn:uuid:…" }, { resource: procedure }];
 * ```
 */
export type BundleInput =
  | Bundle
  | { readonly resourceType: "Bundle"; readonly entry?: readonly { fullUrl?: string; resource?: unknown }[] }
  | readonly { resource: ResourceLike; fullUrl?: string; entryIndex?: number }[];

/**
 * One classified resource of an index.
 *
 * @example
 * ```ts
 * import { indexBundle } from "medledger";
 * for (const e of indexBundle(bundle).entries) console.log(e.entryIndex, e.classification.labels);
 * ```
 */
export interface IndexedEntry {
  resource: ResourceLike;
  fullUrl?: string;
  /** For Bundle inputs: the index in `Bundle.entry`. */
  entryIndex?: number;
  classification: Classification;
}

/**
 * Every resource of a Bundle, classified together (references resolved within the Bundle).
 *
 * @example
 * ```ts
 * import { indexBundle, classifyResource } from "medledger";
 * const index = indexBundle(bundle);
 * classifyResource(bundle.entry[3].resource, index).labels;
 * ```
 */
export interface BundleIndex {
  readonly classifier: Classifier;
  readonly entries: readonly IndexedEntry[];
  /** The entry of this resource object (identity), if it is in the index. */
  entryOf(resource: ResourceLike): IndexedEntry | undefined;
}

/**
 * Options of {@link createClassifier}.
 *
 * @example
 * ```ts
 * import { createClassifier, type ClassifierOptions } from "medledger";
 * const opts: ClassifierOptions = { overrides, log: () => undefined };
 * createClassifier(opts);
 * ```
 */
export interface ClassifierOptions {
  overrides?: ClassifierOverrides;
  /** Where each override is logged when the classifier is created. Default: console.info. */
  log?: (line: string) => void;
}

// ─── compiled tables ───

interface Hit {
  label: LabelName;
  override: boolean;
  /** "SNOMED CT 714812005 Induced termination of pregnancy (procedure) [source]" */
  text: string;
}

interface Matcher {
  exact: Map<string, Map<string, Hit[]>>;
  icdPrefix: Map<string, Hit[]>;
  icdRanges: { from: string; to: string; hit: Hit }[];
}

const SYSTEM_NAMES: Readonly<Record<string, string>> = {
  [CodeSystems.SNOMED_CT]: "SNOMED CT",
  [CodeSystems.LOINC]: "LOINC",
  [CodeSystems.RXNORM]: "RxNorm",
  [CodeSystems.ICD10_CM]: "ICD-10-CM",
  [CodeSystems.ICD10]: "ICD-10",
  [CodeSystems.CVX]: "CVX",
  [CodeSystems.ACT_CODE]: "v3-ActCode",
  [CodeSystems.CONFIDENTIALITY]: "v3-Confidentiality",
  [CodeSystems.OBSERVATION_CATEGORY]: "observation-category",
  [CodeSystems.DIAGNOSTIC_SERVICE_SECTION]: "v2-0074",
};

const systemName = (system: string): string => SYSTEM_NAMES[system] ?? system;
const canonicalSystem = (system: string): string =>
  Object.hasOwn(SYSTEM_ALIASES, system) ? SYSTEM_ALIASES[system]! : system;
const isIcd = (system: string): boolean => system === CodeSystems.ICD10_CM || system === CodeSystems.ICD10;
const normalizeIcd = (code: string): string => code.replace(/\./g, "").trim().toUpperCase();

function emptyMatcher(): Matcher {
  return { exact: new Map(), icdPrefix: new Map(), icdRanges: [] };
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function addEntry(
  m: Matcher,
  entry: { system: string; code?: string; range?: readonly [string, string] },
  hit: Hit,
): void {
  const system = canonicalSystem(entry.system);
  if (isIcd(system)) {
    if (entry.code !== undefined) push(m.icdPrefix, normalizeIcd(entry.code), hit);
    if (entry.range !== undefined)
      m.icdRanges.push({ from: entry.range[0].toUpperCase(), to: entry.range[1].toUpperCase(), hit });
    return;
  }
  if (entry.code === undefined) return;
  let codes = m.exact.get(system);
  if (codes === undefined) m.exact.set(system, (codes = new Map<string, Hit[]>()));
  push(codes, entry.code.trim(), hit);
}

/** Every hit of one coding (system already canonical). */
function match(m: Matcher, system: string, code: string, out: Hit[]): void {
  if (isIcd(system)) {
    const norm = normalizeIcd(code);
    for (let n = 3; n <= norm.length; n++) {
      const hits = m.icdPrefix.get(norm.slice(0, n));
      if (hits !== undefined) out.push(...hits);
    }
    if (norm.length >= 3) {
      const head = norm.slice(0, 3);
      for (const r of m.icdRanges) if (head >= r.from && head <= r.to) out.push(r.hit);
    }
    // ICD-10-CM entries also match WHO ICD-10 codings (and the reverse): same chapters.
    return;
  }
  const hits = m.exact.get(system)?.get(code.trim());
  if (hits !== undefined) out.push(...hits);
}

const sourceTitle = (id: SourceId): string => SOURCES[id].title;

function describeEntry(e: {
  system: string;
  code?: string;
  range?: readonly [string, string];
  display?: string;
}): string {
  const what =
    e.code ?? (e.range === undefined ? "?" : e.range[0] === e.range[1] ? e.range[0] : `${e.range[0]}–${e.range[1]}`);
  return `${systemName(canonicalSystem(e.system))} ${what}${e.display === undefined ? "" : ` ${e.display}`}`;
}

interface SecurityRuleCompiled {
  labels: readonly LabelName[];
  text: string;
  review: boolean;
  note?: string;
}

// ─── the scan of one resource ───

interface FoundCoding {
  system: string;
  code: string;
  /** The top-level element it was found under (code, category, item…). */
  top: string;
}
interface FoundReference {
  reference: string;
  /** The element holding the Reference (reasonReference, encounter, claim…). */
  prop: string;
}
interface Scan {
  codings: FoundCoding[];
  references: FoundReference[];
  /** Contained and nested resources, with the JSON depth they start at. */
  nested: { resource: ResourceLike; depth: number }[];
}

const NOT_READ = new Set(["id", "meta", "text", "identifier", "implicitRules", "language", "contained"]);

function tooDeep(): FhirValidationError {
  return new FhirValidationError([
    { path: "$", message: `is nested deeper than ${MAX_FHIR_DEPTH} levels (the limit MAX_FHIR_DEPTH)` },
  ]);
}

function scan(resource: ResourceLike, base: number): Scan {
  const out: Scan = { codings: [], references: [], nested: [] };
  const visit = (value: unknown, prop: string, top: string, depth: number): void => {
    if (typeof value !== "object" || value === null) return;
    if (depth > MAX_FHIR_DEPTH) throw tooDeep();
    if (Array.isArray(value)) {
      for (const item of value) visit(item, prop, top, depth + 1);
      return;
    }
    const o = value as Record<string, unknown>;
    if (typeof o.resourceType === "string") {
      out.nested.push({ resource: o as ResourceLike, depth });
      return;
    }
    if (typeof o.reference === "string") out.references.push({ reference: o.reference, prop });
    if (typeof o.code === "string" && typeof o.system === "string")
      out.codings.push({ system: canonicalSystem(o.system), code: o.code, top });
    for (const key in o) {
      if (key === "identifier" || key === "text") continue;
      const child = o[key];
      if (typeof child === "object" && child !== null) visit(child, key, top, depth + 1);
    }
  };
  const r = resource as Record<string, unknown>;
  for (const key in r) {
    if (NOT_READ.has(key)) continue;
    const child = r[key];
    if (typeof child === "object" && child !== null) visit(child, key, key, base + 1);
  }
  if (base + 2 > MAX_FHIR_DEPTH && r.contained !== undefined) throw tooDeep();
  for (const c of asArray(r.contained))
    if (isObject(c) && typeof c.resourceType === "string")
      out.nested.push({ resource: c as ResourceLike, depth: base + 2 });
  return out;
}

const asArray = (v: unknown): unknown[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function securityOf(resource: ResourceLike): { system: string; code: string }[] {
  const meta = (resource as { meta?: unknown }).meta;
  if (!isObject(meta)) return [];
  const out: { system: string; code: string }[] = [];
  for (const s of asArray(meta.security)) {
    if (isObject(s) && typeof s.code === "string")
      out.push({ system: typeof s.system === "string" ? canonicalSystem(s.system) : "", code: s.code });
  }
  return out;
}

/** The own labels of one resource, before references: a mask and the rules. */
interface Own {
  category: PublicCategoryName;
  skip?: SkipKind;
  mask: number;
  rules: ClassificationRule[];
  notes: string[];
  references: FoundReference[];
}

// ─── the classifier ───

/**
 * Creates a classifier from the default rules and a hospital's overrides (logged here, once per
 * override rule).
 *
 * @example
 * ```ts
 * import { createClassifier, loadClassifierOverrides } from "medledger";
 * const classifier = createClassifier({ overrides: await loadClassifierOverrides("overrides.json") });
 * ```
 */
export function createClassifier(options: ClassifierOptions = {}): Classifier {
  const overrides = options.overrides;
  const log = options.log ?? ((line: string) => console.info(line));

  const include = emptyMatcher();
  const exclude = emptyMatcher();
  const securityOverrides = emptyMatcher();
  for (const label of LABEL_NAMES) {
    for (const e of LABEL_VALUE_SETS[label]) {
      addEntry(include, e, { label, override: false, text: `${describeEntry(e)} [${sourceTitle(e.source)}]` });
    }
  }
  for (const x of EXCLUSIONS) {
    for (const label of x.labels)
      addEntry(exclude, x, { label, override: false, text: `${describeEntry(x)}: ${x.reason}` });
  }
  const security = new Map<string, SecurityRuleCompiled>();
  for (const r of SECURITY_LABEL_RULES) {
    const compiled: SecurityRuleCompiled = {
      labels: r.labels,
      text: `${systemName(r.system)} ${r.code} ${r.display} [${sourceTitle(r.source)}]`,
      review: r.review === true,
    };
    if (r.note !== undefined) compiled.note = r.note;
    security.set(`${r.system}|${r.code}`, compiled);
  }
  const typeOverrides = new Map<
    string,
    { category?: PublicCategoryName; labels: readonly LabelName[]; source: string }
  >();
  if (overrides !== undefined) {
    const name = overrides.name === undefined ? "" : ` (${overrides.name})`;
    for (const o of overrides.codes) {
      const text = `${describeEntry(o)} [override: ${o.source}]`;
      for (const label of o.labels) {
        const hit = { label, override: true, text };
        addEntry(include, o, hit);
        addEntry(securityOverrides, o, hit);
      }
      log(
        `[medledger/fhir] classifier override${name}: ${describeEntry(o)} → ${o.labels.join(", ")} (source: ${o.source})`,
      );
    }
    for (const o of overrides.resourceTypes) {
      const entry: { category?: PublicCategoryName; labels: readonly LabelName[]; source: string } = {
        labels: o.labels ?? [],
        source: o.source,
      };
      if (o.category !== undefined) entry.category = o.category;
      typeOverrides.set(o.resourceType, entry);
      const what = [o.category === undefined ? [] : [`category ${o.category}`], o.labels ?? []].flat().join(", ");
      log(
        `[medledger/fhir] classifier override${name}: resource type ${o.resourceType} → ${what} (source: ${o.source})`,
      );
    }
  }

  const hitsOf = (system: string, code: string): Hit[] => {
    const hits: Hit[] = [];
    match(include, system, code, hits);
    if (hits.length === 0) return hits;
    const excluded: Hit[] = [];
    match(exclude, system, code, excluded);
    if (excluded.length === 0) return hits;
    const out = new Set(excluded.map((x) => x.label));
    return hits.filter((h) => h.override || !out.has(h.label));
  };

  const own = (resource: ResourceLike, depth = 0): Own => {
    const type = resource.resourceType;
    const rules: ClassificationRule[] = [];
    const notes: string[] = [];
    let mask = 0;
    const addLabel = (label: LabelName, source: RuleSource, detail: string): void => {
      mask |= Label[label];
      if (!rules.some((r) => "label" in r && r.label === label && r.detail === detail))
        rules.push({ label, source, detail });
    };

    // The category: by type, refined by the resource's own category; overrides last.
    const typeRule: ResourceTypeRule | undefined = Object.hasOwn(RESOURCE_TYPE_RULES, type)
      ? RESOURCE_TYPE_RULES[type]
      : undefined;
    let category: PublicCategoryName = "OTHER";
    let skip: SkipKind | undefined;
    if (typeRule === undefined) {
      rules.push({ category, source: "resource-type", detail: `${type}: not an R4 resource type → OTHER` });
    } else if ("skip" in typeRule) {
      skip = typeRule.skip;
      rules.push({
        category,
        source: "resource-type",
        detail: `${type}: ${typeRule.skip} resource, not the patient's health data: not stored${typeRule.note === undefined ? "" : ` (${typeRule.note})`}`,
      });
    } else {
      category = typeRule.category;
      rules.push({ category, source: "resource-type", detail: `${type} → ${category}` });
      for (const label of typeRule.labels ?? [])
        addLabel(
          label,
          "resource-type",
          `${type}: ${typeRule.note ?? label} [${sourceTitle(typeRule.source ?? "fhir-r4")}]`,
        );
    }

    const found = scan(resource, depth);
    const r = resource as Record<string, unknown>;
    if (skip === undefined) {
      const refined = refine(type, r, found.codings);
      if (refined !== undefined && refined.category !== category) {
        category = refined.category;
        rules[0] = { category, source: "code", detail: refined.detail };
      }
    }
    const typeOverride = typeOverrides.get(type);
    if (typeOverride !== undefined) {
      if (typeOverride.category !== undefined) {
        category = typeOverride.category;
        skip = undefined;
        rules[0] = { category, source: "override", detail: `${type} → ${category} [override: ${typeOverride.source}]` };
      }
      for (const label of typeOverride.labels)
        addLabel(label, "override", `resource type ${type} [override: ${typeOverride.source}]`);
    }

    // 1. Security labels.
    for (const s of securityOf(resource)) {
      const rule = security.get(`${s.system}|${s.code}`);
      const overridden: Hit[] = [];
      match(securityOverrides, s.system, s.code, overridden);
      for (const h of overridden) addLabel(h.label, "override", `meta.security ${h.text}`);
      if (rule === undefined) {
        if (overridden.length === 0)
          notes.push(
            `meta.security ${systemName(s.system) || "(no system)"} ${s.code}: not a known sensitivity label, no label from it`,
          );
        continue;
      }
      for (const label of rule.labels) addLabel(label, "security-label", `meta.security ${rule.text}`);
      if (rule.labels.length === 0 && rule.review && overridden.length === 0)
        notes.push(`meta.security ${rule.text}: ${rule.note ?? "names no class"}; review`);
    }

    // 2. Codes.
    for (const c of found.codings) {
      for (const h of hitsOf(c.system, c.code))
        addLabel(h.label, h.override ? "override" : "code", `${systemName(c.system)} ${c.code} in ${c.top}: ${h.text}`);
    }

    // Contained (and nested) resources are part of this one.
    for (const n of found.nested) {
      const inner = own(n.resource, n.depth);
      const what = n.resource.resourceType;
      for (const rule of inner.rules)
        if ("label" in rule) addLabel(rule.label, rule.source, `contained ${what}: ${rule.detail}`);
      for (const note of inner.notes) notes.push(`contained ${what}: ${note}`);
    }
    if (type === "Bundle" && r.type === "document" && skip === undefined && typeOverride?.category === undefined) {
      category = "DOCUMENTS";
      rules[0] = { category, source: "resource-type", detail: "Bundle of type document → DOCUMENTS" };
    }

    const out: Own = { category, mask, rules, notes, references: found.references };
    if (skip !== undefined) out.skip = skip;
    return out;
  };

  const finish = (o: Own, inherited: ClassificationRule[], extraMask: number): Classification => {
    const mask = o.mask | extraMask;
    const c: Classification = {
      category: o.category,
      labels: LABEL_NAMES.filter((l) => (mask & Label[l]) !== 0),
      rules: [...o.rules, ...inherited],
      notes: o.notes,
    };
    if (o.skip !== undefined) c.skip = o.skip;
    return c;
  };

  const classifier: Classifier = {
    overrides,
    classifyResource(resource, index) {
      if (index !== undefined) {
        const entry = index.entryOf(resource);
        if (entry !== undefined) return entry.classification;
        // Not one of the index's resources: its own evidence plus references into the index.
        const extended = index.classifier.indexBundle([
          ...index.entries.map((e) => withOptional({ resource: e.resource }, e.fullUrl, e.entryIndex)),
          { resource },
        ]);
        return extended.entries[extended.entries.length - 1]!.classification;
      }
      return finish(own(resource), [], 0);
    },
    indexBundle(input) {
      const items = itemsOf(input);
      const owns = items.map((it) => own(it.resource));
      const { extra, rules } = propagate(items, owns);
      const entries: IndexedEntry[] = items.map((it, i) => {
        const e: IndexedEntry = withOptional(
          { resource: it.resource, classification: finish(owns[i]!, rules[i]!, extra[i]!) },
          it.fullUrl,
          it.entryIndex,
        );
        return e;
      });
      const byObject = new Map<ResourceLike, IndexedEntry>(entries.map((e) => [e.resource, e]));
      return { classifier, entries, entryOf: (resource) => byObject.get(resource) };
    },
  };
  return classifier;
}

function withOptional<T extends object>(
  base: T,
  fullUrl: string | undefined,
  entryIndex: number | undefined,
): T & { fullUrl?: string; entryIndex?: number } {
  const out: T & { fullUrl?: string; entryIndex?: number } = base;
  if (fullUrl !== undefined) out.fullUrl = fullUrl;
  if (entryIndex !== undefined) out.entryIndex = entryIndex;
  return out;
}

function refine(
  type: string,
  r: Record<string, unknown>,
  codings: readonly FoundCoding[],
): { category: PublicCategoryName; detail: string } | undefined {
  for (const rule of CATEGORY_REFINEMENTS) {
    if (!rule.resourceTypes.includes(type)) continue;
    for (const c of codings) {
      if (c.top === "category" && c.system === rule.system && Object.hasOwn(rule.codes, c.code))
        return {
          category: rule.category,
          detail: `${type} with category ${systemName(c.system)} ${c.code} (${rule.codes[c.code]}) → ${rule.category}`,
        };
    }
  }
  if (type === "DiagnosticReport" && asArray(r.imagingStudy).length > 0)
    return { category: "IMAGING", detail: "DiagnosticReport with imagingStudy → IMAGING" };
  return undefined;
}

interface Item {
  resource: ResourceLike;
  fullUrl?: string;
  entryIndex?: number;
}

function itemsOf(input: BundleInput): Item[] {
  if (Array.isArray(input)) return (input as readonly Item[]).map((it) => ({ ...it }));
  const bundle = input as { entry?: readonly { fullUrl?: string; resource?: unknown }[] };
  const items: Item[] = [];
  (bundle.entry ?? []).forEach((entry, entryIndex) => {
    if (isObject(entry.resource) && typeof entry.resource.resourceType === "string")
      items.push(withOptional({ resource: entry.resource as ResourceLike }, entry.fullUrl, entryIndex));
  });
  return items;
}

const keyOf = (item: Item, i: number): string => {
  const id = (item.resource as { id?: unknown }).id;
  return typeof id === "string"
    ? `${item.resource.resourceType}/${id}`
    : (item.fullUrl ?? `entry ${item.entryIndex ?? i}`);
};

/** Step 3: labels along references, to a fixed point. */
function propagate(items: readonly Item[], owns: readonly Own[]): { extra: number[]; rules: ClassificationRule[][] } {
  const n = items.length;
  const lookup = new Map<string, number>();
  items.forEach((it, i) => {
    if (it.fullUrl !== undefined) {
      lookup.set(it.fullUrl, i);
      const tail = /([A-Za-z]+\/[A-Za-z0-9\-.]{1,64})$/.exec(it.fullUrl);
      if (tail?.[1] !== undefined && !lookup.has(tail[1])) lookup.set(tail[1], i);
    }
    const id = (it.resource as { id?: unknown }).id;
    if (typeof id === "string") lookup.set(`${it.resource.resourceType}/${id}`, i);
  });
  const resolve = (reference: string): number | undefined => {
    if (reference.startsWith("#")) return undefined;
    const direct = lookup.get(reference);
    if (direct !== undefined) return direct;
    const m = /([A-Za-z]+\/[A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]*)?$/.exec(reference);
    return m?.[1] === undefined ? undefined : lookup.get(m[1]);
  };

  // Edges: source → target, with the detail the target reports.
  const out: { to: number; detail: string }[][] = Array.from({ length: n }, () => []);
  const seen = new Set<string>();
  const edge = (from: number, to: number, detail: string): void => {
    if (from === to || NON_PROPAGATING_TYPES.includes(items[from]!.resource.resourceType)) return;
    const k = `${from}>${to}`;
    if (seen.has(k)) return;
    seen.add(k);
    out[from]!.push({ to, detail });
  };
  items.forEach((it, i) => {
    const type = it.resource.resourceType;
    for (const ref of owns[i]!.references) {
      const j = resolve(ref.reference);
      if (j === undefined) continue;
      const target = items[j]!.resource.resourceType;
      if (REASON_ELEMENTS.includes(ref.prop)) edge(j, i, `${type}.${ref.prop} → ${target} ${keyOf(items[j]!, j)}`);
      if (INHERITING_TYPES.includes(type))
        edge(j, i, `${type} references ${target} ${keyOf(items[j]!, j)} (${ref.prop})`);
      if (INHERITING_TYPES.includes(target)) edge(i, j, `referenced by ${type} ${keyOf(it, i)} (${ref.prop})`);
    }
  });

  const all = owns.map((o) => o.mask);
  const passes = (i: number): number =>
    CONTAINER_TYPES.includes(items[i]!.resource.resourceType) ? owns[i]!.mask : all[i]!;
  const rules: ClassificationRule[][] = Array.from({ length: n }, () => []);
  const queue: number[] = [];
  const queued = new Uint8Array(n);
  all.forEach((m, i) => {
    if (m !== 0) {
      queue.push(i);
      queued[i] = 1;
    }
  });
  while (queue.length > 0) {
    const i = queue.shift()!;
    queued[i] = 0;
    const p = passes(i);
    if (p === 0) continue;
    for (const { to, detail } of out[i]!) {
      const add = p & ~all[to]!;
      if (add === 0) continue;
      all[to]! |= add;
      for (const label of LABEL_NAMES)
        if ((add & Label[label]) !== 0) rules[to]!.push({ label, source: "reference", detail });
      if (queued[to] === 0) {
        queue.push(to);
        queued[to] = 1;
      }
    }
  }
  return { extra: all.map((m, i) => m & ~owns[i]!.mask), rules };
}

/**
 * The classifier with the default rules only.
 *
 * @example
 * ```ts
 * import { defaultClassifier } from "medledger";
 * defaultClassifier.classifyResource({ resourceType: "Patient" }).category; // "DEMOGRAPHICS"
 * ```
 */
export const defaultClassifier: Classifier = createClassifier({ log: () => undefined });

/**
 * Classifies one resource with the default rules; with a {@link BundleIndex}, by reference too
 * (using the index's classifier).
 *
 * @example
 * ```ts
 * import { classifyResource } from "medledger";
 * classifyResource({ resourceType: "Observation", code: { coding: [{ system: "http://loinc.org", code: "76690-7" }] } }).labels;
 * // ["SEXUAL_REPRODUCTIVE"]
 * ```
 */
export function classifyResource(resource: ResourceLike, index?: BundleIndex): Classification {
  return (index?.classifier ?? defaultClassifier).classifyResource(resource, index);
}

/**
 * Classifies every resource of a Bundle together (references resolved within it).
 *
 * @example
 * ```ts
 * import { indexBundle } from "medledger";
 * const index = indexBundle(bundle);
 * ```
 */
export function indexBundle(input: BundleInput, classifier: Classifier = defaultClassifier): BundleIndex {
  return classifier.indexBundle(input);
}

/**
 * The classified entries of a Bundle, in entry order (entries without a resource left out).
 *
 * @example
 * ```ts
 * import { classifyBundle } from "medledger";
 * for (const { entryIndex, resource, classification } of classifyBundle(bundle))
 *   console.log(entryIndex, resource.resourceType, classification.category, classification.labels);
 * ```
 */
export function classifyBundle(
  input: BundleInput,
  classifier: Classifier = defaultClassifier,
): readonly IndexedEntry[] {
  return classifier.indexBundle(input).entries;
}
