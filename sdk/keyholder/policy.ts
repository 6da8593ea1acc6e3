/**
 * The sealed rule (issue "sealed sensitive labels"), as pure functions the custodian keyholder
 * applies at preflight and release, and the custodian rule every keyholder and reader agrees on.
 * See docs/keyholders.md ("Sealed labels") and docs/privacy.md.
 *
 * - **Custodian keyholder** of a record: the active keyholder (lowest id) whose organization is the
 *   record's custodian; when the custodian is 0 (subject-held) or runs no active keyholder, the
 *   **policy keyholder**: the active keyholder with the lowest id. Only it holds the record's label
 *   opening and signs policy tokens for the record.
 * - **Permit** (the consent the access was logged under): releases a labelled record only if its
 *   sealed `allowLabels` cover every label of the record and, when its `refinement` is not 0, the
 *   record's public category is in the refinement. A permit whose opening the custodian keyholder
 *   lacks releases nothing (labelled or not).
 * - **Denies**: every deny of the subject that binds the reader by its public terms — names the
 *   reader (as that practitioner, or its organization or any organization with one of its roles),
 *   is in force (not revoked, inside its window), covers READ and the purpose of the access — at the
 *   access block and at the release block: if its sealed `denyLabels` meet the record's labels,
 *   refuse. Its public category mask plays no part (a sealed-only deny has none). A binding deny
 *   whose opening is missing refuses (fail closed). Break-glass reads (purpose ETREAT or BTG) are
 *   bound by exactly the denies whose purposes include that emergency purpose, as on chain.
 * - **Study reads** (basis STUDY, issue 12: a custodian's research steward reading for an approved
 *   study; the chain checked the study and the patient's research consents) release only records
 *   without a sensitive label; binding denies apply as above.
 * - **Subject reads** (the controller, an ACCESS guardian) are not bound by denies or permits.
 * - A record whose label opening is missing is refused to every consent or emergency reader.
 *
 * @example
 * ```ts
 * import { custodianKeyholderId, evaluateSealed } from "medledger/keyholder";
 * const custodian = custodianKeyholderId(set.members, record.custodian);
 * const verdict = evaluateSealed({ basis, category, labels, permit, denies });
 * ```
 */
import type { SealedTermsOpening } from "../sealed/commitments.js";
import { AccessBasisCode, ACTION_READ, EffectCode, GranteeKindCode } from "./chainView.js";
import type { AccessorState, ConsentPublic } from "./chainView.js";

/**
 * The record's custodian keyholder: the lowest active id run by the custodian organization, else
 * (custodian 0, or no active keyholder of it) the lowest active id (the policy keyholder).
 */
export function custodianKeyholderId(
  members: readonly { id: number; orgId: number }[],
  custodianOrg: number,
): number | undefined {
  let own: number | undefined;
  let lowest: number | undefined;
  for (const m of members) {
    if (lowest === undefined || m.id < lowest) lowest = m.id;
    if (custodianOrg !== 0 && m.orgId === custodianOrg && (own === undefined || m.id < own)) own = m.id;
  }
  return own ?? lowest;
}

/** Whether a deny's public terms bind `reader` reading for `purpose` at time `at` (block seconds). */
export function denyBinds(c: ConsentPublic, reader: AccessorState & { account: string }, purpose: number, at: number) {
  if (c.effect !== EffectCode.DENY) return false;
  const names =
    c.granteeKind === GranteeKindCode.PRACTITIONER
      ? reader.practitionerId !== 0 && c.granteeAccount.toLowerCase() === reader.account.toLowerCase()
      : (c.granteeOrg === 0 || c.granteeOrg === reader.orgId) && (c.granteeRoles & reader.roles) !== 0;
  return (
    names &&
    c.revokedAt === 0 &&
    c.validFrom <= at &&
    (c.validUntil === 0 || at < c.validUntil) &&
    (c.actions & ACTION_READ) !== 0 &&
    purpose >= 0 &&
    purpose <= 15 &&
    (c.purposes & (1 << purpose)) !== 0
  );
}

/** Why the sealed rule refused (kept in the keyholder's keyed log; the reader sees SEALED_DENIED only). */
export type SealedReason =
  | "LABEL_OPENING_MISSING"
  | "PERMIT_OPENING_MISSING"
  | "PERMIT_LABELS"
  | "PERMIT_REFINEMENT"
  | "DENY_OPENING_MISSING"
  | "DENY_LABELS";

export type SealedVerdict = { allowed: true } | { allowed: false; reason: SealedReason };

export interface SealedInput {
  /** AccessBasisCode of the (would-be) access. */
  basis: number;
  /** The record's public category (0..15). */
  category: number;
  /** The record's verified label mask; undefined when its opening is missing or does not match. */
  labels: number | undefined;
  /** CONSENT: the permit's verified sealed terms; undefined when missing. */
  permit?: SealedTermsOpening | undefined;
  /** The binding denies (at every block checked): their verified sealed terms, undefined when missing. */
  denies: readonly (SealedTermsOpening | undefined)[];
}

/**
 * The sealed rule. Every input is examined whatever the outcome (no early exit on the labels), so
 * the work done does not depend on whether the record is sensitive.
 */
export function evaluateSealed(input: SealedInput): SealedVerdict {
  if (input.basis === AccessBasisCode.SUBJECT) return { allowed: true };
  const labels = input.labels ?? 0;
  let denyMissing = false;
  let denyHit = false;
  for (const d of input.denies) {
    if (d === undefined) denyMissing = true;
    else if ((d.denyLabels & labels) !== 0) denyHit = true;
  }
  let permitMissing = false;
  let permitLabels = false;
  let permitRefinement = false;
  if (input.basis === AccessBasisCode.CONSENT) {
    const p = input.permit;
    if (p === undefined) permitMissing = true;
    else {
      permitLabels = (labels & ~p.allowLabels) !== 0;
      permitRefinement = labels !== 0 && p.refinement !== 0 && (p.refinement & (1 << input.category)) === 0;
    }
  } else if (input.basis === AccessBasisCode.STUDY) {
    // A custodian's read for a study (issue 12): the chain checked the study and the research
    // consents; a study never reads a record that carries a sensitive label.
    permitLabels = labels !== 0;
  } else if (input.basis !== AccessBasisCode.EMERGENCY) {
    return { allowed: false, reason: "PERMIT_OPENING_MISSING" };
  }
  if (input.labels === undefined) return { allowed: false, reason: "LABEL_OPENING_MISSING" };
  if (denyMissing) return { allowed: false, reason: "DENY_OPENING_MISSING" };
  if (denyHit) return { allowed: false, reason: "DENY_LABELS" };
  if (permitMissing) return { allowed: false, reason: "PERMIT_OPENING_MISSING" };
  if (permitLabels) return { allowed: false, reason: "PERMIT_LABELS" };
  if (permitRefinement) return { allowed: false, reason: "PERMIT_REFINEMENT" };
  return { allowed: true };
}
