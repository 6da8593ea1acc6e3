/**
 * Aggregation servers (issue 12): the keyholders double as the servers of secure aggregation.
 * See docs/research.md ("Aggregation protocol") and `server.ts`.
 *
 * @example
 * ```ts
 * import { createAggregationServer, openAggregationStore, contractAggregationChain, registerAggregationRoutes } from "medledger/keyholder";
 * ```
 *
 * @module
 */
export { contractAggregationChain, type AggregationChain, type RunView, type StudyView } from "./chain.js";
export { openAggregationStore, type AggregationStore, type StoredShare, type StoredSum } from "./store.js";
export { createAggregationServer, type AggregationApi, type AggregationServerOptions } from "./server.js";
export { registerAggregationRoutes, SHARE_BODY_LIMIT } from "./routes.js";
export { AggregationUnreachable, httpAggregationServer, localAggregationServer } from "./transport.js";
