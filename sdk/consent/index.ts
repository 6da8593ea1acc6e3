/**
 * Consent actions over a {@link LedgerContext} (see ./actions.ts) and the name → terms
 * conversion (./terms.ts). `MedLedger.consent` is the same, bound to one participant.
 *
 * @example
 * ```ts
 * import { consent } from "medledger";
 * const signed = await consent.signGrant(patientCtx, { subject, consent: { grantee: { practitioner: doctor }, categories: ["NOTES"], purposes: ["TREAT"] } });
 * const { value: consentId } = await consent.relay(hospitalCtx, signed);
 * ```
 */
export {
  grant,
  revoke,
  signGrant,
  signRevoke,
  relay,
  list,
  check,
  setBreakGlassOptOut,
  type ConsentDecision,
  type ConsentRecord,
  type SignedGrant,
  type SignedRevoke,
  type SignOptions,
} from "./actions.js";
export { consentTerms, type ConsentInput, type ConsentTerms } from "./terms.js";
