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
  RPC_FAILED: "ML_RPC_FAILED",
  CONFLICT: "ML_CONFLICT",
  QUERY_UNSUPPORTED: "ML_QUERY_UNSUPPORTED",
  SHARE_REFUSED: "ML_SHARE_REFUSED",
  AGGREGATION_PENDING: "ML_AGGREGATION_PENDING",
  STUDY_REFUSED: "ML_STUDY_REFUSED",
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

/**
 * An argument is malformed (wrong type, unknown name, wrong length, out of range). Raised before
 * anything is signed, stored or sent: nothing was changed.
 *
 * @example
 * ```ts
 * import { InvalidInputError } from "medledger";
 * try { await ml.consent.grant(subject, { categories: ["SUBSTANCE_ABUSE"], … }); }
 * catch (err) { if (err instanceof InvalidInputError) console.log(err.field, err.allowed); }
 * ```
 */
export class InvalidInputError extends MedLedgerError {
  override name = "InvalidInputError";
  /** The parameter at fault (e.g. "categories[0]"), when known. */
  readonly field: string | undefined;
  /** The values that would have been accepted, for names from a fixed list. */
  readonly allowed: readonly string[] | undefined;
  constructor(
    shortMessage: string,
    options: MedLedgerErrorOptions & { field?: string; allowed?: readonly string[] } = {},
  ) {
    super(ErrorCodes.INVALID_INPUT, shortMessage, {
      cause: options.cause,
      details:
        options.allowed === undefined
          ? options.details
          : [options.details, `allowed: ${options.allowed.join(", ")}`].filter((d) => d !== undefined).join("; "),
    });
    this.field = options.field;
    this.allowed = options.allowed === undefined ? undefined : Object.freeze([...options.allowed]);
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

/**
 * A JSON-RPC node could not be reached or answered with an error that is not a contract revert
 * (connection refused, timeout, rate limit, malformed answer). `url` names the node when known.
 *
 * @example
 * ```ts
 * import { RpcError } from "medledger";
 * if (err instanceof RpcError) console.error(`is the node at ${err.url} running?`);
 * ```
 */
export class RpcError extends MedLedgerError {
  override name = "RpcError";
  readonly url: string | undefined;
  readonly method: string | undefined;
  constructor(shortMessage: string, options: MedLedgerErrorOptions & { url?: string; method?: string } = {}) {
    super(ErrorCodes.RPC_FAILED, shortMessage, options);
    this.url = options.url;
    this.method = options.method;
  }
}

/**
 * A deployment does not match this SDK: another chain, no code or another contract's code at an
 * address, an unsupported version(), or contracts wired to the wrong addresses. `contract` names
 * the contract at fault.
 *
 * @example
 * ```ts
 * import { DeploymentMismatchError } from "medledger";
 * if (err instanceof DeploymentMismatchError) console.error(`${err.contract}: ${err.shortMessage}`);
 * ```
 */
export class DeploymentMismatchError extends MedLedgerError {
  override name = "DeploymentMismatchError";
  readonly contract: string | undefined;
  constructor(shortMessage: string, options: MedLedgerErrorOptions & { contract?: string } = {}) {
    super(ErrorCodes.DEPLOYMENT_MISMATCH, shortMessage, options);
    this.contract = options.contract;
  }
}

/** A transaction failed outside the contract (dropped and not re-sendable, timeout, refused by the node). */
export class TransactionError extends MedLedgerError {
  override name = "TransactionError";
  constructor(shortMessage: string, options: MedLedgerErrorOptions = {}) {
    super(ErrorCodes.TRANSACTION_FAILED, shortMessage, options);
  }
}

/**
 * An id this participant chose is already taken on chain by something that is not its own: a
 * record id of the subject anchored with another digest or label commitment (or category), a
 * batch root of the subject with another tag or size, a subject id registered with another
 * controller or key. Raised instead of adopting the existing entry: nothing of this write is
 * anchored under it. `kind` says which id, `details` what differs.
 *
 * @example
 * ```ts
 * import { ConflictError } from "medledger";
 * if (err instanceof ConflictError && err.kind === "record") alarm(err.id, err.details);
 * ```
 */
export class ConflictError extends MedLedgerError {
  override name = "ConflictError";
  readonly kind: "record" | "batch" | "subject";
  /** The id in conflict (record id, batch root or subject id). */
  readonly id: string;
  constructor(
    kind: "record" | "batch" | "subject",
    id: string,
    shortMessage: string,
    options: MedLedgerErrorOptions = {},
  ) {
    super(ErrorCodes.CONFLICT, shortMessage, options);
    this.kind = kind;
    this.id = id;
  }
}

/** Why a keyholder refused to release a key (stable; branch on these, not on messages). */
export const KeyReleaseReasons = [
  "BAD_SIGNATURE",
  "NOT_SIGNED_BY_READER",
  "NO_ACCESS_TRANSACTION",
  "NO_ACCESS_LOGGED",
  "ACCESS_TOO_OLD",
  "NOT_CUSTODIAN",
  "RECORD_ERASED",
  "NO_KEY_SLOTS",
  "NO_CUSTODIAN_SLOT",
  "NO_KEYHOLDER",
] as const;
export type KeyReleaseReason = (typeof KeyReleaseReasons)[number];

/**
 * A keyholder refused to release a record's key; `reason` says why.
 *
 * @example
 * ```ts
 * import { KeyReleaseError } from "medledger";
 * if (err instanceof KeyReleaseError && err.reason === "ACCESS_TOO_OLD") await retryRead();
 * ```
 */
export class KeyReleaseError extends MedLedgerError {
  override name = "KeyReleaseError";
  readonly reason: KeyReleaseReason;
  constructor(reason: KeyReleaseReason, shortMessage: string, options: MedLedgerErrorOptions = {}) {
    super(ErrorCodes.KEY_UNAVAILABLE, shortMessage, options);
    this.reason = reason;
  }
}
