/**
 * Typed errors of research: a query outside the language (naming the unsupported part), a share
 * an aggregation server refuses (wrong length, out of range, not matching its commitment…), a run
 * waiting for servers or custodians (saying which), and a study the chain refuses.
 *
 * @example
 * ```ts
 * import { QueryUnsupportedError, parseQuery } from "medledger/research";
 * try { parseQuery(json); } catch (err) {
 *   if (err instanceof QueryUnsupportedError) console.log(err.path, err.part); // "/criteria/1", "not"
 * }
 * ```
 */
import { ErrorCodes, MedLedgerError } from "../errors.js";
import type { MedLedgerErrorOptions } from "../errors.js";

/**
 * The query is not in the language (or a value in it is malformed). `path` is a JSON pointer to
 * the offending part, `part` names it (a key, a kind, an attribute).
 */
export class QueryUnsupportedError extends MedLedgerError {
  override name = "QueryUnsupportedError";
  constructor(
    readonly path: string,
    readonly part: string,
    shortMessage: string,
    options: MedLedgerErrorOptions = {},
  ) {
    super(ErrorCodes.QUERY_UNSUPPORTED, shortMessage, {
      ...options,
      details: [`at ${path === "" ? "/" : path}`, options.details].filter((d) => d !== undefined).join("; "),
    });
  }
}

/** Why an aggregation server refuses a request (stable codes; HTTP status in {@link ShareRefusalStatus}). */
export const ShareRefusalStatus = {
  BAD_REQUEST: 400,
  BAD_SIGNATURE: 401,
  EXPIRED: 400,
  BAD_SLOT: 400,
  BAD_LENGTH: 400,
  OUT_OF_RANGE: 400,
  BAD_COMMITMENT: 400,
  NOT_CUSTODIAN: 403,
  NOT_RESEARCHER: 403,
  NOT_SERVER: 403,
  STUDY_INACTIVE: 409,
  RUN_OPEN: 409,
  TOO_FEW_CONTRIBUTORS: 409,
  MISSING_SHARE: 409,
  NOT_PUBLISHED: 409,
  UNKNOWN_STUDY: 404,
  NO_RESEARCHER_KEY: 409,
  NOT_READY: 503,
  CHAIN_UNAVAILABLE: 503,
  PUBLISH_FAILED: 503,
  RATE_LIMITED: 429,
  NOT_FOUND: 404,
  INTERNAL: 500,
} as const;
export type ShareRefusalCode = keyof typeof ShareRefusalStatus;

export function isShareRefusalCode(value: unknown): value is ShareRefusalCode {
  return typeof value === "string" && Object.prototype.hasOwnProperty.call(ShareRefusalStatus, value);
}

/** An aggregation server refused a request: nothing was stored or released. */
export class ShareRefusedError extends MedLedgerError {
  override name = "ShareRefusedError";
  constructor(
    readonly refusal: ShareRefusalCode,
    shortMessage: string,
    options: MedLedgerErrorOptions & { keyholderId?: number } = {},
  ) {
    super(ErrorCodes.SHARE_REFUSED, shortMessage, options);
    this.keyholderId = options.keyholderId;
  }
  readonly keyholderId: number | undefined;
  get status(): number {
    return ShareRefusalStatus[this.refusal];
  }
  toJSON(): { code: ShareRefusalCode; message: string; details?: string } {
    return this.details === undefined
      ? { code: this.refusal, message: this.shortMessage }
      : { code: this.refusal, message: this.shortMessage, details: this.details };
  }
}

/** One party a run is waiting for, and why. */
export interface Waiting {
  /** `server` (a keyholder id) or `custodian` (an organization id). */
  kind: "server" | "custodian";
  id: number;
  /** e.g. UNREACHABLE, TIMEOUT, NOT_PUBLISHED, MISSING_SHARE, or a refusal code. */
  reason: string;
  message?: string;
}

/**
 * A run cannot complete yet: servers are down or have not published, or a share is missing.
 * Retry later; `waiting` says who and why. Never a silent partial result.
 */
export class AggregationPendingError extends MedLedgerError {
  override name = "AggregationPendingError";
  constructor(
    readonly waiting: readonly Waiting[],
    shortMessage = "The run is waiting for aggregation servers",
  ) {
    super(ErrorCodes.AGGREGATION_PENDING, shortMessage, {
      details: waiting.map((w) => `${w.kind} ${w.id}: ${w.reason}${w.message ? ` (${w.message})` : ""}`).join("; "),
    });
  }
}

/** The chain (or the study's own rules) refuses what was asked: `reason` is the contract error or rule. */
export class StudyRefusedError extends MedLedgerError {
  override name = "StudyRefusedError";
  constructor(
    readonly reason: string,
    shortMessage: string,
    options: MedLedgerErrorOptions = {},
  ) {
    super(ErrorCodes.STUDY_REFUSED, shortMessage, options);
  }
}
