/**
 * The research query language (`medledger-query/1`): a small declarative JSON over FHIR R4 that
 * every custodian evaluates locally over its contributing patients. docs/research.md has the full
 * reference with examples; in short:
 *
 * ```json
 * {
 *   "language": "medledger-query/1",
 *   "asOf": "2021-01-01",
 *   "window": { "from": "2015-01-01", "to": "2021-01-01" },
 *   "criteria": [{ "observation": { "codes": [{ "system": "http://loinc.org", "code": "4548-4" }],
 *                                   "value": { "gt": 6.5 }, "unit": "%" } }],
 *   "groupBy": [{ "ageBand": [0, 18, 40, 65] }, "sex"],
 *   "measures": [{ "kind": "mean", "of": { "observation": { "codes": [{ "system": "http://loinc.org",
 *                  "code": "4548-4" }], "unit": "%" }, "pick": "latest" }, "range": [3, 20], "decimals": 1 }]
 * }
 * ```
 *
 * - **criteria** (all must hold; none: every contributing patient): `sex` (a set of FHIR
 *   administrative genders), `age` (`min` ≤ age < `max`, in whole years at `asOf`), `condition`
 *   (a Condition with a code in the set, dated in the window) and `observation` (an Observation
 *   with a code in the set, dated in the window, optionally with a numeric value in a range and a
 *   unit).
 * - **groupBy** (up to two): `"sex"` (female, male, other, unknown) or `{ "ageBand": [0, a, b, …] }`
 *   (bands [0, a), [a, b), …, [last, ∞) and "unknown" without a birth date).
 * - **measures** (per group; the group's patient count always comes first): `count` with a
 *   `where` (a conditional count), `sum` and `mean` (both carried as the sum and the number of
 *   values, so a sum over too few values is suppressed like a small count) and `histogram`
 *   (`edges` e₁ < … < e_k: bins (−∞, e₁), [e₁, e₂), …, [e_k, ∞)) of one value per patient — an
 *   Observation's numeric value picked `latest`, `earliest`, `max` or `min` in the window. Sums
 *   and means need a `range` [lo, hi] (values are clamped to it: it bounds what one patient can
 *   add, for differential privacy and plausibility) and `decimals` (0..6, the fixed-point scale).
 *
 * Anything else is refused with a {@link QueryUnsupportedError} whose `path` points at it and whose
 * `part` names it. The parsed query has one canonical JSON form; its sha256 is the `queryDigest`
 * registered on chain, so every custodian can check it evaluates exactly the approved query.
 *
 * **The result vector** ({@link queryLayout}): cell 0 counts the patients evaluated; then, for each
 * group in row-major order of the groupBy domains, the group's count followed by each measure's
 * cells (count-where 1; sum and mean 2: the scaled sum, then the number of values; histogram k + 1).
 *
 * @example
 * ```ts
 * import { parseQuery, queryDigest, queryLayout } from "medledger/research";
 * const query = parseQuery(JSON.parse(text));
 * const digest = queryDigest(query);        // 0x… registered on chain
 * const layout = queryLayout(query);        // layout.cells: the length of every share
 * ```
 */
import { sha256 } from "@noble/hashes/sha2.js";

import { canonicalJson } from "../fhir/canonical.js";
import type { Hex } from "../types.js";
import { toHex, utf8 } from "../util.js";
import { QueryUnsupportedError } from "./errors.js";

export const QUERY_LANGUAGE = "medledger-query/1";
/** The most cells a query may produce (the StudyRegistry's MAX_CELLS). */
export const MAX_QUERY_CELLS = 1 << 16;
const MAX_CODES = 1000;
const MAX_CRITERIA = 32;
const MAX_MEASURES = 16;
const MAX_EDGES = 4096;

export const SEXES = ["female", "male", "other", "unknown"] as const;
export type Sex = (typeof SEXES)[number];
export const PICKS = ["latest", "earliest", "max", "min"] as const;
export type ValuePick = (typeof PICKS)[number];

export interface Coding {
  system: string;
  code: string;
}

/** A numeric range: any of gt, ge, lt, le. */
export interface ValueRange {
  gt?: number;
  ge?: number;
  lt?: number;
  le?: number;
}

export type Criterion =
  | { sex: Sex[] }
  | { age: { min?: number; max?: number } }
  | { condition: { codes: Coding[] } }
  | { observation: { codes: Coding[]; value?: ValueRange; unit?: string } };

export type GroupAttribute = "sex" | { ageBand: number[] };

/** One value per patient: an Observation's numeric value. */
export interface ValueRef {
  observation: { codes: Coding[]; unit?: string };
  pick: ValuePick;
}

export type Measure =
  | { kind: "count"; where: Criterion[] }
  | { kind: "sum"; of: ValueRef; range: [number, number]; decimals: number }
  | { kind: "mean"; of: ValueRef; range: [number, number]; decimals: number }
  | { kind: "histogram"; of: ValueRef; edges: number[] };

/** A parsed, normalized query. */
export interface Query {
  language: typeof QUERY_LANGUAGE;
  /** YYYY-MM-DD: ages are whole years at this date. */
  asOf: string;
  /** Events (Condition onset, Observation time) must fall in [from, to); absent: any time. */
  window?: { from: string; to: string };
  criteria: Criterion[];
  groupBy: GroupAttribute[];
  measures: Measure[];
}

// ───────────────────────────── parsing ─────────────────────────────

type Json = Record<string, unknown>;

const fail = (path: string, part: string, message: string, details?: string): never => {
  throw new QueryUnsupportedError(path, part, message, details === undefined ? {} : { details });
};

function objectAt(value: unknown, path: string, part: string): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(path, part, `${part} must be a JSON object`);
  }
  return value as Json;
}

function onlyKeys(o: Json, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) {
      fail(`${path}/${key}`, key, `"${key}" is not part of the query language here`, `allowed: ${allowed.join(", ")}`);
    }
  }
}

/** Exactly one key, from `allowed`: the construct's kind. */
function kindOf(o: Json, allowed: readonly string[], path: string, what: string): string {
  const keys = Object.keys(o);
  if (keys.length !== 1) fail(path, what, `a ${what} has exactly one key`, `allowed: ${allowed.join(", ")}`);
  const key = keys[0]!;
  if (!allowed.includes(key)) {
    fail(`${path}/${key}`, key, `"${key}" is not a supported ${what}`, `supported: ${allowed.join(", ")}`);
  }
  return key;
}

function arrayAt(value: unknown, path: string, part: string, min: number, max: number): unknown[] {
  if (!Array.isArray(value)) fail(path, part, `${part} must be an array`);
  const a = value as unknown[];
  if (a.length < min || a.length > max) fail(path, part, `${part} must hold ${min}..${max} items`, `got ${a.length}`);
  return a;
}

function finite(value: unknown, path: string, part: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) fail(path, part, `${part} must be a finite number`);
  return value as number;
}

function string(value: unknown, path: string, part: string, max = 256): string {
  if (typeof value !== "string" || value.length === 0 || value.length > max) {
    fail(path, part, `${part} must be a non-empty string of at most ${max} characters`);
  }
  return value as string;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
function date(value: unknown, path: string, part: string): string {
  const s = string(value, path, part, 10);
  if (
    !DATE.test(s) ||
    Number.isNaN(Date.parse(`${s}T00:00:00Z`)) ||
    new Date(`${s}T00:00:00Z`).toISOString().slice(0, 10) !== s
  ) {
    fail(path, part, `${part} must be a date YYYY-MM-DD`, `got ${s}`);
  }
  return s;
}

function codings(value: unknown, path: string): Coding[] {
  const out: Coding[] = [];
  const seen = new Set<string>();
  for (const [i, c] of arrayAt(value, path, "codes", 1, MAX_CODES).entries()) {
    const o = objectAt(c, `${path}/${i}`, "coding");
    onlyKeys(o, ["system", "code"], `${path}/${i}`);
    const coding = {
      system: string(o.system, `${path}/${i}/system`, "system"),
      code: string(o.code, `${path}/${i}/code`, "code"),
    };
    const key = `${coding.system}|${coding.code}`;
    if (!seen.has(key)) out.push(coding);
    seen.add(key);
  }
  return out.sort((a, b) => (a.system === b.system ? cmp(a.code, b.code) : cmp(a.system, b.system)));
}

/** How a value is named in an error. */
const named = (v: unknown): string => (typeof v === "string" ? v : (JSON.stringify(v) ?? typeof v));

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function range(value: unknown, path: string): ValueRange {
  const o = objectAt(value, path, "value");
  onlyKeys(o, ["gt", "ge", "lt", "le"], path);
  if (Object.keys(o).length === 0) fail(path, "value", "a value range needs gt, ge, lt or le");
  if (o.gt !== undefined && o.ge !== undefined) fail(path, "value", "give gt or ge, not both");
  if (o.lt !== undefined && o.le !== undefined) fail(path, "value", "give lt or le, not both");
  const r: ValueRange = {};
  for (const k of ["gt", "ge", "lt", "le"] as const) if (o[k] !== undefined) r[k] = finite(o[k], `${path}/${k}`, k);
  return r;
}

function criterion(value: unknown, path: string): Criterion {
  const o = objectAt(value, path, "criterion");
  const kind = kindOf(o, ["sex", "age", "condition", "observation"], path, "criterion");
  const at = `${path}/${kind}`;
  switch (kind) {
    case "sex": {
      const set = arrayAt(o.sex, at, "sex", 1, SEXES.length).map((s, i) => {
        if (!(SEXES as readonly unknown[]).includes(s)) {
          fail(`${at}/${i}`, named(s), `"${named(s)}" is not a sex`, `supported: ${SEXES.join(", ")}`);
        }
        return s as Sex;
      });
      return { sex: SEXES.filter((s) => set.includes(s)) };
    }
    case "age": {
      const a = objectAt(o.age, at, "age");
      onlyKeys(a, ["min", "max"], at);
      const age: { min?: number; max?: number } = {};
      for (const k of ["min", "max"] as const) {
        if (a[k] === undefined) continue;
        const v = finite(a[k], `${at}/${k}`, k);
        if (!Number.isInteger(v) || v < 0 || v > 200) fail(`${at}/${k}`, k, "ages are whole years 0..200");
        age[k] = v;
      }
      if (age.min === undefined && age.max === undefined) fail(at, "age", "an age criterion needs min or max");
      if (age.min !== undefined && age.max !== undefined && age.max <= age.min) fail(at, "age", "max must exceed min");
      return { age };
    }
    case "condition": {
      const c = objectAt(o.condition, at, "condition");
      onlyKeys(c, ["codes"], at);
      return { condition: { codes: codings(c.codes, `${at}/codes`) } };
    }
    default: {
      const c = objectAt(o.observation, at, "observation");
      onlyKeys(c, ["codes", "value", "unit"], at);
      const obs: { codes: Coding[]; value?: ValueRange; unit?: string } = { codes: codings(c.codes, `${at}/codes`) };
      if (c.value !== undefined) obs.value = range(c.value, `${at}/value`);
      if (c.unit !== undefined) obs.unit = string(c.unit, `${at}/unit`, "unit", 64);
      return { observation: obs };
    }
  }
}

function valueRef(value: unknown, path: string): ValueRef {
  const o = objectAt(value, path, "of");
  onlyKeys(o, ["observation", "pick"], path);
  if (o.observation === undefined) fail(`${path}/observation`, "observation", "a value comes from an observation");
  const obs = objectAt(o.observation, `${path}/observation`, "observation");
  onlyKeys(obs, ["codes", "unit"], `${path}/observation`);
  const ref: ValueRef = { observation: { codes: codings(obs.codes, `${path}/observation/codes`) }, pick: "latest" };
  if (obs.unit !== undefined) ref.observation.unit = string(obs.unit, `${path}/observation/unit`, "unit", 64);
  if (o.pick !== undefined) {
    if (!(PICKS as readonly unknown[]).includes(o.pick)) {
      fail(`${path}/pick`, named(o.pick), `"${named(o.pick)}" is not a pick`, `supported: ${PICKS.join(", ")}`);
    }
    ref.pick = o.pick as ValuePick;
  }
  return ref;
}

function measure(value: unknown, path: string): Measure {
  const o = objectAt(value, path, "measure");
  const kind = o.kind;
  if (kind !== "count" && kind !== "sum" && kind !== "mean" && kind !== "histogram") {
    return fail(
      `${path}/kind`,
      named(kind),
      `"${named(kind)}" is not a supported measure`,
      "supported: count, sum, mean, histogram",
    );
  }
  if (kind === "count") {
    onlyKeys(o, ["kind", "where"], path);
    const where = arrayAt(o.where, `${path}/where`, "where", 1, MAX_CRITERIA).map((c, i) =>
      criterion(c, `${path}/where/${i}`),
    );
    return { kind, where };
  }
  if (kind === "histogram") {
    onlyKeys(o, ["kind", "of", "edges"], path);
    const edges = arrayAt(o.edges, `${path}/edges`, "edges", 1, MAX_EDGES).map((e, i) =>
      finite(e, `${path}/edges/${i}`, "edge"),
    );
    for (let i = 1; i < edges.length; i++) {
      if (edges[i]! <= edges[i - 1]!) fail(`${path}/edges/${i}`, "edges", "edges must be strictly ascending");
    }
    return { kind, of: valueRef(o.of, `${path}/of`), edges };
  }
  onlyKeys(o, ["kind", "of", "range", "decimals"], path);
  const r = arrayAt(o.range, `${path}/range`, "range", 2, 2).map((x, i) => finite(x, `${path}/range/${i}`, "range"));
  if (r[1]! <= r[0]!) fail(`${path}/range`, "range", "range must be [lo, hi] with lo < hi");
  const decimals = o.decimals === undefined ? 0 : finite(o.decimals, `${path}/decimals`, "decimals");
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 6)
    fail(`${path}/decimals`, "decimals", "decimals must be 0..6");
  if (Math.max(Math.abs(r[0]!), Math.abs(r[1]!)) * 10 ** decimals > 1e9) {
    fail(`${path}/range`, "range", "range × 10^decimals must stay within ±10^9 (one patient's scaled value)");
  }
  return { kind, of: valueRef(o.of, `${path}/of`), range: [r[0]!, r[1]!], decimals };
}

function groupAttribute(value: unknown, path: string): GroupAttribute {
  if (value === "sex") return "sex";
  if (typeof value === "string")
    return fail(path, value, `"${value}" is not a supported group attribute`, "supported: sex, { ageBand }");
  const o = objectAt(value, path, "group attribute");
  kindOf(o, ["ageBand"], path, "group attribute");
  const edges = arrayAt(o.ageBand, `${path}/ageBand`, "ageBand", 1, 64).map((e, i) => {
    const v = finite(e, `${path}/ageBand/${i}`, "ageBand");
    if (!Number.isInteger(v) || v < 0 || v > 200)
      fail(`${path}/ageBand/${i}`, "ageBand", "age edges are whole years 0..200");
    return v;
  });
  if (edges[0] !== 0) fail(`${path}/ageBand/0`, "ageBand", "the first age edge is 0 (every age falls in a band)");
  for (let i = 1; i < edges.length; i++) {
    if (edges[i]! <= edges[i - 1]!) fail(`${path}/ageBand/${i}`, "ageBand", "age edges must be strictly ascending");
  }
  return { ageBand: edges };
}

/**
 * Parses and normalizes a query document; refuses anything outside the language with a
 * {@link QueryUnsupportedError} naming the part.
 */
export function parseQuery(value: unknown): Query {
  const o = objectAt(value, "", "query");
  onlyKeys(o, ["language", "asOf", "window", "criteria", "groupBy", "measures"], "");
  if (o.language !== QUERY_LANGUAGE) {
    fail("/language", named(o.language), `the query language must be "${QUERY_LANGUAGE}"`);
  }
  const asOf = date(o.asOf, "/asOf", "asOf");
  const q: Query = { language: QUERY_LANGUAGE, asOf, criteria: [], groupBy: [], measures: [] };
  if (o.window !== undefined) {
    const w = objectAt(o.window, "/window", "window");
    onlyKeys(w, ["from", "to"], "/window");
    const from = date(w.from, "/window/from", "from");
    const to = date(w.to, "/window/to", "to");
    if (to <= from) fail("/window", "window", "the window must end after it starts");
    q.window = { from, to };
  }
  if (o.criteria !== undefined) {
    q.criteria = arrayAt(o.criteria, "/criteria", "criteria", 0, MAX_CRITERIA).map((c, i) =>
      criterion(c, `/criteria/${i}`),
    );
  }
  if (o.groupBy !== undefined) {
    q.groupBy = arrayAt(o.groupBy, "/groupBy", "groupBy", 0, 2).map((g, i) => groupAttribute(g, `/groupBy/${i}`));
    const kinds = q.groupBy.map((g) => (g === "sex" ? "sex" : "ageBand"));
    if (new Set(kinds).size !== kinds.length) fail("/groupBy", "groupBy", "an attribute appears twice in groupBy");
  }
  if (o.measures !== undefined) {
    q.measures = arrayAt(o.measures, "/measures", "measures", 0, MAX_MEASURES).map((m, i) =>
      measure(m, `/measures/${i}`),
    );
  }
  const cells = queryLayout(q).cells;
  if (cells > MAX_QUERY_CELLS)
    fail("/measures", "cells", `the query needs ${cells} cells, more than ${MAX_QUERY_CELLS}`);
  return q;
}

/** The canonical JSON of a parsed query (sorted keys): what the digest covers. */
export function canonicalQuery(query: Query): string {
  return canonicalJson(query);
}

/** sha256 of the canonical query: the `queryDigest` registered on chain. */
export function queryDigest(query: Query): Hex {
  return toHex(sha256(utf8(canonicalQuery(query))));
}

// ───────────────────────────── layout ─────────────────────────────

/** What a cell holds. */
export type CellRole = "evaluated" | "count" | "countWhere" | "valueSum" | "valueCount" | "bin";

export interface CellInfo {
  role: CellRole;
  /** The group (−1 for the evaluated cell). */
  group: number;
  /** The measure (−1 for the evaluated cell and group counts). */
  measure: number;
  /** A histogram bin's index. */
  bin?: number;
}

/** A group's label: one value per groupBy attribute. */
export interface GroupLabel {
  sex?: Sex;
  /** "18-39", "65+", "unknown". */
  ageBand?: string;
}

export interface QueryLayout {
  /** The vector's length. */
  cells: number;
  groups: GroupLabel[];
  /** Cells per group: the count and each measure's cells. */
  perGroup: number;
  /** Offset of each measure's first cell within a group. */
  measureOffsets: number[];
  cellInfo(index: number): CellInfo;
}

/** The bands of an ageBand attribute, with "unknown" last. */
export function ageBandLabels(edges: readonly number[]): string[] {
  const labels = edges.map((e, i) => (i + 1 < edges.length ? `${e}-${edges[i + 1]! - 1}` : `${e}+`));
  return [...labels, "unknown"];
}

function measureCells(m: Measure): number {
  switch (m.kind) {
    case "count":
      return 1;
    case "sum":
    case "mean":
      return 2;
    case "histogram":
      return m.edges.length + 1;
  }
}

/** The result vector's layout (module comment): derived from the query alone. */
export function queryLayout(query: Pick<Query, "groupBy" | "measures">): QueryLayout {
  let groups: GroupLabel[] = [{}];
  for (const g of query.groupBy) {
    const values: GroupLabel[] =
      g === "sex" ? SEXES.map((sex) => ({ sex })) : ageBandLabels(g.ageBand).map((ageBand) => ({ ageBand }));
    groups = groups.flatMap((label) => values.map((v) => ({ ...label, ...v })));
  }
  const measureOffsets: number[] = [];
  let perGroup = 1;
  for (const m of query.measures) {
    measureOffsets.push(perGroup);
    perGroup += measureCells(m);
  }
  const cells = 1 + groups.length * perGroup;
  return {
    cells,
    groups,
    perGroup,
    measureOffsets,
    cellInfo(index: number): CellInfo {
      if (index === 0) return { role: "evaluated", group: -1, measure: -1 };
      const group = Math.floor((index - 1) / perGroup);
      const within = (index - 1) % perGroup;
      if (within === 0) return { role: "count", group, measure: -1 };
      let measure = measureOffsets.length - 1;
      while (measureOffsets[measure]! > within) measure--;
      const m = query.measures[measure]!;
      const offset = within - measureOffsets[measure]!;
      switch (m.kind) {
        case "count":
          return { role: "countWhere", group, measure };
        case "sum":
        case "mean":
          return { role: offset === 0 ? "valueSum" : "valueCount", group, measure };
        case "histogram":
          return { role: "bin", group, measure, bin: offset };
      }
    },
  };
}
