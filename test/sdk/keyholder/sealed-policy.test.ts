/**
 * The sealed rule (policy.ts) against an independent model (sealed-model.ts), property-based: the
 * code evaluates bit masks and public terms as the chain stores them; the model walks label names
 * and consents one by one from the text. Plus the custodian rule.
 */
import { expect } from "chai";
import fc from "fast-check";

import { AccessBasisCode } from "../../../sdk/keyholder/chainView.js";
import type { ConsentPublic } from "../../../sdk/keyholder/chainView.js";
import { custodianKeyholderId, denyBinds, evaluateSealed } from "../../../sdk/keyholder/policy.js";
import { sealTerms } from "../../../sdk/sealed/commitments.js";
import { LABEL_NAMES, modelAllows } from "./sealed-model.js";
import type { LabelName, ModelConsent, ModelRead, ModelReader } from "./sealed-model.js";

const PURPOSES = ["TREAT", "ETREAT", "HPAYMT", "HOPERAT", "HRESCH", "CLINTRCH", "PUBHLTH", "PATRQT", "COC", "BTG"];
const ROLES = ["CLINICIAN", "EMERGENCY_RESPONDER", "RESEARCHER", "PAYER", "AUDITOR", "PRIVACY_OFFICER"];
const SUBJECT = `0x${"ab".repeat(32)}`;
const ACCOUNTS = ["0x" + "11".repeat(20), "0x" + "22".repeat(20)];

const labelSet = fc.subarray([...LABEL_NAMES]).map((a) => new Set<LabelName>(a));
const maskOf = (s: ReadonlySet<string>, list: readonly string[]) =>
  list.reduce((m, name, i) => (s.has(name) ? m | (1 << i) : m), 0);

const consentArb = (isDeny: boolean) =>
  fc.record({
    isDeny: fc.constant(isDeny),
    grantee: fc.oneof(
      fc.record({ practitioner: fc.constantFrom(...ACCOUNTS) }),
      fc.record({
        organization: fc.constantFrom(0, 1, 2),
        roles: fc.subarray(ROLES, { minLength: 1 }).map((r) => new Set(r)),
      }),
    ),
    purposes: fc.subarray(PURPOSES, { minLength: 1 }).map((p) => new Set(p)),
    canRead: fc.boolean(),
    notBefore: fc.constantFrom(0, 100, 200),
    expiresAt: fc.constantFrom(undefined, 150, 300),
    revoked: fc.boolean(),
    sealed: fc.option(
      fc.record({
        allowed: labelSet,
        denied: labelSet,
        onlyCategories: fc.subarray([0, 2, 7, 13]).map((c) => new Set(c)),
      }),
      { nil: undefined, freq: 4 },
    ),
  }) as fc.Arbitrary<ModelConsent>;

const readerArb: fc.Arbitrary<ModelReader> = fc.record({
  kind: fc.constantFrom<"practitioner" | "subject">("practitioner", "practitioner", "practitioner", "subject"),
  account: fc.constantFrom(...ACCOUNTS),
  organization: fc.constantFrom(1, 2),
  roles: fc.subarray(ROLES, { minLength: 1 }).map((r) => new Set(r)),
});

const readArb: fc.Arbitrary<ModelRead> = fc.record({
  reader: readerArb,
  purpose: fc.constantFrom(...PURPOSES),
  now: fc.constantFrom(50, 120, 250, 400),
  record: fc.record({
    category: fc.constantFrom(0, 2, 7, 13),
    labels: fc.option(labelSet, { nil: undefined, freq: 6 }),
  }),
  permit: fc.option(consentArb(false), { nil: undefined }),
  denies: fc.array(consentArb(true), { maxLength: 4 }),
});

/** The chain's view of a model consent (what getConsent returns). */
function publicTerms(c: ModelConsent): ConsentPublic {
  const practitioner = "practitioner" in c.grantee;
  return {
    effect: c.isDeny ? 1 : 0,
    granteeKind: practitioner ? 0 : 1,
    granteeAccount: "practitioner" in c.grantee ? c.grantee.practitioner : `0x${"00".repeat(20)}`,
    granteeOrg: "organization" in c.grantee ? c.grantee.organization : 0,
    granteeRoles: "roles" in c.grantee ? maskOf(c.grantee.roles, ROLES) : 0,
    categories: 0,
    purposes: maskOf(c.purposes, PURPOSES),
    actions: c.canRead ? 1 : 2,
    validFrom: c.notBefore,
    validUntil: c.expiresAt ?? 0,
    revokedAt: c.revoked ? 1 : 0,
  };
}

function sealedOf(c: ModelConsent) {
  if (c.sealed === undefined) return undefined;
  return sealTerms({
    subject: SUBJECT,
    allowLabels: maskOf(c.sealed.allowed, LABEL_NAMES),
    denyLabels: maskOf(c.sealed.denied, LABEL_NAMES),
    refinement: [...c.sealed.onlyCategories].reduce((m, cat) => m | (1 << cat), 0),
  });
}

/** The code's decision for a model read, through denyBinds and evaluateSealed. */
function codeAllows(read: ModelRead): boolean {
  const r = read.reader;
  const basis =
    r.kind === "subject"
      ? AccessBasisCode.SUBJECT
      : read.permit === undefined
        ? AccessBasisCode.EMERGENCY
        : AccessBasisCode.CONSENT;
  const state = {
    status: 0,
    orgId: r.organization,
    roles: maskOf(r.roles, ROLES),
    practitionerId: 7,
    account: r.account,
  };
  const purpose = PURPOSES.indexOf(read.purpose);
  const denies = read.denies.filter((d) => denyBinds(publicTerms(d), state, purpose, read.now)).map(sealedOf);
  const verdict = evaluateSealed({
    basis,
    category: read.record.category,
    labels: read.record.labels === undefined ? undefined : maskOf(read.record.labels, LABEL_NAMES),
    permit: read.permit === undefined ? undefined : sealedOf(read.permit),
    denies,
  });
  return verdict.allowed;
}

describe("sealed rule: policy.ts against an independent model", () => {
  it("agrees with the model on every read (deny wins; missing openings fail closed)", () => {
    fc.assert(
      fc.property(readArb, (read) => {
        expect(
          codeAllows(read),
          JSON.stringify(read, (_k, v: unknown) => (v instanceof Set ? [...v] : v)),
        ).to.equal(modelAllows(read));
      }),
      { numRuns: 5000 },
    );
  });

  it("deny wins: adding a binding deny whose labels meet the record's never turns a refusal into a release, and always refuses", () => {
    fc.assert(
      fc.property(readArb, consentArb(true), (read, extra) => {
        const before = codeAllows(read);
        const after = codeAllows({ ...read, denies: [...read.denies, extra] });
        if (!before) expect(after).to.equal(false);
        const binds =
          read.reader.kind === "practitioner" &&
          denyBinds(
            publicTerms(extra),
            {
              status: 0,
              orgId: read.reader.organization,
              roles: maskOf(read.reader.roles, ROLES),
              practitionerId: 7,
              account: read.reader.account,
            },
            PURPOSES.indexOf(read.purpose),
            read.now,
          );
        const meets =
          extra.sealed === undefined || [...(read.record.labels ?? [])].some((l) => extra.sealed!.denied.has(l));
        if (binds && meets) expect(after).to.equal(false);
      }),
      { numRuns: 3000 },
    );
  });

  it("a study read releases an unlabelled record, never a labelled one; missing openings still refuse", () => {
    const study = { basis: AccessBasisCode.STUDY, category: 2, denies: [] };
    expect(evaluateSealed({ ...study, labels: 0 })).to.deep.equal({ allowed: true });
    expect(evaluateSealed({ ...study, labels: 1 })).to.deep.equal({ allowed: false, reason: "PERMIT_LABELS" });
    expect(evaluateSealed({ ...study, labels: undefined })).to.deep.equal({
      allowed: false,
      reason: "LABEL_OPENING_MISSING",
    });
    expect(evaluateSealed({ ...study, labels: 0, denies: [undefined] })).to.deep.equal({
      allowed: false,
      reason: "DENY_OPENING_MISSING",
    });
  });

  it("the custodian rule: the custodian organization's lowest active keyholder, else the lowest active id", () => {
    const set = [
      { id: 4, orgId: 9 },
      { id: 2, orgId: 7 },
      { id: 6, orgId: 7 },
      { id: 3, orgId: 8 },
    ];
    expect(custodianKeyholderId(set, 7)).to.equal(2);
    expect(custodianKeyholderId(set, 9)).to.equal(4);
    expect(custodianKeyholderId(set, 0), "subject-held: the policy keyholder").to.equal(2);
    expect(custodianKeyholderId(set, 5), "no keyholder of its own").to.equal(2);
    expect(custodianKeyholderId([], 7)).to.equal(undefined);
  });
});
