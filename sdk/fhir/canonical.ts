/**
 * Canonical JSON for FHIR resources: the bytes a record stores, and what "identical content" means
 * when a resource arrives again. Object keys sorted by UTF-16 code units (as RFC 8785 JCS does),
 * arrays in order, no whitespace, numbers and strings as `JSON.stringify` writes them (the ECMAScript
 * shortest round-trip form JCS specifies), `undefined` properties omitted.
 *
 * Note: a FHIR decimal's trailing zeros (`1.50`) do not survive `JSON.parse` in JavaScript; the
 * canonical form carries the parsed number (`1.5`).
 *
 * @example
 * ```ts
 * import { canonicalJson } from "medledger";
 * canonicalJson({ resourceType: "Patient", id: "p1", active: true }); // '{"active":true,"id":"p1","resourceType":"Patient"}'
 * ```
 */
import { InvalidInputError } from "../errors.js";

/**
 * The deepest JSON nesting the FHIR functions accept (objects and arrays, the input itself at
 * level 0). The deepest resource of the HL7 R4 examples nests 22 levels, a Synthea bundle 11; past
 * this limit validation refuses the input with a FhirValidationError naming the limit, before any
 * recursive step (the schema validator, canonical JSON, the classifier) could overflow the stack.
 *
 * @example
 * ```ts
 * import { MAX_FHIR_DEPTH } from "medledger";
 * MAX_FHIR_DEPTH; // 100
 * ```
 */
export const MAX_FHIR_DEPTH = 100;

/**
 * Serializes a JSON value canonically (sorted keys, no whitespace). Throws InvalidInputError on
 * anything that is not plain JSON (cycles, NaN, Infinity, functions, bigints, undefined array items)
 * and on nesting deeper than 100 levels (never a stack overflow).
 *
 * @example
 * ```ts
 * import { canonicalJson } from "medledger";
 * canonicalJson({ b: [2, 1], a: "x" }); // '{"a":"x","b":[2,1]}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  const ancestors = new Set<object>();
  const write = (v: unknown, path: string, depth: number): void => {
    switch (typeof v) {
      case "string":
      case "boolean":
        parts.push(JSON.stringify(v));
        return;
      case "number":
        if (!Number.isFinite(v))
          throw new InvalidInputError("Not canonical JSON: a non-finite number", { details: path });
        parts.push(JSON.stringify(v));
        return;
      case "object":
        break;
      default:
        throw new InvalidInputError(`Not canonical JSON: a ${typeof v}`, { details: path });
    }
    if (v === null) {
      parts.push("null");
      return;
    }
    if (depth > MAX_FHIR_DEPTH)
      throw new InvalidInputError(`Not canonical JSON: nested deeper than ${MAX_FHIR_DEPTH} levels`, {
        details: path.slice(0, 200),
      });
    if (ancestors.has(v)) throw new InvalidInputError("Not canonical JSON: a circular reference", { details: path });
    ancestors.add(v);
    if (Array.isArray(v)) {
      parts.push("[");
      v.forEach((item, i) => {
        if (i > 0) parts.push(",");
        write(item, `${path}[${i}]`, depth + 1);
      });
      parts.push("]");
    } else {
      const record = v as Record<string, unknown>;
      const keys = Object.keys(record)
        .filter((k) => record[k] !== undefined)
        .sort();
      parts.push("{");
      keys.forEach((k, i) => {
        if (i > 0) parts.push(",");
        parts.push(JSON.stringify(k), ":");
        write(record[k], `${path}.${k}`, depth + 1);
      });
      parts.push("}");
    }
    ancestors.delete(v);
  };
  write(value, "$", 0);
  return parts.join("");
}
