/**
 * Local evaluation: a custodian computes a query's result vector over its own contributing
 * patients' FHIR R4 resources. Nothing here leaves the custodian in clear: the vector is split
 * into shares before it is sent anywhere (see `contribute`).
 *
 * What counts (docs/research.md, "Evaluation rules"):
 * - a patient's **sex** is `Patient.gender` (missing: "unknown"); **age** is whole years from
 *   `Patient.birthDate` to the query's `asOf` (missing or unparsable: unknown — no age criterion
 *   holds and the "unknown" band is used);
 * - a **Condition** counts unless its verification status is `entered-in-error`; its date is
 *   `onsetDateTime`, else `onsetPeriod.start`, else `recordedDate`;
 * - an **Observation** counts unless its status is `entered-in-error` or `cancelled`; its date is
 *   `effectiveDateTime`, else `effectivePeriod.start`, else `effectiveInstant`, else `issued`; its
 *   value is `valueQuantity.value` and its unit `valueQuantity.unit` (or `.code`);
 * - a code matches when any `code.coding` has the same `system` and `code`;
 * - with a window, an event counts only when its date is in [from, to) (an undated event never);
 * - `latest`/`earliest` pick by date (undated values are ignored), `max`/`min` by value.
 *
 * Evaluation is additive: the vector of the union of two custodians' patients is the sum of their
 * vectors. So the aggregate equals a plaintext evaluation over exactly the contributing patients,
 * which the tests check.
 *
 * @example
 * ```ts
 * import { evaluateQuery, parseQuery } from "medledger/research";
 * const { vector, evaluated } = evaluateQuery(parseQuery(doc), patients.map((p) => ({ resources: p })));
 * ```
 */
import { InvalidInputError } from "../errors.js";
import { fromSigned } from "./field.js";
import { SEXES, queryLayout } from "./query.js";
import type { Coding, Criterion, GroupAttribute, Query, Sex, ValueRange, ValueRef } from "./query.js";

/** One patient's resources (from every record read for the study; bundles flattened). */
export interface PatientData {
  resources: readonly unknown[];
}

export interface LocalEvaluation {
  /** The result vector (field elements), {@link queryLayout}'s length. */
  vector: bigint[];
  /** How many patients were evaluated (cell 0). */
  evaluated: number;
}

type Res = Record<string, unknown>;

interface Facts {
  sex: Sex;
  age: number | undefined;
  conditions: { codings: Coding[]; at: number | undefined }[];
  observations: { codings: Coding[]; at: number | undefined; value: number | undefined; unit: string | undefined }[];
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function time(v: unknown): number | undefined {
  const s = str(v);
  if (s === undefined) return undefined;
  const t = Date.parse(
    /^\d{4}(-\d{2}){0,2}$/.test(s) ? `${s.length === 4 ? `${s}-01-01` : s.length === 7 ? `${s}-01` : s}T00:00:00Z` : s,
  );
  return Number.isNaN(t) ? undefined : t;
}

function codingsOf(resource: Res): Coding[] {
  const code = resource.code as { coding?: unknown } | undefined;
  const list = Array.isArray(code?.coding) ? (code.coding as unknown[]) : [];
  const out: Coding[] = [];
  for (const c of list) {
    const o = c as Res;
    const system = str(o?.system);
    const value = str(o?.code);
    if (system !== undefined && value !== undefined) out.push({ system, code: value });
  }
  return out;
}

/** Array.isArray without narrowing (the caller's type stays). */
const isArray = (v: unknown): boolean => Array.isArray(v);

/** Whole years from `birthDate` to `asOf` (both YYYY-MM-DD). */
export function ageAt(birthDate: string | undefined, asOf: string): number | undefined {
  if (birthDate === undefined || !/^\d{4}-\d{2}-\d{2}/.test(birthDate)) return undefined;
  const [by, bm, bd] = birthDate.slice(0, 10).split("-").map(Number) as [number, number, number];
  const [ay, am, ad] = asOf.split("-").map(Number) as [number, number, number];
  let age = ay - by;
  if (am < bm || (am === bm && ad < bd)) age--;
  return age < 0 ? undefined : age;
}

/** Flattens bundles and collects what the language looks at. */
function factsOf(patient: PatientData, asOf: string): Facts {
  const facts: Facts = { sex: "unknown", age: undefined, conditions: [], observations: [] };
  let seenPatient = false;
  const visit = (value: unknown, depth: number): void => {
    if (typeof value !== "object" || value === null || depth > 4) return;
    const r = value as Res;
    switch (r.resourceType) {
      case "Bundle": {
        const entries = Array.isArray(r.entry) ? (r.entry as unknown[]) : [];
        for (const e of entries) visit((e as Res | null)?.resource, depth + 1);
        return;
      }
      case "Patient": {
        if (seenPatient) return;
        seenPatient = true;
        const g = str(r.gender);
        facts.sex = (SEXES as readonly string[]).includes(g ?? "") ? (g as Sex) : "unknown";
        facts.age = ageAt(str(r.birthDate), asOf);
        return;
      }
      case "Condition": {
        const status = (r.verificationStatus as { coding?: { code?: unknown }[] } | undefined)?.coding ?? [];
        if (status.some((c) => c?.code === "entered-in-error")) return;
        const at = time(r.onsetDateTime) ?? time((r.onsetPeriod as Res | undefined)?.start) ?? time(r.recordedDate);
        facts.conditions.push({ codings: codingsOf(r), at });
        return;
      }
      case "Observation": {
        if (r.status === "entered-in-error" || r.status === "cancelled") return;
        const at =
          time(r.effectiveDateTime) ??
          time((r.effectivePeriod as Res | undefined)?.start) ??
          time(r.effectiveInstant) ??
          time(r.issued);
        const q = r.valueQuantity as Res | undefined;
        const value = typeof q?.value === "number" && Number.isFinite(q.value) ? q.value : undefined;
        facts.observations.push({ codings: codingsOf(r), at, value, unit: str(q?.unit) ?? str(q?.code) });
        return;
      }
      default:
        return;
    }
  };
  for (const r of patient.resources) visit(r, 0);
  return facts;
}

function matches(codings: readonly Coding[], set: readonly Coding[]): boolean {
  return codings.some((c) => set.some((s) => s.system === c.system && s.code === c.code));
}

function inRange(v: number, r: ValueRange): boolean {
  return (
    (r.gt === undefined || v > r.gt) &&
    (r.ge === undefined || v >= r.ge) &&
    (r.lt === undefined || v < r.lt) &&
    (r.le === undefined || v <= r.le)
  );
}

interface Window {
  from: number;
  to: number;
}

function inWindow(at: number | undefined, w: Window | undefined): boolean {
  if (w === undefined) return true;
  return at !== undefined && at >= w.from && at < w.to;
}

function holds(c: Criterion, f: Facts, w: Window | undefined): boolean {
  if ("sex" in c) return c.sex.includes(f.sex);
  if ("age" in c) {
    if (f.age === undefined) return false;
    return (c.age.min === undefined || f.age >= c.age.min) && (c.age.max === undefined || f.age < c.age.max);
  }
  if ("condition" in c) return f.conditions.some((x) => inWindow(x.at, w) && matches(x.codings, c.condition.codes));
  const o = c.observation;
  return f.observations.some(
    (x) =>
      inWindow(x.at, w) &&
      matches(x.codings, o.codes) &&
      (o.unit === undefined || x.unit === o.unit) &&
      (o.value === undefined || (x.value !== undefined && inRange(x.value, o.value))),
  );
}

/** The patient's value for a measure (undefined: none). */
function pick(ref: ValueRef, f: Facts, w: Window | undefined): number | undefined {
  const candidates = f.observations.filter(
    (x) =>
      x.value !== undefined &&
      inWindow(x.at, w) &&
      matches(x.codings, ref.observation.codes) &&
      (ref.observation.unit === undefined || x.unit === ref.observation.unit),
  );
  let best: (typeof candidates)[number] | undefined;
  for (const x of candidates) {
    if (ref.pick === "latest" || ref.pick === "earliest") {
      if (x.at === undefined) continue;
      if (best === undefined || (ref.pick === "latest" ? x.at > best.at! : x.at < best.at!)) best = x;
    } else if (best === undefined || (ref.pick === "max" ? x.value! > best.value! : x.value! < best.value!)) {
      best = x;
    }
  }
  return best?.value;
}

function groupIndex(groupBy: readonly GroupAttribute[], f: Facts): number {
  let index = 0;
  for (const g of groupBy) {
    if (g === "sex") {
      index = index * SEXES.length + SEXES.indexOf(f.sex);
    } else {
      const bands = g.ageBand.length + 1; // + "unknown"
      let band = bands - 1;
      if (f.age !== undefined) {
        band = 0;
        while (band + 1 < g.ageBand.length && f.age >= g.ageBand[band + 1]!) band++;
      }
      index = index * bands + band;
    }
  }
  return index;
}

/** The fixed-point value of `v` clamped to `range`, with `decimals` decimals. */
export function scaledValue(v: number, range: readonly [number, number], decimals: number): bigint {
  const clamped = Math.min(Math.max(v, range[0]), range[1]);
  return BigInt(Math.round(clamped * 10 ** decimals));
}

/** The histogram bin of `v`: (−∞, e₁) → 0, [e₁, e₂) → 1, …, [e_k, ∞) → k. */
export function binOf(v: number, edges: readonly number[]): number {
  let bin = 0;
  while (bin < edges.length && v >= edges[bin]!) bin++;
  return bin;
}

/**
 * Evaluates a parsed query over `patients` (each patient once: the caller de-duplicates).
 */
export function evaluateQuery(query: Query, patients: readonly PatientData[]): LocalEvaluation {
  if (!isArray(patients)) throw new InvalidInputError("patients must be an array");
  const layout = queryLayout(query);
  const sums = new Array<bigint>(layout.cells).fill(0n);
  const w: Window | undefined =
    query.window === undefined
      ? undefined
      : { from: Date.parse(`${query.window.from}T00:00:00Z`), to: Date.parse(`${query.window.to}T00:00:00Z`) };
  for (const patient of patients) {
    const f = factsOf(patient, query.asOf);
    sums[0]!++;
    if (!query.criteria.every((c) => holds(c, f, w))) continue;
    const base = 1 + groupIndex(query.groupBy, f) * layout.perGroup;
    sums[base]!++;
    for (const [i, m] of query.measures.entries()) {
      const at = base + layout.measureOffsets[i]!;
      if (m.kind === "count") {
        if (m.where.every((c) => holds(c, f, w))) sums[at]!++;
        continue;
      }
      const v = pick(m.of, f, w);
      if (v === undefined) continue;
      if (m.kind === "histogram") {
        sums[at + binOf(v, m.edges)]!++;
      } else {
        sums[at] = sums[at]! + scaledValue(v, m.range, m.decimals);
        sums[at + 1]!++;
      }
    }
  }
  return { vector: sums.map((x) => fromSigned(x)), evaluated: patients.length };
}
