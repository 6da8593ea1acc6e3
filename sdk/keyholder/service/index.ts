/**
 * `medledger/keyholder/service`: the keyholder service an operator runs (`medledger keyholder start
 * --config <file>`): its configuration, the runtime that starts it, the Fastify server and the
 * command. Node only. Fastify and pino are optional peer dependencies of medledger: install them
 * where the service runs (`npm install fastify pino`); without them, starting the service throws a
 * DependencyMissingError naming them. See docs/keyholders.md.
 *
 * @example
 * ```ts
 * import { readKeyholderConfig, startKeyholderService } from "medledger/keyholder/service";
 * const service = await startKeyholderService(await readKeyholderConfig("keyholder.json"), { passphrase });
 * process.once("SIGTERM", () => service.stop());
 * ```
 *
 * @module
 */
export { CONFIG_DEFAULTS, readKeyholderConfig, validateKeyholderConfig } from "./config.js";
export type { KeyholderConfig } from "./config.js";
export { passphraseFor, registerKeyholderCommand, runKeyholder } from "./command.js";
export type { CommandLike } from "./command.js";
export { startKeyholderService } from "./runtime.js";
export type { RunningKeyholder } from "./runtime.js";
export { REDACT_PATHS, buildKeyholderServer, keyholderLogger, keyholderServiceDependencies } from "./server.js";
export type { ServerOptions } from "./server.js";
