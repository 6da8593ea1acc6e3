/**
 * An independent model of the sealed rule, written from the issue's text (not from
 * sdk/keyholder/policy.ts): sets of label names instead of bit masks, one label at a time, every
 * consent spelled out. The deny-wins property tests compare the keyholders' decisions with it.
 *
 * The rule, in the issue's words: the custodian keyholder checks the record's labels against the
 * sealed terms of the consent the access was logged under (a permit releases a labelled record only
 * if its allowed labels cover every label of the record, within its refinement) and against every
 * active sealed deny of that subject that applies to the reader (grantee, purpose, validity); a deny
 * whose labels meet the record's refuses. A permit whose opening is missing releases nothing; an
 * active deny whose opening is missing refuses. The patient's sealed denies always win. The subject
 * (and an ACCESS guardian) is bound by neither.
 */

export const LABEL_NAMES = ["MENTAL_HEALTH", "SEXUAL_REPRODUCTIVE", "SUBSTANCE_USE", "GENETICS"] as const;
export type LabelName = (typeof LABEL_NAMES)[number];

export interface ModelReader {
  kind: "practitioner" | "subject";
  account: string;
  organization: number;
  roles: ReadonlySet<string>;
}

export interface ModelConsent {
  isDeny: boolean;
  /** A named practitioner, or an organization (0: any) with roles. */
  grantee: { practitioner: string } | { organization: number; roles: ReadonlySet<string> };
  purposes: ReadonlySet<string>;
  canRead: boolean;
  notBefore: number;
  /** undefined: never expires. */
  expiresAt: number | undefined;
  revoked: boolean;
  /** undefined: the keyholder never received the opening. */
  sealed:
    | { allowed: ReadonlySet<LabelName>; denied: ReadonlySet<LabelName>; onlyCategories: ReadonlySet<number> }
    | undefined;
}

export interface ModelRead {
  reader: ModelReader;
  purpose: string;
  /** The time of the block the rule is evaluated at. */
  now: number;
  record: { category: number; labels: ReadonlySet<LabelName> | undefined };
  /** The consent the access is logged under (consent reads); undefined for emergency and subject reads. */
  permit: ModelConsent | undefined;
  /** Every consent of the subject with the deny effect. */
  denies: readonly ModelConsent[];
}

function names(c: ModelConsent, r: ModelReader): boolean {
  if ("practitioner" in c.grantee) return r.kind === "practitioner" && c.grantee.practitioner === r.account;
  if (r.kind !== "practitioner") return false;
  const orgOk = c.grantee.organization === 0 || c.grantee.organization === r.organization;
  let roleOk = false;
  for (const role of c.grantee.roles) if (r.roles.has(role)) roleOk = true;
  return orgOk && roleOk;
}

function inForce(c: ModelConsent, now: number): boolean {
  if (c.revoked) return false;
  if (now < c.notBefore) return false;
  if (c.expiresAt !== undefined && now >= c.expiresAt) return false;
  return true;
}

/** Would the custodian keyholder let this read through? */
export function modelAllows(read: ModelRead): boolean {
  if (read.reader.kind === "subject") return true;
  const labels = read.record.labels;
  if (labels === undefined) return false;
  // Denies first, and they always win.
  for (const d of read.denies) {
    if (!d.isDeny) continue;
    const applies = names(d, read.reader) && inForce(d, read.now) && d.canRead && d.purposes.has(read.purpose);
    if (!applies) continue;
    if (d.sealed === undefined) return false;
    for (const label of LABEL_NAMES) {
      if (labels.has(label) && d.sealed.denied.has(label)) return false;
    }
  }
  if (read.permit !== undefined) {
    if (read.permit.sealed === undefined) return false;
    for (const label of LABEL_NAMES) {
      if (!labels.has(label)) continue;
      if (!read.permit.sealed.allowed.has(label)) return false;
      const only = read.permit.sealed.onlyCategories;
      if (only.size > 0 && !only.has(read.record.category)) return false;
    }
  }
  return true;
}
