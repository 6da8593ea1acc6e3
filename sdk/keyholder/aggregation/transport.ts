/**
 * Two transports for one {@link AggregationApi}: HTTP to a keyholder service's aggregation routes
 * (`httpAggregationServer`, at the endpoint registered in KeyholderRegistry) and a direct call to an
 * in-process server (`localAggregationServer`, for tests and the embedded demo). Both hand the
 * server a JSON round-trip of the body, so they behave alike, and both turn a refusal into a
 * {@link ShareRefusedError} with its stable code. A server that cannot be reached is an
 * {@link AggregationUnreachable} (the caller reports it as a run waiting for that server).
 *
 * @example
 * ```ts
 * import { httpAggregationServer } from "medledger/keyholder";
 * const server = httpAggregationServer("http://127.0.0.1:8710", { timeoutMs: 5000 });
 * ```
 */
import { MedLedgerError, ErrorCodes } from "../../errors.js";
import { ShareRefusedError, isShareRefusalCode } from "../../research/errors.js";
import type { AggregationApi } from "./server.js";

const jsonCopy = (body: unknown): unknown => JSON.parse(JSON.stringify(body)) as unknown;

/** An aggregation server called in process. */
export function localAggregationServer(server: AggregationApi): AggregationApi {
  return {
    receiveShare: (b) => server.receiveShare(jsonCopy(b)),
    aggregate: (b) => server.aggregate(jsonCopy(b)),
    sumShare: (b) => server.sumShare(jsonCopy(b)),
    runStatus: (b) => server.runStatus(jsonCopy(b)),
  };
}

/** The server did not answer (down, unreachable, or too slow). */
export class AggregationUnreachable extends MedLedgerError {
  override name = "AggregationUnreachable";
  constructor(
    readonly endpoint: string,
    readonly timedOut: boolean,
    cause: unknown,
  ) {
    super(
      ErrorCodes.AGGREGATION_PENDING,
      `${timedOut ? "Timed out calling" : "Could not reach"} aggregation server ${endpoint}`,
      {
        cause,
      },
    );
  }
}

export function httpAggregationServer(endpoint: string, opts: { timeoutMs?: number } = {}): AggregationApi {
  const base = endpoint.replace(/\/+$/, "");
  const timeoutMs = opts.timeoutMs ?? 10_000;
  async function post<T>(path: string, body: unknown): Promise<T> {
    let res: Response;
    let parsed: unknown;
    try {
      res = await fetch(`${base}/v1/aggregation${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      parsed = await res.json();
    } catch (err) {
      throw new AggregationUnreachable(base, (err as Error).name === "TimeoutError", err);
    }
    if (res.ok) return parsed as T;
    const e = parsed as { code?: unknown; message?: unknown; details?: unknown };
    const code = isShareRefusalCode(e?.code) ? e.code : "INTERNAL";
    throw new ShareRefusedError(code, typeof e?.message === "string" ? e.message : `HTTP ${res.status}`, {
      ...(typeof e?.details === "string" ? { details: e.details } : {}),
    });
  }
  return {
    receiveShare: (b) => post("/shares", b),
    aggregate: (b) => post("/aggregate", b),
    sumShare: (b) => post("/sum-share", b),
    runStatus: (b) => post("/status", b),
  };
}
