/**
 * Contract reverts decoded into typed SDK errors: the custom error's name and named arguments,
 * never a bare "execution reverted".
 *
 * @example
 * ```ts
 * import { AccessDeniedError, ContractRevertError } from "medledger";
 * try { await ml.records.get(subject, id, { purpose: "TREAT" }); }
 * catch (err) {
 *   if (err instanceof AccessDeniedError) console.log(err.reason);      // "CONSENT_REVOKED"
 *   else if (err instanceof ContractRevertError) console.log(err.errorName, err.args);
 * }
 * ```
 */
import { Interface } from "ethers";

import { denyReasonName } from "../codes.js";
import type { DenyReasonName } from "../codes.js";
import { ErrorCodes, MedLedgerError, RpcError, TransactionError } from "../errors.js";
import type { MedLedgerErrorOptions } from "../errors.js";
import {
  ConsentRegistry__factory,
  KeyholderRegistry__factory,
  ParticipantDirectory__factory,
  RecordRegistry__factory,
  StudyRegistry__factory,
} from "../../types/typechain/index.js";

/**
 * A contract refused a call with a custom error (decoded) or with undecodable data. Raised when a
 * transaction's gas estimate or a read reverts (nothing was sent), or when a mined transaction
 * failed.
 */
export class ContractRevertError extends MedLedgerError {
  override name = "ContractRevertError";
  /** The custom error's name, e.g. "ConsentAlreadyRevoked"; "unknown" if it could not be decoded. */
  readonly errorName: string;
  /** The error's arguments by name (bigints for integers, hex strings for bytes/addresses). */
  readonly args: Readonly<Record<string, unknown>>;
  /** The raw revert data. */
  readonly data: string | undefined;

  constructor(
    errorName: string,
    args: Record<string, unknown>,
    data: string | undefined,
    options: MedLedgerErrorOptions & {
      code?: typeof ErrorCodes.CONTRACT_REVERT | typeof ErrorCodes.ACCESS_DENIED;
      shortMessage?: string;
    } = {},
  ) {
    super(options.code ?? ErrorCodes.CONTRACT_REVERT, options.shortMessage ?? `Contract reverted: ${errorName}`, {
      details: options.details ?? formatArgs(args),
      cause: options.cause,
    });
    this.errorName = errorName;
    this.args = Object.freeze({ ...args });
    this.data = data;
  }
}

/**
 * An access, anchor or break-glass was refused; `reason` says why (a DenyReason name).
 *
 * `decidedBy` says who refused: `"contract"` when the contract reverted (during the gas estimate,
 * so nothing was sent, or in a mined transaction), `"client"` when the SDK refused before sending
 * anything, from a consent check it read (the message says so: no contract revert happened).
 */
export class AccessDeniedError extends ContractRevertError {
  override name = "AccessDeniedError";
  readonly reason: DenyReasonName | `UNKNOWN_${number}`;
  readonly decidedBy: "contract" | "client";

  /** `data` undefined means a client-side refusal (a decoded revert always has data). */
  constructor(errorName: string, args: Record<string, unknown>, data: string | undefined, cause: unknown) {
    const reason = denyReasonName(args.reason as bigint);
    const decidedBy = data === undefined ? "client" : "contract";
    super(errorName, args, data, {
      code: ErrorCodes.ACCESS_DENIED,
      shortMessage:
        decidedBy === "contract"
          ? `Contract refused: ${errorName} (${reason})`
          : `Refused before sending (client-side consent check, no transaction): ${errorName} (${reason})`,
      details: `reason ${reason}; ${formatArgs(args)}`,
      cause,
    });
    this.reason = reason;
    this.decidedBy = decidedBy;
  }
}

const DENIAL_ERRORS = new Set(["AccessDenied", "RecordAnchorDenied", "BreakGlassDenied"]);

/** Every error of the four contracts (and the OpenZeppelin errors they can raise). */
const ERRORS = new Interface(
  [
    ...ParticipantDirectory__factory.abi,
    ...ConsentRegistry__factory.abi,
    ...RecordRegistry__factory.abi,
    ...KeyholderRegistry__factory.abi,
    ...StudyRegistry__factory.abi,
  ].filter((fragment, i, all) => {
    if (fragment.type !== "error") return false;
    return all.findIndex((f) => f.type === "error" && f.name === fragment.name) === i;
  }),
);

function formatArgs(args: Record<string, unknown>): string {
  return Object.entries(args)
    .map(([k, v]) => `${k}=${typeof v === "bigint" ? v.toString() : String(v)}`)
    .join(", ");
}

/** Finds revert data in an ethers / provider error chain. */
export function revertData(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  const stack: unknown[] = [err];
  while (stack.length > 0) {
    const e = stack.pop();
    if (e === null || typeof e !== "object" || seen.has(e)) continue;
    seen.add(e);
    const o = e as Record<string, unknown>;
    if (typeof o.data === "string" && /^0x[0-9a-fA-F]{8,}$/.test(o.data)) return o.data;
    for (const key of ["error", "info", "cause", "data", "revert"]) if (key in o) stack.push(o[key]);
  }
  return undefined;
}

/**
 * Turns a thrown ethers error into a typed SDK error when it carries revert data; returns the
 * original error otherwise (see {@link toSdkError} for a MedLedgerError in every case).
 */
export function decodeContractError(err: unknown): unknown {
  if (err instanceof MedLedgerError) return err;
  const data = revertData(err);
  if (data === undefined) return err;
  const parsed = ERRORS.parseError(data);
  if (parsed === null) return new ContractRevertError("unknown", {}, data, { cause: err });
  const args: Record<string, unknown> = {};
  parsed.fragment.inputs.forEach((input, i) => {
    args[input.name] = parsed.args[i] as unknown;
  });
  if (DENIAL_ERRORS.has(parsed.name)) return new AccessDeniedError(parsed.name, args, data, err);
  return new ContractRevertError(parsed.name, args, data, { cause: err });
}

/** Whether an error (or one of its causes) is ethers' CALL_EXCEPTION. */
function isCallException(err: unknown): boolean {
  for (let e = err, i = 0; e !== undefined && e !== null && i < 8; e = (e as { cause?: unknown }).cause, i++) {
    if ((e as { code?: unknown }).code === "CALL_EXCEPTION") return true;
  }
  return false;
}

/**
 * Any error from a chain operation as a MedLedgerError: decoded contract reverts, a revert
 * without data as ContractRevertError "unknown", network faults as RpcError (`url` when known),
 * anything else as TransactionError.
 */
export function toSdkError(err: unknown, what = "Chain operation failed", url?: string): MedLedgerError {
  const decoded = decodeContractError(err);
  if (decoded instanceof MedLedgerError) return decoded;
  if (isCallException(err)) return new ContractRevertError("unknown", {}, undefined, { cause: err });
  const code = (err as { code?: unknown })?.code;
  if (code === "NETWORK_ERROR" || code === "TIMEOUT" || code === "SERVER_ERROR" || code === "ECONNREFUSED")
    return new RpcError(`${what}: the JSON-RPC node${url === undefined ? "" : ` at ${url}`} did not answer`, {
      url,
      cause: err,
    });
  return new TransactionError(what, { cause: err, details: err instanceof Error ? err.message : String(err) });
}
