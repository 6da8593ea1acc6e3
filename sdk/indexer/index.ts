/**
 * The MedLedger indexer and audit queries (Node only: `medledger/indexer`).
 *
 * - {@link Indexer}: follows a deployment into SQLite (node:sqlite) or PostgreSQL (pg).
 * - {@link IndexSource} / {@link ChainSource}: the same audit queries from the index or from the chain.
 * - {@link watch}: a live feed of accesses, as mined and as confirmed.
 * - CLI command modules: {@link registerIndexCommands}, {@link registerAuditCommands}.
 *
 * @example
 * ```ts
 * import { Indexer, IndexSource, openStore, deploymentFromAddressBook } from "medledger/indexer";
 * const store = await openStore(".medledger/index.sqlite");
 * const indexer = await Indexer.create({ store, rpc: "http://127.0.0.1:8545", deployment });
 * await indexer.sync();
 * const { items } = await new IndexSource(store).accesses({ subject, order: "desc" });
 * ```
 */
export * from "./errors.js";
export * from "./schema.js";
export * from "./store/index.js";
export * from "./events.js";
export * from "./rpc.js";
export * from "./indexer.js";
export * from "./queries.js";
export * from "./index-source.js";
export * from "./chain-source.js";
export * from "./watch.js";
export * from "./cli.js";
