/**
 * The query language: parsing and normalization (a typed error naming any unsupported part), the
 * canonical digest, the result layout, local evaluation over the Synthea patients (checked against
 * a direct reading of their FHIR), additivity across custodians, and the released result's
 * disclosure control (primary, complement and complementary suppression; means; DP mode).
 */
import { expect } from "chai";

import { evaluateQuery, ageAt, binOf, scaledValue } from "../../../sdk/research/evaluate.js";
import { QueryUnsupportedError } from "../../../sdk/research/errors.js";
import { fromSigned, sumVectors, toSigned } from "../../../sdk/research/field.js";
import { parseQuery, queryDigest, queryLayout } from "../../../sdk/research/query.js";
import type { Query } from "../../../sdk/research/query.js";
import { releaseResult, resultDigest } from "../../../sdk/research/release.js";
import { HBA1C, hba1cQuery, resourcesOf, syntheaPatients } from "../../../fixtures/research-data.js";

const base = { language: "medledger-query/1", asOf: "2021-01-01" };

function unsupported(doc: unknown): { path: string; part: string } {
  try {
    parseQuery(doc);
  } catch (err) {
    if (err instanceof QueryUnsupportedError) return { path: err.path, part: err.part };
    throw err;
  }
  throw new Error("accepted");
}

describe("sdk/research: the query language", () => {
  it("parses the HbA1c study; normalizes; one canonical digest whatever the key order or code order", () => {
    const q = parseQuery(hba1cQuery());
    expect(q.groupBy).to.deep.equal([{ ageBand: [0, 40, 65] }, "sex"]);
    expect(q.measures.map((m) => m.kind)).to.deep.equal(["count", "count", "mean"]);
    const reverse = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(reverse)
        : typeof v === "object" && v !== null
          ? Object.fromEntries(
              Object.entries(v)
                .reverse()
                .map(([k, x]) => [k, reverse(x)]),
            )
          : v;
    const reordered = reverse(hba1cQuery());
    expect(Object.keys(reordered as object)[0]).to.equal("measures");
    expect(queryDigest(parseQuery(reordered))).to.equal(queryDigest(q));
    const twoCodes = parseQuery({
      ...base,
      criteria: [
        {
          condition: {
            codes: [
              { system: "s", code: "b" },
              { system: "s", code: "a" },
              { system: "s", code: "a" },
            ],
          },
        },
      ],
    });
    expect(twoCodes.criteria).to.deep.equal([
      {
        condition: {
          codes: [
            { system: "s", code: "a" },
            { system: "s", code: "b" },
          ],
        },
      },
    ]);
    expect(queryDigest(q)).to.match(/^0x[0-9a-f]{64}$/);
    expect(queryDigest(parseQuery({ ...hba1cQuery(), asOf: "2021-01-02" }))).to.not.equal(queryDigest(q));
  });

  it("refuses what is outside the language with a QueryUnsupportedError naming the part", () => {
    const cases: [unknown, string, string][] = [
      [{ ...base, language: "sql" }, "/language", "sql"],
      [{ ...base, select: "*" }, "/select", "select"],
      [{ ...base, criteria: [{ not: { sex: ["male"] } }] }, "/criteria/0/not", "not"],
      [{ ...base, criteria: [{ sex: ["female"], age: { min: 1 } }] }, "/criteria/0", "criterion"],
      [{ ...base, criteria: [{ sex: ["woman"] }] }, "/criteria/0/sex/0", "woman"],
      [
        { ...base, criteria: [{ observation: { codes: [{ system: "s", code: "c" }], value: { between: [1, 2] } } }] },
        "/criteria/0/observation/value/between",
        "between",
      ],
      [
        { ...base, criteria: [{ observation: { codes: [{ system: "s", code: "c" }], interpretation: "H" } }] },
        "/criteria/0/observation/interpretation",
        "interpretation",
      ],
      [{ ...base, criteria: [{ medication: { codes: [] } }] }, "/criteria/0/medication", "medication"],
      [{ ...base, groupBy: ["race"] }, "/groupBy/0", "race"],
      [{ ...base, groupBy: [{ zip: [1] }] }, "/groupBy/0/zip", "zip"],
      [{ ...base, groupBy: ["sex", { ageBand: [0, 18] }, "sex"] }, "/groupBy", "groupBy"],
      [{ ...base, groupBy: ["sex", "sex"] }, "/groupBy", "groupBy"],
      [{ ...base, groupBy: [{ ageBand: [18, 65] }] }, "/groupBy/0/ageBand/0", "ageBand"],
      [{ ...base, measures: [{ kind: "median" }] }, "/measures/0/kind", "median"],
      [
        { ...base, measures: [{ kind: "sum", of: { observation: { codes: [HBA1C] } }, range: [0, 1], weight: 2 }] },
        "/measures/0/weight",
        "weight",
      ],
      [
        { ...base, measures: [{ kind: "mean", of: { observation: { codes: [HBA1C] } }, range: [5, 1] }] },
        "/measures/0/range",
        "range",
      ],
      [
        { ...base, measures: [{ kind: "mean", of: { observation: { codes: [HBA1C] } }, range: [0, 1], decimals: 7 }] },
        "/measures/0/decimals",
        "decimals",
      ],
      [
        {
          ...base,
          measures: [{ kind: "mean", of: { observation: { codes: [HBA1C] }, pick: "median" }, range: [0, 1] }],
        },
        "/measures/0/of/pick",
        "median",
      ],
      [
        { ...base, measures: [{ kind: "mean", of: { condition: {} }, range: [0, 1] }] },
        "/measures/0/of/condition",
        "condition",
      ],
      [
        { ...base, measures: [{ kind: "histogram", of: { observation: { codes: [HBA1C] } }, edges: [2, 1] }] },
        "/measures/0/edges/1",
        "edges",
      ],
      [
        {
          ...base,
          measures: [
            {
              kind: "histogram",
              of: { observation: { codes: [HBA1C] } },
              edges: Array.from({ length: 4000 }, (_, i) => i),
            },
          ],
          groupBy: ["sex", { ageBand: [0, 10, 20, 30, 40] }],
        },
        "/measures",
        "cells",
      ],
      [{ ...base, asOf: "2021-02-30" }, "/asOf", "asOf"],
      [{ ...base, window: { from: "2021-01-01", to: "2020-01-01" } }, "/window", "window"],
      [{ ...base, criteria: [{ age: {} }] }, "/criteria/0/age", "age"],
      [{ ...base, criteria: [{ age: { min: 1.5 } }] }, "/criteria/0/age/min", "min"],
      [
        { ...base, criteria: [{ condition: { codes: [{ system: "s" }] } }] },
        "/criteria/0/condition/codes/0/code",
        "code",
      ],
      [[], "", "query"],
    ];
    for (const [doc, path, part] of cases)
      expect(unsupported(doc), JSON.stringify(doc).slice(0, 120)).to.deep.equal({ path, part });
  });

  it("lays the vector out: evaluated, then per group the count and each measure's cells", () => {
    const q = parseQuery(hba1cQuery());
    const layout = queryLayout(q);
    // 4 age bands (0-39, 40-64, 65+, unknown) × 4 sexes; per group: count, 2 conditional counts, mean (sum, n).
    expect(layout.groups).to.have.length(16);
    expect(layout.groups[0]).to.deep.equal({ ageBand: "0-39", sex: "female" });
    expect(layout.groups[15]).to.deep.equal({ ageBand: "unknown", sex: "unknown" });
    expect(layout.perGroup).to.equal(5);
    expect(layout.cells).to.equal(81);
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => layout.cellInfo(i).role)).to.deep.equal([
      "evaluated",
      "count",
      "countWhere",
      "countWhere",
      "valueSum",
      "valueCount",
      "count",
    ]);
    const h = queryLayout(
      parseQuery({
        ...base,
        measures: [{ kind: "histogram", of: { observation: { codes: [HBA1C] } }, edges: [5, 6] }],
      }),
    );
    expect([h.cells, h.cellInfo(2), h.cellInfo(4)]).to.deep.equal([
      5,
      { role: "bin", group: 0, measure: 0, bin: 0 },
      { role: "bin", group: 0, measure: 0, bin: 2 },
    ]);
  });
});

describe("sdk/research: local evaluation over FHIR R4", () => {
  const patients = syntheaPatients();

  /** A direct reading of the Synthea FHIR: each patient's latest HbA1c (%) in 2010–2020, sex and age band. */
  function direct() {
    return patients.map((p) => {
      const birth = String(p.patient.birthDate);
      const a1c = p.observations
        .filter((o) => (o.code as { coding: { code: string }[] }).coding.some((c) => c.code === "4548-4"))
        .map((o) => ({ at: String(o.effectiveDateTime), v: (o.valueQuantity as { value: number }).value }))
        .filter((o) => o.at >= "2010-01-01" && o.at < "2021-01-01")
        .sort((x, y) => (x.at < y.at ? -1 : 1));
      return { sex: String(p.patient.gender), age: ageAt(birth, "2021-01-01")!, a1c };
    });
  }

  it("matches a direct reading of the ten Synthea patients, cell by cell", () => {
    const q = parseQuery(hba1cQuery());
    const layout = queryLayout(q);
    const { vector, evaluated } = evaluateQuery(
      q,
      patients.map((p) => ({ resources: resourcesOf(p) })),
    );
    expect(evaluated).to.equal(10);
    const expected = new Array<bigint>(layout.cells).fill(0n);
    expected[0] = 10n;
    const sexes = ["female", "male", "other", "unknown"];
    for (const d of direct()) {
      const band = d.age < 40 ? 0 : d.age < 65 ? 1 : 2;
      const base = 1 + (band * 4 + sexes.indexOf(d.sex)) * layout.perGroup;
      expected[base]!++;
      if (d.a1c.length > 0) {
        expected[base + 1]!++;
        if (d.a1c.some((o) => o.v > 6.5)) expected[base + 2]!++;
        expected[base + 3] = expected[base + 3]! + BigInt(Math.round(d.a1c.at(-1)!.v * 10));
        expected[base + 4]!++;
      }
    }
    expect(vector.map(toSigned)).to.deep.equal(expected);
    // Two patients of the ten have an HbA1c; none above 6.5 %.
    expect(direct().filter((d) => d.a1c.length > 0).length).to.equal(2);
  });

  it("is additive: the vectors of two custodians' patients sum to the vector of all of them", () => {
    const q = parseQuery(hba1cQuery());
    const all = evaluateQuery(
      q,
      patients.map((p) => ({ resources: resourcesOf(p) })),
    ).vector;
    const a = evaluateQuery(
      q,
      patients.slice(0, 4).map((p) => ({ resources: resourcesOf(p) })),
    ).vector;
    const b = evaluateQuery(
      q,
      patients.slice(4).map((p) => ({ resources: resourcesOf(p) })),
    ).vector;
    expect(sumVectors([a, b], all.length)).to.deep.equal(all);
  });

  it("criteria: sex, age, condition codes, observation value ranges and units, the time window; bundles flattened", () => {
    const patient = (gender: string, birthDate: string) => ({ resourceType: "Patient", gender, birthDate });
    const obs = (code: string, value: number, unit: string, at: string, status = "final") => ({
      resourceType: "Observation",
      status,
      code: { coding: [{ system: "http://loinc.org", code }] },
      valueQuantity: { value, unit },
      effectiveDateTime: at,
    });
    const cond = (code: string, at: string, error = false) => ({
      resourceType: "Condition",
      code: { coding: [{ system: "http://snomed.info/sct", code }] },
      onsetDateTime: at,
      ...(error ? { verificationStatus: { coding: [{ code: "entered-in-error" }] } } : {}),
    });
    const people = [
      {
        resources: [
          {
            resourceType: "Bundle",
            type: "collection",
            entry: [{ resource: patient("female", "1970-06-01") }, { resource: obs("4548-4", 7.1, "%", "2019-05-01") }],
          },
        ],
      },
      {
        resources: [
          patient("male", "1990-01-01"),
          obs("4548-4", 7.1, "mmol/mol", "2019-05-01"),
          cond("44054006", "2018-01-01"),
        ],
      },
      {
        resources: [
          patient("female", "1950-01-01"),
          obs("4548-4", 6.0, "%", "2009-05-01"),
          cond("44054006", "2018-01-01", true),
        ],
      },
      { resources: [patient("other", "2020-06-01"), obs("4548-4", 9.9, "%", "2019-05-01", "entered-in-error")] },
      { resources: [{ resourceType: "Patient" }] },
    ];
    const count = (criteria: unknown[]) =>
      Number(
        toSigned(
          evaluateQuery(parseQuery({ ...base, window: { from: "2010-01-01", to: "2021-01-01" }, criteria }), people)
            .vector[1]!,
        ),
      );
    expect(count([])).to.equal(5);
    expect(count([{ sex: ["female"] }])).to.equal(2);
    expect(count([{ sex: ["unknown"] }])).to.equal(1);
    expect(count([{ age: { min: 18, max: 65 } }])).to.equal(2);
    expect(count([{ age: { max: 1 } }])).to.equal(1);
    expect(count([{ condition: { codes: [{ system: "http://snomed.info/sct", code: "44054006" }] } }])).to.equal(1);
    expect(count([{ observation: { codes: [HBA1C] } }])).to.equal(2);
    expect(count([{ observation: { codes: [HBA1C], unit: "%" } }])).to.equal(1);
    expect(count([{ observation: { codes: [HBA1C], value: { gt: 6.5 } } }])).to.equal(2);
    expect(count([{ observation: { codes: [HBA1C], value: { gt: 6.5, lt: 7.1 } } }])).to.equal(0);
    expect(count([{ observation: { codes: [HBA1C], value: { ge: 7.1, le: 7.1 } } }])).to.equal(2);
    expect(count([{ sex: ["female"] }, { observation: { codes: [HBA1C] } }])).to.equal(1);
  });

  it("values: fixed-point with clamping, histogram bins, picks", () => {
    expect(scaledValue(6.237, [3, 20], 1)).to.equal(62n);
    expect(scaledValue(25, [3, 20], 1)).to.equal(200n);
    expect(scaledValue(-1, [0, 20], 0)).to.equal(0n);
    expect([4, 5.7, 6.4, 6.5, 9].map((v) => binOf(v, [5.7, 6.5]))).to.deep.equal([0, 1, 1, 2, 2]);
    expect(ageAt("2000-01-02", "2021-01-01")).to.equal(20);
    expect(ageAt("2000-01-01", "2021-01-01")).to.equal(21);
    expect(ageAt(undefined, "2021-01-01")).to.equal(undefined);
    expect(ageAt("2030-01-01", "2021-01-01")).to.equal(undefined);
    const obs = (v: number, at: string) => ({
      resourceType: "Observation",
      code: { coding: [HBA1C] },
      valueQuantity: { value: v },
      effectiveDateTime: at,
    });
    const person = {
      resources: [{ resourceType: "Patient" }, obs(5, "2015-01-01"), obs(9, "2016-01-01"), obs(7, "2017-01-01")],
    };
    const pick = (p: string) => {
      const q = parseQuery({
        ...base,
        measures: [{ kind: "sum", of: { observation: { codes: [HBA1C] }, pick: p }, range: [0, 20] }],
      });
      return Number(toSigned(evaluateQuery(q, [person]).vector[2]!));
    };
    expect(["latest", "earliest", "max", "min"].map(pick)).to.deep.equal([7, 5, 9, 5]);
  });
});

describe("sdk/research: the released result (disclosure control)", () => {
  const q: Query = parseQuery({
    ...base,
    groupBy: ["sex"],
    measures: [
      { kind: "count", where: [{ observation: { codes: [HBA1C] } }] },
      { kind: "mean", of: { observation: { codes: [HBA1C] } }, range: [3, 20], decimals: 1 },
      { kind: "histogram", of: { observation: { codes: [HBA1C] } }, edges: [5.7, 6.5] },
    ],
  });
  // Per group: count, where, mean sum, mean n, bins ×3.
  const release = (cells: number[], epsilonMilli = 0) =>
    releaseResult({
      query: q,
      totals: cells.map((c) => fromSigned(BigInt(c))),
      studyId: ("0x" + "ab".repeat(32)) as `0x${string}`,
      runId: 1,
      queryDigest: queryDigest(q),
      contributors: [1, 2],
      excluded: [3],
      servers: [1, 2, 3],
      minCellSize: 5,
      epsilonMilli,
    });

  it("releases large cells, means from sum and count; zeros stay; the digest is stable", () => {
    const female = [40, 20, 1240, 20, 6, 8, 6];
    const male = [30, 10, 620, 10, 0, 5, 5];
    const r = release([70, ...female, ...male, ...new Array<number>(14).fill(0)]);
    expect(r.groups[0]).to.deep.equal({
      group: { sex: "female" },
      count: 40,
      measures: [
        { kind: "count", count: 20 },
        { kind: "mean", mean: 6.2, n: 20 },
        { kind: "histogram", edges: [5.7, 6.5], bins: [6, 8, 6] },
      ],
    });
    expect(r.groups[1]!.measures[2]).to.deep.equal({ kind: "histogram", edges: [5.7, 6.5], bins: [0, 5, 5] });
    expect(r.groups[2]).to.deep.equal({
      group: { sex: "other" },
      count: 0,
      measures: [
        { kind: "count", count: 0 },
        { kind: "mean", mean: null, n: 0 },
        { kind: "histogram", edges: [5.7, 6.5], bins: [0, 0, 0] },
      ],
    });
    expect([r.evaluated, r.contributors, r.excluded, r.suppressedCells, r.privacy]).to.deep.equal([
      70,
      [1, 2],
      [3],
      0,
      { mechanism: "none" },
    ]);
    expect(resultDigest(r)).to.equal(resultDigest(release([70, ...female, ...male, ...new Array<number>(14).fill(0)])));
  });

  it("suppresses small counts, their groups, small complements, sums over few values, and one more cell where a single one would be recoverable", () => {
    const female = [40, 38, 600, 3, 1, 1, 1]; // where 38 → complement 2 small; n 3 small; bins small
    const male = [30, 10, 620, 10, 0, 5, 5];
    const other = [2, 0, 0, 0, 0, 0, 0]; // a small group
    const r = release([72, ...female, ...male, ...other, ...new Array<number>(7).fill(0)]);
    const [f, m, o] = r.groups;
    expect(f!.count).to.equal(40);
    expect(f!.measures).to.deep.equal([
      { kind: "count", count: null },
      { kind: "mean", mean: null, n: null },
      { kind: "histogram", edges: [5.7, 6.5], bins: [null, null, null] },
    ]);
    expect(o).to.deep.equal({
      group: { sex: "other" },
      count: null,
      measures: [
        { kind: "count", count: null },
        { kind: "mean", mean: null, n: null },
        { kind: "histogram", edges: [5.7, 6.5], bins: [null, null, null] },
      ],
    });
    // The other group is the only small group count: the smallest released one (male, 30) goes too.
    expect(m!.count).to.equal(null);
    expect(r.suppressedCells).to.be.greaterThan(10);
  });

  it("with differential privacy, noisy counts below the minimum (zero or negative included) are suppressed; counts never show below 0", () => {
    const female = [40, 20, 1240, 20, 6, 8, 6];
    const male = [30, 10, 620, 10, -2, 5, 7];
    const r = release([70, ...female, ...male, ...new Array<number>(14).fill(0)], 500);
    expect(r.privacy).to.deep.equal({ mechanism: "discrete-laplace", epsilon: 0.5, noisePerServer: true, servers: 3 });
    // −2 is suppressed (and the smallest released bin with it: complementary suppression).
    expect(r.groups[1]!.measures[2]).to.deep.equal({ kind: "histogram", edges: [5.7, 6.5], bins: [null, null, 7] });
    expect(r.groups[2]!.count).to.equal(null);
  });
});
