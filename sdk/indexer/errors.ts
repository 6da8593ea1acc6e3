/**
 * Typed errors of the indexer, queries, exports and CLI. Each says what went wrong (`details`) and
 * what to do about it (`hint`); the CLI prints both and exits with {@link exitCodeOf}.
 *
 * The SDK's {@link ErrorCodes} have no indexer-specific codes yet, so every class uses the nearest
 * existing code and carries a finer `reason`.
 *
 * @example
 * ```ts
 * import { IndexerError } from "medledger/indexer";
 * try {
 *   await indexer.sync();
 * } catch (err) {
 *   if (err instanceof IndexerError && err.reason === "RPC_UNAVAILABLE") console.error(err.hint);
 * }
 * ```
 */
import { ErrorCodes, MedLedgerError } from "../errors.js";
import type { ErrorCode, MedLedgerErrorOptions } from "../errors.js";

/** Why an indexer operation failed. */
export type IndexerErrorReason =
  /** The JSON-RPC node could not be reached or answered with an error. */
  | "RPC_UNAVAILABLE"
  /** The node refused even a one-block eth_getLogs range. */
  | "RANGE_REFUSED"
  /** The index belongs to another chain or deployment than the one given. */
  | "WRONG_DEPLOYMENT"
  /** The store (SQLite file, PostgreSQL server) failed or is unreachable. */
  | "STORE_UNAVAILABLE"
  /** The index differs from the chain (`index check`). */
  | "INDEX_MISMATCH"
  /** The index has not been synced yet. */
  | "NOT_SYNCED"
  /** A chain log could not be decoded with the deployment's ABI. */
  | "UNDECODABLE_LOG";

export interface IndexerErrorOptions extends MedLedgerErrorOptions {
  /** What the user should do about it (printed by the CLI). */
  hint?: string;
}

const CODE_OF: Record<IndexerErrorReason, ErrorCode> = {
  RPC_UNAVAILABLE: ErrorCodes.STORAGE_FAILED,
  RANGE_REFUSED: ErrorCodes.STORAGE_FAILED,
  WRONG_DEPLOYMENT: ErrorCodes.DEPLOYMENT_MISMATCH,
  STORE_UNAVAILABLE: ErrorCodes.STORAGE_FAILED,
  INDEX_MISMATCH: ErrorCodes.INTEGRITY_FAILED,
  NOT_SYNCED: ErrorCodes.NOT_FOUND,
  UNDECODABLE_LOG: ErrorCodes.UNSUPPORTED_FORMAT,
};

/**
 * An indexer failure with a `reason` and a `hint` saying what to do.
 *
 * @example
 * ```ts
 * import { IndexerError } from "medledger/indexer";
 * throw new IndexerError("RPC_UNAVAILABLE", "Cannot reach http://127.0.0.1:8545", { hint: "Start the node" });
 * ```
 */
export class IndexerError extends MedLedgerError {
  override name = "IndexerError";
  readonly reason: IndexerErrorReason;
  readonly hint: string | undefined;

  constructor(reason: IndexerErrorReason, shortMessage: string, options: IndexerErrorOptions = {}) {
    super(CODE_OF[reason], shortMessage, options);
    this.reason = reason;
    this.hint = options.hint;
  }
}

/**
 * A FHIR resource uses an element MedLedger cannot express on chain (`consent import`).
 *
 * @example
 * ```ts
 * import { UnsupportedFhirElementError, consentFromFhir } from "medledger/exports";
 * try { consentFromFhir(resource); } catch (e) { if (e instanceof UnsupportedFhirElementError) console.log(e.element); }
 * ```
 */
export class UnsupportedFhirElementError extends MedLedgerError {
  override name = "UnsupportedFhirElementError";
  /** The FHIRPath of the element, e.g. `Consent.provision.provision[1].data`. */
  readonly element: string;

  constructor(element: string, why: string, options: MedLedgerErrorOptions = {}) {
    super(ErrorCodes.UNSUPPORTED_FORMAT, `Cannot express ${element} on chain: ${why}`, options);
    this.element = element;
  }
}

/** CLI exit codes: 0 success, 1 a check or verification failed, 2 bad usage/input, 3 unavailable. */
export const ExitCode = { OK: 0, FAILED: 1, USAGE: 2, UNAVAILABLE: 3, INTERNAL: 70 } as const;

/**
 * The CLI exit code for an error: bad input 2, unreachable node or store 3, mismatches and failed
 * verifications 1, anything unexpected 70 (EX_SOFTWARE).
 *
 * @example
 * ```ts
 * import { exitCodeOf } from "medledger/indexer";
 * process.exitCode = exitCodeOf(err);
 * ```
 */
export function exitCodeOf(err: unknown): number {
  if (err instanceof IndexerError) {
    if (err.reason === "RPC_UNAVAILABLE" || err.reason === "STORE_UNAVAILABLE" || err.reason === "RANGE_REFUSED") {
      return ExitCode.UNAVAILABLE;
    }
    if (err.reason === "WRONG_DEPLOYMENT" || err.reason === "NOT_SYNCED") return ExitCode.USAGE;
    return ExitCode.FAILED;
  }
  if (err instanceof MedLedgerError) {
    if (err.code === ErrorCodes.INVALID_INPUT || err.code === ErrorCodes.NOT_FOUND) return ExitCode.USAGE;
    if (err.code === ErrorCodes.UNSUPPORTED_FORMAT || err.code === ErrorCodes.FHIR_INVALID) return ExitCode.USAGE;
    if (err.code === ErrorCodes.DEPENDENCY_MISSING || err.code === ErrorCodes.STORAGE_FAILED) {
      return ExitCode.UNAVAILABLE;
    }
    return ExitCode.FAILED;
  }
  return ExitCode.INTERNAL;
}
