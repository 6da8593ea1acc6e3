/**
 * Accesses as a FHIR R4 Bundle of AuditEvents, following the IHE Basic Audit Log Patterns (BALP):
 *
 * - every access is a RESTful `read` (`type` rest, `subtype` read, `action` R, `outcome` 0), with
 *   the patient as an entity (role Patient) and the record as a domain-resource entity carrying
 *   its public category;
 * - the accessor is the requesting human-user agent; its organization is a second agent;
 * - **consent-based permit**: the consent's identifier is the agent's `policy` (as BALP and IHE
 *   PCF record an authorizing consent) and the consent is also an entity;
 * - **break-glass**: `purposeOfEvent` and the agent's `purposeOfUse` carry the purpose (ETREAT or
 *   BTG), `meta.security` carries the v3 ActReason `BTG` flag, and the break-glass session is an
 *   entity;
 * - a read by the subject or a guardian (basis SUBJECT) names the patient as the agent's role.
 *
 * Ids and accounts are identifiers in MedLedger's URN namespaces (`urn:medledger:…`), the chain
 * position is the AuditEvent's id and the source's observer is the deployment's record registry.
 *
 * @example
 * ```ts
 * import { accessesToAuditEventBundle } from "medledger/exports";
 * const bundle = accessesToAuditEventBundle(page.items, { chainId: 1337, registry: "0x…" });
 * ```
 */
import type { AuditEvent, AuditEventAgent, AuditEventEntity, Bundle, Coding } from "fhir/r4.js";

import type { AccessEntry } from "../indexer/queries.js";

export const URN = {
  subject: "urn:medledger:subject",
  record: "urn:medledger:record",
  account: "urn:medledger:account",
  organization: "urn:medledger:organization",
  consent: "urn:medledger:consent",
  session: "urn:medledger:break-glass-session",
  category: "urn:medledger:category",
  chain: "urn:medledger:chain",
} as const;

const ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
const BALP_READ = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientRead";

export interface AuditExportOptions {
  chainId: number;
  /** The RecordRegistry address (the source of the events). */
  registry: string;
  /** Display names of accounts and organizations registered off chain (optional). */
  names?: { accounts?: Record<string, string>; organizations?: Record<number, string> };
}

const purposeCoding = (purpose: string): Coding => ({ system: ACT_REASON, code: purpose });

/**
 * One access as a BALP "read" AuditEvent.
 *
 * @example
 * ```ts
 * import { accessToAuditEvent } from "medledger/exports";
 * const event = accessToAuditEvent(access, { chainId, registry });
 * ```
 */
export function accessToAuditEvent(a: AccessEntry, opts: AuditExportOptions): AuditEvent {
  const emergency = a.basis === "EMERGENCY";
  const bySubject = a.basis === "SUBJECT";
  const accountName = opts.names?.accounts?.[a.accessor];
  const agent: AuditEventAgent = {
    type: {
      coding: [
        {
          system: "http://terminology.hl7.org/CodeSystem/extra-security-role-type",
          code: "humanuser",
          display: "human user",
        },
      ],
    },
    ...(bySubject
      ? {
          role: [
            {
              coding: [
                { system: "http://terminology.hl7.org/CodeSystem/v3-RoleClass", code: "PAT", display: "patient" },
              ],
            },
          ],
        }
      : {}),
    who: {
      identifier: { system: URN.account, value: a.accessor },
      ...(accountName === undefined ? {} : { display: accountName }),
    },
    requestor: true,
    purposeOfUse: [{ coding: [purposeCoding(a.purpose)] }],
    ...(a.consentId === null ? {} : { policy: [`${URN.consent}:${a.consentId}`] }),
  };
  const agents: AuditEventAgent[] = [agent];
  if (a.organization !== 0) {
    const orgName = opts.names?.organizations?.[a.organization];
    agents.push({
      type: {
        coding: [{ system: "http://terminology.hl7.org/CodeSystem/provenance-participant-type", code: "custodian" }],
      },
      who: {
        identifier: { system: URN.organization, value: String(a.organization) },
        ...(orgName === undefined ? {} : { display: orgName }),
      },
      requestor: false,
    });
  }
  const entities: AuditEventEntity[] = [
    {
      what: { identifier: { system: URN.subject, value: a.subject } },
      type: { system: "http://terminology.hl7.org/CodeSystem/audit-entity-type", code: "1", display: "Person" },
      role: { system: "http://terminology.hl7.org/CodeSystem/object-role", code: "1", display: "Patient" },
    },
    {
      what: { identifier: { system: URN.record, value: a.recordId } },
      type: { system: "http://terminology.hl7.org/CodeSystem/audit-entity-type", code: "2", display: "System Object" },
      role: { system: "http://terminology.hl7.org/CodeSystem/object-role", code: "4", display: "Domain Resource" },
      ...(a.category === null ? {} : { detail: [{ type: "category", valueString: a.category }] }),
    },
  ];
  if (a.consentId !== null) {
    entities.push({
      what: { identifier: { system: URN.consent, value: a.consentId } },
      type: { system: "http://hl7.org/fhir/resource-types", code: "Consent", display: "Consent" },
      description: "The consent the read was allowed under",
    });
  }
  if (a.sessionId !== null) {
    entities.push({
      what: { identifier: { system: URN.session, value: String(a.sessionId) } },
      type: { system: "http://terminology.hl7.org/CodeSystem/audit-entity-type", code: "2", display: "System Object" },
      description: "Break-glass session (emergency access without consent; pending independent review)",
    });
  }
  return {
    resourceType: "AuditEvent",
    id: `access-${a.blockNumber}-${a.logIndex}`,
    meta: {
      profile: [BALP_READ],
      ...(emergency ? { security: [{ system: ACT_REASON, code: "BTG", display: "break the glass" }] } : {}),
    },
    type: {
      system: "http://terminology.hl7.org/CodeSystem/audit-event-type",
      code: "rest",
      display: "RESTful Operation",
    },
    subtype: [{ system: "http://hl7.org/fhir/restful-interaction", code: "read", display: "read" }],
    action: "R",
    recorded: a.time,
    outcome: "0",
    purposeOfEvent: [{ coding: [purposeCoding(a.purpose)] }],
    agent: agents,
    source: {
      observer: {
        identifier: { system: URN.chain, value: `${opts.chainId}:${opts.registry.toLowerCase()}` },
        display: "MedLedger RecordRegistry (on-chain access log)",
      },
      type: [
        {
          system: "http://terminology.hl7.org/CodeSystem/security-source-type",
          code: "4",
          display: "Application Server",
        },
      ],
    },
    entity: entities,
  };
}

/**
 * Accesses as a `collection` Bundle of AuditEvents.
 *
 * @example
 * ```ts
 * import { accessesToAuditEventBundle } from "medledger/exports";
 * const bundle = accessesToAuditEventBundle(items, { chainId, registry });
 * ```
 */
export function accessesToAuditEventBundle(accesses: readonly AccessEntry[], opts: AuditExportOptions): Bundle {
  return {
    resourceType: "Bundle",
    type: "collection",
    timestamp: new Date().toISOString(),
    entry: accesses.map((a) => ({
      fullUrl: `${URN.chain}:${opts.chainId}:access:${a.blockNumber}:${a.logIndex}`,
      resource: accessToAuditEvent(a, opts),
    })),
  };
}
