/**
 * Consent actions over a {@link LedgerContext} (see ./actions.ts) and the name → terms
 * conversion (./terms.ts). `MedLedger.consent` is the same, bound to one participant.
 *
 * @example
 * ```ts
 * import { consent } from "medledger";
 * const { signed, opening } = await consent.signGrant(patientCtx, { subject, consent: { grantee: { practitioner: doctor }, categories: ["NOTES"], purposes: ["TREAT"] } });
 * const { value: consentId } = await consent.relay(hospitalCtx, signed); // the patient's app keeps `opening`
 * ```
 */
export {
  grant,
  revoke,
  deliverOpening,
  rekeyOpened,
  OpeningNotDeliveredError,
  signGrant,
  signRevoke,
  relay,
  list,
  check,
  setBreakGlassOptOut,
  type ConsentDecision,
  type ConsentRecord,
  type SignedGrant,
  type SignedGrantWithOpening,
  type SignedRevoke,
  type SignOptions,
} from "./actions.js";
export {
  consentTerms,
  type ConsentInput,
  type ConsentTerms,
  type SealedConsent,
  type SealedTermsOpening,
} from "./terms.js";
