/**
 * Typed refusals of the 1.0 → 1.1 migration. Each is a {@link MedLedgerError} with a stable
 * `reason`; nothing is imported after any of them except where the message says so (a mismatch
 * found at verification leaves the imports made, unsealed, so the run can be inspected and resumed).
 */
import { ErrorCodes, MedLedgerError } from "../errors.js";
import type { MedLedgerErrorOptions } from "../errors.js";

/** The source is not a MedLedger 1.0 deployment (or its events are inconsistent). */
export class MigrationSourceError extends MedLedgerError {
  override name = "MigrationSourceError";
  readonly reason: "NOT_1_0" | "NO_CODE" | "INCONSISTENT_EVENTS" | "CHANGED_AFTER_CUTOVER";
  readonly contract: string | undefined;
  constructor(
    reason: MigrationSourceError["reason"],
    shortMessage: string,
    options: MedLedgerErrorOptions & { contract?: string } = {},
  ) {
    super(ErrorCodes.DEPLOYMENT_MISMATCH, shortMessage, options);
    this.reason = reason;
    this.contract = options.contract;
  }
}

/** The target cannot take the migration: not 1.1, already sealed, or the signer is not its migrator. */
export class MigrationTargetError extends MedLedgerError {
  override name = "MigrationTargetError";
  readonly reason: "NOT_1_1" | "NO_CODE" | "SEALED" | "NOT_MIGRATOR" | "NO_PROVIDER";
  readonly contract: string | undefined;
  constructor(
    reason: MigrationTargetError["reason"],
    shortMessage: string,
    options: MedLedgerErrorOptions & { contract?: string } = {},
  ) {
    super(ErrorCodes.DEPLOYMENT_MISMATCH, shortMessage, options);
    this.reason = reason;
    this.contract = options.contract;
  }
}

/**
 * 1.0 holds state that 1.1 cannot take as it is; `items` lists every instance (the plan shows them
 * before anything is sent). Fix them on 1.0 before the cut-over (see docs/deploy.md).
 */
export class MigrationUnmappableError extends MedLedgerError {
  override name = "MigrationUnmappableError";
  readonly items: readonly string[];
  constructor(items: readonly string[]) {
    super(ErrorCodes.CONFLICT, `${items.length} item(s) of the 1.0 state cannot be imported into 1.1`, {
      details: items.slice(0, 20).join("; ") + (items.length > 20 ? `; … ${items.length - 20} more` : ""),
    });
    this.items = Object.freeze([...items]);
  }
}

/**
 * The target does not hold what the source says it should: found while checking what an earlier run
 * imported (the target holds something else under an id) or at the final verification (a table's
 * count or digest differs). `table` names the table, `key` the first row that differs (if known).
 * The migration is not sealed.
 */
export class MigrationMismatchError extends MedLedgerError {
  override name = "MigrationMismatchError";
  readonly table: string;
  readonly key: string | undefined;
  constructor(table: string, shortMessage: string, options: MedLedgerErrorOptions & { key?: string } = {}) {
    super(ErrorCodes.INTEGRITY_FAILED, shortMessage, options);
    this.table = table;
    this.key = options.key;
  }
}
