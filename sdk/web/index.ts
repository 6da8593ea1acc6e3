/**
 * The MedLedger web view (Node only: `medledger/web`): a small server over the indexer and the
 * chain that shows patients who read their records and auditors an access console, with
 * EIP-4361 sign-in, cookie sessions, CSRF protection and a live feed. See docs/web.md.
 *
 * @example
 * ```ts
 * import { readWebConfig, startWebServer } from "medledger/web";
 * const web = await startWebServer(await readWebConfig("web.json"));
 * console.log(`open ${web.url}`);
 * ```
 */
export * from "./config.js";
export * from "./names.js";
export * from "./siwe.js";
export * from "./revoke.js";
export * from "./auth.js";
export * from "./feed.js";
export * from "./assets.js";
export { ROUTES, HttpError, noticeVisible } from "./routes.js";
export type { RouteDef, WebContext, WebRequest } from "./routes.js";
export * from "./server.js";
export * from "./command.js";
