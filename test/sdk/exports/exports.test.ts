/**
 * Exports: CSV, FHIR R4 AuditEvent (IHE BALP read, consent-based permit, break-glass) and Consent
 * resources validated against the R4 JSON schema; consent import refusing what cannot be
 * expressed; export → import round trips.
 */
import { expect } from "chai";

import { validateFhir } from "../../../sdk/fhir/validate.js";
import {
  UnsupportedFhirElementError,
  accessToAuditEvent,
  accessesToAuditEventBundle,
  consentFromFhir,
  consentToFhir,
  parseCsv,
  toCsv,
} from "../../../sdk/exports/index.js";
import type { AccessEntry, ConsentEntry } from "../../../sdk/indexer/index.js";

const h = (n: number, bytes = 32): string => `0x${n.toString(16).padStart(bytes * 2, "0")}`;
const fhirOpts = { chainId: 1337, registry: h(0xabc, 20) };

function access(over: Partial<AccessEntry>): AccessEntry {
  return {
    blockNumber: 10,
    logIndex: 3,
    transactionHash: h(1),
    timestamp: 1_780_000_000,
    time: new Date(1_780_000_000_000).toISOString(),
    subject: h(2),
    recordId: h(3),
    accessor: h(4, 20),
    organization: 1,
    category: "OBSERVATIONS",
    purpose: "TREAT",
    basis: "CONSENT",
    consentId: h(5),
    sessionId: null,
    ...over,
  };
}

function consent(over: Partial<ConsentEntry>): ConsentEntry {
  return {
    blockNumber: 9,
    logIndex: 0,
    transactionHash: h(6),
    timestamp: 1_770_000_000,
    time: new Date(1_770_000_000_000).toISOString(),
    consentId: h(7),
    subject: h(2),
    sequence: 1,
    effect: "permit",
    grantee: { kind: "practitioner", account: h(4, 20) },
    categories: ["OBSERVATIONS", "MEDICATIONS"],
    purposes: ["TREAT", "HPAYMT"],
    actions: ["READ"],
    validFrom: 0,
    validUntil: null,
    sealedTerms: h(8),
    grantedBy: h(9, 20),
    bySignature: false,
    revokedAt: null,
    revokedBy: null,
    status: "active",
    ...over,
  };
}

describe("exports: FHIR R4 AuditEvent (IHE BALP) for accesses", () => {
  it("a consent-based read names the consent as the agent's policy and as an entity", () => {
    const e = accessToAuditEvent(access({}), fhirOpts);
    expect(validateFhir(e)).to.deep.equal({ valid: true });
    expect(e.action).to.equal("R");
    expect(e.subtype?.[0]?.code).to.equal("read");
    expect(e.agent[0]!.policy).to.deep.equal([`urn:medledger:consent:${h(5)}`]);
    expect(e.entity?.some((x) => x.what?.identifier?.value === h(5))).to.equal(true);
    expect(e.meta?.security).to.equal(undefined);
  });

  it("a break-glass read carries purposeOfUse, the BTG flag and the session", () => {
    const e = accessToAuditEvent(
      access({ basis: "EMERGENCY", purpose: "ETREAT", consentId: null, sessionId: 42 }),
      fhirOpts,
    );
    expect(validateFhir(e)).to.deep.equal({ valid: true });
    expect(e.purposeOfEvent?.[0]?.coding?.[0]?.code).to.equal("ETREAT");
    expect(e.agent[0]!.purposeOfUse?.[0]?.coding?.[0]?.code).to.equal("ETREAT");
    expect(e.meta?.security?.[0]?.code).to.equal("BTG");
    expect(e.entity?.some((x) => x.what?.identifier?.value === "42")).to.equal(true);
    expect(e.agent[0]!.policy).to.equal(undefined);
  });

  it("a read by the subject names the patient role; a Bundle of all kinds is valid", () => {
    const own = accessToAuditEvent(
      access({ basis: "SUBJECT", consentId: null, organization: 0, category: null }),
      fhirOpts,
    );
    expect(own.agent).to.have.length(1);
    expect(own.agent[0]!.role?.[0]?.coding?.[0]?.code).to.equal("PAT");
    const bundle = accessesToAuditEventBundle(
      [
        access({}),
        access({ basis: "EMERGENCY", sessionId: 1, consentId: null, logIndex: 4 }),
        access({ basis: "SUBJECT", consentId: null, logIndex: 5 }),
      ],
      fhirOpts,
    );
    expect(validateFhir(bundle)).to.deep.equal({ valid: true });
  });
});

describe("exports: FHIR R4 Consent, and consent import", () => {
  const cases: [string, ConsentEntry][] = [
    ["a practitioner permit", consent({})],
    [
      "an expiring permit from a date",
      consent({ validFrom: 1_760_000_000, validUntil: 1_790_000_000, actions: ["READ", "APPEND"] }),
    ],
    [
      "an organization permit for clinicians",
      consent({ grantee: { kind: "organization", organization: 3, roles: ["CLINICIAN", "AUDITOR"] } }),
    ],
    [
      "a deny for every purpose",
      consent({ effect: "deny", purposes: ["TREAT", "ETREAT", "BTG"], categories: ["NOTES"] }),
    ],
    ["a sealed-only deny (no public category)", consent({ effect: "deny", categories: [] })],
  ];
  for (const [name, c] of cases) {
    it(`${name}: valid R4, and export → import round-trips`, () => {
      const resource = consentToFhir(c);
      expect(validateFhir(resource)).to.deep.equal({ valid: true });
      const back = consentFromFhir(JSON.parse(JSON.stringify(resource)));
      expect(back.effect).to.equal(c.effect);
      expect(back.grantee).to.deep.equal(
        c.grantee.kind === "practitioner"
          ? { practitioner: c.grantee.account }
          : { organization: c.grantee.organization, roles: c.grantee.roles },
      );
      expect(back.categories).to.deep.equal(c.categories);
      expect(back.purposes).to.deep.equal(c.purposes);
      expect(back.actions).to.deep.equal(c.actions);
      expect(back.validFrom ?? 0).to.equal(c.validFrom);
      expect(back.validUntil ?? null).to.equal(c.validUntil);
    });
  }

  it("a revoked consent is inactive with its revocation time, and cannot be imported", () => {
    const resource = consentToFhir(consent({ status: "revoked", revokedAt: 1_775_000_000, revokedBy: h(9, 20) }));
    expect(validateFhir(resource)).to.deep.equal({ valid: true });
    expect(resource.status).to.equal("inactive");
    expect(() => consentFromFhir(resource))
      .to.throw(UnsupportedFhirElementError)
      .with.property("element", "Consent.status");
  });

  const refusals: [string, (r: Record<string, unknown>) => void, string][] = [
    [
      "data references",
      (r) => (nested(r).data = [{ meaning: "instance", reference: { reference: "Observation/1" } }]),
      "Consent.provision.provision[0].data",
    ],
    [
      "security labels (sealed terms)",
      (r) => (nested(r).securityLabel = [{ system: "x", code: "PSY" }]),
      "Consent.provision.provision[0].securityLabel",
    ],
    [
      "two actors",
      (r) => (nested(r).actor = [...(nested(r).actor as unknown[]), ...(nested(r).actor as unknown[])]),
      "Consent.provision.provision[0].actor",
    ],
    [
      "an unknown purpose",
      (r) =>
        (nested(r).purpose = [{ system: "http://terminology.hl7.org/CodeSystem/v3-ActReason", code: "MARKETING" }]),
      "Consent.provision.provision[0].purpose[0]",
    ],
    ["a verification", (r) => (r.verification = [{ verified: true }]), "Consent.verification"],
    [
      "two nested provisions",
      (r) => (r.provision as { provision: unknown[] }).provision.push({ type: "deny" }),
      "Consent.provision.provision",
    ],
    [
      "a data class outside MedLedger's",
      (r) => (nested(r).class = [{ system: "http://hl7.org/fhir/resource-types", code: "Observation" }]),
      "Consent.provision.provision[0].class[0]",
    ],
    [
      "an actor by reference only",
      (r) => ((nested(r).actor as { reference: unknown }[])[0]!.reference = { reference: "Practitioner/1" }),
      "Consent.provision.provision[0].actor[0].reference",
    ],
  ];
  for (const [name, mutate, element] of refusals) {
    it(`refuses ${name}, naming ${element}`, () => {
      const resource = JSON.parse(JSON.stringify(consentToFhir(consent({})))) as Record<string, unknown>;
      mutate(resource);
      expect(() => consentFromFhir(resource))
        .to.throw(UnsupportedFhirElementError)
        .with.property("element", element);
    });
  }
});

function nested(r: Record<string, unknown>): Record<string, unknown> {
  return (r.provision as { provision: Record<string, unknown>[] }).provision[0]!;
}

describe("exports: CSV", () => {
  it("quotes, flattens, guards formulas and parses back", () => {
    const rows = [
      { a: 'x,"y"', b: { c: 1, d: ["p", "q"] }, e: "=cmd()" },
      { a: "line\nbreak", b: { c: 2, d: [] }, e: "-0.5" },
    ];
    const csv = toCsv(rows);
    expect(csv.split("\r\n")[0]).to.equal("a,b.c,b.d,e");
    expect(parseCsv(csv)).to.deep.equal([
      { a: 'x,"y"', "b.c": "1", "b.d": "p;q", e: "'=cmd()" },
      { a: "line\nbreak", "b.c": "2", "b.d": "", e: "-0.5" },
    ]);
  });
});
