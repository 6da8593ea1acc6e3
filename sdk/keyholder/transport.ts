/**
 * Two transports for one {@link KeyholderApi}: HTTP to a keyholder service (`httpKeyholder`) and a
 * direct call to an in-process core (`localKeyholder`, the embedded default for tests and demos).
 * Both hand the core a JSON round-trip of the body, so they behave alike; both turn a refusal into
 * a {@link KeyholderRefusal} with its stable code.
 *
 * @example
 * ```ts
 * import { httpKeyholder } from "medledger/keyholder";
 * const kh = httpKeyholder("http://127.0.0.1:8710", { timeoutMs: 5000 });
 * ```
 */
import type { KeyholderApi, KeyholderCore } from "./core.js";
import { KeyholderRefusal, isRefusalCode } from "./protocol.js";

const jsonCopy = (body: unknown): unknown => JSON.parse(JSON.stringify(body)) as unknown;

/** A keyholder core called in process (no network). */
export function localKeyholder(core: KeyholderCore): KeyholderApi {
  return {
    info: () => core.info(),
    deposit: (b) => core.deposit(jsonCopy(b)),
    preflight: (b) => core.preflight(jsonCopy(b)),
    release: (b) => core.release(jsonCopy(b)),
    erase: (b) => core.erase(jsonCopy(b)),
    retire: (b) => core.retire(jsonCopy(b)),
    reshareDeal: (b) => core.reshareDeal(jsonCopy(b)),
    reshareAccept: (b) => core.reshareAccept(jsonCopy(b)),
    reshareFinalize: (b) => core.reshareFinalize(jsonCopy(b)),
    reshareList: (b) => core.reshareList(jsonCopy(b)),
    logHead: () => core.logHead(),
    openings: (b) => core.openings(jsonCopy(b)),
    logEntries: (b) => core.logEntries(jsonCopy(b)),
    openingsExport: (b) => core.openingsExport(jsonCopy(b)),
  };
}

/** A keyholder service over HTTP(S). Network failures and timeouts are `CHAIN_UNAVAILABLE`-free: they throw `KeyholderUnreachable`. */
export class KeyholderUnreachable extends Error {
  override name = "KeyholderUnreachable";
  constructor(
    readonly endpoint: string,
    readonly timedOut: boolean,
    cause: unknown,
  ) {
    super(`${timedOut ? "Timed out calling" : "Could not reach"} keyholder ${endpoint}`, { cause });
  }
}

export function httpKeyholder(endpoint: string, opts: { timeoutMs?: number } = {}): KeyholderApi {
  const base = endpoint.replace(/\/+$/, "");
  const timeoutMs = opts.timeoutMs ?? 5000;
  async function call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new KeyholderUnreachable(base, (err as Error).name === "TimeoutError", err);
    }
    let parsed: unknown;
    try {
      parsed = await res.json();
    } catch (err) {
      throw new KeyholderUnreachable(base, (err as Error).name === "TimeoutError", err);
    }
    if (res.ok) return parsed as T;
    const e = parsed as { code?: unknown; message?: unknown; details?: unknown };
    const code = isRefusalCode(e?.code) ? e.code : "INTERNAL";
    throw new KeyholderRefusal(
      code,
      typeof e?.message === "string" ? e.message : `HTTP ${res.status}`,
      typeof e?.details === "string" ? e.details : undefined,
    );
  }
  return {
    info: () => call("GET", "/v1/info"),
    deposit: (b) => call("POST", "/v1/shares", b),
    preflight: (b) => call("POST", "/v1/preflight", b),
    release: (b) => call("POST", "/v1/release", b),
    erase: (b) => call("POST", "/v1/erase", b),
    retire: (b) => call("POST", "/v1/retire", b),
    reshareDeal: (b) => call("POST", "/v1/reshare/deal", b),
    reshareAccept: (b) => call("POST", "/v1/reshare/accept", b),
    reshareFinalize: (b) => call("POST", "/v1/reshare/finalize", b),
    reshareList: (b) => call("POST", "/v1/reshare/list", b),
    logHead: () => call("GET", "/v1/log/head"),
    openings: (b) => call("POST", "/v1/openings", b),
    logEntries: (b) => call("POST", "/v1/log/entries", b),
    openingsExport: (b) => call("POST", "/v1/audit/openings", b),
  };
}
