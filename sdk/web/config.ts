/**
 * The web view's configuration file (JSON), validated field by field before anything starts (see
 * docs/web.md, "Configuration"). It holds no secret: the relayer's keystore passphrase comes from
 * the environment variable it names. Relative paths are resolved against the file's folder.
 *
 * @example
 * ```json
 * {
 *   "listen": { "host": "127.0.0.1", "port": 8720 },
 *   "rpcUrl": "http://127.0.0.1:8545",
 *   "addressBook": "deployments/localhost.json",
 *   "index": ".medledger/index.sqlite",
 *   "follow": true,
 *   "names": "names.json",
 *   "blobs": "blobs",
 *   "relayer": { "keystore": "keys/relayer.json", "passphraseEnv": "MEDLEDGER_RELAYER_PASSPHRASE" }
 * }
 * ```
 */
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";

import { InvalidInputError } from "../errors.js";

export interface WebConfig {
  listen: { host: string; port: number };
  /** The origin people type in their browser (SIWE domain and URI, the Origin writes must carry). */
  publicOrigin: string | undefined;
  rpcUrl: string;
  addressBook: string;
  /** An SQLite file or a postgres:// URL (as `--index`). */
  index: string;
  /** Run the indexer in this process, following the chain (else another process keeps the index current). */
  follow: boolean;
  confirmations: number;
  /** The names file: people and organizations as registered off chain. */
  names: string | undefined;
  /** The filesystem blob store with envelopes and batch manifests (integrity badges). */
  blobs: string | undefined;
  /** The account that relays signed revocations (without it the page is read-only). */
  relayer: { keystore: string; passphraseEnv: string } | undefined;
  /** Sessions end this long after sign-in. */
  sessionTtlSeconds: number;
  /** Sign-in challenges expire after this. */
  challengeTtlSeconds: number;
  /** How long an on-chain authorization (controller, guardian, role) is trusted before it is checked again. */
  authCheckSeconds: number;
  /** Secure cookies (set when served over https, behind a TLS proxy). */
  secureCookies: boolean;
  pollIntervalMs: number;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
}

export const WEB_DEFAULTS = {
  listen: { host: "127.0.0.1", port: 8720 },
  follow: true,
  confirmations: 0,
  sessionTtlSeconds: 3600,
  challengeTtlSeconds: 300,
  authCheckSeconds: 15,
  secureCookies: false,
  pollIntervalMs: 500,
  logLevel: "warn",
  passphraseEnv: "MEDLEDGER_RELAYER_PASSPHRASE",
} as const;

const LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
const KNOWN = new Set([
  "listen",
  "publicOrigin",
  "rpcUrl",
  "addressBook",
  "index",
  "follow",
  "confirmations",
  "names",
  "blobs",
  "relayer",
  "sessionTtlSeconds",
  "challengeTtlSeconds",
  "authCheckSeconds",
  "secureCookies",
  "pollIntervalMs",
  "logLevel",
]);

function fail(field: string, expected: string, got: unknown): never {
  throw new InvalidInputError(`Invalid web config: ${field}`, {
    details: `expected ${expected}, got ${JSON.stringify(got)}`,
  });
}

function str(o: Record<string, unknown>, key: string, fallback?: string): string {
  const v = o[key] ?? fallback;
  if (typeof v !== "string" || v.length === 0) fail(key, "a non-empty string", v);
  return v;
}

function optionalStr(o: Record<string, unknown>, key: string): string | undefined {
  return o[key] === undefined ? undefined : str(o, key);
}

function int(o: Record<string, unknown>, key: string, min: number, max: number, fallback: number): number {
  const v = o[key] ?? fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) fail(key, `an integer in ${min}..${max}`, v);
  return v;
}

function bool(o: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const v = o[key] ?? fallback;
  if (typeof v !== "boolean") fail(key, "true or false", v);
  return v;
}

/**
 * Validates a parsed config; relative paths are resolved against `baseDir`.
 *
 * @example
 * ```ts
 * const config = validateWebConfig({ rpcUrl: "http://127.0.0.1:8545", addressBook: "deployments/localhost.json", index: "index.sqlite" });
 * ```
 */
export function validateWebConfig(value: unknown, baseDir = process.cwd()): WebConfig {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("(root)", "an object", value);
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!KNOWN.has(key)) fail(key, `one of ${[...KNOWN].join(", ")}`, key);
  const path = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const listen = (o.listen ?? WEB_DEFAULTS.listen) as Record<string, unknown>;
  if (typeof listen !== "object" || listen === null || Array.isArray(listen)) fail("listen", "{ host, port }", listen);
  const rpcUrl = str(o, "rpcUrl");
  if (!/^https?:\/\//.test(rpcUrl)) fail("rpcUrl", "an http(s) URL", rpcUrl);
  const index = str(o, "index");
  const publicOrigin = optionalStr(o, "publicOrigin");
  if (publicOrigin !== undefined && !/^https?:\/\/[^/\s]+$/.test(publicOrigin)) {
    fail("publicOrigin", "an origin such as https://audit.example.org (no path)", publicOrigin);
  }
  let relayer: WebConfig["relayer"];
  if (o.relayer !== undefined) {
    const r = o.relayer as Record<string, unknown>;
    if (typeof r !== "object" || r === null || Array.isArray(r)) fail("relayer", "{ keystore, passphraseEnv }", r);
    const passphraseEnv = str(r, "passphraseEnv", WEB_DEFAULTS.passphraseEnv);
    if (!/^[A-Z_][A-Z0-9_]*$/.test(passphraseEnv))
      fail("relayer.passphraseEnv", "an environment variable name", passphraseEnv);
    relayer = { keystore: path(str(r, "keystore")), passphraseEnv };
  }
  const logLevel = o.logLevel ?? WEB_DEFAULTS.logLevel;
  if (typeof logLevel !== "string" || !LEVELS.includes(logLevel)) fail("logLevel", LEVELS.join("|"), logLevel);
  const names = optionalStr(o, "names");
  const blobs = optionalStr(o, "blobs");
  return {
    listen: { host: str(listen, "host", "127.0.0.1"), port: int(listen, "port", 0, 65535, 8720) },
    publicOrigin,
    rpcUrl,
    addressBook: path(str(o, "addressBook")),
    index: /^postgres(ql)?:\/\//.test(index) ? index : path(index.replace(/^sqlite:/, "")),
    follow: bool(o, "follow", WEB_DEFAULTS.follow),
    confirmations: int(o, "confirmations", 0, 1000, WEB_DEFAULTS.confirmations),
    names: names === undefined ? undefined : path(names),
    blobs: blobs === undefined ? undefined : path(blobs),
    relayer,
    sessionTtlSeconds: int(o, "sessionTtlSeconds", 60, 7 * 86_400, WEB_DEFAULTS.sessionTtlSeconds),
    challengeTtlSeconds: int(o, "challengeTtlSeconds", 30, 3600, WEB_DEFAULTS.challengeTtlSeconds),
    authCheckSeconds: int(o, "authCheckSeconds", 0, 3600, WEB_DEFAULTS.authCheckSeconds),
    secureCookies: bool(o, "secureCookies", WEB_DEFAULTS.secureCookies),
    pollIntervalMs: int(o, "pollIntervalMs", 50, 60_000, WEB_DEFAULTS.pollIntervalMs),
    logLevel: logLevel as WebConfig["logLevel"],
  };
}

/**
 * Reads and validates a config file.
 *
 * @example
 * ```ts
 * import { readWebConfig } from "medledger/web";
 * const config = await readWebConfig("web.json");
 * ```
 */
export async function readWebConfig(file: string): Promise<WebConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new InvalidInputError(`Cannot read the web config ${file}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new InvalidInputError(`The web config ${file} is not JSON`, { cause: err });
  }
  return validateWebConfig(parsed, dirname(resolve(file)));
}
