import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";

import { InvalidInputError } from "../../../sdk/errors.js";
import {
  classifyBundle,
  createClassifier,
  loadClassifierOverrides,
  parseClassifierOverrides,
} from "../../../sdk/fhir/index.js";
import { CONFIDENTIALITY, ICD10CM, SNOMED, cc, thrown } from "./helpers.js";

const FILE = {
  medledgerClassifierOverrides: 1,
  name: "St Elsewhere 2026-11",
  codes: [
    {
      system: SNOMED,
      code: "699241002",
      display: "Local stigma code",
      labels: ["MENTAL_HEALTH"],
      source: "policy MH-12",
    },
    {
      system: ICD10CM,
      range: ["F17", "F17"],
      display: "Nicotine dependence",
      labels: ["SUBSTANCE_USE"],
      source: "policy SU-3",
    },
    { system: CONFIDENTIALITY, code: "V", labels: ["MENTAL_HEALTH"], source: "policy V-1: our V means psychiatry" },
  ],
  resourceTypes: [
    { resourceType: "Practitioner", category: "OTHER", source: "policy D-2: keep the treating team" },
    { resourceType: "Flag", category: "CARE_PLANS", labels: ["MENTAL_HEALTH"], source: "policy D-3" },
  ],
};

describe("sdk/fhir classifier overrides", () => {
  it("validates the file: every bad field named, with the allowed values, before anything is classified", () => {
    const bad: [unknown, string, string?][] = [
      [[], "should be a JSON object"],
      [{ ...FILE, medledgerClassifierOverrides: 2 }, "unsupported format version"],
      [{ ...FILE, extra: 1 }, 'unknown field "extra"'],
      [
        { ...FILE, codes: [{ ...FILE.codes[0], labels: ["SEXUAL_HEALTH"] }] },
        'unknown label "SEXUAL_HEALTH"',
        "MENTAL_HEALTH, SEXUAL_REPRODUCTIVE, SUBSTANCE_USE, GENETICS",
      ],
      [{ ...FILE, codes: [{ ...FILE.codes[0], labels: ["toString"] }] }, 'unknown label "toString"'],
      [{ ...FILE, codes: [{ ...FILE.codes[0], labels: [] }] }, "non-empty array of labels"],
      [{ ...FILE, codes: [{ system: SNOMED, labels: ["GENETICS"], source: "x" }] }, "exactly one of code and range"],
      [
        { ...FILE, codes: [{ system: ICD10CM, range: ["F19", "F10"], labels: ["GENETICS"], source: "x" }] },
        "starts after it ends",
      ],
      [{ ...FILE, codes: [{ system: SNOMED, code: "1", labels: ["GENETICS"] }] }, "$.codes[0].source"],
      [
        { ...FILE, resourceTypes: [{ resourceType: "Practitioners", category: "OTHER", source: "x" }] },
        "not an R4 resource type",
      ],
      [
        { ...FILE, resourceTypes: [{ resourceType: "Flag", category: "SUBSTANCE_USE", source: "x" }] },
        "unknown public category",
        "DOCUMENTS, REQUESTS, OTHER",
      ],
      [{ ...FILE, resourceTypes: [{ resourceType: "Flag", source: "x" }] }, "needs a category or labels"],
    ];
    for (const [json, message, allowed] of bad) {
      const err = thrown(() => parseClassifierOverrides(json));
      expect(err, message).to.be.instanceOf(InvalidInputError);
      expect((err as InvalidInputError).shortMessage, message).to.include(message);
      if (allowed !== undefined) expect((err as InvalidInputError).details).to.include(allowed);
    }
  });

  it("adds to the defaults (which stay), logs every override once, and reports what it decided", () => {
    const lines: string[] = [];
    const classifier = createClassifier({ overrides: parseClassifierOverrides(FILE), log: (l) => lines.push(l) });
    expect(lines).to.have.length(5);
    expect(lines[0])
      .to.include("St Elsewhere 2026-11")
      .and.include("699241002")
      .and.include("MENTAL_HEALTH")
      .and.include("policy MH-12");
    expect(lines[3]).to.include("Practitioner").and.include("OTHER");

    const local = classifier.classifyResource({ resourceType: "Condition", code: cc(SNOMED, "699241002") });
    expect(local.labels).to.deep.equal(["MENTAL_HEALTH"]);
    expect(local.rules.find((r) => "label" in r)).to.deep.include({ source: "override" });
    expect(local.rules.find((r) => "label" in r)!.detail).to.include("policy MH-12");
    // An override wins over a default exclusion (F17 was excluded from SUBSTANCE_USE).
    expect(
      classifier.classifyResource({ resourceType: "Condition", code: cc(ICD10CM, "F17.210") }).labels,
    ).to.deep.equal(["SUBSTANCE_USE"]);
    // The defaults stay.
    expect(classifier.classifyResource({ resourceType: "Condition", code: cc(ICD10CM, "F32.9") }).labels).to.deep.equal(
      ["MENTAL_HEALTH"],
    );
    // A security code the defaults leave unlabelled (V) now means what the hospital says, without the review note.
    const v = classifier.classifyResource({
      resourceType: "Observation",
      meta: { security: [{ system: CONFIDENTIALITY, code: "V" }] },
    });
    expect([v.labels, v.notes]).to.deep.equal([["MENTAL_HEALTH"], []]);
    // Resource types: an administrative type stored under a category; a type with a label.
    const practitioner = classifier.classifyResource({ resourceType: "Practitioner" });
    expect([practitioner.skip, practitioner.category, practitioner.rules[0]!.source]).to.deep.equal([
      undefined,
      "OTHER",
      "override",
    ]);
    expect(classifier.classifyResource({ resourceType: "Flag" })).to.deep.include({
      category: "CARE_PLANS",
      labels: ["MENTAL_HEALTH"],
    });
    // Overrides travel with the index.
    const bundle = {
      resourceType: "Bundle" as const,
      type: "collection",
      entry: [{ resource: { resourceType: "Condition", code: cc(SNOMED, "699241002") } }],
    };
    expect(classifyBundle(bundle, classifier)[0]!.classification.labels).to.deep.equal(["MENTAL_HEALTH"]);
    expect(classifyBundle(bundle)[0]!.classification.labels).to.deep.equal([]);
  });

  it("loads a file; a broken file is named in the error", async () => {
    const dir = await mkdtemp(join(tmpdir(), "medledger-overrides-"));
    try {
      const good = join(dir, "overrides.json");
      await writeFile(good, JSON.stringify(FILE));
      expect((await loadClassifierOverrides(good)).codes).to.have.length(3);
      const broken = join(dir, "broken.json");
      await writeFile(broken, "{ not json");
      const e1 = await loadClassifierOverrides(broken).catch((e: unknown) => e);
      expect(e1).to.be.instanceOf(InvalidInputError);
      expect((e1 as InvalidInputError).shortMessage).to.include(broken);
      const wrong = join(dir, "wrong.json");
      await writeFile(
        wrong,
        JSON.stringify({ ...FILE, codes: [{ system: SNOMED, code: "1", labels: ["X"], source: "s" }] }),
      );
      const e2 = await loadClassifierOverrides(wrong).catch((e: unknown) => e);
      expect((e2 as InvalidInputError).shortMessage)
        .to.include(wrong)
        .and.include('unknown label "X"');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
