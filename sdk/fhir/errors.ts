/**
 * The FHIR error: one typed error for every way an input can fail FHIR R4 validation (not JSON,
 * not an object, no or unknown `resourceType`, schema violations), carrying ALL problems found.
 *
 * @example
 * ```ts
 * import { FhirValidationError, putFhir } from "medledger";
 * try {
 *   await putFhir(ml, subject, bundle);
 * } catch (err) {
 *   if (err instanceof FhirValidationError) for (const p of err.problems) console.error(p.path, p.message);
 * }
 * ```
 */
import { ErrorCodes, MedLedgerError } from "../errors.js";
import type { MedLedgerErrorOptions } from "../errors.js";

/**
 * One validation problem.
 *
 * `path` is FHIRPath-like, rooted at the input's resource type (`Patient.birthDate`,
 * `Bundle.entry[3].resource.gender`), or at `$` when the input has no usable `resourceType`.
 * `message` never repeats the offending value (it may be health data); it names the rule broken.
 * `resourceIndex` is set for Bundle inputs: the index of the `entry` the problem is in.
 *
 * @example
 * ```ts
 * import type { FhirProblem } from "medledger";
 * const p: FhirProblem = { path: "Bundle.entry[2].resource.birthDate", message: "is not a valid FHIR date", resourceIndex: 2 };
 * ```
 */
export interface FhirProblem {
  path: string;
  message: string;
  resourceIndex?: number;
}

/**
 * An input is not valid FHIR R4. Nothing was stored or anchored. `problems` lists every problem
 * found (not only the first); `details` repeats them one per line.
 *
 * @example
 * ```ts
 * import { FhirValidationError, ErrorCodes, assertValidFhir } from "medledger";
 * try {
 *   assertValidFhir({ resourceType: "Patient", birthDate: "1990-13-01" });
 * } catch (err) {
 *   if (err instanceof FhirValidationError) console.log(err.code === ErrorCodes.FHIR_INVALID, err.problems);
 * }
 * ```
 */
export class FhirValidationError extends MedLedgerError {
  override name = "FhirValidationError";
  /** Every problem found, in document order. */
  readonly problems: readonly FhirProblem[];

  constructor(problems: readonly FhirProblem[], options: MedLedgerErrorOptions = {}) {
    const n = problems.length;
    super(ErrorCodes.FHIR_INVALID, `Invalid FHIR R4 input: ${n} problem${n === 1 ? "" : "s"}`, {
      details: options.details ?? problems.map(formatProblem).join("\n"),
      cause: options.cause,
    });
    this.problems = Object.freeze(problems.map((p) => Object.freeze({ ...p })));
  }
}

function formatProblem(p: FhirProblem): string {
  return `${p.path}: ${p.message}`;
}
