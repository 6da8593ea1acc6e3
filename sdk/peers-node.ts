/**
 * Synchronous loading of optional peer dependencies, for Node-only code whose API is synchronous
 * (the keyholder service's `buildKeyholderServer` and `keyholderLogger`). The peers it loads this
 * way (Fastify, pino) ship CommonJS, so `require` gives the same module instance as `import`.
 * Errors as in `./peers.ts`.
 *
 * @example
 * ```ts
 * const { fastify } = requireOptionalDependencies<{ fastify: typeof import("fastify") }>(
 *   "The keyholder service", ["fastify"]);
 * ```
 *
 * @internal
 * @module
 */
import { createRequire } from "node:module";

import { brokenPeerError, isNotInstalled, missingPeersError } from "./peers.js";

const requireFromHere = createRequire(import.meta.url);

/**
 * Requires every package in `names` (resolved from the installed medledger package, as an app's
 * own dependency would be). Throws one DependencyMissingError naming every missing package.
 */
export function requireOptionalDependencies<T extends Record<string, unknown>>(
  feature: string,
  names: readonly (keyof T & string)[],
): T {
  const loaded: Record<string, unknown> = {};
  const missing: string[] = [];
  let firstCause: unknown;
  for (const name of names) {
    try {
      loaded[name] = requireFromHere(name);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code !== "MODULE_NOT_FOUND" || !isNotInstalled(err, name)) throw brokenPeerError(name, err);
      missing.push(name);
      firstCause ??= err;
    }
  }
  if (missing.length > 0) throw missingPeersError(feature, missing, firstCause);
  return loaded as T;
}
