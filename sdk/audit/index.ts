/**
 * Audit over a {@link LedgerContext}: the audit queries (./queries.ts: accesses by any filter,
 * consents in force and their history, record versions, reviews, who saw my data, the live feed),
 * answered by the index when there is one and by the chain otherwise; a subject's raw access log
 * (./history.ts). Rebuilding the whole state from events is `replay` (./replay.ts).
 *
 * @example
 * ```ts
 * import { audit } from "medledger";
 * const who = await audit.auditQueries(ctx).whoSawMyData({ subject });
 * const log = await audit.accessHistory(ctx, { subject });
 * ```
 */
export { accessHistory, type AccessLogEntry } from "./history.js";
export {
  auditQueries,
  checkIndex,
  createAuditQueries,
  type AuditQueries,
  type AuditQueriesOptions,
  type SourcePreference,
} from "./queries.js";
