/**
 * One error hierarchy for the whole SDK.
 *
 * Every error the SDK throws is a {@link MedLedgerError}: a stable machine-readable `code`, a short
 * human message, optional `details`, and the underlying `cause` kept intact. Callers branch on the
 * class (`instanceof IntegrityError`) or on `code`, never on message text.
 *
 * @example
 * ```ts
 * import { MedLedgerError, IntegrityError } from "medledger";
 * try {
 *   await records.get(id, { purpose: "TREAT" });
 * } catch (err) {
 *   if (err instanceof IntegrityError) alarm(err.details);
 *   else if (err instanceof MedLedgerError) console.error(err.code, err.shortMessage);
 * }
 * ```
 */

/** Stable error codes. New codes may be added; existing ones never change meaning. */
export const ErrorCodes = {
  INVALID_INPUT: "ML_INVALID_INPUT",
  DECRYPTION_FAILED: "ML_DECRYPTION_FAILED",
  INTEGRITY_FAILED: "ML_INTEGRITY_FAILED",
  UNSUPPORTED_FORMAT: "ML_UNSUPPORTED_FORMAT",
  WRONG_PASSPHRASE: "ML_WRONG_PASSPHRASE",
  STORAGE_FAILED: "ML_STORAGE_FAILED",
  NOT_FOUND: "ML_NOT_FOUND",
  CONTRACT_REVERT: "ML_CONTRACT_REVERT",
  TRANSACTION_FAILED: "ML_TRANSACTION_FAILED",
  DEPLOYMENT_MISMATCH: "ML_DEPLOYMENT_MISMATCH",
  FHIR_INVALID: "ML_FHIR_INVALID",
  ACCESS_DENIED: "ML_ACCESS_DENIED",
  KEY_UNAVAILABLE: "ML_KEY_UNAVAILABLE",
  DEPENDENCY_MISSING: "ML_DEPENDENCY_MISSING",
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface MedLedgerErrorOptions {
  /** What went wrong in detail (values, offsets, names); safe to log: never plaintext health data. */
  details?: string;
  /** The error that caused this one, kept for `walk()` and debuggers. */
  cause?: unknown;
}

/**
 * Base class of every SDK error.
 *
 * @example
 * ```ts
 * import { MedLedgerError } from "medledger";
 * if (err instanceof MedLedgerError) console.log(err.code, err.walk());
 * ```
 */
export class MedLedgerError extends Error {
  override name = "MedLedgerError";
  /** Stable machine-readable code, see {@link ErrorCodes}. */
  readonly code: ErrorCode;
  /** The one-line message, without details. */
  readonly shortMessage: string;
  readonly details: string | undefined;

  constructor(code: ErrorCode, shortMessage: string, options: MedLedgerErrorOptions = {}) {
    super(
      options.details === undefined ? shortMessage : `${shortMessage}\n\nDetails: ${options.details}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.code = code;
    this.shortMessage = shortMessage;
    this.details = options.details;
  }

  /**
   * Follows the `cause` chain; returns the deepest error, or the first one for which `predicate`
   * holds (undefined when none does).
   */
  walk(predicate?: (err: unknown) => boolean): unknown {
    return walkCauses(this, predicate);
  }
}

function walkCauses(start: unknown, predicate?: (err: unknown) => boolean): unknown {
  let current = start;
  for (let depth = 0; depth < 32; depth++) {
    if (predicate?.(current) === true) return current;
    const next: unknown = current instanceof Error ? current.cause : undefined;
    if (next === undefined) break;
    current = next;
  }
  return predicate === undefined ? current : undefined;
}

/** An argument is malformed (wrong length, out of range, wrong type). Nothing was changed. */
export class InvalidInputError extends MedLedgerError {
  override name = "InvalidInputError";
  constructor(shortMessage: string, options?: MedLedgerErrorOptions) {
    super(ErrorCodes.INVALID_INPUT, shortMessage, options);
  }
}

/** Authentication of sealed data failed (wrong key, tampered chunk, truncation). No plaintext is returned. */
export class DecryptionError extends MedLedgerError {
  override name = "DecryptionError";
  constructor(shortMessage: string, options?: MedLedgerErrorOptions) {
    super(ErrorCodes.DECRYPTION_FAILED, shortMessage, options);
  }
}

/** Data does not match what it is bound to (on-chain digest, content address, header, context). */
export class IntegrityError extends MedLedgerError {
  override name = "IntegrityError";
  constructor(shortMessage: string, options?: MedLedgerErrorOptions) {
    super(ErrorCodes.INTEGRITY_FAILED, shortMessage, options);
  }
}

/** A header names a format version or algorithm this SDK does not implement. */
export class UnsupportedFormatError extends MedLedgerError {
  override name = "UnsupportedFormatError";
  constructor(shortMessage: string, options?: MedLedgerErrorOptions) {
    super(ErrorCodes.UNSUPPORTED_FORMAT, shortMessage, options);
  }
}

/** A keystore could not be unlocked with the given passphrase. */
export class WrongPassphraseError extends MedLedgerError {
  override name = "WrongPassphraseError";
  constructor(shortMessage = "Wrong passphrase for keystore", options?: MedLedgerErrorOptions) {
    super(ErrorCodes.WRONG_PASSPHRASE, shortMessage, options);
  }
}

/** A storage backend failed (I/O error, backend unavailable). */
export class StorageError extends MedLedgerError {
  override name = "StorageError";
  constructor(shortMessage: string, options?: MedLedgerErrorOptions) {
    super(ErrorCodes.STORAGE_FAILED, shortMessage, options);
  }
}

/** The requested object (blob, record, deployment) does not exist. */
export class NotFoundError extends MedLedgerError {
  override name = "NotFoundError";
  constructor(shortMessage: string, options?: MedLedgerErrorOptions) {
    super(ErrorCodes.NOT_FOUND, shortMessage, options);
  }
}

/** An optional dependency (for example Helia for IPFS storage) is not installed. */
export class DependencyMissingError extends MedLedgerError {
  override name = "DependencyMissingError";
  constructor(shortMessage: string, options?: MedLedgerErrorOptions) {
    super(ErrorCodes.DEPENDENCY_MISSING, shortMessage, options);
  }
}
