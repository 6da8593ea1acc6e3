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
 * Serializes a JSON value canonically (sorted keys, no whitespace). Throws InvalidInputError on
 * anything that is not plain JSON (cycles, NaN, Infinity, functions, bigints, undefined array items).
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
  const write = (v: unknown, path: string): void => {
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
    if (ancestors.has(v)) throw new InvalidInputError("Not canonical JSON: a circular reference", { details: path });
    ancestors.add(v);
    if (Array.isArray(v)) {
      parts.push("[");
      v.forEach((item, i) => {
        if (i > 0) parts.push(",");
        write(item, `${path}[${i}]`);
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
        write(record[k], `${path}.${k}`);
      });
      parts.push("}");
    }
    ancestors.delete(v);
  };
  write(value, "$");
  return parts.join("");
}
