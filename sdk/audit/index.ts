/**
 * Audit over a {@link LedgerContext}: a subject's access log (./history.ts). Rebuilding the whole
 * state from events is `replay` (./replay.ts).
 *
 * @example
 * ```ts
 * import { audit } from "medledger";
 * const log = await audit.accessHistory(ctx, { subject });
 * ```
 */
export { accessHistory, type AccessLogEntry } from "./history.js";
