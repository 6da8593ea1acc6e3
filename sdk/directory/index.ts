/**
 * Directory actions over a {@link LedgerContext} (./actions.ts) and governance through the
 * timelock (./governance.ts). `MedLedger.directory` is the same, bound to one participant.
 *
 * @example
 * ```ts
 * import { directory } from "medledger";
 * await directory.enrollPractitioner(adminCtx, { orgId, account: doctor, roles: ["CLINICIAN"], credentialValidUntil: new Date("2031-01-01"), encryptionKey });
 * ```
 */
export {
  admitOrganization,
  admitOrganizationCall,
  enrollPractitioner,
  registerPatient,
  registerAccountKey,
  subjectIdFor,
  rotatePatientKey,
  rotatePractitionerKey,
  rotateController,
  setGuardian,
  suspendPractitioner,
  suspendOrganization,
  type AdmitOrganizationParams,
} from "./actions.js";
