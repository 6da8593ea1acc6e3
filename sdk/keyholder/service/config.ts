/**
 * The keyholder service's configuration file (JSON), validated field by field before anything
 * starts. See docs/keyholders.md ("Configuration"). Secrets are never in it: the keystore
 * passphrase comes from the environment variable it names, or from a prompt.
 *
 * @example
 * ```ts
 * import { readKeyholderConfig } from "medledger/keyholder/service";
 * const config = await readKeyholderConfig("keyholder.json");
 * ```
 */
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";

import { InvalidInputError } from "../../errors.js";
import type { CoreConfig } from "../core.js";

export interface KeyholderConfig extends CoreConfig {
  listen: { host: string; port: number };
  rpcUrl: string;
  addressBook: string;
  keystore: string;
  passphraseEnv: string;
  dataDir: string;
  anchorIntervalSeconds: number;
  anchorPadQuantum: number;
  eraseWatchIntervalSeconds: number;
  blockCacheMs: number;
  bodyLimitBytes: number;
  requestTimeoutMs: number;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
}

export const CONFIG_DEFAULTS = {
  listen: { host: "127.0.0.1", port: 8710 },
  passphraseEnv: "MEDLEDGER_KEYHOLDER_PASSPHRASE",
  confirmations: 1,
  maxAccessAgeSeconds: 300,
  maxClockSkewSeconds: 30,
  maxRequestLifetimeSeconds: 300,
  pendingTtlSeconds: 3600,
  policyTokenLifetimeSeconds: 30,
  anchorIntervalSeconds: 3600,
  anchorPadQuantum: 16,
  eraseWatchIntervalSeconds: 5,
  blockCacheMs: 250,
  rateLimit: { burst: 200, perSecond: 100 },
  bodyLimitBytes: 64 * 1024,
  requestTimeoutMs: 10_000,
  logLevel: "info",
} as const;

const LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
const KNOWN = new Set([
  "listen",
  "rpcUrl",
  "addressBook",
  "keystore",
  "passphraseEnv",
  "dataDir",
  ...Object.keys(CONFIG_DEFAULTS),
]);

function fail(field: string, expected: string, got: unknown): never {
  throw new InvalidInputError(`Invalid keyholder config: ${field}`, {
    details: `expected ${expected}, got ${JSON.stringify(got)}`,
  });
}

function str(o: Record<string, unknown>, key: string, fallback?: string): string {
  const v = o[key] ?? fallback;
  if (typeof v !== "string" || v.length === 0) fail(key, "a non-empty string", v);
  return v;
}

function num(o: Record<string, unknown>, key: string, min: number, max: number, fallback: number): number {
  const v = o[key] ?? fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) fail(key, `an integer in ${min}..${max}`, v);
  return v;
}

/** Validates a parsed config; relative paths are resolved against `baseDir`. */
export function validateKeyholderConfig(value: unknown, baseDir = process.cwd()): KeyholderConfig {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("(root)", "an object", value);
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!KNOWN.has(key)) fail(key, `one of ${[...KNOWN].join(", ")}`, key);
  const listen = (o.listen ?? CONFIG_DEFAULTS.listen) as Record<string, unknown>;
  if (typeof listen !== "object" || listen === null) fail("listen", "{ host, port }", listen);
  const rate = (o.rateLimit ?? CONFIG_DEFAULTS.rateLimit) as Record<string, unknown>;
  if (typeof rate !== "object" || rate === null) fail("rateLimit", "{ burst, perSecond }", rate);
  const path = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const rpcUrl = str(o, "rpcUrl");
  if (!/^https?:\/\//.test(rpcUrl)) fail("rpcUrl", "an http(s) URL", rpcUrl);
  const logLevel = o.logLevel ?? CONFIG_DEFAULTS.logLevel;
  if (typeof logLevel !== "string" || !LEVELS.includes(logLevel)) fail("logLevel", LEVELS.join("|"), logLevel);
  const passphraseEnv = str(o, "passphraseEnv", CONFIG_DEFAULTS.passphraseEnv);
  if (!/^[A-Z_][A-Z0-9_]*$/.test(passphraseEnv)) fail("passphraseEnv", "an environment variable name", passphraseEnv);
  return {
    listen: { host: str(listen, "host", "127.0.0.1"), port: num(listen, "port", 0, 65535, 8710) },
    rpcUrl,
    addressBook: path(str(o, "addressBook")),
    keystore: path(str(o, "keystore")),
    passphraseEnv,
    dataDir: path(str(o, "dataDir")),
    confirmations: num(o, "confirmations", 0, 1000, CONFIG_DEFAULTS.confirmations),
    maxAccessAgeSeconds: num(o, "maxAccessAgeSeconds", 1, 86_400, CONFIG_DEFAULTS.maxAccessAgeSeconds),
    maxClockSkewSeconds: num(o, "maxClockSkewSeconds", 0, 3600, CONFIG_DEFAULTS.maxClockSkewSeconds),
    maxRequestLifetimeSeconds: num(o, "maxRequestLifetimeSeconds", 1, 3600, CONFIG_DEFAULTS.maxRequestLifetimeSeconds),
    pendingTtlSeconds: num(o, "pendingTtlSeconds", 1, 30 * 86_400, CONFIG_DEFAULTS.pendingTtlSeconds),
    policyTokenLifetimeSeconds: num(
      o,
      "policyTokenLifetimeSeconds",
      1,
      600,
      CONFIG_DEFAULTS.policyTokenLifetimeSeconds,
    ),
    anchorIntervalSeconds: num(o, "anchorIntervalSeconds", 0, 7 * 86_400, CONFIG_DEFAULTS.anchorIntervalSeconds),
    anchorPadQuantum: num(o, "anchorPadQuantum", 1, 4096, CONFIG_DEFAULTS.anchorPadQuantum),
    eraseWatchIntervalSeconds: num(o, "eraseWatchIntervalSeconds", 1, 3600, CONFIG_DEFAULTS.eraseWatchIntervalSeconds),
    blockCacheMs: num(o, "blockCacheMs", 0, 60_000, CONFIG_DEFAULTS.blockCacheMs),
    rateLimit: {
      burst: num(rate, "burst", 1, 1_000_000, CONFIG_DEFAULTS.rateLimit.burst),
      perSecond: num(rate, "perSecond", 1, 1_000_000, CONFIG_DEFAULTS.rateLimit.perSecond),
    },
    bodyLimitBytes: num(o, "bodyLimitBytes", 1024, 16 * 1024 * 1024, CONFIG_DEFAULTS.bodyLimitBytes),
    requestTimeoutMs: num(o, "requestTimeoutMs", 100, 600_000, CONFIG_DEFAULTS.requestTimeoutMs),
    logLevel: logLevel as KeyholderConfig["logLevel"],
  };
}

/** Reads and validates a config file; paths in it are relative to the file's directory. */
export async function readKeyholderConfig(path: string): Promise<KeyholderConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new InvalidInputError(`Cannot read keyholder config ${path}`, { cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new InvalidInputError(`Keyholder config ${path} is not JSON`, { cause });
  }
  return validateKeyholderConfig(parsed, dirname(resolve(path)));
}
