/**
 * Consents as FHIR R4 Consent resources, and back (`consent import`).
 *
 * Export: a permit becomes `policyRule` OPTIN and a base `deny` provision with one nested `permit`
 * provision; a deny becomes OPTOUT and a base `permit` provision with one nested `deny` provision.
 * The nested provision carries what MedLedger states on chain:
 * - `actor`: the grantee, role IRCP (information recipient), referenced by identifier: a
 *   practitioner's account, or an organization (`0`: any organization) whose members holding the
 *   listed roles are meant (the roles as extra codings of the actor's role);
 * - `action`: READ → `access`, APPEND → `collect`;
 * - `purpose`: HL7 v3 PurposeOfUse codes;
 * - `class`: the public clinical categories (MedLedger's code system);
 * - `period`: the validity window.
 * `status` is `active`, or `inactive` for a revoked or expired consent (with the revocation time
 * in an extension). The sealed-terms commitment is an opaque extension: the sensitive labels a
 * consent allows or denies are sealed and never appear in an export.
 *
 * Import: {@link consentFromFhir} accepts the subset above (from any writer) and returns the SDK's
 * consent input; anything else (data references, security labels, codes, data periods, several
 * actors or provisions, an inactive status) is refused with {@link UnsupportedFhirElementError}
 * naming the element. Export then import round-trips.
 *
 * @example
 * ```ts
 * import { consentToFhir, consentFromFhir } from "medledger/exports";
 * const resource = consentToFhir(consentEntry);
 * const input = consentFromFhir(resource); // { effect, grantee, categories, purposes, actions, … }
 * ```
 */
import type { Coding, Consent, ConsentProvision } from "fhir/r4.js";

import { Action, Category, Purpose, Role } from "../codes.js";
import { InvalidInputError } from "../errors.js";
import { UnsupportedFhirElementError } from "../indexer/errors.js";
import type { ConsentEntry } from "../indexer/queries.js";
import { URN } from "./fhir-audit.js";

const ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
const ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const CONSENT_ACTION = "http://terminology.hl7.org/CodeSystem/consentaction";
const PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
export const ROLE_SYSTEM = "urn:medledger:role";
export const SEALED_TERMS_EXTENSION = "urn:medledger:fhir:sealed-terms-commitment";
export const REVOKED_AT_EXTENSION = "urn:medledger:fhir:revoked-at";

const ACTION_CODES: Record<string, string> = { READ: "access", APPEND: "collect" };

/** What {@link consentFromFhir} returns: the SDK's consent input (names, unix seconds). */
export interface ConsentImport {
  effect: "permit" | "deny";
  grantee: { practitioner: string } | { organization: number; roles: string[] };
  categories: string[];
  purposes: string[];
  actions: string[];
  validFrom?: number;
  validUntil?: number;
}

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

/**
 * One consent as a FHIR R4 Consent.
 *
 * @example
 * ```ts
 * import { consentToFhir } from "medledger/exports";
 * const resource = consentToFhir(entry);
 * ```
 */
export function consentToFhir(c: ConsentEntry): Consent {
  const permit = c.effect === "permit";
  const actor =
    c.grantee.kind === "practitioner"
      ? {
          role: { coding: [{ system: PARTICIPATION, code: "IRCP", display: "information recipient" }] },
          reference: { type: "Practitioner", identifier: { system: URN.account, value: c.grantee.account } },
        }
      : {
          role: {
            coding: [
              { system: PARTICIPATION, code: "IRCP", display: "information recipient" },
              ...c.grantee.roles.map((r) => ({ system: ROLE_SYSTEM, code: r })),
            ],
          },
          reference: {
            type: "Organization",
            identifier: { system: URN.organization, value: String(c.grantee.organization) },
          },
        };
  const period =
    c.validFrom === 0 && c.validUntil === null
      ? {}
      : {
          period: {
            ...(c.validFrom === 0 ? {} : { start: iso(c.validFrom) }),
            ...(c.validUntil === null ? {} : { end: iso(c.validUntil) }),
          },
        };
  const inner: ConsentProvision = {
    type: permit ? "permit" : "deny",
    ...period,
    actor: [actor],
    action: c.actions.map((a) => ({ coding: [{ system: CONSENT_ACTION, code: ACTION_CODES[a] ?? a.toLowerCase() }] })),
    purpose: c.purposes.map((p) => ({ system: ACT_REASON, code: p })),
    ...(c.categories.length === 0 ? {} : { class: c.categories.map((k) => ({ system: URN.category, code: k })) }),
  };
  return {
    resourceType: "Consent",
    id: `consent-${c.consentId.slice(2, 18)}`,
    extension: [
      { url: SEALED_TERMS_EXTENSION, valueString: c.sealedTerms },
      ...(c.revokedAt === null ? [] : [{ url: REVOKED_AT_EXTENSION, valueDateTime: iso(c.revokedAt) }]),
    ],
    identifier: [{ system: URN.consent, value: c.consentId }],
    status: c.status === "revoked" || c.status === "expired" ? "inactive" : "active",
    scope: {
      coding: [{ system: "http://terminology.hl7.org/CodeSystem/consentscope", code: "patient-privacy" }],
    },
    category: [{ coding: [{ system: "http://loinc.org", code: "59284-0", display: "Patient Consent" }] }],
    patient: { identifier: { system: URN.subject, value: c.subject } },
    dateTime: c.time,
    policyRule: { coding: [{ system: ACT_CODE, code: permit ? "OPTIN" : "OPTOUT" }] },
    provision: { type: permit ? "deny" : "permit", provision: [inner] },
  };
}

// ───────────────────────────── import ─────────────────────────────

const refuse = (element: string, why: string): never => {
  throw new UnsupportedFhirElementError(element, why);
};

const SUPPORTED_TOP = new Set([
  "resourceType",
  "id",
  "meta",
  "text",
  "extension",
  "identifier",
  "status",
  "scope",
  "category",
  "patient",
  "dateTime",
  "policyRule",
  "provision",
]);
const SUPPORTED_PROVISION = new Set(["type", "period", "actor", "action", "purpose", "class", "provision"]);

function seconds(element: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) refuse(element, "not a date");
  return Math.floor(ms / 1000);
}

function codeIn(element: string, coding: Coding, system: string, table: Readonly<Record<string, unknown>>): string {
  if (coding.system !== system) refuse(element, `only codes of ${system} can be expressed`);
  const code = coding.code ?? "";
  if (!Object.hasOwn(table, code)) refuse(element, `unknown code "${code}"; allowed: ${Object.keys(table).join(", ")}`);
  return code;
}

/**
 * Turns a FHIR R4 Consent (the subset MedLedger can express) into the SDK's consent input.
 * Throws {@link UnsupportedFhirElementError} naming the first element it cannot express.
 *
 * @example
 * ```ts
 * import { consentFromFhir } from "medledger/exports";
 * const input = consentFromFhir(JSON.parse(await readFile("consent.json", "utf8")));
 * await ledger.consents.grant(subject, input);
 * ```
 */
export function consentFromFhir(resource: unknown): ConsentImport {
  if (
    typeof resource !== "object" ||
    resource === null ||
    (resource as { resourceType?: unknown }).resourceType !== "Consent"
  ) {
    throw new InvalidInputError("Not a FHIR Consent resource", { details: 'resourceType must be "Consent"' });
  }
  const consent = resource as Consent & Record<string, unknown>;
  for (const key of Object.keys(consent)) {
    if (!SUPPORTED_TOP.has(key)) refuse(`Consent.${key}`, "MedLedger consents have no such element");
  }
  if (consent.status !== "active")
    refuse("Consent.status", `only an active consent can be granted (got "${consent.status}")`);
  for (const [i, ext] of (consent.extension ?? []).entries()) {
    if (ext.url !== SEALED_TERMS_EXTENSION) refuse(`Consent.extension[${i}]`, `unknown extension ${ext.url}`);
  }
  const base = consent.provision;
  if (base === undefined) refuse("Consent.provision", "a consent needs a provision");
  // Either the provision itself carries the rule, or a base provision holds exactly one nested rule.
  let rule: ConsentProvision = base!;
  let path = "Consent.provision";
  if (base!.provision !== undefined) {
    if (base!.provision.length !== 1)
      refuse("Consent.provision.provision", "exactly one nested provision can be expressed");
    for (const key of Object.keys(base!)) {
      if (key !== "type" && key !== "provision")
        refuse(`Consent.provision.${key}`, "put the rule in the nested provision");
    }
    rule = base!.provision[0]!;
    path = "Consent.provision.provision[0]";
    if (base!.type !== undefined && base!.type === rule.type) {
      refuse(
        "Consent.provision.type",
        "the base provision must be the opposite of the rule (deny all but / permit all but)",
      );
    }
  }
  for (const key of Object.keys(rule)) {
    if (!SUPPORTED_PROVISION.has(key)) {
      refuse(
        `${path}.${key}`,
        key === "securityLabel" ? "sensitive labels are sealed terms, not on-chain terms" : "not expressible on chain",
      );
    }
  }
  if (rule.provision !== undefined) refuse(`${path}.provision`, "nested rules cannot be expressed");
  if (rule.type === undefined) refuse(`${path}.type`, "say permit or deny");
  const effect = rule.type!;
  const actors = rule.actor ?? [];
  if (actors.length !== 1) refuse(`${path}.actor`, "exactly one grantee can be expressed");
  const actor = actors[0]!;
  const codings = actor.role.coding ?? [];
  if (!codings.some((c) => c.system === PARTICIPATION && c.code === "IRCP")) {
    refuse(`${path}.actor[0].role`, "only the information recipient (IRCP) can be a grantee");
  }
  const id = actor.reference.identifier;
  let grantee: ConsentImport["grantee"];
  if (id?.system === URN.account && /^0x[0-9a-fA-F]{40}$/.test(id.value ?? "")) {
    if (codings.some((c) => c.system === ROLE_SYSTEM))
      refuse(`${path}.actor[0].role`, "roles apply to organizations only");
    grantee = { practitioner: id.value!.toLowerCase() };
  } else if (id?.system === URN.organization && /^\d+$/.test(id.value ?? "")) {
    const roles = codings
      .filter((c) => c.system !== PARTICIPATION)
      .map((c, i) => codeIn(`${path}.actor[0].role.coding[${i}]`, c, ROLE_SYSTEM, Role));
    if (roles.length === 0) refuse(`${path}.actor[0].role`, "an organization grantee needs at least one role");
    grantee = { organization: Number(id.value), roles };
  } else {
    return refuse(
      `${path}.actor[0].reference`,
      `name the grantee by identifier (${URN.account} or ${URN.organization})`,
    );
  }
  const actions = (rule.action ?? []).map((a, i) => {
    const coding = a.coding?.[0];
    if (coding === undefined || (a.coding?.length ?? 0) !== 1) refuse(`${path}.action[${i}]`, "one coding per action");
    const code = codeIn(`${path}.action[${i}]`, coding!, CONSENT_ACTION, { access: 1, collect: 1 });
    return code === "access" ? "READ" : "APPEND";
  });
  if (actions.length === 0) refuse(`${path}.action`, "name at least one action (access, collect)");
  const purposes = (rule.purpose ?? []).map((p, i) => codeIn(`${path}.purpose[${i}]`, p, ACT_REASON, Purpose));
  if (purposes.length === 0) refuse(`${path}.purpose`, "name at least one purpose of use");
  const categories = (rule.class ?? []).map((c, i) => codeIn(`${path}.class[${i}]`, c, URN.category, Category));
  if (categories.length === 0 && effect === "permit") refuse(`${path}.class`, "a permit needs at least one data class");
  const validFrom = seconds(`${path}.period.start`, rule.period?.start);
  const validUntil = seconds(`${path}.period.end`, rule.period?.end);
  return {
    effect,
    grantee,
    categories: [...new Set(categories)],
    purposes: [...new Set(purposes)],
    actions: [...new Set(actions)].filter((a) => Object.hasOwn(Action, a)),
    ...(validFrom === undefined ? {} : { validFrom }),
    ...(validUntil === undefined ? {} : { validUntil }),
  };
}
