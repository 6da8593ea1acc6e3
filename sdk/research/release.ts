/**
 * The researcher-side combiner: adds the servers' sum-shares into the totals and turns them into
 * the released result, applying disclosure control. It never sees a single custodian's values: a
 * sum-share is one server's sum over all contributors, and the researcher only ever adds all n of
 * them.
 *
 * **Disclosure control (suppression).** Applied to totals only, before anything is returned:
 * 1. *primary*: a count-like cell (a group's count, a conditional count, a number of values, a
 *    histogram bin) below the study's minimum cell size is suppressed — without noise, only
 *    non-zero counts below it (0 < c < min, as DataSHIELD's `nfilter.tab` does); with noise, any
 *    noisy count below it;
 * 2. a suppressed group count suppresses its whole group; a sum or mean whose number of values is
 *    suppressed is suppressed;
 * 3. a conditional count is suppressed when its complement within the group (count − where) is
 *    small, so "all but one" cannot be read off either;
 * 4. *complementary*: in the table of group counts and in each group's histogram, a single
 *    suppressed cell is accompanied by the smallest released positive cell, so it cannot be
 *    recovered by subtraction from a total (the number of patients evaluated is public on chain).
 *
 * What this protects, and from whom: see docs/research.md ("Disclosure control"). In short, every
 * released result — what the researcher's tools, co-investigators and the published digest see —
 * has no small cell. It does not stop a researcher who bypasses the SDK and adds the sum-shares by
 * hand: for that, run the study with ε > 0, where each server's own noise protects every cell
 * before any researcher code sees it.
 *
 * @example
 * ```ts
 * import { combineTotals, releaseResult } from "medledger/research";
 * const totals = combineTotals(sumShares, layout.cells);
 * const result = releaseResult({ query, totals, minCellSize: 5, epsilonMilli: 0, … });
 * ```
 */
import { sha256 } from "@noble/hashes/sha2.js";

import { canonicalJson } from "../fhir/canonical.js";
import type { Hex } from "../types.js";
import { toHex, utf8 } from "../util.js";
import { sumVectors, toSigned } from "./field.js";
import { queryLayout } from "./query.js";
import type { GroupLabel, Query } from "./query.js";

export const RESULT_FORMAT = "medledger-study-result/1";

export type MeasureResult =
  | { kind: "count"; count: number | null }
  | { kind: "sum"; sum: number | null; n: number | null }
  | { kind: "mean"; mean: number | null; n: number | null }
  | { kind: "histogram"; edges: number[]; bins: (number | null)[] };

export interface GroupResult {
  group: GroupLabel;
  /** Patients in the group matching the criteria; null: suppressed. */
  count: number | null;
  measures: MeasureResult[];
}

/** A released result (no per-custodian value, no small cell). `null` marks a suppressed cell. */
export interface StudyResult {
  format: typeof RESULT_FORMAT;
  studyId: Hex;
  runId: number;
  queryDigest: Hex;
  /** Custodian organizations whose contributions are in the totals. */
  contributors: number[];
  /** Custodians of the study that did not contribute to this run (timed out, or declined). */
  excluded: number[];
  /** The aggregation servers (keyholder ids). */
  servers: number[];
  /** Patients evaluated (public on chain: the custodians' committed counts). */
  evaluated: number;
  minCellSize: number;
  privacy:
    { mechanism: "none" } | { mechanism: "discrete-laplace"; epsilon: number; noisePerServer: true; servers: number };
  groups: GroupResult[];
  /** How many cells were suppressed (primary and complementary). */
  suppressedCells: number;
}

/** Adds the servers' sum-shares into the totals (field elements). */
export function combineTotals(sumShares: readonly (readonly bigint[])[], cells: number): bigint[] {
  return sumVectors(sumShares, cells);
}

export interface ReleaseParams {
  query: Query;
  /** Field elements: the sum of every server's sum-share. */
  totals: readonly bigint[];
  studyId: Hex;
  runId: number;
  queryDigest: Hex;
  contributors: readonly number[];
  excluded: readonly number[];
  servers: readonly number[];
  minCellSize: number;
  epsilonMilli: number;
}

/** Applies disclosure control and shapes the released result (module comment). */
export function releaseResult(p: ReleaseParams): StudyResult {
  const layout = queryLayout(p.query);
  if (p.totals.length !== layout.cells) throw new RangeError(`expected ${layout.cells} totals, got ${p.totals.length}`);
  const noisy = p.epsilonMilli > 0;
  const v = p.totals.map((x) => Number(toSigned(x)));
  const hidden = new Array<boolean>(layout.cells).fill(false);
  const small = (c: number) => (noisy ? c < p.minCellSize : c > 0 && c < p.minCellSize);
  const groupBase = (g: number) => 1 + g * layout.perGroup;

  // 1 + 3: primary suppression of count-like cells, and small complements of conditional counts.
  for (let i = 1; i < layout.cells; i++) {
    const info = layout.cellInfo(i);
    if (info.role === "valueSum") continue;
    if (small(v[i]!)) hidden[i] = true;
    if (info.role === "countWhere" && small(v[groupBase(info.group)]! - v[i]!)) hidden[i] = true;
  }
  // 4: complementary suppression in the table of group counts and in each histogram.
  const complete = (cells: number[]) => {
    if (cells.filter((i) => hidden[i]).length !== 1) return;
    const released = cells.filter((i) => !hidden[i] && v[i]! > 0).sort((a, b) => v[a]! - v[b]! || a - b);
    if (released.length > 0) hidden[released[0]!] = true;
  };
  complete(layout.groups.map((_, g) => groupBase(g)));
  for (let g = 0; g < layout.groups.length; g++) {
    for (const [m, measure] of p.query.measures.entries()) {
      if (measure.kind !== "histogram") continue;
      const at = groupBase(g) + layout.measureOffsets[m]!;
      complete(Array.from({ length: measure.edges.length + 1 }, (_, b) => at + b));
    }
  }
  // 2: a hidden group count hides the group; a hidden number of values hides its sum.
  for (let g = 0; g < layout.groups.length; g++) {
    const base = groupBase(g);
    if (hidden[base]) for (let i = base; i < base + layout.perGroup; i++) hidden[i] = true;
    for (const [m, measure] of p.query.measures.entries()) {
      if (measure.kind === "sum" || measure.kind === "mean") {
        const at = base + layout.measureOffsets[m]!;
        if (hidden[at + 1]) hidden[at] = true;
      }
    }
  }

  const count = (i: number): number | null => (hidden[i] ? null : Math.max(0, v[i]!));
  const groups: GroupResult[] = layout.groups.map((group, g) => {
    const base = groupBase(g);
    const measures = p.query.measures.map((m, j): MeasureResult => {
      const at = base + layout.measureOffsets[j]!;
      switch (m.kind) {
        case "count":
          return { kind: "count", count: count(at) };
        case "histogram":
          return {
            kind: "histogram",
            edges: [...m.edges],
            bins: m.edges.map((_, b) => count(at + b)).concat(count(at + m.edges.length)),
          };
        default: {
          const n = count(at + 1);
          const scale = 10 ** m.decimals;
          const sum = hidden[at] ? null : v[at]! / scale;
          if (m.kind === "sum") return { kind: "sum", sum, n };
          const mean = sum === null || n === null || n <= 0 ? null : round(sum / n, m.decimals + 2);
          return { kind: "mean", mean, n };
        }
      }
    });
    return { group, count: count(base), measures };
  });

  return {
    format: RESULT_FORMAT,
    studyId: p.studyId,
    runId: p.runId,
    queryDigest: p.queryDigest,
    contributors: [...p.contributors],
    excluded: [...p.excluded],
    servers: [...p.servers],
    evaluated: Math.max(0, v[0]!),
    minCellSize: p.minCellSize,
    privacy: noisy
      ? {
          mechanism: "discrete-laplace",
          epsilon: p.epsilonMilli / 1000,
          noisePerServer: true,
          servers: p.servers.length,
        }
      : { mechanism: "none" },
    groups,
    suppressedCells: hidden.filter(Boolean).length,
  };
}

function round(x: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(x * f) / f;
}

/** sha256 of the result's canonical JSON: the digest anchored on chain. */
export function resultDigest(result: StudyResult): Hex {
  return toHex(sha256(utf8(canonicalJson(result))));
}
