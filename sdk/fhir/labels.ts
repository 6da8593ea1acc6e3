/**
 * Sensitive labels: the four classes that decide how a record is protected beyond its public
 * clinical category (plan D1, issue 14). A record carries a 4-bit mask of them; a record with
 * several classes carries every one (one record, all labels), so a consent or deny that names any
 * one of them governs it.
 *
 * The bit values are part of the label commitment format and never change. This list lives here
 * until sealed labels land in the SDK; it is the ONE source of the names and bits (move it, do not
 * copy it).
 *
 * @example
 * ```ts
 * import { Label, labelMask, labelNames } from "medledger";
 * labelMask(["MENTAL_HEALTH", "SUBSTANCE_USE"]); // 5
 * labelNames(5); // ["MENTAL_HEALTH", "SUBSTANCE_USE"]
 * Label.GENETICS; // 8
 * ```
 */
import { InvalidInputError } from "../errors.js";

/**
 * The sensitive labels and their bits.
 *
 * @example
 * ```ts
 * import { Label } from "medledger";
 * const mask = Label.MENTAL_HEALTH | Label.GENETICS; // 9
 * ```
 */
export const Label = Object.freeze({
  MENTAL_HEALTH: 1,
  SEXUAL_REPRODUCTIVE: 2,
  SUBSTANCE_USE: 4,
  GENETICS: 8,
} as const);

/**
 * A sensitive label's name.
 *
 * @example
 * ```ts
 * import type { LabelName } from "medledger";
 * const labels: LabelName[] = ["SEXUAL_REPRODUCTIVE"];
 * ```
 */
export type LabelName = keyof typeof Label;

/**
 * Every label name, in bit order.
 *
 * @example
 * ```ts
 * import { LABEL_NAMES } from "medledger";
 * LABEL_NAMES.length; // 4
 * ```
 */
export const LABEL_NAMES: readonly LabelName[] = Object.freeze(
  (Object.keys(Label) as LabelName[]).sort((a, b) => Label[a] - Label[b]),
);

/**
 * Whether `name` is a label name (own properties only: `toString` is not a label).
 *
 * @example
 * ```ts
 * import { isLabelName } from "medledger";
 * isLabelName("GENETICS"); // true
 * isLabelName("SEXUAL_HEALTH"); // false
 * ```
 */
export function isLabelName(name: unknown): name is LabelName {
  return typeof name === "string" && Object.hasOwn(Label, name);
}

/**
 * The mask of some label names. Throws InvalidInputError naming an unknown name.
 *
 * @example
 * ```ts
 * import { labelMask } from "medledger";
 * labelMask([]); // 0
 * labelMask(["GENETICS", "MENTAL_HEALTH"]); // 9
 * ```
 */
export function labelMask(names: readonly string[]): number {
  let mask = 0;
  for (const name of names) {
    if (!isLabelName(name))
      throw new InvalidInputError(`Unknown sensitive label ${JSON.stringify(name)}`, {
        details: `allowed: ${LABEL_NAMES.join(", ")}`,
      });
    mask |= Label[name];
  }
  return mask;
}

/**
 * The label names of a mask, in bit order. Throws InvalidInputError for bits outside the four.
 *
 * @example
 * ```ts
 * import { labelNames } from "medledger";
 * labelNames(6); // ["SEXUAL_REPRODUCTIVE", "SUBSTANCE_USE"]
 * ```
 */
export function labelNames(mask: number): LabelName[] {
  if (!Number.isInteger(mask) || mask < 0 || mask > 15)
    throw new InvalidInputError(`Not a label mask: ${String(mask)}`, { details: "an integer from 0 to 15" });
  return LABEL_NAMES.filter((name) => (mask & Label[name]) !== 0);
}
