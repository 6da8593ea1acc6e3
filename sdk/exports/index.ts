/**
 * Exports of audit query results (`medledger/exports`): CSV and JSON of any query, FHIR R4
 * AuditEvent Bundles (IHE BALP) for accesses, FHIR R4 Consent resources (and `consent import`
 * back), and the integrity report of a subject's records.
 *
 * @example
 * ```ts
 * import { toCsv, accessesToAuditEventBundle, consentToFhir, buildIntegrityReport } from "medledger/exports";
 * ```
 */
export * from "./csv.js";
export * from "./fhir-audit.js";
export * from "./fhir-consent.js";
export * from "./integrity.js";
export * from "./collect.js";
export { UnsupportedFhirElementError } from "../indexer/errors.js";
