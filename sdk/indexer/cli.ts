/**
 * The `index` and `audit` command modules live with the other commands of the `medledger` CLI
 * (sdk/cli/commands/audit.ts); re-exported here for `medledger/indexer` users.
 */
export { registerAuditCommands, registerIndexCommands, renderTable, ProgressBar } from "../cli/commands/audit.js";
export type { CliIo } from "../cli/commands/audit.js";
