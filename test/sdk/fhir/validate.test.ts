import { readFileSync } from "node:fs";
import { resolve } from "node:path";

import { expect } from "chai";

import { ErrorCodes, InvalidInputError, MedLedgerError } from "../../../sdk/errors.js";
import {
  FhirValidationError,
  MAX_FHIR_DEPTH,
  assertValidFhir,
  canonicalJson,
  validateFhir,
} from "../../../sdk/fhir/index.js";
import type { FhirProblem } from "../../../sdk/fhir/index.js";
import { SMALL_BUNDLE, clone, loadSynthea, projectRoot, syntheaFiles } from "./helpers.js";

/** The problems of an input that must be invalid. */
function problemsOf(input: unknown): FhirProblem[] {
  const result = validateFhir(input);
  if (result.valid) expect.fail("expected the input to be invalid");
  return result.problems;
}

function thrown(fn: () => unknown): FhirValidationError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(FhirValidationError);
    return err as FhirValidationError;
  }
  return expect.fail("expected a FhirValidationError");
}

const PATIENT = { resourceType: "Patient", id: "p1", gender: "female", birthDate: "1970-01-01", active: true };

describe("sdk/fhir validate: R4 JSON schema", function () {
  this.timeout(30_000);

  it("every Synthea bundle validates (the whole transaction Bundle, entry.request included)", () => {
    const files = syntheaFiles();
    expect(files).to.have.length(10);
    for (const file of files) {
      const bundle = loadSynthea(file);
      expect(bundle.type).to.equal("transaction");
      const result = validateFhir(bundle);
      expect(result, file).to.deep.equal({ valid: true });
      expect(() => assertValidFhir(bundle)).not.to.throw();
    }
  });

  it("the demo bundle and a minimal resource validate", () => {
    const demo = JSON.parse(readFileSync(resolve(projectRoot, "fixtures/data/demo-bundle.json"), "utf8")) as unknown;
    expect(validateFhir(demo)).to.deep.equal({ valid: true });
    expect(validateFhir(PATIENT)).to.deep.equal({ valid: true });
    expect(validateFhir({ resourceType: "Patient", birthDate: "2024-02-29" })).to.deep.equal({ valid: true });
  });

  it("wrong type for a field → typed problem with the element's path", () => {
    expect(problemsOf({ ...PATIENT, active: "yes" })).to.deep.equal([
      { path: "Patient.active", message: "should be of JSON type boolean" },
    ]);
    expect(problemsOf({ ...PATIENT, name: "Ada" })).to.deep.equal([
      { path: "Patient.name", message: "should be of JSON type array" },
    ]);
    expect(problemsOf({ ...PATIENT, gender: "f" })).to.deep.equal([
      { path: "Patient.gender", message: 'should be one of "male", "female", "other", "unknown"' },
    ]);
    expect(problemsOf({ ...PATIENT, nickname: "A" })).to.deep.equal([
      { path: "Patient.nickname", message: "is not a known element here (unknown property)" },
    ]);
    expect(problemsOf({ resourceType: "Condition" })).to.deep.equal([
      { path: "Condition.subject", message: "is required" },
    ]);
  });

  it("bad dates: format, calendar day, time zone", () => {
    expect(problemsOf({ ...PATIENT, birthDate: "1990-13-01" })).to.deep.equal([
      { path: "Patient.birthDate", message: "is not a valid FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)" },
    ]);
    expect(problemsOf({ ...PATIENT, birthDate: "01/02/1990" })[0]!.path).to.equal("Patient.birthDate");
    expect(problemsOf({ ...PATIENT, birthDate: "2023-02-29" })).to.deep.equal([
      { path: "Patient.birthDate", message: "is not a valid calendar date (no such day in that month)" },
    ]);
    // A choice element repeats the primitive's pattern inline: checked the same way.
    expect(problemsOf({ ...PATIENT, deceasedDateTime: "2021-04-31T10:00:00Z" })).to.deep.equal([
      { path: "Patient.deceasedDateTime", message: "is not a valid calendar date (no such day in that month)" },
    ]);
    const noZone = problemsOf({ ...PATIENT, deceasedDateTime: "2021-04-01T10:00:00" });
    expect(noZone).to.have.length(1);
    expect(noZone[0]!.message).to.match(/^is not a valid FHIR dateTime/);
    expect(problemsOf({ ...PATIENT, meta: { lastUpdated: "2021-04-01" } })[0]!.message).to.match(
      /^is not a valid FHIR instant/,
    );
  });

  it("unknown, missing or non-string resourceType; non-objects", () => {
    expect(problemsOf({ resourceType: "Patients" })).to.deep.equal([
      { path: "$.resourceType", message: 'is not a FHIR R4 resource type ("Patients")' },
    ]);
    expect(problemsOf({ id: "x", gender: "female" })).to.deep.equal([
      { path: "$.resourceType", message: "is required" },
    ]);
    expect(problemsOf({ resourceType: 7 })).to.deep.equal([
      { path: "$.resourceType", message: "is not a FHIR R4 resource type (a number)" },
    ]);
    class Resource {
      resourceType = "Patient";
    }
    expect(problemsOf(new Resource())[0]!.message).to.equal(
      "should be a FHIR resource: a JSON object with a resourceType, not a Resource",
    );
    for (const input of [null, undefined, 42, "Patient", [PATIENT], true]) {
      const problems = problemsOf(input);
      expect(problems).to.have.length(1);
      expect(problems[0]!.path).to.equal("$");
      expect(problems[0]!.message).to.match(/^should be a FHIR resource/);
      expect(thrown(() => assertValidFhir(input)).problems).to.deep.equal(problems);
    }
  });

  it("not plain JSON: NaN, cycles, class instances, undefined array items", () => {
    expect(problemsOf({ ...PATIENT, multipleBirthInteger: Number.NaN })).to.deep.equal([
      { path: "Patient.multipleBirthInteger", message: "is not a JSON number (NaN or Infinity)" },
    ]);
    const cyclic: Record<string, unknown> = { ...PATIENT };
    cyclic.link = [{ other: cyclic }];
    expect(problemsOf(cyclic)).to.deep.equal([{ path: "Patient.link[0].other", message: "is a circular reference" }]);
    expect(problemsOf({ ...PATIENT, birthDate: new Date() })[0]!.message).to.equal("is not a JSON value (Date)");
    expect(problemsOf({ ...PATIENT, name: [undefined] })[0]).to.deep.equal({
      path: "Patient.name[0]",
      message: "is not a JSON value (undefined)",
    });
    expect(validateFhir({ ...PATIENT, gender: undefined })).to.deep.equal({ valid: true }); // an undefined property is absent
  });

  it("assertValidFhir throws ONE FhirValidationError listing ALL problems, without echoing values", () => {
    const secretValue = "1990-13-01";
    const err = thrown(() =>
      assertValidFhir({
        ...PATIENT,
        birthDate: secretValue,
        active: "yes",
        gender: "f",
        name: [{ family: 5 }],
        nickname: "Zed",
      }),
    );
    expect(err).to.be.instanceOf(MedLedgerError);
    expect(err.code).to.equal(ErrorCodes.FHIR_INVALID);
    expect(err.name).to.equal("FhirValidationError");
    expect(err.problems.map((p) => p.path)).to.have.members([
      "Patient.birthDate",
      "Patient.active",
      "Patient.gender",
      "Patient.name[0].family",
      "Patient.nickname",
    ]);
    expect(err.shortMessage).to.equal("Invalid FHIR R4 input: 5 problems");
    for (const p of err.problems) expect(err.message).to.contain(`${p.path}: ${p.message}`);
    expect(err.message).not.to.contain(secretValue);
    expect(err.message).not.to.contain("Zed"); // element names may appear, values never
  });

  it("a Bundle with ONE invalid entry: every problem carries that entry's index", () => {
    const bundle = loadSynthea(SMALL_BUNDLE);
    const k = 37;
    const entry = bundle.entry![k]!;
    (entry.resource as unknown as Record<string, unknown>).status = "done";
    (entry.resource as unknown as Record<string, unknown>).issued = "2020-02-30T10:00:00Z";
    const problems = problemsOf(bundle);
    expect(problems.length).to.be.greaterThanOrEqual(2);
    for (const p of problems) {
      expect(p.resourceIndex).to.equal(k);
      expect(p.path.startsWith(`Bundle.entry[${k}].resource.`)).to.equal(true);
    }
    expect(problems.map((p) => p.path)).to.include(`Bundle.entry[${k}].resource.status`);
  });

  it("several invalid entries, an entry-level problem, a nested Bundle and a contained resource", () => {
    const bundle = {
      resourceType: "Bundle",
      type: "collection",
      entry: [
        { fullUrl: "urn:uuid:1", resource: PATIENT },
        { fullUrl: 5, resource: PATIENT },
        {
          resource: {
            resourceType: "Observation",
            code: { text: "x" },
            contained: [{ resourceType: "Patient", active: "no" }],
          },
        },
        {
          resource: {
            resourceType: "Bundle",
            type: "collection",
            entry: [{ resource: PATIENT }, { resource: { resourceType: "Nope" } }],
          },
        },
        { resource: {} },
      ],
    };
    expect(problemsOf(bundle)).to.deep.equal([
      { path: "Bundle.entry[1].fullUrl", message: "should be of JSON type string", resourceIndex: 1 },
      {
        path: "Bundle.entry[2].resource.contained[0].active",
        message: "should be of JSON type boolean",
        resourceIndex: 2,
      },
      {
        path: "Bundle.entry[3].resource.entry[1].resource.resourceType",
        message: 'is not a FHIR R4 resource type ("Nope")',
        resourceIndex: 3,
      },
      { path: "Bundle.entry[4].resource.resourceType", message: "is required", resourceIndex: 4 },
    ]);
  });

  it("validation does not modify its input", () => {
    const bundle = loadSynthea(SMALL_BUNDLE);
    const before = canonicalJson(bundle);
    validateFhir(bundle);
    const broken = clone(bundle);
    (broken.entry![3]!.resource as unknown as Record<string, unknown>).foo = 1;
    validateFhir(broken);
    expect(canonicalJson(bundle)).to.equal(before);
  });
  it("deeply nested FHIR or JSON: one problem naming the depth limit, never a RangeError", () => {
    // 100,000 levels: far past the stack a recursive walk could take.
    let deep: unknown = { url: "http://example.org/x", valueString: "leaf" };
    for (let i = 0; i < 100_000; i++) deep = { url: "http://example.org/x", extension: [deep] };
    const patient = { resourceType: "Patient", extension: [deep] };
    const result = validateFhir(patient);
    expect(result.valid).to.equal(false);
    const problems = (result as { problems: FhirProblem[] }).problems;
    expect(problems).to.have.length(1);
    expect(problems[0]!.message).to.equal(`is nested deeper than ${MAX_FHIR_DEPTH} levels (the limit MAX_FHIR_DEPTH)`);
    const err = thrown(() => assertValidFhir(patient));
    expect(err).to.be.instanceOf(FhirValidationError);
    expect(err).not.to.be.instanceOf(RangeError);
    // Plain nested arrays (not even FHIR) and nesting inside a Bundle entry are refused the same way.
    let arrays: unknown = [];
    for (let i = 0; i < 50_000; i++) arrays = [arrays];
    expect(() => assertValidFhir({ resourceType: "Basic", code: { text: "x" }, extension: arrays })).to.throw(
      FhirValidationError,
    );
    const bundle = { resourceType: "Bundle", type: "collection", entry: [{ resource: patient }] };
    expect(() => assertValidFhir(bundle)).to.throw(FhirValidationError, "1 problem");
    // Just under the limit is fine (the deepest HL7 R4 example nests 22 levels).
    let ok: unknown = { url: "http://example.org/x", valueString: "leaf" };
    for (let i = 0; i < (MAX_FHIR_DEPTH - 4) / 2; i++) ok = { url: "http://example.org/x", extension: [ok] };
    expect(validateFhir({ resourceType: "Patient", extension: [ok] })).to.deep.equal({ valid: true });
  });
});

describe("sdk/fhir canonicalJson", () => {
  it("sorts keys at every level, keeps array order, drops undefined properties", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 1, { z: 1, y: 2 }], c: "x" }, u: undefined })).to.equal(
      '{"a":{"c":"x","d":[3,1,{"y":2,"z":1}]},"b":1}',
    );
    expect(canonicalJson({ ...PATIENT })).to.equal(
      canonicalJson(Object.fromEntries(Object.entries(PATIENT).reverse())),
    );
    expect(canonicalJson("é\u2028")).to.equal(JSON.stringify("é\u2028"));
    expect(canonicalJson([1e21, 0.1, -0, 5])).to.equal("[1e+21,0.1,0,5]");
  });

  it("round-trips a Synthea bundle and refuses non-JSON", () => {
    const bundle = loadSynthea(SMALL_BUNDLE);
    expect(JSON.parse(canonicalJson(bundle))).to.deep.equal(bundle);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).to.throw(MedLedgerError, /circular/);
    expect(() => canonicalJson({ n: Number.POSITIVE_INFINITY })).to.throw(MedLedgerError, /non-finite/);
    expect(() => canonicalJson({ n: 1n })).to.throw(MedLedgerError, /bigint/);
  });
  it("refuses nesting past the limit with InvalidInputError, not RangeError", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(() => canonicalJson(deep)).to.throw(InvalidInputError, "nested deeper than 100 levels");
  });
});
